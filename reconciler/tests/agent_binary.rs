//! The `hubdr-agent` binary as an operator runs it: help, flags, and what it prints.

use std::process::Command;

fn agent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hubdr-agent"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("hubdr-agent runs")
}

#[test]
fn help_export_status_shows_the_subcommands_help() {
    let out = agent(&["help", "export-status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("hubdr status import"), "{stdout}");
    assert!(stdout.contains("--out"), "{stdout}");
}

#[test]
fn a_zero_interval_is_refused() {
    let out = agent(&[
        "--repo",
        "/nonexistent",
        "--cluster",
        "a",
        "--interval",
        "0s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must be greater than zero"), "{stderr}");
}

/// Logs to a pipe (a pod's log, a file) carry no terminal colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = agent(&[
        "--repo",
        dir.path().join("missing").to_str().unwrap(),
        "--cluster",
        "a",
        "--once",
        "--no-status",
        "--kubeconfig",
        dir.path().join("no-kubeconfig").to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.is_empty(), "{out:?}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
