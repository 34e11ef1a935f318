//! Disaster: the old primary unreachable, and coming back.

use hubdr_e2e::SITE;
use kubefake::{ChangeKind, WriteVerb};

use super::*;

/// Scenario 2: disaster. hub-a is down with its BackupSchedule; the failover declares it
/// unreachable; hub-b proceeds without hub-a's status. Then hub-a comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disaster_failover_and_the_old_primary_fences_itself_when_it_returns() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    fleet.set_up("hub-a", false);
    let merged = fleet
        .timeline
        .mark("failover to hub-b (hub-a unreachable) merged");
    fleet.failover("hub-b", true);

    fleet
        .run_until(
            &["hub-b", "hub-c", "east-1"],
            4,
            "hub-b backs up without hub-a",
            |f| enabled(f, "hub-b"),
        )
        .await;
    let b = fleet.status("hub-b").unwrap();
    assert!(b.gates.is_empty(), "{}", b.to_yaml());
    assert!(
        fleet.status("hub-a").unwrap().source.generation == Some(1),
        "hub-a never saw generation 2"
    );
    assert_takeover_order(&fleet, merged, None, "hub-b", PASSIVE_SYNC_G0);
    assert!(
        fleet.schedule("hub-a").is_some(),
        "the down hub still holds its old BackupSchedule"
    );

    // hub-a returns: its agent pauses the BackupSchedule (ACM 2.15) before it applies anything
    // else.
    let returned = fleet.timeline.mark("hub-a returns");
    fleet.set_up("hub-a", true);
    let writes_before = fleet.member("hub-a").server.mutations().len();
    let status = fleet.pass("hub-a").await;
    let writes: Vec<_> = fleet
        .member("hub-a")
        .server
        .mutations()
        .into_iter()
        .skip(writes_before)
        .collect();
    let first = writes.first().expect("hub-a's agent wrote something");
    assert_eq!(
        (
            first.verb,
            first.plural.as_str(),
            first.name.as_str(),
            first.field_manager.as_deref()
        ),
        (
            WriteVerb::Apply,
            "backupschedules",
            "schedule-acm",
            Some("hubdr-fence")
        ),
        "{writes:#?}"
    );
    let first_change = fleet
        .timeline
        .first_after(returned, |e| {
            e.object().is_some_and(|o| o.cluster == "hub-a")
        })
        .unwrap();
    assert!(
        first_change
            .object()
            .is_some_and(|o| o.kind == "BackupSchedule"
                && o.change == ChangeKind::Modified
                && o.object["spec"]["paused"] == true),
        "first change on hub-a after its return: {first_change}"
    );
    assert_eq!(object_result(&status, SCHEDULE).result, "configured");
    assert_eq!(status.source.generation, Some(2));

    fleet
        .run_until(&ALL, 3, "hub-a reports its fence", |f| {
            f.status("hub-a")
                .is_some_and(|s| s.observed.fence.as_ref().and_then(|f| f.fenced_at) == Some(2))
        })
        .await;
    assert!(
        fleet.timeline.collisions().is_empty(),
        "collision recorded\n{}",
        fleet.timeline.render()
    );
    assert_eq!(
        backups_by(&fleet, "hub-a", merged),
        0,
        "hub-a wrote a backup after the failover\n{}",
        fleet.timeline.render()
    );
    assert_paused(&fleet, "hub-a");
    let fence = fence_of(&fleet, "hub-a");
    assert_eq!(fence.fenced_at, Some(2), "{fence:?}");

    // The repository becomes unreachable and someone creates a BackupSchedule by hand: an
    // agent that knows its hub is fenced keeps pausing them.
    let moved = fleet.repo.with_extension("moved");
    std::fs::rename(&fleet.repo, &moved).unwrap();
    let schedule = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
        "metadata": {"name": "by-hand", "namespace": hubdr_e2e::BACKUP_NS},
        "spec": {"veleroSchedule": "0 */2 * * *"},
    });
    fleet.member("hub-a").server.put_object(schedule).unwrap();
    let offline = fleet.pass("hub-a").await;
    std::fs::rename(&moved, &fleet.repo).unwrap();
    assert_eq!(offline.pass.reason, "FetchFailed", "{}", offline.to_yaml());
    assert_eq!(
        object_result(
            &offline,
            "BackupSchedule open-cluster-management-backup/by-hand"
        )
        .result,
        "configured"
    );
    let by_hand = fleet
        .get(
            "hub-a",
            "cluster.open-cluster-management.io/v1beta1",
            "BackupSchedule",
            "by-hand",
        )
        .unwrap();
    assert_eq!(by_hand["spec"]["paused"], true);
    assert_eq!(backups_by(&fleet, "hub-a", merged), 0);
}

/// The old primary goes down after a planned failover is merged, before its agent fenced it:
/// the new primary does not activate (its activation Restore waits for "fenced at 2" and says
/// how to declare the old primary unreachable). When the old primary returns, its agent fences
/// it first, reports it, and only then does the takeover go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_old_primary_down_mid_failover_holds_the_activation_until_it_is_fenced() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    let merged = merge_failover_to_b(&mut fleet);
    fleet.set_up("hub-a", false);
    fleet.rounds(&["hub-b", "hub-c", "east-1"], 3).await;
    let b = fleet.status("hub-b").unwrap();
    assert_eq!(
        waits_of(&b, RESTORE_G0),
        ["fenced:hub-a@2"],
        "{}",
        b.to_yaml()
    );
    let gate = b.gates.iter().find(|g| g.object == RESTORE_G0).unwrap();
    for expected in [
        "hub-a reports generation 1",
        "its agent has not fenced it yet",
        "spec.failover.oldPrimaryUnreachable: true",
    ] {
        assert!(
            gate.message.contains(expected),
            "{expected:?} not in {:?}",
            gate.message
        );
    }
    assert!(
        activation_started(&fleet, merged, "hub-b", PASSIVE_SYNC_G0).is_none(),
        "hub-b activated while hub-a was not fenced\n{}",
        fleet.timeline.render()
    );
    assert!(fleet.schedule("hub-b").is_none());

    // hub-a returns with its BackupSchedule; its agent fences it first, then hub-b goes on.
    fleet.set_up("hub-a", true);
    until_b_backs_up(&mut fleet, 5, "hub-b backs up").await;
    assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert_one_schedule_at_a_time(&fleet);
    assert_eq!(backups_by(&fleet, "hub-a", merged), 0);
}
