//! status-contention-bench: N agents (threads, each with its own cache) publish their status
//! to one local bare repository at the same moment. Prints how many landed, the time to land
//! (p50, p95, max), the total time and the retries, and exits non-zero unless every agent's
//! file is on the branch with its content and every publish is its own commit.
//!
//! `cargo run --release -p hubdr-agent --bin status-contention-bench -- --agents 100`

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use git2::Repository;
use hubdr_agent::git::{Credentials, Identity, Publish, RetryPolicy, StatusWriter};

#[derive(Parser)]
#[command(about = "Measure status publishing with many agents racing on one repository")]
struct Args {
    /// Agents publishing at once.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// Attempts per publish before an agent gives up.
    #[arg(long, default_value_t = RetryPolicy::default().max_attempts)]
    max_attempts: u32,
    /// Where to create the temporary repository and caches (default: the system temp dir).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

struct Landed {
    elapsed: Duration,
    attempts: u32,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<bool> {
    let dir = match &args.dir {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .context("creating a temporary directory")?;
    let remote_path = dir.path().join("status.git");
    let remote = Repository::init_bare(&remote_path).context("creating the bare repository")?;
    let url = format!("file://{}", remote_path.display());
    let retry = RetryPolicy {
        max_attempts: args.max_attempts,
        ..RetryPolicy::default()
    };
    let barrier = Arc::new(Barrier::new(args.agents + 1));
    let handles: Vec<_> = (0..args.agents)
        .map(|i| {
            let writer = StatusWriter::new(
                url.clone(),
                StatusWriter::DEFAULT_BRANCH,
                dir.path().join(format!("cache-{i}")),
                Credentials::None,
                Identity::new(format!("agent-{i}"), "bench@localhost"),
            )
            .with_retry(retry);
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let result = writer.publish(&format!("agent-{i}"), content(i).as_bytes());
                (i, start.elapsed(), result)
            })
        })
        .collect();
    let start = Instant::now();
    barrier.wait();
    let mut landed = Vec::new();
    for handle in handles {
        let (i, elapsed, result) = handle.join().expect("agent thread panicked");
        match result {
            Ok(Publish::Committed { attempts, .. }) => landed.push(Landed { elapsed, attempts }),
            Ok(other) => eprintln!("agent-{i}: unexpected {other:?}"),
            Err(e) => eprintln!("agent-{i}: {e}"),
        }
    }
    let total = start.elapsed();
    let verified = verify(&remote, args.agents)?;
    report(args.agents, &landed, total);
    println!(
        "verified:       {}",
        if verified {
            "every agent's file is on the branch"
        } else {
            "FAILED"
        }
    );
    Ok(verified && landed.len() == args.agents)
}

fn content(agent: usize) -> String {
    format!("cluster: agent-{agent}\nphase: Applied\n")
}

/// Every agent's file with its content on the branch, and one commit per agent.
fn verify(remote: &Repository, agents: usize) -> Result<bool> {
    let refname = format!("refs/heads/{}", StatusWriter::DEFAULT_BRANCH);
    let Ok(head) = remote.refname_to_id(&refname) else {
        eprintln!("the status branch was never created");
        return Ok(false);
    };
    let tree = remote.find_commit(head)?.tree()?;
    let mut ok = true;
    for i in 0..agents {
        let path = format!("clusters/agent-{i}.yaml");
        let found = tree
            .get_path(Path::new(&path))
            .ok()
            .and_then(|e| remote.find_blob(e.id()).ok())
            .map(|b| b.content().to_vec());
        if found.as_deref() != Some(content(i).as_bytes()) {
            eprintln!("{path} is missing or stale on the branch");
            ok = false;
        }
    }
    let mut walk = remote.revwalk()?;
    walk.push(head)?;
    let commits = walk.count();
    if commits != agents {
        eprintln!("{commits} commits on the branch for {agents} publishes");
        ok = false;
    }
    Ok(ok)
}

fn report(agents: usize, landed: &[Landed], total: Duration) {
    let mut times: Vec<Duration> = landed.iter().map(|l| l.elapsed).collect();
    times.sort();
    let pct = |p: usize| {
        times
            .get((times.len() * p).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let retries: u32 = landed.iter().map(|l| l.attempts - 1).sum();
    let most = landed.iter().map(|l| l.attempts).max().unwrap_or(0);
    println!("agents:         {agents}");
    println!("landed:         {}/{agents}", landed.len());
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "time to land:   p50 {}  p95 {}  max {}",
        ms(pct(50)),
        ms(pct(95)),
        ms(pct(100))
    );
    println!("total time:     {total:.2?}");
    println!(
        "retries:        {retries} in all, at most {} for one agent",
        most.saturating_sub(1)
    );
}
