//! The etcd backup's run-time rules (seed 003) through the real agent loop against the fake
//! API server with a fake ClusterVersion: the CronJob stays suspended until the cluster is 24 h
//! old; a completed upgrade gets exactly one after-upgrade Job, never twice, also after an
//! agent restart; the cluster Proxy's variables reach the backup through the agent's ConfigMap.

mod support;

use jiff::{SignedDuration, Timestamp};
use kubefake::{FakeApiServer, WriteOutcome};
use serde_json::{json, Value};
use support::*;

const CLUSTER: &str = "west-1";
const NS: &str = "hubdr-etcd-backup";

fn hours_ago(h: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(h)
}

async fn cluster(history: &[(&str, &str, Timestamp)]) -> (Remote, FakeApiServer) {
    sandbox();
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(&rendered, CLUSTER));
    set_cluster_version(&server, history);
    (remote, server)
}

fn cronjob(server: &FakeApiServer) -> Value {
    server
        .get(&gvk_of("batch/v1", "CronJob"), Some(NS), "etcd-backup")
        .expect("the backup CronJob is applied")
}

fn jobs(server: &FakeApiServer) -> Vec<String> {
    server
        .list(&gvk_of("batch/v1", "Job"), Some(NS))
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn failing(status: &hubdr::status::ClusterStatus) -> Vec<&str> {
    status
        .health
        .iter()
        .filter(|h| !h.ok)
        .map(|h| h.name.as_str())
        .collect()
}

fn check<'a>(
    status: &'a hubdr::status::ClusterStatus,
    name: &str,
) -> &'a hubdr::status::HealthCheck {
    status
        .health
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no {name} check: {:#?}", status.health))
}

/// A finished backup pod of Job `job` whose upload container reported `message`.
fn backup_pod(server: &FakeApiServer, job: &str, message: &str) {
    let name = format!("{job}-x7k2p");
    server
        .put_object(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS,
                "labels": {"app.kubernetes.io/name": "hubdr-etcd-backup", "batch.kubernetes.io/job-name": job}},
            "spec": {"containers": [{"name": "upload", "image": "rclone"}]}}))
        .unwrap();
    server
        .set_status(&gvk_of("v1", "Pod"), Some(NS), &name, json!({"phase": "Succeeded",
            "containerStatuses": [{"name": "upload", "state": {"terminated": {"exitCode": 0, "message": message}}}]}))
        .unwrap();
}

fn result(time: Timestamp, version: &str) -> String {
    json!({"time": time.round(jiff::Unit::Second).unwrap().to_string(), "version": version,
        "snapshot": {"object": "s3:prod-emea-etcd-snapshots/west-1/snapshot_2026-01-10_023100.db", "size": 104857600},
        "keys": {"object": "s3keys:prod-emea-etcd-keys/west-1/static_kuberesources_2026-01-10_023100.tar.gz", "size": 81234}})
    .to_string()
}

fn job_creates(server: &FakeApiServer) -> usize {
    server
        .writes()
        .iter()
        .filter(|w| w.plural == "jobs" && !w.dry_run && w.outcome == WriteOutcome::Created)
        .count()
}

#[tokio::test]
async fn a_cluster_installed_two_hours_ago_keeps_the_backup_suspended() {
    let (remote, server) = cluster(&[("Completed", "4.16.3", hours_ago(2))]).await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    let status = agent.pass_once().await;
    assert_eq!(status.pass.outcome, "Succeeded", "{}", status.pass.message);
    assert_eq!(cronjob(&server)["spec"]["suspend"], true);
    assert!(jobs(&server).is_empty());
}

#[tokio::test]
async fn a_cluster_installed_thirty_hours_ago_gets_the_backup_running() {
    let (remote, server) = cluster(&[("Completed", "4.16.3", hours_ago(30))]).await;
    server
        .put_object(json!({"apiVersion": "config.openshift.io/v1", "kind": "Proxy", "metadata": {"name": "cluster"}, "spec": {}}))
        .unwrap();
    server
        .set_status(
            &gvk_of("config.openshift.io/v1", "Proxy"),
            None,
            "cluster",
            json!({"httpProxy": "http://proxy.example:3128", "httpsProxy": "http://proxy.example:3128", "noProxy": ".cluster.local,10.0.0.0/16"}),
        )
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    let status = agent.pass_once().await;
    assert_eq!(cronjob(&server)["spec"]["suspend"], false);
    // Due, and none taken yet.
    assert_eq!(
        status.pass.reason, "HealthFailed",
        "{}",
        status.pass.message
    );
    assert_eq!(failing(&status), ["etcd-backup", "etcd-backup-z-stream"]);
    assert!(check(&status, "etcd-backup")
        .message
        .contains("no etcd backup yet"));
    assert!(jobs(&server).is_empty(), "no upgrade, no after-upgrade Job");
    let env = server
        .get(
            &gvk_of("v1", "ConfigMap"),
            Some(NS),
            "hubdr-etcd-backup-env",
        )
        .expect("the run-time variables");
    assert_eq!(env["data"]["HTTP_PROXY"], "http://proxy.example:3128");
    assert_eq!(env["data"]["https_proxy"], "http://proxy.example:3128");
    assert_eq!(env["data"]["NO_PROXY"], ".cluster.local,10.0.0.0/16");
    assert_eq!(env["data"]["OPENSHIFT_VERSION"], "4.16.3");
    // The containers read them.
    let pod = &cronjob(&server)["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    for c in [&pod["initContainers"][0], &pod["containers"][0]] {
        assert_eq!(
            c["envFrom"][0]["configMapRef"]["name"],
            "hubdr-etcd-backup-env"
        );
    }
}

#[tokio::test]
async fn a_completed_upgrade_gets_exactly_one_backup_job_also_after_a_restart() {
    let (remote, server) = cluster(&[("Completed", "4.16.3", hours_ago(72))]).await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    agent.pass_once().await;
    assert!(jobs(&server).is_empty());

    // An upgrade in progress: no Job yet.
    set_cluster_version(
        &server,
        &[
            ("Partial", "4.16.5", hours_ago(0)),
            ("Completed", "4.16.3", hours_ago(72)),
        ],
    );
    agent.pass_once().await;
    assert!(jobs(&server).is_empty(), "not while the upgrade runs");

    // It completes.
    set_cluster_version(
        &server,
        &[
            ("Completed", "4.16.5", hours_ago(0)),
            ("Completed", "4.16.3", hours_ago(72)),
        ],
    );
    let status = agent.pass_once().await;
    assert_eq!(jobs(&server), ["etcd-backup-after-upgrade-4-16-5"]);
    assert!(
        status.objects.iter().any(|o| o.object
            == "Job hubdr-etcd-backup/etcd-backup-after-upgrade-4-16-5"
            && o.result == "created"),
        "{:#?}",
        status.objects
    );
    let job = server
        .get(
            &gvk_of("batch/v1", "Job"),
            Some(NS),
            "etcd-backup-after-upgrade-4-16-5",
        )
        .unwrap();
    assert_eq!(
        job["spec"]["template"]["spec"]["initContainers"][0]["name"], "backup",
        "the CronJob's job template"
    );
    assert_eq!(job_creates(&server), 1);

    agent.pass_once().await;
    assert_eq!(job_creates(&server), 1, "never twice");

    // A restarted agent (fresh caches, nothing in memory) does not run it again.
    drop(agent);
    let cache = tempfile::tempdir().unwrap();
    let mut restarted = remote.agent(CLUSTER, &server, cache.path());
    restarted.pass_once().await;
    restarted.pass_once().await;
    assert_eq!(job_creates(&server), 1, "never twice, also after a restart");
    assert_eq!(jobs(&server), ["etcd-backup-after-upgrade-4-16-5"]);

    // The next upgrade: its own Job, and the previous one is pruned.
    set_cluster_version(
        &server,
        &[
            ("Completed", "4.17.1", hours_ago(0)),
            ("Completed", "4.16.5", hours_ago(10)),
            ("Completed", "4.16.3", hours_ago(72)),
        ],
    );
    restarted.pass_once().await;
    assert_eq!(jobs(&server), ["etcd-backup-after-upgrade-4-17-1"]);
    assert_eq!(job_creates(&server), 2);
}

#[tokio::test]
async fn without_a_cluster_version_the_backup_stays_suspended_and_says_why() {
    let (remote, server) = cluster(&[("Completed", "4.16.3", hours_ago(30))]).await;
    server
        .delete_object(
            &gvk_of("config.openshift.io/v1", "ClusterVersion"),
            None,
            "version",
        )
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    let status = agent.pass_once().await;
    assert_eq!(cronjob(&server)["spec"]["suspend"], true);
    assert!(
        status
            .pass
            .message
            .contains("ClusterVersion version does not exist"),
        "{}",
        status.pass.message
    );
}

#[tokio::test]
async fn the_status_reports_the_newest_backup_and_each_health_condition() {
    let (remote, server) = cluster(&[("Completed", "4.16.3", hours_ago(100))]).await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent(CLUSTER, &server, cache.path());
    agent.pass_once().await;

    // A backup three days old (the schedule is daily: older than two periods).
    backup_pod(
        &server,
        "etcd-backup-29001",
        &result(hours_ago(72), "4.16.3"),
    );
    let status = agent.pass_once().await;
    assert_eq!(failing(&status), ["etcd-backup-age"]);
    // A fresh one.
    backup_pod(
        &server,
        "etcd-backup-29002",
        &result(hours_ago(3), "4.16.3"),
    );
    // A pod whose result breaks the contract is reported, not trusted.
    backup_pod(&server, "etcd-backup-29003", "{\"time\": \"soon\"}");
    let status = agent.pass_once().await;
    assert!(failing(&status).is_empty(), "{:#?}", status.health);
    assert!(
        status
            .pass
            .message
            .contains("etcd backup pod etcd-backup-29003-x7k2p"),
        "{}",
        status.pass.message
    );
    let etcd = status
        .observed
        .etcd_backup
        .clone()
        .expect("the etcd backup is observed");
    let newest = etcd.newest.expect("the newest backup");
    assert_eq!(newest.job, "etcd-backup-29002");
    assert_eq!(newest.version, "4.16.3");
    assert!(newest
        .snapshot
        .object
        .ends_with("/west-1/snapshot_2026-01-10_023100.db"));
    assert_eq!(newest.keys.size, 81234);
    assert_eq!(etcd.current_version.as_deref(), Some("4.16.3"));
    assert_eq!(etcd.encryption, Some(true), "declared in the example site");
    assert!(!etcd.suspended);

    // An upgrade completes: no backup of 4.16.5 until the after-upgrade Job reports.
    set_cluster_version(
        &server,
        &[
            ("Completed", "4.16.5", hours_ago(0)),
            ("Completed", "4.16.3", hours_ago(100)),
        ],
    );
    let status = agent.pass_once().await;
    assert_eq!(failing(&status), ["etcd-backup-z-stream"]);
    assert!(check(&status, "etcd-backup-z-stream")
        .message
        .contains("no etcd backup of 4.16.5"));
    backup_pod(
        &server,
        "etcd-backup-after-upgrade-4-16-5",
        &result(hours_ago(0), "4.16.5"),
    );
    let status = agent.pass_once().await;
    assert!(failing(&status).is_empty(), "{:#?}", status.health);
    let etcd = status.observed.etcd_backup.unwrap();
    assert_eq!(
        etcd.newest_at_current_version.unwrap().job,
        "etcd-backup-after-upgrade-4-16-5"
    );
}
