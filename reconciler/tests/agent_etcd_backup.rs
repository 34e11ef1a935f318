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
    assert_eq!(status.pass.outcome, "Succeeded", "{}", status.pass.message);
    assert_eq!(cronjob(&server)["spec"]["suspend"], false);
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
    assert_eq!(status.pass.outcome, "Succeeded", "{}", status.pass.message);
    assert_eq!(jobs(&server), ["etcd-backup-after-upgrade-4-16-5"]);
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
