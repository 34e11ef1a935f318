//! `gix-bench` (feature `gix-bench`): issue 16's measurement of `gix` against hubdr's
//! hand-written git write path (pack, index file, checkout) on the synthetic fleet of
//! `hubdr-bench`, both in one run, alternating, on the same disk.
//!
//! Each run renders the same site twice into two new repositories:
//!
//! * hand-written: `hubdr render`'s own library path (`render_to_repo`): full render, then the
//!   no-change re-render (render stamp), then the no-change re-render without the stamp;
//! * gix (`gix_write`): the same load and render, then the rendered tree written with gix's
//!   maintained APIs: blobs as loose objects (in parallel, one thread-local repository per
//!   rayon thread), trees with `object::tree::Editor`, the commit with `commit_as` (which moves
//!   the branch), the index with `index_from_tree`, the work tree with `gix_worktree_state::checkout`
//!   (parallel) and `index::File::write`; the no-change re-render with the stamp checks the same
//!   stamp against `HEAD`'s trees read by gix and gix's index-worktree status, and without the
//!   stamp computes the desired tree ids in memory (`with_object_memory`) and compares them with
//!   `HEAD`'s, then runs the same status.
//!
//! ```text
//! cargo run --release -p hubdr --features gix-bench --bin gix-bench -- --clusters 5000 --replications 5000
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use hubdr::cli::SiteArgs;
use hubdr::commands::{self, render::render_to_repo};
use hubdr::render::MANAGED_PREFIXES;

#[path = "../bench_common/fleet.rs"]
mod fleet;
mod gix_write;

use fleet::Fleet;

const AUTHOR: (&str, &str) = ("hubdr-bench", "bench@localhost");

#[derive(Debug, Parser)]
#[command(
    name = "gix-bench",
    about = "Time the hand-written git write path against gix"
)]
struct Args {
    #[arg(long, default_value_t = 5000)]
    clusters: usize,
    #[arg(long, default_value_t = 5000)]
    replications: usize,
    #[arg(long, default_value_t = 2)]
    hubs: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Keep the site file and the repositories in this directory.
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One run of one write path: full render, no-change with the stamp, no-change without.
#[derive(Default, Clone, Copy)]
struct Sample {
    full: Duration,
    stamped: Duration,
    unstamped: Duration,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("gix-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
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
    let site_path = dir.join("site.yaml");
    std::fs::write(&site_path, fleet.site_yaml()).map_err(|e| e.to_string())?;
    let site = SiteArgs {
        site: site_path,
        templates: None,
    };
    println!(
        "{} hubs, {} clusters, {} replications ({}), {} runs in {}",
        args.hubs,
        args.clusters,
        args.replications,
        fleet.describe(),
        args.runs,
        dir.display()
    );
    println!("load average before: {}", load_average());
    let (mut hand, mut gix) = (Vec::new(), Vec::new());
    for i in 0..args.runs {
        // Alternate which goes first, so that neither always meets the other's freed inodes.
        let order: [bool; 2] = if i % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for use_gix in order {
            let repo = dir.join(format!("{}-{i}", if use_gix { "gix" } else { "hand" }));
            if use_gix {
                let (s, files) = gix_sample(&site, &repo)?;
                println!(
                    "run {i} gix:          full {} no-change {} without stamp {} ({files} files)",
                    ms(s.full),
                    ms(s.stamped),
                    ms(s.unstamped)
                );
                gix.push(s);
            } else {
                let s = hand_sample(&site, &repo)?;
                println!(
                    "run {i} hand-written: full {} no-change {} without stamp {}",
                    ms(s.full),
                    ms(s.stamped),
                    ms(s.unstamped)
                );
                hand.push(s);
            }
        }
        let (h, g) = (dir.join(format!("hand-{i}")), dir.join(format!("gix-{i}")));
        let same = gix_write::same_head_tree(&h, &g)?;
        println!("run {i}: same commit tree in both repositories: {same}");
        if !same {
            return Err("the two write paths committed different trees".into());
        }
    }
    println!("load average after: {}", load_average());
    println!("median of {} runs:", args.runs);
    for (name, f) in [
        (
            "full render",
            (|s: &Sample| s.full) as fn(&Sample) -> Duration,
        ),
        ("no-change render (stamp)", |s: &Sample| s.stamped),
        ("no-change render without the stamp", |s: &Sample| {
            s.unstamped
        }),
    ] {
        let (h, g) = (median(&hand, f), median(&gix, f));
        println!(
            "  {name:36} hand-written {:>9}  gix {:>9}  gix/hand {:.2}x",
            ms(h),
            ms(g),
            g.as_secs_f64() / h.as_secs_f64()
        );
    }
    Ok(())
}

fn hand_sample(site: &SiteArgs, repo: &Path) -> Result<Sample, String> {
    let mut sink = std::io::sink();
    let start = Instant::now();
    render_to_repo(site, repo, false, AUTHOR, &mut sink).map_err(|e| e.to_string())?;
    let full = start.elapsed();
    let start = Instant::now();
    let again = render_to_repo(site, repo, false, AUTHOR, &mut sink).map_err(|e| e.to_string())?;
    let stamped = start.elapsed();
    if again.committed.is_some() {
        return Err("hand-written: the no-change render was not ended by the stamp".into());
    }
    hubdr::stamp::remove(&repo.join(".git")).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let again = render_to_repo(site, repo, false, AUTHOR, &mut sink).map_err(|e| e.to_string())?;
    let unstamped = start.elapsed();
    if again.committed.is_some_and(|c| c.commit.is_some()) {
        return Err("hand-written: the no-change render made a commit".into());
    }
    Ok(Sample {
        full,
        stamped,
        unstamped,
    })
}

fn gix_sample(site: &SiteArgs, repo: &Path) -> Result<(Sample, usize), String> {
    let mut sink = std::io::sink();
    let templates = commands::templates_for(site).map_err(|e| e.to_string())?;
    let inputs = || -> Result<String, String> {
        let bytes = std::fs::read(&site.site).map_err(|e| e.to_string())?;
        hubdr::stamp::inputs_digest(&bytes, &templates.digest)
            .ok_or_else(|| "no build id for the stamp".to_string())
    };

    let start = Instant::now();
    let inputs_full = inputs()?;
    let loaded = commands::load(&site.site, &mut sink).map_err(|e| e.to_string())?;
    let rendered = commands::render_with(&loaded, &templates).map_err(|e| e.to_string())?;
    gix_write::full_render(
        repo,
        &rendered.tree,
        AUTHOR,
        &inputs_full,
        &MANAGED_PREFIXES,
    )?;
    let full = start.elapsed();
    let files = rendered.tree.len();
    drop((loaded, rendered));

    let start = Instant::now();
    let up_to_date = gix_write::stamped_up_to_date(repo, &inputs()?, &MANAGED_PREFIXES)?;
    let stamped = start.elapsed();
    if !up_to_date {
        return Err("gix: the no-change render was not ended by the stamp".into());
    }

    let start = Instant::now();
    let loaded = commands::load(&site.site, &mut sink).map_err(|e| e.to_string())?;
    let rendered = commands::render_with(&loaded, &templates).map_err(|e| e.to_string())?;
    let unchanged = gix_write::unchanged(repo, &rendered.tree, &MANAGED_PREFIXES)?;
    let unstamped = start.elapsed();
    if !unchanged {
        return Err("gix: the no-change render found changes".into());
    }
    Ok((
        Sample {
            full,
            stamped,
            unstamped,
        },
        files,
    ))
}

fn median(samples: &[Sample], f: fn(&Sample) -> Duration) -> Duration {
    let mut v: Vec<Duration> = samples.iter().map(f).collect();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
