//! Credentials given to the agent never leave it: a token in the `--repo` URL appears in none
//! of its log lines, the status it writes, or its error messages; and a token or key is never
//! sent over plain `http://` (the agent refuses to start). Runs the real `hubdr-agent` binary.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::*;

/// Unlike anything else the agent prints.
const TOKEN: &str = "Zq81xKtokenVALUEnotToBeSeen";

/// A loopback port nothing listens on: connections are refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `hubdr-agent args...` with a sandboxed HOME, run off the async runtime (the fake API server
/// keeps serving meanwhile).
async fn agent(dir: &Path, args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".config")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hubdr-agent"));
    command
        .args(&args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("RUST_LOG", "debug")
        .env_remove("HUBDR_REPO");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::task::spawn_blocking(move || command.output().expect("hubdr-agent runs"))
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file and directory name under `dir`, and the text of every small file.
fn everything_written(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push_str(&path.display().to_string());
        out.push('\n');
        if path.is_dir() {
            everything_written(&path, out);
        } else if entry.metadata().is_ok_and(|m| m.len() < 1 << 20) {
            out.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_repo_url_appears_in_no_log_status_or_error() {
    let server = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &server);
    let port = closed_port();
    let url = format!("https://x-access-token:{TOKEN}@127.0.0.1:{port}/platform/acm-dr.git");
    let shown = format!("https://***@127.0.0.1:{port}/platform/acm-dr.git");
    for format in ["text", "json"] {
        let cache = dir.path().join(format!("cache-{format}"));
        let args: Vec<String> = [
            "--repo",
            url.as_str(),
            "--cluster",
            "west-1",
            "--kubeconfig",
            kubeconfig.as_str(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "--namespace",
            AGENT_NAMESPACE,
            "--log-format",
            format,
            "--once",
        ]
        .map(String::from)
        .to_vec();
        let out = agent(dir.path(), args, &[]).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let shown_all = format!("status:\n{stdout}\nlogs:\n{stderr}");
        assert_eq!(out.status.code(), Some(1), "the pass fails\n{shown_all}");
        // The status (printed by --once) and the logs say which repository failed, without
        // its credentials.
        assert!(stdout.contains("FetchFailed"), "{shown_all}");
        assert!(
            stdout.contains(&shown),
            "the status names the repository\n{shown_all}"
        );
        assert!(
            stderr.contains(&shown),
            "the logs name the repository\n{shown_all}"
        );
        assert!(
            !stdout.contains(TOKEN),
            "the token is in the status\n{shown_all}"
        );
        assert!(
            !stderr.contains(TOKEN),
            "the token is in the logs\n{shown_all}"
        );
        let mut written = String::new();
        everything_written(&cache, &mut written);
        assert!(
            !written.contains(TOKEN),
            "the token is in the cache directory\n{written}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_or_key_is_never_sent_over_http() {
    let server = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &server);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let key_file = dir.path().join("id_ed25519");
    std::fs::write(&key_file, "not read").unwrap();
    let port = closed_port();
    let http = format!("http://127.0.0.1:{port}/platform/acm-dr.git");
    let http_with_token = format!("http://oauth2:{TOKEN}@127.0.0.1:{port}/platform/acm-dr.git");
    let base = |repo: &str| -> Vec<String> {
        [
            "--repo",
            repo,
            "--cluster",
            "west-1",
            "--kubeconfig",
            kubeconfig.as_str(),
            "--cache-dir",
            dir.path().join("cache").to_str().unwrap(),
            "--namespace",
            AGENT_NAMESPACE,
            "--once",
        ]
        .map(String::from)
        .to_vec()
    };
    let with = |repo: &str, extra: &[&str]| -> Vec<String> {
        let mut args = base(repo);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    for (args, env) in [
        (
            with(&http, &["--token-file", token_file.to_str().unwrap()]),
            vec![],
        ),
        (
            with(&http, &["--token-env", "HUBDR_TEST_TOKEN"]),
            vec![("HUBDR_TEST_TOKEN", TOKEN)],
        ),
        (
            with(&http, &["--ssh-key", key_file.to_str().unwrap()]),
            vec![],
        ),
        (base(&http_with_token), vec![]),
    ] {
        let out = agent(dir.path(), args.clone(), &env).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let shown_all = format!("args: {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        assert_eq!(
            out.status.code(),
            Some(2),
            "refused at startup\n{shown_all}"
        );
        assert!(
            stderr.contains("error: --repo http://")
                && stderr.contains("would travel in clear")
                && stderr.contains("use an https:// URL"),
            "the refusal says why and what to do\n{shown_all}"
        );
        assert!(stdout.is_empty(), "no pass was run\n{shown_all}");
        assert!(!stderr.contains(TOKEN), "{shown_all}");
    }
    // Without credentials, http:// sends nothing secret: the agent starts (and its pass fails
    // on the closed port).
    let out = agent(dir.path(), base(&http), &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
