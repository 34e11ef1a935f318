//! The binary's whole path, `start::run` with `--once`: flags, kubeconfig, the production
//! kube client, one pass, the status file and the exit code.

mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hubdr_agent::cli::AgentArgs;
use kubefake::{FakeApiServer, Fault, Verb};
use support::*;

async fn run_once(remote: &Remote, cluster: &str, server: &FakeApiServer) -> ExitCode {
    run_once_with(remote, cluster, server, &[]).await
}

async fn run_once_with(
    remote: &Remote,
    cluster: &str,
    server: &FakeApiServer,
    extra: &[String],
) -> ExitCode {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), server);
    let cache = dir.path().join("cache").display().to_string();
    let url = remote.url();
    let mut args: Vec<String> = [
        "hubdr-agent",
        "--repo",
        url.as_str(),
        "--cluster",
        cluster,
        "--kubeconfig",
        kubeconfig.as_str(),
        "--cache-dir",
        cache.as_str(),
        "--namespace",
        AGENT_NAMESPACE,
        "--once",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().cloned());
    let args = AgentArgs::parse_from(args);
    tokio::time::timeout(Duration::from_secs(120), hubdr_agent::start::run(args))
        .await
        .expect("the pass ends")
}

#[tokio::test]
async fn one_pass_applies_the_cluster_and_reports_it() {
    let (remote, rendered, commit) = example_remote();
    let server = cluster_for(&rendered, "west-1").await;
    let objects = cluster_objects(&rendered, "west-1");

    let code = run_once(&remote, "west-1", &server).await;

    assert_eq!(code, ExitCode::SUCCESS);
    for object in &objects {
        assert!(live(&server, object).is_some());
    }
    let status = remote.status_file("west-1").unwrap();
    assert_eq!(status.pass.reason, "Applied", "{}", status.pass.message);
    assert_eq!(
        status.source.commit.as_deref(),
        Some(commit.to_string().as_str())
    );
}

#[tokio::test]
async fn a_persistent_503_fails_one_object_quickly_instead_of_stalling_the_pass() {
    let (remote, rendered, _) = example_remote();
    let server = cluster_for(&rendered, "west-1").await;
    let objects = cluster_objects(&rendered, "west-1");
    // An unavailable backend for one object (e.g. an admission webhook that is down).
    server.inject(
        Fault::error(
            503,
            "no endpoints available for service \"volsync-webhook\"",
        )
        .verb(Verb::Apply)
        .resource("replicationdestinations")
        .name("orders-db"),
    );

    let started = Instant::now();
    let code = run_once(&remote, "west-1", &server).await;
    let elapsed = started.elapsed();

    assert_eq!(code, ExitCode::from(1), "a failed pass exits 1");
    // The agent's own retry policy (4 attempts, 0.2 s doubling) is the only one: kube's
    // built-in retry of 503 (15 retries with exponential backoff) must not stack under it.
    let attempts = writes_to(&server, "replicationdestinations", "orders-db").len();
    assert_eq!(attempts, 4, "one call per attempt of the agent's policy");
    assert!(
        elapsed < Duration::from_secs(20),
        "the pass took {elapsed:?}"
    );
    let status = remote.status_file("west-1").unwrap();
    let result = status
        .objects
        .iter()
        .find(|o| o.object == "ReplicationDestination shop/orders-db")
        .unwrap();
    assert_eq!(result.result, "failed");
    assert!(
        result.message.contains("gave up after 4 attempts"),
        "{}",
        result.message
    );
    let created = status
        .objects
        .iter()
        .filter(|o| o.result == "created")
        .count();
    // All but the failed one, and the etcd backup's run-time ConfigMap the agent adds.
    assert_eq!(created, objects.len(), "{:#?}", status.objects);
}

/// The `--allow-kind` and `--allow-namespace` flags of `agents/<cluster>.yaml` as rendered.
fn install_flags(rendered: &hubdr::render::Rendered, cluster: &str) -> Vec<String> {
    let path = format!("agents/{cluster}.yaml");
    let text = std::str::from_utf8(&rendered.tree[&path]).unwrap();
    let deployment: serde_json::Value = serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .last()
        .unwrap();
    let args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    args.chunks(2)
        .filter(|pair| pair[0] == "--allow-kind" || pair[0] == "--allow-namespace")
        .flat_map(|pair| pair.to_vec())
        .collect()
}

/// The agent started with the kinds and namespaces its install file gives it applies every
/// object of its cluster.
#[tokio::test]
async fn the_install_files_allowlist_applies_the_whole_cluster() {
    let (remote, rendered, _) = example_remote();
    let server = cluster_for(&rendered, "west-1").await;
    let objects = cluster_objects(&rendered, "west-1");
    let flags = install_flags(&rendered, "west-1");
    assert!(
        flags.contains(&"--allow-namespace".to_string()),
        "{flags:?}"
    );

    let code = run_once_with(&remote, "west-1", &server, &flags).await;

    assert_eq!(code, ExitCode::SUCCESS);
    for object in &objects {
        assert!(live(&server, object).is_some(), "{object}");
    }
    let status = remote.status_file("west-1").unwrap();
    assert_eq!(status.pass.reason, "Applied", "{}", status.pass.message);
}

#[tokio::test]
async fn a_malformed_allow_namespace_exits_2() {
    let remote = Remote::new();
    let server = fake().await;
    for bad in ["Shop", "kube/system", ""] {
        let code = run_once_with(
            &remote,
            "west-1",
            &server,
            &["--allow-namespace".into(), bad.into()],
        )
        .await;
        assert_eq!(code, ExitCode::from(2), "{bad:?}");
    }
    assert!(server.writes().is_empty());
}
