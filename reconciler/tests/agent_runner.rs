//! The whole loop body, `Agent::pass_once`: fetch a repository rendered by `hubdr` from a
//! local bare remote, verify it, apply it to a fake cluster, and publish the status file to
//! the status branch of the same remote. Also late binding between two agents.

mod support;

use std::time::Duration;

use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use hubdr_agent::runner::Agent;
use kubefake::FakeApiServer;
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_pass_publishes_its_status_and_an_unchanged_pass_publishes_nothing() {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    let commit = remote.commit(&rendered.tree, "render");
    let server = cluster_for(&rendered, "west-1").await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent("west-1", &server, cache.path());
    let objects = cluster_objects(&rendered, "west-1");

    let status = agent.pass_once().await;

    assert_eq!(
        (status.pass.outcome.as_str(), status.pass.reason.as_str()),
        ("Succeeded", "Applied"),
        "{}",
        status.pass.message
    );
    let published = remote
        .status_file("west-1")
        .expect("the status file is on the status branch");
    assert_eq!(published, status);
    assert_eq!(published.cluster, "west-1");
    assert_eq!(
        published.source.commit.as_deref(),
        Some(commit.to_string().as_str())
    );
    assert_eq!(published.source.generation, Some(rendered.index.generation));
    assert!(!published.source.stale);
    // The rendered objects and the etcd backup's run-time ConfigMap the agent adds.
    assert_eq!(published.objects.len(), objects.len() + 1);
    assert!(
        published.objects.iter().all(|o| o.result == "created"),
        "{:#?}",
        published.objects
    );
    assert_eq!(
        published
            .inventory
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        {
            let mut owned = ids(&objects);
            owned.insert("ConfigMap hubdr-etcd-backup/hubdr-etcd-backup-env".into());
            owned
        }
    );
    let destinations: Vec<&str> = published
        .observed
        .replication_destinations
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        destinations,
        [
            "catalog/catalog-files",
            "media/media-fanout",
            "shop/orders-db"
        ]
    );
    assert_eq!(remote.history(STATUS_BRANCH).len(), 1);

    // The results change from created to unchanged: one more status commit.
    server.clear_writes();
    let second = agent.pass_once().await;
    assert!(second.objects.iter().all(|o| o.result == "unchanged"));
    assert_eq!(remote.history(STATUS_BRANCH).len(), 2);
    assert!(
        server.mutations().is_empty() && real_writes(&server).is_empty(),
        "{:#?}",
        real_writes(&server)
    );

    // Nothing changed and the heartbeat is not due: no status commit, no write call.
    server.clear_writes();
    let third = agent.pass_once().await;
    assert!(third.same_content(&second));
    assert_eq!(
        third.updated_at, second.updated_at,
        "an unchanged status keeps its timestamp"
    );
    assert_eq!(
        remote.history(STATUS_BRANCH).len(),
        2,
        "no new status commit"
    );
    assert!(
        server.mutations().is_empty() && real_writes(&server).is_empty(),
        "{:#?}",
        real_writes(&server)
    );
    assert_eq!(remote.status_file("west-1").unwrap(), second);
}

#[tokio::test]
async fn a_hub_status_does_not_change_with_the_clock() {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    let server = cluster_for(&rendered, "hub-a").await;
    let finished = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
    server
        .put_object(json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": "acm-validation-policy-schedule-1", "namespace": "open-cluster-management-backup",
                         "labels": {"velero.io/schedule-name": "acm-validation-policy-schedule"}},
            "spec": {},
            "status": {"phase": "Completed", "startTimestamp": finished.to_string(), "completionTimestamp": finished.to_string()},
        }))
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent("hub-a", &server, cache.path());
    agent.pass_once().await;
    let settled = agent.pass_once().await;
    let recent = settled
        .health
        .iter()
        .find(|h| h.name == "backups-recent")
        .expect("the active hub checks its backups");
    assert!(recent.ok, "{recent:?}");
    let commits = remote.history(STATUS_BRANCH).len();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = agent.pass_once().await;

    assert_eq!(
        later.health, settled.health,
        "health messages hold event times, not ages"
    );
    assert_eq!(
        remote.history(STATUS_BRANCH).len(),
        commits,
        "no status commit only because time passed"
    );
}

#[tokio::test]
async fn a_tampered_file_stops_the_pass_before_any_write() {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    let good = remote.commit(&rendered.tree, "render");
    let server = cluster_for(&rendered, "east-1").await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent("east-1", &server, cache.path());
    let before = agent.pass_once().await;
    let applied = labelled(&server, "east-1");

    let path = "clusters/east-1/replicationsource.catalog.catalog-files.yaml";
    let mut tampered = rendered.tree.clone();
    let text = String::from_utf8(tampered[path].clone()).unwrap();
    tampered.insert(
        path.into(),
        text.replace("schedule: 0 * * * *", "schedule: '* * * * *'")
            .into_bytes(),
    );
    assert_ne!(tampered[path], rendered.tree[path]);
    remote.commit(&tampered, "hand edit");
    server.clear_writes();

    let status = agent.pass_once().await;

    assert_eq!(
        server.writes(),
        vec![],
        "nothing was applied, not even a dry run"
    );
    assert_eq!(
        (status.pass.outcome.as_str(), status.pass.reason.as_str()),
        ("Failed", "VerifyFailed")
    );
    assert!(
        status.pass.message.contains(path),
        "{}",
        status.pass.message
    );
    assert!(
        status.pass.message.contains("Nothing was applied"),
        "{}",
        status.pass.message
    );
    assert_eq!(
        status.source.commit.as_deref(),
        Some(good.to_string().as_str()),
        "the last applied commit"
    );
    assert_eq!(
        remote.status_file("east-1").unwrap().pass.reason,
        "VerifyFailed"
    );
    assert_eq!(
        labelled(&server, "east-1"),
        applied,
        "nothing was pruned either"
    );
    assert_eq!(
        status.inventory, before.inventory,
        "the status still echoes what the agent owns"
    );

    // A repository that was tampered with from the start: a fresh cluster gets nothing.
    let fresh = cluster_for(&rendered, "east-1").await;
    let cache = tempfile::tempdir().unwrap();
    let other = Remote::new();
    other.commit(&tampered, "tampered");
    let status = other
        .agent("east-1", &fresh, cache.path())
        .pass_once()
        .await;
    assert_eq!(status.pass.reason, "VerifyFailed");
    assert_eq!(writes_but_own_key(&fresh), vec![]);
    assert!(labelled(&fresh, "east-1").is_empty());
}

#[tokio::test]
async fn a_late_bound_address_waits_for_the_destination_agent_then_is_applied() {
    let remote = Remote::new();
    let (east, west, mut east_agent, mut west_agent) = example_east_west(&remote).await;
    let rs = gvk_of("volsync.backube/v1alpha1", "ReplicationSource");

    // The destination has not published an address yet.
    let status = east_agent.pass_once().await;
    let (result, message) = result_of(&status, ORDERS_RS);
    assert_eq!(result, "waiting");
    assert!(
        message.contains("west-1") && message.contains("ReplicationDestination shop/orders-db"),
        "{message}"
    );
    assert_eq!(status.pass.reason, "Waiting");
    assert_eq!(
        result_of(&status, "ReplicationSource media/media-fanout").0,
        "created",
        "the rest is applied"
    );
    assert!(east.get(&rs, Some("shop"), "orders-db").is_none());

    // west-1 applies its destination; VolSync publishes the address; west-1 reports it.
    west_agent.pass_once().await;
    publish_orders_address(&west, "10.0.0.7");
    let west_status = west_agent.pass_once().await;
    let observed = west_status
        .observed
        .replication_destinations
        .iter()
        .find(|d| d.name == "shop/orders-db")
        .unwrap();
    assert_eq!(observed.address.as_deref(), Some("10.0.0.7"));
    assert_eq!(remote.status_file("west-1").unwrap(), west_status);

    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS), ("created", ""));
    assert_eq!(status.pass.reason, "Applied", "{}", status.pass.message);
    let live = east.get(&rs, Some("shop"), "orders-db").unwrap();
    assert_eq!(live["spec"]["rsyncTLS"]["address"], "10.0.0.7");
    assert_eq!(live["spec"]["rsyncTLS"]["keySecret"], "orders-db-psk");

    // Bound and applied: the next pass changes nothing.
    east.clear_writes();
    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS).0, "unchanged");
    assert!(east.mutations().is_empty());

    // The address moves (a new LoadBalancer): the source follows.
    publish_orders_address(&west, "10.0.0.8");
    west_agent.pass_once().await;
    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS).0, "configured");
    assert_eq!(
        east.get(&rs, Some("shop"), "orders-db").unwrap()["spec"]["rsyncTLS"]["address"],
        "10.0.0.8"
    );
}

#[tokio::test]
async fn a_status_signed_with_the_clusters_key_also_binds() {
    // Any status file carrying the address will do, e.g. one written with StatusWriter, as
    // long as it is signed (the first signed status of west-1 pins this key).
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    let east = cluster_for(&rendered, "east-1").await;
    let status: ClusterStatus = serde_yaml::from_str(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: west-1\nagentVersion: test\nupdatedAt: '2026-01-01T00:00:00Z'\n\
         source: {}\npass: {outcome: Succeeded, reason: Applied}\n\
         observed:\n  replicationDestinations:\n  - {name: shop/orders-db, address: orders-db.west-1.example}\n",
    )
    .unwrap();
    remote.publish_signed_status(
        &status,
        &hubdr::status::signature::AgentKey::from_seed([5; 32]),
    );
    let cache = tempfile::tempdir().unwrap();

    let status = remote
        .agent("east-1", &east, cache.path())
        .pass_once()
        .await;

    assert_eq!(result_of(&status, ORDERS_RS).0, "created");
    let live = east
        .get(
            &gvk_of("volsync.backube/v1alpha1", "ReplicationSource"),
            Some("shop"),
            "orders-db",
        )
        .unwrap();
    assert_eq!(
        live["spec"]["rsyncTLS"]["address"],
        "orders-db.west-1.example"
    );
}

#[tokio::test]
async fn a_status_that_failed_to_publish_is_published_next_pass() {
    // The status goes to its own remote here, so it can be unreachable while the source is not.
    let source = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    source.commit(&rendered.tree, "render");
    let status_remote = Remote::new();
    let server = cluster_for(&rendered, "west-1").await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = source.agent("west-1", &server, cache.path());
    agent.writer = Some(hubdr_agent::git::StatusWriter::new(
        status_remote.url(),
        STATUS_BRANCH,
        cache.path().join("status-remote"),
        hubdr_agent::git::Credentials::None,
        hubdr_agent::git::Identity::default(),
    ));
    agent.pass_once().await;
    agent.pass_once().await;
    assert_eq!(status_remote.history(STATUS_BRANCH).len(), 2);

    // VolSync publishes an address while the status remote is unreachable.
    publish_orders_address(&server, "10.0.0.7");
    let moved = status_remote.dir.path().join("moved.git");
    std::fs::rename(&status_remote.path, &moved).unwrap();
    let unpublished = agent.pass_once().await;
    std::fs::rename(&moved, &status_remote.path).unwrap();
    assert_eq!(status_remote.history(STATUS_BRANCH).len(), 2);

    // Back: the same status is still news to the branch.
    let status = agent.pass_once().await;
    assert!(status.same_content(&unpublished));
    let published = status_remote.status_file("west-1").unwrap();
    let observed = published
        .observed
        .replication_destinations
        .iter()
        .find(|d| d.name == "shop/orders-db")
        .unwrap();
    assert_eq!(
        observed.address.as_deref(),
        Some("10.0.0.7"),
        "the address reached the status branch"
    );
}

/// VolSync syncs every few minutes: a status that differs only in sync times goes into the
/// heartbeat (readers see it), not into the status history; a real change is committed.
#[tokio::test]
async fn sync_times_alone_do_not_grow_the_status_history_but_reach_readers() {
    let Settled {
        remote,
        server,
        mut agent,
        committed,
        status: _,
        _cache,
    } = settled_west_1().await;
    assert_eq!(committed, 2);
    // Status times are in seconds: the syncs come in a later second than the last commit.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for minute in 10..14 {
        let synced = format!("2026-12-01T10:{minute}:00Z");
        sync_orders_db(
            &server,
            json!({"lastSyncTime": synced, "latestImage": {"kind": "VolumeSnapshot", "name": format!("snap-{minute}")}}),
        );
        let status = agent.pass_once().await;
        let seen = remote.status_file("west-1").expect("a status");
        // The heartbeat's copy is dated when it was written (the same second, or the next).
        assert!(
            seen.same_content(&status) && seen.updated_at >= status.updated_at,
            "readers see the newest status"
        );
        let orders = seen
            .observed
            .replication_destinations
            .iter()
            .find(|d| d.name == "shop/orders-db")
            .expect("orders-db observed");
        assert_eq!(orders.last_sync_time.as_deref(), Some(synced.as_str()));
        assert_eq!(
            remote.history(STATUS_BRANCH).len(),
            committed,
            "a sync adds no status commit"
        );
    }
    // A real change (a gate, a result, a phase...) is committed at once.
    sync_orders_db(
        &server,
        json!({"lastSyncTime": "2026-12-01T10:20:00Z", "rsyncTLS": {"address": "10.1.2.3"}}),
    );
    let status = agent.pass_once().await;
    assert_eq!(remote.history(STATUS_BRANCH).len(), committed + 1);
    assert_eq!(remote.status_file("west-1").unwrap(), status);
}

/// A heartbeat the git server refuses (a forge rule against forced updates of
/// `refs/hubdr/heartbeat/*`, see `git_daemon.rs`; here the ref's path is taken, so every write
/// of it fails): the agent commits nothing in its place, which would grow the history by one
/// commit per sync. From the second refusal in a row it reports it, in a status committed
/// once, and clears the report when a heartbeat lands again.
#[tokio::test]
async fn a_refused_heartbeat_is_reported_once_and_does_not_grow_the_history() {
    let Settled {
        remote,
        server,
        mut agent,
        committed,
        status: _,
        _cache,
    } = settled_west_1().await;
    let blocker = remote.path.join("refs/hubdr/heartbeat/west-1");
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(blocker.join("taken"), "").unwrap();
    let sync = |minute: u32| {
        sync_orders_db(
            &server,
            json!({"lastSyncTime": format!("2026-12-01T10:{minute}:00Z")}),
        )
    };
    let refused = |status: &ClusterStatus| {
        status
            .pass
            .message
            .contains("cannot write the heartbeat ref refs/hubdr/heartbeat/west-1")
    };
    // Each sync in a later second than the last commit (a change within its second is
    // committed): only sync times change, so each pass writes a heartbeat.
    let later = || tokio::time::sleep(Duration::from_millis(1100));
    for minute in [10, 11] {
        later().await;
        sync(minute);
        assert!(
            !refused(&agent.pass_once().await),
            "one refusal is not reported"
        );
    }
    assert_eq!(
        remote.history(STATUS_BRANCH).len(),
        committed,
        "nothing committed instead"
    );
    // After two refusals in a row the next pass reports them: a change, committed once.
    later().await;
    sync(12);
    let reported = agent.pass_once().await;
    assert!(refused(&reported), "{}", reported.pass.message);
    assert!(
        !reported.pass.message.contains("file://"),
        "no remote in the status"
    );
    assert!(refused(&remote.status_file("west-1").unwrap()));
    assert_eq!(remote.history(STATUS_BRANCH).len(), committed + 1);
    for minute in 13..15 {
        later().await;
        sync(minute);
        assert!(refused(&agent.pass_once().await));
    }
    assert_eq!(
        remote.history(STATUS_BRANCH).len(),
        committed + 1,
        "refused heartbeats add no commit"
    );
    // Once the heartbeat lands again, the report is cleared (committed once more).
    std::fs::remove_dir_all(&blocker).unwrap();
    later().await;
    sync(20);
    agent.pass_once().await;
    later().await;
    sync(21);
    let cleared = agent.pass_once().await;
    assert!(!refused(&cleared), "{}", cleared.pass.message);
    assert!(!refused(&remote.status_file("west-1").unwrap()));
    assert_eq!(remote.history(STATUS_BRANCH).len(), committed + 2);
}

/// west-1 of the example site after two passes (created, then unchanged): two status commits,
/// and the status of the second pass.
struct Settled {
    remote: Remote,
    server: FakeApiServer,
    agent: Agent,
    committed: usize,
    status: ClusterStatus,
    _cache: tempfile::TempDir,
}

/// [`settled_west_1_beating`] with the test agents' hourly heartbeat.
async fn settled_west_1() -> Settled {
    settled_west_1_beating(Duration::from_secs(3600)).await
}

async fn settled_west_1_beating(heartbeat: Duration) -> Settled {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    let server = cluster_for(&rendered, "west-1").await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent_beating(pass_config("west-1"), &server, cache.path(), heartbeat);
    agent.pass_once().await;
    let status = agent.pass_once().await;
    let committed = remote.history(STATUS_BRANCH).len();
    Settled {
        remote,
        server,
        agent,
        committed,
        status,
        _cache: cache,
    }
}

/// Set the status of west-1's ReplicationDestination shop/orders-db, as VolSync does.
fn sync_orders_db(server: &FakeApiServer, status: serde_json::Value) {
    let rd = gvk_of("volsync.backube/v1alpha1", "ReplicationDestination");
    server
        .set_status(&rd, Some("shop"), "orders-db", status)
        .unwrap();
}

/// An unchanged status keeps the time it last changed, so the heartbeat's copy is dated when it
/// is written: readers that judge whether the agent is alive (the failover preflight refuses a
/// hub whose status is older than 3 heartbeats) see a signed, current time, and the status
/// history does not grow.
#[tokio::test]
async fn a_heartbeat_dates_the_status_it_carries_without_a_commit() {
    // Every field bound: a field left to `..` would be dropped here (the fake API server).
    let Settled {
        remote,
        server: _server,
        mut agent,
        committed,
        status: settled,
        _cache,
    } = settled_west_1_beating(Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let idle = agent.pass_once().await;
    assert_eq!(idle.updated_at, settled.updated_at, "nothing changed");
    let seen = remote.status_file("west-1").unwrap();
    assert!(
        seen.updated_at > settled.updated_at,
        "the heartbeat dates its status: {} then {}",
        settled.updated_at,
        seen.updated_at
    );
    assert!(seen.same_content(&settled));
    assert_eq!(remote.history(STATUS_BRANCH).len(), committed);
}
