//! `Agent::run` watching a local repository: a commit on `main` of the repository the agent
//! fetches from (a local bare remote, watched as `start.rs` derives it with
//! `watch::local_path`) starts a pass within seconds, although the pass interval is one hour.

mod support;

use std::time::{Duration, Instant};

use hubdr::status::STATUS_BRANCH;
use hubdr_agent::git::{Credentials, GitSource, Identity, StatusWriter};
use support::*;

const CLUSTER: &str = "east-1";

/// The `ReplicationSource catalog/catalog-files` schedule in the fake cluster, if applied.
fn live_schedule(server: &kubefake::FakeApiServer) -> Option<String> {
    server
        .get(
            &gvk_of("volsync.backube/v1alpha1", "ReplicationSource"),
            Some("catalog"),
            "catalog-files",
        )?
        .pointer("/spec/trigger/schedule")?
        .as_str()
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_commit_in_the_local_repository_is_applied_through_the_watch() {
    let remote = Remote::new(); // calls sandbox()
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(&rendered, CLUSTER));
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    // Status goes to another repository, so only the test's commits touch the watched one.
    let status_remote = Remote::new();
    agent.status_source = Some(GitSource::new(
        status_remote.url(),
        STATUS_BRANCH,
        cache.path().join("status-read"),
        Credentials::None,
    ));
    agent.writer = Some(StatusWriter::new(
        status_remote.url(),
        STATUS_BRANCH,
        cache.path().join("status-write"),
        Credentials::None,
        Identity::new("agent", "agent@localhost"),
    ));
    agent.interval = Duration::from_secs(3600);
    agent.heartbeat = Duration::from_secs(3600);
    // As `start.rs` derives it from `--repo`.
    agent.watch_path = hubdr_agent::watch::local_path(&remote.url());
    assert_eq!(agent.watch_path.as_deref(), Some(remote.path.as_path()));

    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(agent.run(rx));

    // The first pass applies the render and publishes its status.
    let deadline = Instant::now() + Duration::from_secs(60);
    while live_schedule(&server).is_none() || status_remote.status_file(CLUSTER).is_none() {
        assert!(Instant::now() < deadline, "the first pass never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(live_schedule(&server).as_deref(), Some("0 * * * *"));

    // Quiet: no pass runs without a new commit (the interval is one hour).
    server.clear_writes();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.writes().is_empty(),
        "a pass ran without a commit: {:?}",
        server.writes()
    );

    let site = edit(
        EXAMPLE_SITE,
        "schedule: \"0 * * * *\"",
        "schedule: \"15 * * * *\"",
    );
    let changed = render(&site);
    let started = Instant::now();
    remote.commit(&changed.tree, "catalog-files every hour at :15");
    while live_schedule(&server).as_deref() != Some("15 * * * *") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new schedule was not applied within 10 s (the pass interval is one hour): {:?}",
            live_schedule(&server)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    println!("new commit applied {elapsed:?} after it landed in the watched repository");

    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the agent stops")
        .unwrap();
}
