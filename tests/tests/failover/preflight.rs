//! The preflight of `hubdr failover`, from what the agents report on the status branch: a
//! failed check refuses the failover (nothing changes) unless `--skip-preflight "<reason>"`,
//! which goes into the commit message and the plan.

use hubdr_e2e::{Behaviour, Fleet, SITE};

use super::*;

/// The message of the render repository's newest commit.
fn last_commit_message(fleet: &Fleet) -> String {
    let repo = git2::Repository::open(&fleet.workdir).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    head.message().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_deployment_without_preserve_on_delete_refuses_until_a_reason_is_given() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    let cd = serde_json::json!({
        "apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
        "metadata": {"name": "east-1", "namespace": "east-1"},
        "spec": {"baseDomain": "example.com", "clusterName": "east-1",
                 "platform": {"aws": {"region": "eu-west-1"}}},
    });
    fleet.member("hub-a").server.put_object(cd).unwrap();
    steady_and_reported(&mut fleet).await;
    let a = fleet.status("hub-a").unwrap();
    let cds = a.observed.cluster_deployments.clone().unwrap();
    assert_eq!(
        (cds.total, cds.not_preserved_count),
        (1, 1),
        "{}",
        a.to_yaml()
    );

    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Err(2), "{out}");
    for expected in [
        "FAIL  hub-a  preserve-on-delete",
        "1 of 1 ClusterDeployment(s) without spec.preserveOnDelete: true: east-1/east-1",
        "ok    hub-b  passive-sync",
        "ok    hub-b  acm-version",
        "--skip-preflight",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    assert_eq!(fleet.generation(), 1, "nothing changed");

    let (result, out) = fleet.hubdr(&[
        "failover",
        "--to",
        "hub-b",
        "--skip-preflight",
        "east-1 is imported, not provisioned by Hive: its ClusterDeployment is a leftover",
    ]);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("Preflight skipped: east-1 is imported"),
        "{out}"
    );
    assert!(out.contains("FAIL  hub-a  preserve-on-delete"), "{out}");
    let message = last_commit_message(&fleet);
    assert!(
        message.contains("Preflight skipped: east-1 is imported, not provisioned by Hive: its ClusterDeployment is a leftover\nFailed checks:\n- hub-a preserve-on-delete: 1 of 1 ClusterDeployment(s)"),
        "{message}"
    );
    assert_eq!(fleet.generation(), 2);
    fleet
        .run_until(&ALL, 6, "hub-b backs up", |f| enabled(f, "hub-b"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_backup_refuses_the_failover() {
    // Backups every 10 minutes, but the newest is an hour old: the primary is not backing up.
    let site = SITE.replacen("schedule: \"0 */2 * * *\"", "schedule: \"*/10 * * * *\"", 1);
    assert_ne!(site, SITE);
    let Some(mut fleet) = reported_fleet(&site).await else {
        return;
    };
    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(out.contains("FAIL  hub-a  newest-backup"), "{out}");
    assert!(
        out.contains("more than twice the schedule's interval (20m)"),
        "{out}"
    );
    assert_eq!(fleet.generation(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acm_version_mismatch_refuses_the_failover() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    fleet.set_behaviour(
        "hub-b",
        Behaviour {
            acm_version: Some("2.14.2".into()),
            ..Behaviour::default()
        },
    );
    steady_and_reported(&mut fleet).await;
    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(
        out.contains(
            "FAIL  hub-b  acm-version         hub-b runs ACM 2.14.2, but the site declares 2.15"
        ),
        "{out}"
    );
    assert_eq!(fleet.generation(), 1);
}
