//! The activation restore: failed (and retried), or harmless errors.

use hubdr_e2e::{Behaviour, Fleet, SITE};

use super::*;

/// hub-b's activation restore fails (restored items with errors).
fn failing_activation() -> Behaviour {
    Behaviour {
        fail_activation: true,
        ..Behaviour::default()
    }
}

/// Scenario 4: the activation restore fails (a managed-clusters Velero restore that restored
/// items with errors). No BackupSchedule is ever created on hub-b; its status and `hubdr
/// status` say why and that a new generation is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_activation_creates_no_backup_schedule_and_says_why() {
    let Some((mut fleet, merged)) = failover_to_b_with(SITE, failing_activation()).await else {
        return;
    };
    let failed = |f: &Fleet| {
        f.status("hub-b")
            .is_some_and(|s| s.gates.iter().any(|g| g.message.contains("failed")))
    };
    fleet
        .run_until(&B_FIRST, 4, "hub-b reports the failed activation", failed)
        .await;
    fleet
        .run_until(&ALL, 2, "more passes change nothing", |_| true)
        .await;
    fleet
        .run_until(&ALL, 1, "more passes change nothing", |_| true)
        .await;

    assert_eq!(
        restore_phase(&fleet, "hub-b", PASSIVE_SYNC_G0),
        "FinishedWithErrors"
    );
    assert!(
        fleet
            .timeline
            .first_object(merged, "hub-b", "BackupSchedule", |_| true)
            .is_none(),
        "{}",
        fleet.timeline.render()
    );
    assert!(
        fleet
            .timeline
            .first_object(merged, "hub-b", "ManagedClusterAddOn", |_| true)
            .is_none(),
        "{}",
        fleet.timeline.render()
    );
    let b = fleet.status("hub-b").unwrap();
    let gate = b
        .gates
        .iter()
        .find(|g| g.object == SCHEDULE && g.condition.starts_with("restore-finished:"))
        .unwrap_or_else(|| panic!("{}", b.to_yaml()));
    for expected in [
        "the activation restore open-cluster-management-backup/restore-acm-passive-sync-g0 failed (phase FinishedWithErrors: Velero restores have run to completion but with errors)",
        "is PartiallyFailed (12 items, 3 errors)",
        "No BackupSchedule will be created until it is fixed",
        "start a new activation attempt with `hubdr failover --retry`",
    ] {
        assert!(gate.message.contains(expected), "{expected:?} not in {:?}", gate.message);
    }
    let result = object_result(&b, SCHEDULE);
    assert_eq!(result.result, "waiting");
    assert!(
        result.message.contains("failed (phase FinishedWithErrors"),
        "{}",
        result.message
    );
    assert_eq!(b.pass.reason, "Waiting");
    assert!(fleet.timeline.collisions().is_empty());

    let (result, out) = hubdr_status(&fleet, false);
    println!("{out}");
    assert_eq!(result, Err(1), "a stalled fleet exits 1:\n{out}");
    for expected in [
        "restore-acm-passive-sync-g0 FinishedWithErrors",
        "hub-b:\n  waiting since",
        "No BackupSchedule will be created until it is fixed",
        "stalled: hub-b: the activation restore",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    let (result, out) = hubdr_status(&fleet, true);
    assert_eq!(result, Err(1), "{out}");
    assert!(out.contains("\nstalled: hub-b: the activation restore open-cluster-management-backup/restore-acm-passive-sync-g0 failed"), "{out}");
}

/// Scenario 4b: the documented harmless case. The managed-clusters backup is empty, so its
/// Velero restore ends PartiallyFailed with nothing to restore and the Restore
/// FinishedWithErrors: the takeover goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_empty_managed_clusters_backup_does_not_block_the_takeover() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    fleet.set_behaviour(
        "hub-a",
        Behaviour {
            empty_managed_clusters_backups: true,
            ..Behaviour::default()
        },
    );
    steady(&mut fleet).await;
    fleet.failover("hub-b", false);
    until_b_backs_up(&mut fleet, 6, "hub-b backs up").await;
    assert_eq!(
        restore_phase(&fleet, "hub-b", PASSIVE_SYNC_G0),
        "FinishedWithErrors"
    );
    assert_one_schedule_at_a_time(&fleet);
}

/// A failed activation is retried with `hubdr failover --retry`: refused while the attempt
/// runs, then a new Restore of its own (a Restore runs once), the failed one removed, and the
/// takeover completes in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_activation_is_retried_with_a_restore_of_its_own() {
    let Some((mut fleet, merged)) = failover_to_b_with(SITE, failing_activation()).await else {
        return;
    };
    fleet.pass("hub-b").await;
    fleet.pass("hub-a").await;
    fleet.tick().await;
    fleet.pass("hub-a").await;
    fleet.pass("hub-b").await;
    assert_eq!(restore_phase(&fleet, "hub-b", PASSIVE_SYNC_G0), "Running");
    fleet.pass("hub-b").await;
    let (result, out) = fleet.hubdr(&["failover", "--retry"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(out.contains("is Running on hub-b, not failed"), "{out}");

    fleet.tick().await;
    assert_eq!(
        restore_phase(&fleet, "hub-b", PASSIVE_SYNC_G0),
        "FinishedWithErrors"
    );
    fleet.pass("hub-b").await;
    fleet.set_behaviour("hub-b", Behaviour::default());
    let (result, out) = fleet.hubdr(&["failover", "--retry"]);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("Activation attempt 2 at generation 2"),
        "{out}"
    );
    assert_eq!(fleet.generation(), 2, "a retry keeps the generation");
    let retried = "restore-acm-activate-g2-a2";
    until_b_backs_up(&mut fleet, 4, "hub-b backs up after the retry").await;
    assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", retried);
    assert_one_schedule_at_a_time(&fleet);
    assert!(
        fleet.restore("hub-b", PASSIVE_SYNC_G0).is_none(),
        "the failed attempt's Restore is removed"
    );
    let created: Vec<String> = fleet
        .timeline
        .entries()
        .iter()
        .filter_map(|e| e.object())
        .filter(|o| {
            o.is("hub-b", "Restore")
                && o.change == kubefake::ChangeKind::Added
                && o.object["apiVersion"] == "cluster.open-cluster-management.io/v1beta1"
        })
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(
        created,
        [PASSIVE_SYNC_G0, retried],
        "each attempt its own Restore"
    );
    until_all_report(&mut fleet, 2).await;
    let (result, out) = hubdr_status(&fleet, true);
    assert_eq!(result, Ok(()), "{out}");
    assert!(out.trim_end().ends_with("failover complete"), "{out}");
}

/// One active Restore per hub (issue 17 point 3): the activation ends in phase `Error`, which
/// the cluster-backup operator does not count as ended, so a Restore created beside it is
/// ignored (`FinishedWithErrors`, "Restore instance ... is currently running") and never runs.
/// The retry's Restore must wait until the failed one is gone, then run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_waits_until_the_failed_restore_is_gone() {
    let behaviour = Behaviour {
        activation_error: true,
        ..Behaviour::default()
    };
    let Some((mut fleet, merged)) = failover_to_b_with(SITE, behaviour).await else {
        return;
    };
    fleet
        .run_until(&B_FIRST, 4, "hub-b's activation ends in Error", |f| {
            restore_phase(f, "hub-b", PASSIVE_SYNC_G0) == "Error"
        })
        .await;
    fleet.pass("hub-b").await;
    fleet.set_behaviour("hub-b", Behaviour::default());
    let (result, out) = fleet.hubdr(&["failover", "--retry"]);
    assert_eq!(result, Ok(()), "{out}");
    let retried = "restore-acm-activate-g2-a2";
    // The first pass after the retry: the failed Restore is still there, so the new one waits
    // and names it; the failed one, dropped by the render, is pruned.
    let b = fleet.pass("hub-b").await;
    let object = format!("Restore open-cluster-management-backup/{retried}");
    let gate = b
        .gates
        .iter()
        .find(|g| g.object == object && g.condition == "one-active-restore")
        .unwrap_or_else(|| panic!("{}", b.to_yaml()));
    assert!(
        gate.message.starts_with(
            "Restore open-cluster-management-backup/restore-acm-passive-sync-g0 (Error) is active"
        ),
        "{}",
        gate.message
    );
    assert!(fleet.restore("hub-b", PASSIVE_SYNC_G0).is_none(), "pruned");
    until_b_backs_up(&mut fleet, 6, "hub-b backs up after the retry").await;
    assert!(
        fleet.timeline.ignored_restores().is_empty(),
        "no Restore was created beside an active one:\n{}",
        fleet.timeline.render()
    );
    assert_eq!(restore_phase(&fleet, "hub-b", retried), "Finished");
    assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", retried);
    assert_one_schedule_at_a_time(&fleet);
}
