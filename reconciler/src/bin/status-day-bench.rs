//! status-day-bench: a full day of status for a fleet. Every cluster's agent heartbeats every
//! `--heartbeat-minutes` (10: 144 rounds a day), changes its status `--changes-per-day` times
//! spread over the day, and `--failover-changes` times in a row at `--failover-hour` (a
//! failover, when every cluster's status changes a few times); besides, the sync times of its
//! volumes move `--syncs-per-day` times (VolSync syncing every 10 minutes: every round).
//! Prints the repository's size (objects, pack size, refs) and a hub agent's fetch of every
//! cluster's status: cold (a new cache), after one heartbeat round, after 1% of the clusters
//! changed, and with no change; then the cold fetch again over `git://` from a `git daemon`
//! (git's own upload-pack builds the pack, as a forge does; from a `file://` path libgit2
//! builds it in the fetching process, which is most of the cold fetch's time).
//!
//! What is real and what is simulated (see docs/performance.md):
//! - real: every commit is built by the agent's own code (`StatusWriter::build_status_commit`
//!   and `build_heartbeat_commit`, the functions its publishes use), signed status (file,
//!   signature, pinned key); what each agent writes each round is decided by the agent's own
//!   `publish_plan::decide` (a status commit for a change, a heartbeat carrying the status when
//!   only sync times moved or nothing changed, a daily summary commit); a sample of
//!   `--real-sample` clusters publishes every round through the real `StatusWriter` into the
//!   same bare repository (the agent's local compare-and-swap push); `git gc` every simulated
//!   hour, as a forge's maintenance; the hub agent's fetches are real (`GitSource`, `file://`
//!   and `git://`).
//! - simulated: the other clusters' pushes. Their commits are written straight into the bare
//!   repository, one pack per round (the objects a push would send), and their refs moved in
//!   one ref transaction per round instead of one push each. Commit times are the wall clock
//!   of the run, not the simulated time.
//!
//! `cargo run --release -p hubdr-agent --bin status-day-bench -- --clusters 5000`

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use git2::{Oid, Repository};
use hubdr_agent::git::daemon::GitDaemon;
use hubdr_agent::git::{Credentials, GitSource, Identity, StatusWriter};
use hubdr_agent::publish_plan::{self, Landed, Write as Plan};
use hubdr_core::status::refs::{heartbeat_ref, status_ref, HEARTBEAT_REFSPEC, STATUS_REFSPEC};
use hubdr_core::status::signature::AgentKey;
use hubdr_core::status::ClusterStatus;

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
    /// Status changes per cluster per simulated day, spread evenly (besides the failover).
    #[arg(long, default_value_t = 4)]
    changes_per_day: usize,
    /// The simulated hour of the failover (past `--hours`: none).
    #[arg(long, default_value_t = 12)]
    failover_hour: usize,
    /// Status changes of every cluster during the failover, one per heartbeat round.
    #[arg(long, default_value_t = 3)]
    failover_changes: usize,
    /// How often a day each cluster's volume sync times move (144: every 10-minute round).
    #[arg(long, default_value_t = 144)]
    syncs_per_day: usize,
    /// Clusters that publish through the real `StatusWriter` (a real push each) every round.
    #[arg(long, default_value_t = 20)]
    real_sample: usize,
    /// `git gc --prune=now` every this many simulated hours (0: only at the end).
    #[arg(long, default_value_t = 1)]
    gc_every_hours: usize,
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

/// One simulated cluster: its agent's writer, key, status (version of its content, of its sync
/// times, and the round of the last change), its status ref tip and what it wrote before.
struct Agent {
    name: String,
    writer: StatusWriter,
    key: AgentKey,
    version: usize,
    sync: usize,
    changed_round: usize,
    tip: Option<Oid>,
    /// The status last committed, and the round.
    committed: Option<(ClusterStatus, usize)>,
    /// The status last written, and the round.
    last: Option<(ClusterStatus, usize)>,
}

impl Agent {
    fn content(&self, c: usize) -> String {
        status(c, self.version, self.sync, self.changed_round)
    }

    /// What the agent's runner writes this round (`publish_plan::decide`, in simulated time).
    fn decide(&self, c: usize, round: usize, minutes: usize) -> Result<(Plan, ClusterStatus)> {
        let now = ClusterStatus::parse(&self.content(c)).map_err(anyhow::Error::msg)?;
        let ago = |r: usize| Duration::from_secs(((round - r) * minutes * 60) as u64);
        let landed = Landed {
            committed: self.committed.as_ref().map(|(s, r)| (s, ago(*r))),
            last: self.last.as_ref().map(|(s, r)| (s, ago(*r))),
        };
        let heartbeat = Duration::from_secs((minutes * 60) as u64);
        Ok((publish_plan::decide(&now, landed, heartbeat), now))
    }

    fn wrote(&mut self, plan: Plan, status: ClusterStatus, round: usize) {
        if plan == Plan::Commit {
            self.committed = Some((status.clone(), round));
        }
        if plan != Plan::Nothing {
            self.last = Some((status, round));
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
    Repository::init_bare(&remote_path).context("creating the bare repository")?;
    let url = format!("file://{}", remote_path.display());
    let mut agents: Vec<Agent> = (0..args.clusters)
        .map(|c| Agent {
            name: format!("agent-{c}"),
            writer: StatusWriter::new(
                url.clone(),
                StatusWriter::DEFAULT_BRANCH,
                dir.path().join("cache"),
                Credentials::None,
                Identity::new(format!("agent-{c}"), "bench@localhost"),
            ),
            key: AgentKey::from_seed(seed(c)),
            version: 0,
            sync: 0,
            changed_round: 0,
            tip: None,
            committed: None,
            last: None,
        })
        .collect();
    let sample = args.real_sample.min(args.clusters);
    let rounds_per_hour = (60 / args.heartbeat_minutes.max(1)).max(1);
    let rounds = args.hours * rounds_per_hour;
    let rounds_per_day = 24 * rounds_per_hour;
    let failover_round = args.failover_hour * rounds_per_hour;
    let mut totals = Totals::default();
    let mut real_times: Vec<Duration> = Vec::new();
    let start = Instant::now();
    let mut gc_time = Duration::ZERO;
    for round in 0..rounds {
        let changes = |c: usize| {
            let spread = (0..args.changes_per_day).any(|k| {
                (c + k * rounds_per_day / args.changes_per_day.max(1)) % rounds_per_day
                    == round % rounds_per_day
            });
            let failover =
                (failover_round..failover_round + args.failover_changes).contains(&round);
            // The first round is every agent's first publish.
            round == 0 || spread || failover
        };
        let syncs = round > 0
            && (round * args.syncs_per_day / rounds_per_day)
                != ((round - 1) * args.syncs_per_day / rounds_per_day);
        let mut plans = Vec::with_capacity(agents.len());
        for (c, agent) in agents.iter_mut().enumerate() {
            if changes(c) && round > 0 {
                agent.version += 1;
            }
            if syncs {
                agent.sync += 1;
            }
            if (changes(c) && round > 0) || syncs {
                agent.changed_round = round;
            }
            let (plan, now) = agent.decide(c, round, args.heartbeat_minutes)?;
            agent.wrote(plan, now, round);
            plans.push(plan);
        }
        // The real sample: each through the agent's own publish, as its runner calls it.
        for (c, agent) in agents.iter_mut().enumerate().take(sample) {
            let content = agent.content(c);
            let t = Instant::now();
            match plans[c] {
                Plan::Commit => {
                    let _ =
                        agent
                            .writer
                            .publish_signed(&agent.name, content.as_bytes(), &agent.key)?;
                    totals.status += 1;
                }
                Plan::Heartbeat => {
                    agent
                        .writer
                        .beat(&agent.name, content.as_bytes(), Some(&agent.key))?;
                    totals.beats += 1;
                }
                Plan::Nothing => {}
            }
            real_times.push(t.elapsed());
        }
        // The rest: the same commits, written in one pack and one ref transaction.
        let simulated = simulate_round(
            &remote_path,
            &mut agents[sample..],
            sample,
            &plans[sample..],
        )?;
        totals.status += simulated.status;
        totals.beats += simulated.beats;
        let hour_done = (round + 1) % rounds_per_hour == 0;
        let hour = (round + 1) / rounds_per_hour;
        if hour_done && args.gc_every_hours > 0 && hour.is_multiple_of(args.gc_every_hours) {
            let t = Instant::now();
            gc(&remote_path)?;
            gc_time += t.elapsed();
        }
        if hour_done {
            eprintln!(
                "hour {hour:>2}: {} heartbeats, {} status commits, {:.0?} so far ({:.0?} in git gc)",
                totals.beats,
                totals.status,
                start.elapsed(),
                gc_time
            );
        }
    }
    let simulated_in = start.elapsed();
    // The sample's refs were moved by real publishes: continue from where they are.
    let repo = Repository::open_bare(&remote_path)?;
    for agent in agents.iter_mut().take(sample) {
        agent.tip = repo
            .refname_to_id(&status_ref(&agent.name).map_err(anyhow::Error::msg)?)
            .ok();
    }
    drop(repo);
    gc(&remote_path)?;
    let size = repo_size(&remote_path)?;

    // A hub agent's read: every cluster's status with one glob refspec (no heartbeats).
    let hub = hub_agent(&url, &dir.path().join("hub-cache"));
    let (cold, files) = timed(|| hub.fetch_statuses())?;
    let statuses = files.files.keys().filter(|p| p.ends_with(".yaml")).count();
    if statuses != args.clusters {
        bail!(
            "the hub read {statuses} status files for {} clusters",
            args.clusters
        );
    }
    // Of which reading the fetched refs into the status view (no network, no fetch).
    let (read_view, _) = timed(|| -> Result<()> {
        let cache = Repository::open_bare(hub.cache_path())?;
        let legacy = format!("refs/hubdr/source/{}", StatusWriter::DEFAULT_BRANCH);
        let mut view = hubdr_core::status::refs::read(&cache, &legacy)?;
        view.load(&cache, hubdr_core::limits::STATUS_FILE_MAX_BYTES)?;
        Ok(())
    })?;
    let (nothing_changed, _) = timed(|| hub.fetch_statuses())?;
    // One heartbeat round of every cluster (no status change, sync times as usual).
    let mut round = rounds;
    let beats = next_round(&mut agents, round, args, |_| false)?;
    simulate_round(&remote_path, &mut agents, 0, &beats)?;
    let (after_heartbeats, _) = timed(|| hub.fetch_statuses())?;
    // One round in which 1% of the clusters change.
    round += 1;
    let plans = next_round(&mut agents, round, args, |c| c.is_multiple_of(100))?;
    simulate_round(&remote_path, &mut agents, 0, &plans)?;
    let (after_one_percent, files) = timed(|| hub.fetch_statuses())?;
    // A hub agent reads the status refs (no heartbeats): each cluster's last committed status.
    for agent in &agents[..2] {
        let file = &files.files[&format!("clusters/{}.yaml", agent.name)];
        let seen = ClusterStatus::parse(std::str::from_utf8(file)?).map_err(anyhow::Error::msg)?;
        if Some(&seen) != agent.committed.as_ref().map(|(s, _)| s) {
            bail!("the hub did not see {}'s last committed status", agent.name);
        }
    }
    // For scale: git's own fetch (protocol v2) of the same refs into a new repository, and of
    // the heartbeat refs (which only `hubdr status --fetch` reads) after a heartbeat round.
    let git_cold = git_fetch(dir.path(), &url, "git-cold.git", &[STATUS_REFSPEC]);
    let heartbeats = HEARTBEAT_REFSPEC;
    let git_beats_cold = git_fetch(dir.path(), &url, "git-beats.git", &[heartbeats]);
    let beats = next_round(&mut agents, round + 1, args, |_| false)?;
    simulate_round(&remote_path, &mut agents, 0, &beats)?;
    let git_beats_round = git_fetch(dir.path(), &url, "git-beats.git", &[heartbeats]);
    // Over a network transport, served by git's own upload-pack as a forge serves it (from a
    // file:// path libgit2 builds the pack itself, in the fetching process).
    let over_daemon = match GitDaemon::start(dir.path()) {
        Some(daemon) => {
            let url = daemon.url("status.git");
            let hub = hub_agent(&url, &dir.path().join("hub-cache-daemon"));
            let (cold, _) = timed(|| hub.fetch_statuses())?;
            let (again, _) = timed(|| hub.fetch_statuses())?;
            let git = git_fetch(dir.path(), &url, "git-daemon.git", &[STATUS_REFSPEC]);
            Some((cold, again, git))
        }
        None => None,
    };

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("clusters:              {}", args.clusters);
    println!(
        "simulated:             {} h, heartbeat every {} min, {} changes per cluster per day + {} in the failover at hour {}",
        args.hours, args.heartbeat_minutes, args.changes_per_day, args.failover_changes, args.failover_hour
    );
    println!(
        "written:               {} heartbeats, {} status commits in {simulated_in:.1?} ({gc_time:.1?} of it git gc)",
        totals.beats, totals.status
    );
    println!(
        "real publishes:        {} by {sample} clusters, p50 {} ms, p95 {} ms, max {} ms",
        real_times.len(),
        percentile(&mut real_times, 50),
        percentile(&mut real_times, 95),
        percentile(&mut real_times, 100)
    );
    println!(
        "repository after gc:   {} objects ({} commits reachable), pack {}, {} refs ({} status, {} heartbeat)",
        size.objects,
        count_commits(&remote_path)?,
        mb(size.pack_bytes),
        size.refs,
        size.status_refs,
        size.heartbeat_refs
    );
    println!(
        "hub fetch (hubdr):     cold {} ms (reading the view: {} ms), nothing changed {} ms, after a heartbeat round {} ms, after 1% changed {} ms",
        cold.as_millis(),
        read_view.as_millis(),
        nothing_changed.as_millis(),
        after_heartbeats.as_millis(),
        after_one_percent.as_millis()
    );
    println!(
        "for scale (git fetch): status refs cold {}, heartbeat refs cold {}, heartbeat refs after a round {}",
        ms(git_cold),
        ms(git_beats_cold),
        ms(git_beats_round)
    );
    match over_daemon {
        Some((cold, again, git)) => println!(
            "over git:// (daemon):  hub fetch cold {} ms, nothing changed {} ms; git fetch cold {}",
            cold.as_millis(),
            again.as_millis(),
            ms(git)
        ),
        None => println!("over git:// (daemon):  not measured (no git binary)"),
    }
    println!("load average:          {}", load.trim());
    Ok(())
}

#[derive(Default)]
struct Totals {
    beats: usize,
    status: usize,
}

/// After the simulated day: one more round for every agent, its status changing where
/// `changes` says and its sync times moving; what each writes.
fn next_round(
    agents: &mut [Agent],
    round: usize,
    args: &Args,
    changes: impl Fn(usize) -> bool,
) -> Result<Vec<Plan>> {
    let mut plans = Vec::with_capacity(agents.len());
    for (c, agent) in agents.iter_mut().enumerate() {
        if changes(c) {
            agent.version += 1;
        }
        if args.syncs_per_day > 0 {
            agent.sync += 1;
        }
        agent.changed_round = round;
        let (plan, now) = agent.decide(c, round, args.heartbeat_minutes)?;
        agent.wrote(plan, now, round);
        plans.push(plan);
    }
    Ok(plans)
}

/// One round for `agents` (`offset`: the index of the first): what `plans` says for each, a
/// status commit or a heartbeat commit carrying the status, all built by the agent's code into
/// memory, then written to the repository as one pack and the refs moved in one transaction.
fn simulate_round(
    remote: &Path,
    agents: &mut [Agent],
    offset: usize,
    plans: &[Plan],
) -> Result<Totals> {
    let repo = Repository::open_bare(remote)?;
    let odb = repo.odb()?;
    let mempack = odb.add_new_mempack_backend(1000)?;
    let mut updates: Vec<(String, Oid)> = Vec::with_capacity(agents.len());
    let mut totals = Totals::default();
    let mut built: Vec<Option<Oid>> = Vec::with_capacity(agents.len());
    for (i, agent) in agents.iter().enumerate() {
        let c = offset + i;
        let content = agent.content(c);
        let new = match plans[i] {
            Plan::Commit => agent.writer.build_status_commit(
                &repo,
                agent.tip,
                &agent.name,
                content.as_bytes(),
                Some(&agent.key),
            )?,
            Plan::Heartbeat | Plan::Nothing => None,
        };
        match (new, plans[i]) {
            (Some(commit), _) => {
                updates.push((status_ref(&agent.name).map_err(anyhow::Error::msg)?, commit));
                totals.status += 1;
            }
            (None, Plan::Nothing) => {}
            (None, _) => {
                let beat = agent.writer.build_heartbeat_commit(
                    &repo,
                    &agent.name,
                    content.as_bytes(),
                    Some(&agent.key),
                )?;
                updates.push((
                    heartbeat_ref(&agent.name).map_err(anyhow::Error::msg)?,
                    beat,
                ));
                totals.beats += 1;
            }
        }
        built.push(new);
    }
    let mut pack = git2::Buf::new();
    mempack.dump(&repo, &mut pack)?;
    {
        let mut writer = odb.packwriter()?;
        writer.write_all(&pack)?;
        writer.commit()?;
    }
    drop(odb);
    let repo = Repository::open_bare(remote)?;
    let mut tx = repo.transaction()?;
    for (name, _) in &updates {
        tx.lock_ref(name)?;
    }
    for (name, id) in &updates {
        tx.set_target(name, *id, None, "status-day-bench")?;
    }
    tx.commit()?;
    for (agent, new) in agents.iter_mut().zip(built) {
        if new.is_some() {
            agent.tip = new;
        }
    }
    Ok(totals)
}

/// A hub agent's status reader of `url`, its cache at `cache` (new: a cold fetch).
fn hub_agent(url: &str, cache: &Path) -> GitSource {
    GitSource::new(url, StatusWriter::DEFAULT_BRANCH, cache, Credentials::None)
}

fn seed(cluster: usize) -> [u8; 32] {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(cluster as u64).to_le_bytes());
    seed
}

/// A time `minutes` after the start of the simulated day (the day before the run, so never in
/// the future for a day or two).
fn at(minutes: usize) -> String {
    static START: std::sync::OnceLock<jiff::Timestamp> = std::sync::OnceLock::new();
    let start = START.get_or_init(|| jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48));
    let t = *start + jiff::SignedDuration::from_mins(minutes as i64);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn status(cluster: usize, version: usize, sync: usize, changed_round: usize) -> String {
    // About the size of a managed cluster's real status file.
    let mut s = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: agent-{cluster}\nagentVersion: 0.1.0\n\
         updatedAt: {}\nsource:\n  commit: {:040x}\n  generation: {version}\n  stale: false\n\
         pass:\n  outcome: Succeeded\n  reason: Applied\nobjects:\n",
        at(changed_round * 10),
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
            "  - name: app-{o}/data-{o}\n    lastSyncTime: {}\n",
            at(sync * 10)
        ));
    }
    s
}

fn timed<T, E: Into<anyhow::Error>>(
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<(Duration, T)> {
    let t = Instant::now();
    let value = f().map_err(Into::into)?;
    Ok((t.elapsed(), value))
}

/// `git fetch` of `refspecs` from `url` into the bare repository `name` under `dir` (created
/// when missing); `None` when git cannot be run or fails.
fn git_fetch(dir: &Path, url: &str, name: &str, refspecs: &[&str]) -> Option<Duration> {
    let path = dir.join(name);
    if !path.exists() {
        Repository::init_bare(&path).ok()?;
    }
    let t = Instant::now();
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&path)
        .args(["fetch", "--quiet", "--no-tags", url])
        .args(refspecs)
        .output()
        .ok()?;
    out.status.success().then(|| t.elapsed())
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

struct Size {
    objects: u64,
    pack_bytes: u64,
    refs: usize,
    status_refs: usize,
    heartbeat_refs: usize,
}

fn repo_size(path: &Path) -> Result<Size> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(path)
        .args(["count-objects", "-v"])
        .output()
        .context("running git count-objects")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(": ")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let repo = Repository::open_bare(path)?;
    let count = |glob: &str| -> Result<usize> { Ok(repo.references_glob(glob)?.count()) };
    let refs = repo.references()?.count();
    let size = Size {
        objects: field("count") + field("in-pack"),
        pack_bytes: (field("size-pack") + field("size")) * 1024,
        refs,
        status_refs: count("refs/hubdr/status/*")?,
        heartbeat_refs: count("refs/hubdr/heartbeat/*")?,
    };
    Ok(size)
}

/// Commits reachable from any ref (`git rev-list --all --count`: libgit2's revwalk inserts
/// 10,000 tips one by one in date order, quadratic).
fn count_commits(path: &Path) -> Result<usize> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(path)
        .args(["rev-list", "--all", "--count"])
        .output()
        .context("running git rev-list")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("reading git rev-list --count")
}

fn percentile(times: &mut [Duration], p: usize) -> u128 {
    if times.is_empty() {
        return 0;
    }
    times.sort();
    let i = ((times.len() * p).div_ceil(100)).clamp(1, times.len()) - 1;
    times[i].as_millis()
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("n/a (no git)".into(), |d| format!("{} ms", d.as_millis()))
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
