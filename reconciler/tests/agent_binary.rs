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

/// A configuration error is printed once (the log is stderr: no second copy).
#[test]
fn a_configuration_error_is_printed_once() {
    let out = agent(&["--repo", "/nonexistent", "--cluster", "Bad_Name"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("is not a valid DNS-1123 label").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.starts_with("error: --cluster: "), "{stderr}");
}

/// A failed pass is logged at ERROR, not INFO, so log alerts see it.
#[test]
fn a_failed_pass_is_logged_as_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abc}\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubdr-agent"))
        .args([
            "--repo",
            dir.path().join("missing").to_str().unwrap(),
            "--cluster",
            "a",
            "--no-status",
            "--interval",
            "1h",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cache-dir",
            dir.path().join("cache").to_str().unwrap(),
        ])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log until the first pass is reported, then stop the agent.
    let stderr = child.stderr.take().unwrap();
    let line = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("pass finished"))
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !line.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = line.join().unwrap().expect("the agent reports its pass");
    assert!(line.contains(" ERROR "), "{line}");
    assert!(line.contains("reason=FetchFailed"), "{line}");
}
