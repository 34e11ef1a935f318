//! The status benchmarks that docs/performance.md tells users to run still run, at a size a
//! test can afford, and check what they claim to check (they exit non-zero otherwise).

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("the benchmark runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn status_contention_bench_lands_every_update_in_both_modes() {
    let bin = env!("CARGO_BIN_EXE_status-contention-bench");
    let pooled = run(bin, &["--agents", "10,30"]);
    assert_eq!(
        pooled.matches("timed from the common start").count(),
        2,
        "{pooled}"
    );
    for line in [
        "landed:         30/30",
        "round 2, every agent updates its ref",
        "push attempts:  1.000 per update (30 in all",
        "verified:       every agent's ref holds its last file, one commit per round",
    ] {
        assert!(pooled.contains(line), "missing {line:?} in\n{pooled}");
    }
    let threads = run(
        bin,
        &["--agents", "20", "--one-thread-each", "--rounds", "3"],
    );
    assert!(threads.contains("one thread each"), "{threads}");
    assert!(
        threads.contains("round 3, every agent updates its ref"),
        "{threads}"
    );
    assert!(
        threads.contains("verified:       every agent's ref"),
        "{threads}"
    );
}

#[test]
fn status_day_bench_runs_a_small_day() {
    let bin = env!("CARGO_BIN_EXE_status-day-bench");
    let out = run(
        bin,
        &[
            "--clusters",
            "12",
            "--hours",
            "2",
            "--failover-hour",
            "1",
            "--real-sample",
            "3",
            "--gc-every-hours",
            "0",
        ],
    );
    for line in [
        "clusters:              12",
        "real publishes:        36 by 3 clusters",
        "repository after gc:",
        "hub fetch (hubdr):     cold",
        "over git:// (daemon):  hub fetch cold",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}
