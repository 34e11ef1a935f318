//! `hubdr-bench`: time `hubdr render` on a synthetic fleet and print the numbers.
//!
//! It writes a synthetic site file (hubs, managed clusters and replications of all four VolSync
//! methods) into a temporary directory and then runs the library code the `hubdr render` command
//! runs (`commands::load`, `commands::render_loaded`, `commands::render::commit_rendered`):
//!
//! * full render: load + validate + render + write + commit into a fresh git repository,
//!   with the in-memory render (templates, checks, serialization, index) also shown on its own;
//! * no-change re-render into the same repository, and how many files it wrote (found by
//!   comparing every working-tree file's mtime, inode and size before and after; must be 0);
//! * peak memory (VmHWM of this process);
//! * for scale, `git checkout` of the full render's commit into a fresh clone: the same files
//!   written by git, on the same disk (the report names the directory and its file system).
//!
//! ```text
//! cargo run --release -p hubdr --bin hubdr-bench -- --clusters 5000 --replications 5000
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use fleet::Fleet;
use hubdr::cli::SiteArgs;
use hubdr::commands::{self, render::render_to_repo, CommandError};

#[path = "bench_common/fleet.rs"]
mod fleet;

const AUTHOR: (&str, &str) = ("hubdr-bench", "bench@localhost");
const TARGET_FULL: Duration = Duration::from_millis(1000);
const TARGET_RERENDER: Duration = Duration::from_millis(300);

#[derive(Debug, Parser)]
#[command(
    name = "hubdr-bench",
    about = "Time `hubdr render` on a synthetic fleet"
)]
struct Args {
    /// Managed clusters in the synthetic site.
    #[arg(long, default_value_t = 5000)]
    clusters: usize,
    /// VolSync replications (rsync-tls, rsync, restic and rclone in turn).
    #[arg(long, default_value_t = 5000)]
    replications: usize,
    /// Hubs: one active, the others passive.
    #[arg(long, default_value_t = 2)]
    hubs: usize,
    /// Repetitions; the table shows min, median and max (one run says little on a machine
    /// whose speed drifts).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Keep the site file and the output repositories in this directory (default: a temporary
    /// directory that is removed at the end).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Only load and render in memory (no git), e.g. to profile the renderer.
    #[arg(long)]
    render_only: bool,
}

/// mimalloc: rendering allocates and frees many small strings and maps on several threads,
/// where it is markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("hubdr-bench: {e}");
        std::process::exit(1);
    }
}

/// One run's measurements (wall clock; `*_cpu` is the process's user + system time).
#[derive(Default)]
struct Sample {
    load: Duration,
    render: Duration,
    commit: Duration,
    full: Duration,
    full_cpu: Duration,
    rerender: Duration,
    rerender_check: Duration,
    rerender_cpu: Duration,
    unstamped: Duration,
    reload: Duration,
    rerender_memory: Duration,
    regit: Duration,
    unstamped_cpu: Duration,
    files: usize,
    /// sha256 over every rendered path and its bytes: equal digests mean identical output.
    digest: String,
    committed: usize,
    rewritten: usize,
    rerender_changes: usize,
    /// `git checkout` of the full render's commit into an empty directory (`None` without a
    /// `git` command): the cost of the working-tree files alone, on the same disk and machine.
    git_checkout: Option<Duration>,
}

fn run(args: &Args) -> Result<(), String> {
    if args.hubs == 0 || args.clusters < 2 || args.runs == 0 {
        return Err("need at least 1 hub, 2 clusters and 1 run".into());
    }
    let temp;
    let dir: &Path = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| e.to_string())?;
            temp.path()
        }
    };
    let fleet = Fleet::new(args.hubs, args.clusters, args.replications);
    let site_text = fleet.site_yaml();
    let site_path = dir.join("site.yaml");
    std::fs::write(&site_path, &site_text).map_err(|e| format!("{}: {e}", site_path.display()))?;
    // The synthetic site is clean: each warning would be located in the file on every load.
    let warnings = hubdr::site::load::load_file(&site_path)
        .map_err(|e| e.to_string())?
        .warnings
        .len();
    if warnings > 0 {
        eprintln!("hubdr-bench: the synthetic site has {warnings} warning(s)");
    }
    let site_args = SiteArgs {
        site: site_path,
        templates: None,
    };

    let mut samples = Vec::new();
    for i in 0..args.runs {
        let repo = dir.join(format!("repo-{i}"));
        if repo.exists() {
            std::fs::remove_dir_all(&repo).map_err(|e| format!("{}: {e}", repo.display()))?;
        }
        let measured = if args.render_only {
            sample_in_memory(&site_args)
        } else {
            sample(&site_args, &repo)
        };
        samples.push(measured.map_err(|e| e.to_string())?);
        // The repositories are removed together at the end, not between runs: on ext4, creating
        // many files right after deleting many is several times slower (the inode allocator
        // skips recently freed inodes), which would measure the previous run's cleanup.
    }
    print!(
        "{}",
        report(
            args,
            &fleet,
            site_text.len(),
            &samples,
            peak_rss_kib(),
            &location(dir)
        )
    );
    if let Some(dir) = &args.keep {
        println!(
            "kept the site file and the repositories in {}",
            dir.display()
        );
    }
    Ok(())
}

/// Load and render in memory only.
fn sample_in_memory(site_args: &SiteArgs) -> Result<Sample, CommandError> {
    let mut sink = std::io::sink();
    let (start, cpu) = (Instant::now(), cpu_time());
    let loaded = commands::load(&site_args.site, &mut sink)?;
    let loaded_at = Instant::now();
    let rendered = commands::render_loaded(site_args, &loaded)?;
    let done = Instant::now();
    Ok(Sample {
        load: loaded_at - start,
        render: done - loaded_at,
        full: done - start,
        full_cpu: cpu_time().saturating_sub(cpu),
        files: rendered.tree.len(),
        digest: tree_digest(&rendered.tree),
        ..Sample::default()
    })
}

/// Full render into a fresh repository, then a re-render with nothing changed (the command's
/// own path, which the render stamp can end early), then the same without the stamp (load,
/// render and compare everything).
fn sample(site_args: &SiteArgs, repo: &Path) -> Result<Sample, CommandError> {
    let mut sink = std::io::sink();
    let (start, cpu) = (Instant::now(), cpu_time());
    let full = render_to_repo(site_args, repo, false, AUTHOR, &mut sink)?;
    let done = Instant::now();
    let full_cpu = cpu_time().saturating_sub(cpu);
    let committed = full
        .committed
        .ok_or_else(|| CommandError::Failed("the full render was skipped".into()))?;
    let tree = hubdr::gitrepo::OutputRepo::open(repo)
        .and_then(|r| r.head_files(&hubdr::render::MANAGED_PREFIXES))
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    let (files, digest) = (tree.len(), tree_digest(&tree));
    drop(tree);

    let before = stat_tree(repo);
    let (again, cpu) = (Instant::now(), cpu_time());
    let rerender = render_to_repo(site_args, repo, false, AUTHOR, &mut sink)?;
    let redone = Instant::now();
    let rerender_cpu = cpu_time().saturating_sub(cpu);
    if rerender.committed.is_some() {
        eprintln!("hubdr-bench: the no-change re-render was not ended by the render stamp");
    }

    hubdr::stamp::remove(&repo.join(".git")).map_err(|e| CommandError::Failed(e.to_string()))?;
    let (unstamped_start, unstamped_cpu) = (Instant::now(), cpu_time());
    let unstamped = render_to_repo(site_args, repo, false, AUTHOR, &mut sink)?;
    let unstamped_done = Instant::now();
    let unstamped_cpu = cpu_time().saturating_sub(unstamped_cpu);
    let after = stat_tree(repo);
    let recommitted = unstamped
        .committed
        .ok_or_else(|| CommandError::Failed("the render without a stamp was skipped".into()))?;
    if recommitted.commit.is_some() {
        eprintln!("hubdr-bench: the no-change re-render made a commit");
    }
    let git_checkout = time_git_checkout(repo, files);
    Ok(Sample {
        load: full.timings.load,
        render: full.timings.render,
        commit: full.timings.git,
        full: done - start,
        full_cpu,
        rerender: redone - again,
        rerender_check: rerender.timings.check,
        rerender_cpu,
        unstamped: unstamped_done - unstamped_start,
        reload: unstamped.timings.load,
        rerender_memory: unstamped.timings.render,
        regit: unstamped.timings.git,
        unstamped_cpu,
        files,
        digest,
        committed: committed.changes.len(),
        rewritten: changed_files(&before, &after),
        rerender_changes: recommitted.changes.len(),
        git_checkout,
    })
}

/// Clone `repo` without a checkout (hard links, not timed) into a sibling directory, then time
/// `git checkout` of its branch there with as many workers as rayon has threads: git writing
/// the same `files` files that the full render wrote. `None` when `git` cannot be run or did
/// not write them all.
fn time_git_checkout(repo: &Path, files: usize) -> Option<Duration> {
    use std::process::{Command, Stdio};
    let target = repo.with_extension("git-checkout");
    let run = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let cloned = run(Command::new("git")
        .args(["clone", "--quiet", "--local", "--no-checkout"])
        .arg(repo)
        .arg(&target));
    if !cloned {
        return None;
    }
    let workers = rayon::current_num_threads().to_string();
    let start = Instant::now();
    let checked_out = run(Command::new("git")
        .current_dir(&target)
        // No hooks of the user's: only the checkout is timed.
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(["-c", &format!("checkout.workers={workers}")])
        .args(["-c", "checkout.thresholdForParallelism=1"])
        .args(["checkout", "--quiet", "main"]));
    let took = start.elapsed();
    let written = stat_tree(&target).len();
    (checked_out && written == files).then_some(took)
}

/// sha256 over every path and its bytes, in tree order.
fn tree_digest(tree: &hubdr::gitrepo::Tree) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, bytes) in tree {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hubdr::site::load::hex(&hasher.finalize())
}

/// User + system CPU time of this process (all threads), from /proc/self/stat.
fn cpu_time() -> Duration {
    const TICKS_PER_SECOND: u64 = 100; // USER_HZ; Linux reports these fields in 1/100 s
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / TICKS_PER_SECOND)
}

/// Every working-tree file (outside `.git`) with its mtime, inode and size.
fn stat_tree(root: &Path) -> BTreeMap<PathBuf, (Option<std::time::SystemTime>, u64, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(md) = entry.metadata() else { continue };
            if md.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
            } else {
                out.insert(path, (md.modified().ok(), inode(&md), md.len()));
            }
        }
    }
    out
}

#[cfg(unix)]
fn inode(md: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(md)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// Files added, removed or replaced between two `stat_tree` snapshots.
fn changed_files<K: Ord, V: PartialEq>(before: &BTreeMap<K, V>, after: &BTreeMap<K, V>) -> usize {
    let changed = after
        .iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .count();
    let removed = before.keys().filter(|k| !after.contains_key(k)).count();
    changed + removed
}

/// `dir` and the type of the file system it is on (from /proc/self/mountinfo), which the
/// full render's time depends on: creating its files is most of it.
fn location(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let file_system = mountinfo
        .lines()
        .filter_map(|line| {
            // "id parent major:minor root mount-point options ... - type source options"
            let mount_point = unescape_mount_path(line.split(' ').nth(4)?);
            let fs_type = line.split(" - ").nth(1)?.split(' ').next()?;
            dir.starts_with(&mount_point)
                .then(|| (mount_point.as_os_str().len(), fs_type.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "an unknown file system".to_string(), |(_, t)| t);
    format!("{} ({file_system})", dir.display())
}

/// Mount points in mountinfo escape space, tab, newline and backslash as `\ooo` (octal).
fn unescape_mount_path(field: &str) -> PathBuf {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let code = rest.get(pos + 1..pos + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[pos + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[pos + 1..];
            }
        }
    }
    out.push_str(rest);
    PathBuf::from(out)
}

/// VmHWM (peak resident set) of this process in KiB, from /proc/self/status.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(
    args: &Args,
    fleet: &Fleet,
    site_bytes: usize,
    samples: &[Sample],
    peak_kib: Option<u64>,
    location: &str,
) -> String {
    let mut out = String::new();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        out,
        "hubdr-bench: {} hub(s), {} managed cluster(s), {} replication(s)\n  ({})",
        args.hubs,
        args.clusters,
        args.replications,
        fleet.describe()
    );
    let s = &samples[0];
    let committed = if args.render_only {
        String::new()
    } else {
        format!(
            " ({} committed by the full render); repositories in {location}",
            s.committed
        )
    };
    let _ = writeln!(
        out,
        "site file {:.1} MiB; {} file(s) rendered{committed}; {} run(s); {cpus} CPU(s), {} rayon thread(s)\n",
        site_bytes as f64 / (1024.0 * 1024.0),
        s.files,
        samples.len(),
        rayon::current_num_threads(),
    );
    let _ = writeln!(
        out,
        "{:<42} {:>10} {:>10} {:>10}  target",
        "wall clock", "min", "median", "max"
    );
    let mut row = |name: &str, f: &dyn Fn(&Sample) -> Duration, target: Option<Duration>| {
        let mut values: Vec<Duration> = samples.iter().map(f).collect();
        values.sort();
        let median = values[values.len() / 2];
        let verdict = match target {
            Some(t) if median <= t => format!("< {} ms: met", t.as_millis()),
            Some(t) => format!("< {} ms: MISSED", t.as_millis()),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{name:<42} {:>10} {:>10} {:>10}  {verdict}",
            ms(values[0]),
            ms(median),
            ms(values[values.len() - 1])
        );
    };
    if args.render_only {
        row("load site (read, parse, validate)", &|s| s.load, None);
        row("render in memory", &|s| s.render, None);
        row("load + render", &|s| s.full, None);
        row("  CPU time (user + system)", &|s| s.full_cpu, None);
    } else {
        row(
            "full render into a fresh repository",
            &|s| s.full,
            Some(TARGET_FULL),
        );
        row("  load site (read, parse, validate)", &|s| s.load, None);
        row("  render in memory", &|s| s.render, None);
        row("  git: check, diff, write, commit", &|s| s.commit, None);
        row("  CPU time (user + system)", &|s| s.full_cpu, None);
        if samples.iter().all(|s| s.git_checkout.is_some()) {
            row(
                "  for scale: git checkout, same files",
                &|s| s.git_checkout.unwrap_or_default(),
                None,
            );
        }
        row(
            "no-change re-render",
            &|s| s.rerender,
            Some(TARGET_RERENDER),
        );
        row(
            "  stamp check (digest, HEAD, edits)",
            &|s| s.rerender_check,
            None,
        );
        row("  CPU time (user + system)", &|s| s.rerender_cpu, None);
        row(
            "no-change re-render without the stamp",
            &|s| s.unstamped,
            None,
        );
        row("  load site", &|s| s.reload, None);
        row("  render in memory", &|s| s.rerender_memory, None);
        row("  git: check, diff", &|s| s.regit, None);
        row("  CPU time (user + system)", &|s| s.unstamped_cpu, None);
    }
    let _ = writeln!(out);
    if !args.render_only {
        let rewritten = samples.iter().map(|s| s.rewritten).max().unwrap_or(0);
        let changes = samples
            .iter()
            .map(|s| s.rerender_changes)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "{:<42} {:>10}  (changed mtime/inode/size; git diff: {changes} change(s)){}",
            "files written by the no-change re-renders",
            rewritten,
            if rewritten == 0 && changes == 0 {
                ""
            } else {
                ": MUST BE 0"
            }
        );
    }
    let _ = writeln!(
        out,
        "{:<42} {:>10}",
        "output digest (sha256 of paths and bytes)",
        &s.digest[..16]
    );
    let _ = writeln!(
        out,
        "{:<42} {:>10}",
        "peak RSS (VmHWM)",
        peak_kib.map_or("?".to_string(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
    );
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount_path("/"), PathBuf::from("/"));
        assert_eq!(
            unescape_mount_path(r"/mnt/my\040disk\134x"),
            PathBuf::from(r"/mnt/my disk\x")
        );
        // Not an escape: kept as it is.
        assert_eq!(unescape_mount_path(r"/a\9"), PathBuf::from(r"/a\9"));
    }

    #[test]
    fn the_location_names_the_file_system() {
        if Path::new("/proc/self/mountinfo").exists() {
            let root = location(Path::new("/"));
            assert!(root.starts_with("/ ("), "{root}");
            assert!(!root.contains("unknown"), "{root}");
        }
    }
}
