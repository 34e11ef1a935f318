//! status-day-bench: a day of status for a fleet, compressed: every cluster's agent heartbeats
//! every `--heartbeat-minutes` (its status unchanged) and changes its status
//! `--changes-per-day` times, all through the real `StatusWriter` into one local bare
//! repository. Every simulated hour the repository is garbage-collected as a forge's
//! maintenance would (`git gc --prune=now`; needs `git`). Prints the commits and the size of
//! the repository after the day, and the time a hub agent takes to fetch every cluster's
//! status (cold: a new cache; warm: after one more round of changes).
//!
//! `cargo run --release -p hubdr-agent --bin status-day-bench -- --clusters 5000`

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use git2::Repository;
use hubdr_agent::git::{Credentials, GitSource, Identity, StatusWriter};

#[derive(Parser)]
#[command(about = "Simulate a day of status heartbeats and changes for a fleet")]
struct Args {
    #[arg(long, default_value_t = 5000)]
    clusters: usize,
    /// Simulated hours.
    #[arg(long, default_value_t = 24)]
    hours: usize,
    #[arg(long, default_value_t = 10)]
    heartbeat_minutes: usize,
    /// Status changes per cluster per simulated day.
    #[arg(long, default_value_t = 4)]
    changes_per_day: usize,
    /// Worker threads (agents publish concurrently, each cluster from one thread).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let dir = match &args.dir {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .context("creating a temporary directory")?;
    let remote_path = dir.path().join("status.git");
    let remote = Repository::init_bare(&remote_path).context("creating the bare repository")?;
    let url = format!("file://{}", remote_path.display());
    let writer = |cluster: usize| {
        StatusWriter::new(
            url.clone(),
            StatusWriter::DEFAULT_BRANCH,
            dir.path().join("cache"),
            Credentials::None,
            Identity::new(format!("agent-{cluster}"), "bench@localhost"),
        )
    };
    let ticks_per_hour = (60 / args.heartbeat_minutes.max(1)).max(1);
    let ticks = args.hours * ticks_per_hour;
    let ticks_per_day = 24 * ticks_per_hour;
    let mut version = vec![0usize; args.clusters];
    let (mut beats, mut changes) = (0usize, 0usize);
    let start = Instant::now();
    for tick in 0..ticks {
        // Clusters whose status changes at this tick: spread evenly over the day.
        let changing: Vec<bool> = (0..args.clusters)
            .map(|c| {
                (0..args.changes_per_day).any(|k| {
                    (c + k * ticks_per_day / args.changes_per_day.max(1)) % ticks_per_day
                        == tick % ticks_per_day
                })
            })
            .collect();
        for (c, change) in changing.iter().enumerate() {
            if *change {
                version[c] += 1;
            }
        }
        let next = AtomicUsize::new(0);
        let changed = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..args.threads.max(1) {
                scope.spawn(|| loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= args.clusters {
                        break;
                    }
                    let content = status(c, version[c]);
                    let w = writer(c);
                    let cluster = format!("agent-{c}");
                    match w.heartbeat(&cluster, content.as_bytes()) {
                        Ok(hubdr_agent::git::Publish::Committed { .. }) => {
                            changed.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => panic!("{cluster}: {e}"),
                    }
                });
            }
        });
        beats += args.clusters;
        changes += changed.into_inner();
        if (tick + 1) % ticks_per_hour == 0 {
            gc(&remote_path)?;
            eprintln!(
                "hour {:>2}: {beats} heartbeats, {changes} status commits, {:.0?} so far",
                (tick + 1) / ticks_per_hour,
                start.elapsed()
            );
        }
    }
    let simulated = start.elapsed();
    let loose_before = size(&remote_path)?;
    gc(&remote_path)?;
    let packed = size(&remote_path)?;
    let commits = count_commits(&remote)?;
    let refs = remote.references()?.count();

    // A hub agent's read: every cluster's status with one glob refspec.
    let reader = |cache: &str| {
        GitSource::new(
            url.clone(),
            StatusWriter::DEFAULT_BRANCH,
            dir.path().join(cache),
            Credentials::None,
        )
    };
    let hub = reader("hub-cache");
    let t = Instant::now();
    let files = hub.fetch_statuses()?.files;
    let cold = t.elapsed();
    if files.len() != args.clusters {
        bail!(
            "the hub read {} status files for {} clusters",
            files.len(),
            args.clusters
        );
    }
    // One more round in which 1% of the clusters change.
    for c in (0..args.clusters).step_by(100) {
        version[c] += 1;
        let _ = writer(c).publish(&format!("agent-{c}"), status(c, version[c]).as_bytes())?;
    }
    let t = Instant::now();
    let files = hub.fetch_statuses()?.files;
    let warm = t.elapsed();
    let t = Instant::now();
    hub.fetch_statuses()?;
    let idle = t.elapsed();
    if files[&format!("clusters/agent-{}.yaml", 0)] != status(0, version[0]).as_bytes() {
        bail!("the hub did not see the last change");
    }

    println!("clusters:            {}", args.clusters);
    println!(
        "simulated:           {} h, heartbeat every {} min, {} changes per cluster per day",
        args.hours, args.heartbeat_minutes, args.changes_per_day
    );
    println!("heartbeats written:  {beats} (in {simulated:.1?})");
    println!("status commits:      {changes} (history reachable: {commits} commits, {refs} refs)");
    println!(
        "repository size:     {} before the last gc, {} after `git gc`",
        mb(loose_before),
        mb(packed)
    );
    println!(
        "hub fetch:           cold {} ms, after 1% changed {} ms, nothing changed {} ms",
        cold.as_millis(),
        warm.as_millis(),
        idle.as_millis()
    );
    Ok(())
}

fn status(cluster: usize, version: usize) -> String {
    // About the size of a managed cluster's real status file.
    let mut s = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: agent-{cluster}\nagentVersion: 0.1.0\n\
         updatedAt: 2026-12-07T00:00:00Z\nsource:\n  commit: {:040x}\n  generation: {version}\n  stale: false\n\
         pass:\n  outcome: Succeeded\n  reason: Applied\nobjects:\n",
        cluster * 7919 + version
    );
    for o in 0..12 {
        s.push_str(&format!(
            "- object: ReplicationSource app-{o}/data-{o}\n  result: unchanged\n"
        ));
    }
    s.push_str("observed:\n  replicationSources:\n");
    for o in 0..4 {
        s.push_str(&format!(
            "  - name: app-{o}/data-{o}\n    lastSyncTime: 2026-12-07T0{}:00:00Z\n",
            version % 10
        ));
    }
    s
}

fn gc(repo: &Path) -> Result<()> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["gc", "--prune=now", "--quiet"])
        .output()
        .context("running git gc (is git installed?)")?;
    if !out.status.success() {
        bail!("git gc: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn size(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn count_commits(repo: &Repository) -> Result<usize> {
    let mut walk = repo.revwalk()?;
    walk.push_glob("refs/*")?;
    Ok(walk.count())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
