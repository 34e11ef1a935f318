//! A passive hub must not back up: a BackupSchedule someone created there (by hand, a restored
//! hub, an old tool) would write to the shared storage location beside the primary's.

use hubdr_e2e::{BACKUP_NS, SITE};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stray_backup_schedule_on_a_passive_hub_is_removed_and_reported() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    let stray = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
        "metadata": {"name": "by-hand", "namespace": BACKUP_NS},
        "spec": {"veleroSchedule": "0 */4 * * *"},
    });
    fleet
        .timeline
        .mark("a BackupSchedule created by hand on hub-c");
    fleet.member("hub-c").server.put_object(stray).unwrap();
    fleet.settle().await;
    let writes_before = fleet.member("hub-c").server.mutations().len();
    let status = fleet.pass("hub-c").await;
    assert!(
        fleet
            .get(
                "hub-c",
                "cluster.open-cluster-management.io/v1beta1",
                "BackupSchedule",
                "by-hand"
            )
            .is_none(),
        "the stray BackupSchedule is removed"
    );
    assert_eq!(
        object_result(
            &status,
            "BackupSchedule open-cluster-management-backup/by-hand"
        )
        .result,
        "pruned"
    );
    let check = status
        .health
        .iter()
        .find(|c| c.name == "passive-no-backup-schedule")
        .unwrap_or_else(|| panic!("{}", status.to_yaml()));
    assert!(
        check.message.contains(
            "stray BackupSchedule(s) removed this pass: open-cluster-management-backup/by-hand"
        ),
        "{}",
        check.message
    );
    // The agent's first write of the pass is the removal.
    let first = fleet
        .member("hub-c")
        .server
        .mutations()
        .into_iter()
        .nth(writes_before)
        .expect("hub-c's agent wrote");
    assert_eq!(
        (first.verb, first.plural.as_str(), first.name.as_str()),
        (kubefake::WriteVerb::Delete, "backupschedules", "by-hand")
    );
    // The next pass: nothing left, nothing to report.
    let clean = fleet.pass("hub-c").await;
    let check = clean
        .health
        .iter()
        .find(|c| c.name == "passive-no-backup-schedule")
        .unwrap();
    assert_eq!(
        (check.ok, check.message.as_str()),
        (true, "no BackupSchedule on the passive hub")
    );
}
