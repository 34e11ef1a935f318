//! Planned failovers: both hubs alive; other passive hubs; agents offline or concurrent.

use std::time::Duration;

use hubdr_e2e::{Event, Fleet, SITE};
use kubefake::{ChangeKind, WriteOutcome, WriteVerb};

use super::*;

/// Scenario 1: planned failover hub-a -> hub-b, both alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planned_failover_fences_the_old_primary_before_the_new_one_backs_up() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    let merged = planned_failover_to_b(&mut fleet).await;
    let created = assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert_one_schedule_at_a_time(&fleet);
    assert!(
        backups_by(&fleet, "hub-b", created) > 0,
        "hub-b wrote no backup"
    );
    assert_eq!(
        backups_by(&fleet, "hub-a", merged),
        0,
        "hub-a wrote a backup after the failover was merged"
    );
    // The fenced hub's backup location is read-only.
    let bsl = fleet
        .get("hub-a", "velero.io/v1", "BackupStorageLocation", "velero-1")
        .unwrap();
    assert_eq!(bsl["spec"]["accessMode"], "ReadOnly");

    until_all_report(&mut fleet, 2).await;
    let (result, out) = hubdr_status(&fleet, true);
    assert_eq!(result, Ok(()), "{out}");
    assert!(out.trim_end().ends_with("failover complete"), "{out}");
    assert!(out.contains("hub-b    active"), "{out}");
    // The recovery point and time: from the backup the activation restored to the merge, and
    // from the merge to the BackupSchedule.
    let takeover = fleet.status("hub-b").unwrap().observed.takeover.unwrap();
    assert_eq!(takeover.generation, 2);
    assert!(takeover
        .restored_backup
        .as_deref()
        .is_some_and(|b| b.starts_with("acm-managed-clusters-schedule-")));
    assert!(takeover.activated_at.is_some() && takeover.backup_schedule_created_at.is_some());
    let recovery = out
        .lines()
        .find(|l| l.starts_with("hub-b took over at generation 2: RPO "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        recovery.contains("; RTO ") && !recovery.contains("RTO so far"),
        "{recovery}"
    );
}

/// Scenario 3: hub-c stays passive through the failover, keeps its passive-sync Restore
/// (same name, never deleted or replaced) and keeps syncing, now from hub-b's backups.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_passive_hubs_keep_their_restore_and_sync_from_the_new_primary() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    let merged = planned_failover_to_b(&mut fleet).await;
    let created = assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    fleet
        .run_until(&ALL, 2, "hub-c at generation 2", |f| {
            f.status("hub-c")
                .is_some_and(|s| s.source.generation == Some(2))
        })
        .await;

    let restores_of_c: Vec<(ChangeKind, String)> = fleet
        .timeline
        .entries()
        .iter()
        .filter_map(|e| e.object())
        .filter(|o| {
            o.is("hub-c", "Restore")
                && o.object["apiVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("cluster.open-cluster-management.io")
                && o.change != ChangeKind::Modified
        })
        .map(|o| (o.change, o.name.to_string()))
        .collect();
    assert_eq!(
        restores_of_c,
        [(ChangeKind::Added, PASSIVE_SYNC_G0.to_string())],
        "hub-c's Restore was created once and never deleted"
    );
    let writes_after: Vec<_> = fleet
        .member("hub-c")
        .server
        .mutations()
        .into_iter()
        .filter(|w| w.plural == "restores" && w.group == "cluster.open-cluster-management.io")
        .collect();
    assert_eq!(
        writes_after.len(),
        1,
        "hub-c's agent wrote its Restore once: {writes_after:#?}"
    );
    let synced_from_b = fleet.timeline.first_after(created, |e| matches!(&e.event, Event::Synced { hub, written_by, restore, .. } if hub == "hub-c" && written_by == "hub-b" && restore == PASSIVE_SYNC_G0));
    assert!(
        synced_from_b.is_some(),
        "hub-c never synced hub-b's backups\n{}",
        fleet.timeline.render()
    );
    assert_eq!(restore_phase(&fleet, "hub-c", PASSIVE_SYNC_G0), "Enabled");
    let c = fleet.status("hub-c").unwrap();
    assert!(
        c.gates.is_empty() && c.pass.outcome == "Succeeded",
        "{}",
        c.to_yaml()
    );
}

/// Scenario 6: two failovers are merged while hub-b's agent is offline (generation 2 to
/// hub-c, generation 3 to hub-b). When it reconnects it applies generation 3 directly, and its
/// BackupSchedule still waits for what generation 3 says: the activation, and the old
/// primary of this failover (hub-c) reporting generation 3 without a BackupSchedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_that_was_offline_applies_the_newest_generation_and_still_waits() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    fleet
        .timeline
        .mark("hub-b's agent goes offline (the hub keeps running)");
    fleet.failover("hub-c", false);
    fleet
        .run_until(&["hub-c", "hub-a", "east-1"], 6, "hub-c backs up", |f| {
            enabled(f, "hub-c")
        })
        .await;
    let merged = merge_failover_to_b(&mut fleet);
    assert_eq!(fleet.generation(), 3);
    let expected = rendered_wait_for(&fleet, "hub-b");
    let restore_gate = format!("restore-finished:open-cluster-management-backup/{PASSIVE_SYNC_G0}");
    assert_eq!(
        expected,
        [
            restore_gate.clone(),
            "fenced:hub-c@3".to_string(),
            "managed-clusters-available".to_string(),
            "observability-restarted:3".to_string(),
            "auto-import-restored:3".to_string()
        ]
    );

    let reconnected = fleet.pass("hub-b").await;
    assert_eq!(
        reconnected.source.generation,
        Some(3),
        "hub-b goes from generation 1 straight to 3"
    );
    let waiting = fleet.pass("hub-b").await;
    assert_eq!(gate_conditions(&waiting), expected, "{}", waiting.to_yaml());
    assert_eq!(
        waits_of(&waiting, RESTORE_G0),
        ["fenced:hub-c@3"],
        "{}",
        waiting.to_yaml()
    );
    let on_c = waiting
        .gates
        .iter()
        .find(|g| g.condition == "fenced:hub-c@3")
        .unwrap();
    assert!(
        on_c.message.contains("hub-c reports generation 2"),
        "{}",
        on_c.message
    );

    // hub-c fences itself (reported once its compactor's pod is gone); the activation
    // starts, so the BackupSchedule waits on.
    fleet.pass("hub-c").await;
    fleet.tick().await;
    fleet.pass("hub-c").await;
    fleet.pass("hub-a").await;
    let still = fleet.pass("hub-b").await;
    assert_eq!(
        gate_conditions(&still),
        [
            restore_gate.as_str(),
            "managed-clusters-available",
            "observability-restarted:3",
            "auto-import-restored:3"
        ],
        "{}",
        still.to_yaml()
    );
    assert!(fleet.schedule("hub-b").is_none());
    fleet.tick().await;
    fleet.tick().await;
    let done = fleet.pass("hub-b").await;
    assert_eq!(
        object_result(&done, SCHEDULE).result,
        "created",
        "{}",
        done.to_yaml()
    );

    fleet
        .run_until(&ALL, 2, "hub-b backs up", |f| enabled(f, "hub-b"))
        .await;
    assert_takeover_order(&fleet, merged, Some("hub-c"), "hub-b", PASSIVE_SYNC_G0);
    assert_one_schedule_at_a_time(&fleet);
    let switches: Vec<_> = fleet
        .member("hub-b")
        .server
        .mutations()
        .into_iter()
        .filter(|w| {
            w.plural == "restores"
                && w.group == "cluster.open-cluster-management.io"
                && w.outcome == WriteOutcome::Changed
        })
        .collect();
    assert_eq!(
        switches.len(),
        1,
        "hub-b's Restore was switched to latest once, by generation 3's render: {switches:#?}"
    );
}

/// Scenario 1 again with the agents as free-running tokio tasks and the hubs' cron on its own
/// timer: whatever the interleaving, never two BackupSchedules (checked on the API servers'
/// own write logs, merged by the time each server received the call) and the activation
/// before the new BackupSchedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_agents_keep_the_takeover_order() {
    // ACM 2.11: the old primary's BackupSchedule is deleted, which the write logs show.
    let Some(mut fleet) = steady_on_acm("2.11", "2.11.3").await else {
        return;
    };
    let merged = merge_failover_to_b(&mut fleet);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for cluster in ALL {
        let agent = fleet
            .members
            .get_mut(cluster)
            .unwrap()
            .agent
            .take()
            .unwrap();
        let stopped = stopped.clone();
        // The old primary's agent is slow to come round: the new primary's activation is
        // done well before hub-a is fenced, so only the gate keeps the order.
        let delay = Duration::from_millis(if cluster == "hub-a" { 3000 } else { 0 });
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            agent.run(stopped).await;
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while !enabled(&fleet, "hub-b") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hub-b never backed up\n{}",
            fleet.timeline.render()
        );
        for member in fleet.members.values() {
            if let Some(op) = &member.operator {
                op.tick(&member.server.handle());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    fleet.settle().await;

    // BackupSchedule creations and deletions on every hub, by the time the server got them.
    let mut events = Vec::new();
    for member in fleet.members.values() {
        for w in member
            .server
            .mutations()
            .into_iter()
            .filter(|w| w.plural == "backupschedules" && w.subresource.is_none())
        {
            let delta = match (&w.verb, &w.outcome) {
                (_, WriteOutcome::Created) => 1,
                (WriteVerb::Delete, WriteOutcome::Deleted) => -1,
                _ => 0,
            };
            events.push((w.at, member.name.clone(), delta));
        }
    }
    events.sort_by_key(|(at, _, _)| *at);
    let mut live = 0;
    for (at, cluster, delta) in &events {
        live += delta;
        assert!(
            live <= 1,
            "two BackupSchedules at {at:?} ({cluster}): {events:#?}"
        );
    }
    // hub-b's own order is exact in the timeline (one recorder per cluster).
    let created = fleet
        .timeline
        .first_object(merged, "hub-b", "BackupSchedule", added)
        .unwrap();
    let finished = fleet
        .timeline
        .first_object(merged, "hub-b", "Restore", |o| {
            o.name == PASSIVE_SYNC_G0 && o.phase() == "Finished"
        })
        .unwrap();
    assert!(finished < created, "\n{}", fleet.timeline.render());
}

/// A passive hub that restores once (`passiveSync: false`) is activated by a new one-shot
/// Restore `restore-acm-activate-g<N>`, and the same order holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_passive_hub_takes_over_with_a_new_activation_restore() {
    let site = SITE.replacen(
        "    - name: hub-b\n      role: passive\n      restoreSyncInterval: 10m\n",
        "    - name: hub-b\n      role: passive\n      passiveSync: false\n",
        1,
    );
    assert_ne!(site, SITE, "the fixture has hub-b as a syncing passive hub");
    let Some(mut fleet) = Fleet::start(&site).await else {
        return;
    };
    fleet
        .run_until(&ALL, 4, "hub-b restored once", |f| {
            enabled(f, "hub-a") && restore_phase(f, "hub-b", "restore-acm-passive-g0") == "Finished"
        })
        .await;
    let merged = merge_failover_to_b(&mut fleet);
    until_b_backs_up(&mut fleet, 6, "hub-b backs up").await;
    assert_takeover_order(
        &fleet,
        merged,
        Some("hub-a"),
        "hub-b",
        "restore-acm-activate-g2",
    );
    assert_one_schedule_at_a_time(&fleet);
    let activation = fleet.restore("hub-b", "restore-acm-activate-g2").unwrap();
    assert_eq!(
        activation["metadata"]["annotations"]["hubdr.io/generation"],
        "2"
    );
}

/// ACM 2.11 cannot pause a BackupSchedule: the old primary's is deleted (and the render drops
/// it), the rest of the fence is the same, and so is the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planned_failover_on_acm_2_11_deletes_the_old_primarys_backup_schedule() {
    let Some(mut fleet) = steady_on_acm("2.11", "2.11.3").await else {
        return;
    };
    let merged = merge_failover_to_b(&mut fleet);
    until_b_backs_up(&mut fleet, 6, "hub-b backs up").await;
    assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert_one_schedule_at_a_time(&fleet);
    assert!(fleet.schedule("hub-a").is_none());
    assert!(fleet
        .timeline
        .first_object(merged, "hub-a", "BackupSchedule", deleted)
        .is_some());
    let fence = fence_of(&fleet, "hub-a");
    assert_eq!(fence.fenced_at, Some(2), "{fence:?}");
    assert_eq!(
        fence.done,
        [
            "no BackupSchedule",
            "1 ManagedCluster(s) annotated import.open-cluster-management.io/disable-auto-import",
            "observability compactor scaled to 0"
        ]
    );
    let compactor = fleet.compactor("hub-a").unwrap();
    assert_eq!(compactor["spec"]["replicas"], 0);
    assert_eq!(
        compactor["metadata"]["annotations"]["hubdr.io/fenced-replicas"],
        "1"
    );
    assert_eq!(backups_by(&fleet, "hub-a", merged), 0);
}
