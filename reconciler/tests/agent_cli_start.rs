//! The `hubdr-agent` binary at start and against an unreachable API server, as an operator
//! runs it: a misspelt `--cluster` is refused before anything is written, naming close
//! names; an unreachable API server is named (scheme://host:port only) in the status and log.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::*;

/// A kubeconfig whose server cannot be reached, its URL carrying user information, a path and
/// a query string that must never be shown.
fn unreachable_kubeconfig(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://bob:s3cret@127.0.0.1:1/k8s/?token=zzz\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abc}\n",
    )
    .unwrap();
    path
}

fn agent(remote: &Remote, dir: &Path, cluster: &str, extra: &[&str]) -> Output {
    let kubeconfig = unreachable_kubeconfig(dir);
    Command::new(env!("CARGO_BIN_EXE_hubdr-agent"))
        .args([
            "--repo",
            &remote.url(),
            "--cluster",
            cluster,
            "--once",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
        ])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("hubdr-agent runs")
}

#[test]
fn a_misspelt_cluster_is_refused_before_any_status_is_written() {
    sandbox();
    let remote = Remote::new();
    remote.commit(&render(EXAMPLE_SITE).tree, "render");
    let dir = tempfile::tempdir().unwrap();
    let out = agent(&remote, dir.path(), "wset-1", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\nerror: --cluster wset-1: no such cluster in the rendered repository"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean west-1"), "{stderr}");
    assert!(stderr.contains("no status was written"), "{stderr}");
    assert_eq!(
        stderr.matches("no such cluster").count(),
        1,
        "printed once: {stderr}"
    );
    assert!(out.stdout.is_empty(), "no status printed: {out:?}");
    assert!(
        remote.status_snapshot().is_empty(),
        "nothing written to the status branch or refs: {:?}",
        remote.status_snapshot()
    );

    // A name with no close one lists some of the repository's names.
    let out = agent(&remote, dir.path(), "production", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no name is close"), "{stderr}");
    assert!(stderr.contains("west-1"), "{stderr}");
    assert!(remote.status_snapshot().is_empty());
}

#[test]
fn an_unreachable_api_server_is_named_in_the_status_and_the_log() {
    sandbox();
    let remote = Remote::new();
    remote.commit(&render(EXAMPLE_SITE).tree, "render");
    let dir = tempfile::tempdir().unwrap();
    let out = agent(&remote, dir.path(), "west-1", &["--no-status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let status = hubdr_core::status::ClusterStatus::parse(&stdout).expect("a status on stdout");
    assert_eq!(status.pass.reason, "ApplyFailed", "{stdout}");
    assert!(
        status
            .pass
            .message
            .contains("cannot reach the API server https://127.0.0.1:1:"),
        "{}",
        status.pass.message
    );
    for secret in ["bob", "s3cret", "zzz", "token=", "/k8s"] {
        assert!(!stdout.contains(secret), "{secret} in the status: {stdout}");
        assert!(!stderr.contains(secret), "{secret} in the log: {stderr}");
    }

    // Run as a service: the log's "pass finished" line names the server.
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubdr-agent"))
        .args([
            "--repo",
            &remote.url(),
            "--cluster",
            "west-1",
            "--no-status",
        ])
        .args([
            "--interval",
            "1h",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ])
        .args(["--cache-dir", dir.path().join("cache").to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("pass finished") {
                return (Some(line), seen);
            }
        }
        (None, seen)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (line, stderr) = reader.join().unwrap();
    let line = line.unwrap_or_else(|| panic!("no pass in the log: {stderr}"));
    assert!(
        line.contains("cannot reach the API server https://127.0.0.1:1:"),
        "{line}"
    );
    for secret in ["bob", "s3cret", "zzz", "token=", "/k8s"] {
        assert!(!stderr.contains(secret), "{secret} in the log: {stderr}");
    }
}
