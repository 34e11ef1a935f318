//! Failover end to end: real agents, one real git repository, fake hubs with a fake
//! cluster-backup operator on one shared storage location. Every scenario asserts on the
//! global timeline of what happened in all clusters (see `hubdr_e2e::timeline`).
//!
//! The agents are driven pass by pass (and the hubs' cron by explicit ticks), in orders
//! chosen to be adversarial: the new primary's agent usually runs before the old primary's.
//! One test runs the agents as free-running tokio tasks instead.

use std::collections::BTreeMap;
use std::time::Duration;

use hubdr::status::ClusterStatus;
use hubdr_e2e::timeline::ObjectView;
use hubdr_e2e::{Behaviour, Event, Fleet, SITE};
use kubefake::{ChangeKind, WriteOutcome, WriteVerb};

const ALL: [&str; 4] = ["hub-a", "hub-b", "hub-c", "east-1"];
const SCHEDULE: &str = "BackupSchedule open-cluster-management-backup/schedule-acm";
const PASSIVE_SYNC_G0: &str = "restore-acm-passive-sync-g0";

fn added(o: &ObjectView<'_>) -> bool {
    o.change == ChangeKind::Added
}

fn deleted(o: &ObjectView<'_>) -> bool {
    o.change == ChangeKind::Deleted
}

fn enabled(fleet: &Fleet, hub: &str) -> bool {
    fleet
        .schedule(hub)
        .is_some_and(|s| s["status"]["phase"] == "Enabled")
}

fn restore_phase(fleet: &Fleet, hub: &str, name: &str) -> String {
    fleet
        .restore(hub, name)
        .and_then(|r| r["status"]["phase"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Generation 1 running: hub-a backs up, hub-b and hub-c sync its backups.
async fn steady(fleet: &mut Fleet) {
    fleet
        .run_until(&ALL, 4, "hub-a backs up and the passive hubs sync", |f| {
            enabled(f, "hub-a")
                && restore_phase(f, "hub-b", PASSIVE_SYNC_G0) == "Enabled"
                && restore_phase(f, "hub-c", PASSIVE_SYNC_G0) == "Enabled"
                && f.status("hub-a")
                    .is_some_and(|s| s.source.generation == Some(1))
        })
        .await;
}

/// What the BackupSchedule waits for.
fn gate_conditions(status: &ClusterStatus) -> Vec<String> {
    status
        .gates
        .iter()
        .filter(|g| g.object == SCHEDULE)
        .map(|g| g.condition.clone())
        .collect()
}

fn object_result<'a>(status: &'a ClusterStatus, object: &str) -> &'a hubdr::status::ObjectResult {
    status
        .objects
        .iter()
        .find(|o| o.object == object)
        .unwrap_or_else(|| panic!("{object} not in the status:\n{}", status.to_yaml()))
}

/// The order every takeover by `new` must keep (from timeline position `after`): the
/// activation Restore `restore` Finished before `new`'s BackupSchedule is created, and so is
/// the volsync add-on; `old`'s BackupSchedule (when `old` is reachable) deleted before it; no
/// collision. Returns when `new`'s BackupSchedule was created.
fn assert_takeover_order(
    fleet: &Fleet,
    after: u64,
    old: Option<&str>,
    new: &str,
    restore: &str,
) -> u64 {
    let t = &fleet.timeline;
    let created = t
        .first_object(after, new, "BackupSchedule", added)
        .unwrap_or_else(|| panic!("{new} never created its BackupSchedule\n{}", t.render()));
    let finished = t
        .first_object(after, new, "Restore", |o| {
            o.name == restore
                && o.phase() == "Finished"
                && o.spec("veleroManagedClustersBackupName") == "latest"
        })
        .unwrap_or_else(|| {
            panic!(
                "{new}'s activation Restore {restore} never Finished\n{}",
                t.render()
            )
        });
    assert!(
        finished < created,
        "{new}: Restore Finished at {finished}, BackupSchedule created at {created}\n{}",
        t.render()
    );
    if let Some(old) = old {
        let removed = t
            .first_object(after, old, "BackupSchedule", deleted)
            .unwrap_or_else(|| panic!("{old}'s BackupSchedule never deleted\n{}", t.render()));
        assert!(
            removed < created,
            "{old}'s BackupSchedule deleted at {removed}, {new}'s created at {created}\n{}",
            t.render()
        );
    }
    assert!(
        t.collisions().is_empty(),
        "collision recorded\n{}",
        t.render()
    );
    let addon = t
        .first_object(after, new, "ManagedClusterAddOn", added)
        .unwrap_or_else(|| panic!("{new} never created its add-on\n{}", t.render()));
    assert!(
        finished < addon,
        "{new}'s add-on created at {addon} before the activation finished at {finished}\n{}",
        t.render()
    );
    created
}

/// Never two BackupSchedules at once, across all clusters and the whole run.
fn assert_one_schedule_at_a_time(fleet: &Fleet) {
    let (max, at) = fleet.timeline.max_concurrent_backup_schedules();
    assert_eq!(
        max,
        1,
        "two BackupSchedules existed at once at entry {at}\n{}",
        fleet.timeline.render()
    );
}

/// Backups hub `hub` wrote after timeline position `after`.
fn backups_by(fleet: &Fleet, hub: &str, after: u64) -> usize {
    fleet
        .storage
        .backups()
        .iter()
        .filter(|b| b.hub == hub && b.seq > after)
        .count()
}

/// `hubdr status [--watch]` on the fleet's repository: its result and output.
fn hubdr_status(fleet: &Fleet, watch: bool) -> (Result<(), i32>, String) {
    let command = hubdr::cli::Command::Status(hubdr::cli::StatusArgs {
        command: None,
        show: hubdr::cli::StatusShowArgs {
            repo: fleet.url(),
            branch: hubdr::status::STATUS_BRANCH.into(),
            source_branch: "main".into(),
            watch,
            interval: Duration::from_millis(10),
            // Short, so a broken stall check ends the watch quickly instead of hanging.
            stall_after: Duration::from_secs(2),
            ..Default::default()
        },
    });
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = hubdr::commands::run(&command, &mut out, &mut err).map_err(|e| e.exit_code());
    (result, String::from_utf8(out).unwrap())
}

/// A planned failover to hub-b with both hubs alive, hub-b's agent running first. Returns
/// the timeline position of the merge.
async fn planned_failover_to_b(fleet: &mut Fleet) -> u64 {
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);

    // The new primary's agent runs first: the activation starts, the BackupSchedule waits.
    let first = fleet.pass("hub-b").await;
    assert_eq!(first.source.generation, Some(2));
    assert!(fleet.schedule("hub-b").is_none());
    assert_eq!(
        object_result(&first, SCHEDULE).result,
        "waiting",
        "{}",
        first.to_yaml()
    );
    assert_eq!(first.pass.reason, "Waiting");
    assert_eq!(restore_phase(fleet, "hub-b", PASSIVE_SYNC_G0), "Running");

    let restore_gate = format!("restore-finished:open-cluster-management-backup/{PASSIVE_SYNC_G0}");
    let second = fleet.pass("hub-b").await;
    assert_eq!(
        gate_conditions(&second),
        [restore_gate.as_str(), "no-backup-schedule:hub-a@2"],
        "{}",
        second.to_yaml()
    );
    assert!(
        second.gates[0]
            .message
            .contains("has not finished (Running)"),
        "{}",
        second.gates[0].message
    );
    assert!(
        second.gates[1]
            .message
            .contains("hub-a reports generation 1"),
        "{}",
        second.gates[1].message
    );
    assert!(object_result(&second, SCHEDULE)
        .message
        .contains("no-backup-schedule:hub-a@2"));
    assert!(fleet.schedule("hub-b").is_none());
    let still = fleet.pass("hub-b").await;
    assert_eq!(
        still.gates[1].since, second.gates[1].since,
        "the wait keeps its start time across passes"
    );

    // The old primary's agent fences it; the activation finishes; the new primary goes ahead.
    let fenced = fleet.pass("hub-a").await;
    assert_eq!(object_result(&fenced, SCHEDULE).result, "pruned");
    assert!(fleet.schedule("hub-a").is_none());
    fleet.tick().await;
    assert_eq!(restore_phase(fleet, "hub-b", PASSIVE_SYNC_G0), "Finished");
    let third = fleet.pass("hub-b").await;
    assert!(third.gates.is_empty(), "{}", third.to_yaml());
    assert_eq!(object_result(&third, SCHEDULE).result, "created");

    fleet
        .run_until(&ALL, 3, "hub-b's BackupSchedule Enabled", |f| {
            enabled(f, "hub-b")
        })
        .await;
    merged
}

/// Scenario 1: planned failover hub-a -> hub-b, both alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planned_failover_fences_the_old_primary_before_the_new_one_backs_up() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
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

    fleet
        .run_until(&ALL, 2, "every cluster reports generation 2", |f| {
            ALL.iter()
                .all(|c| f.status(c).is_some_and(|s| s.source.generation == Some(2)))
        })
        .await;
    let (result, out) = hubdr_status(&fleet, true);
    assert_eq!(result, Ok(()), "{out}");
    assert!(out.trim_end().ends_with("failover complete"), "{out}");
    assert!(out.contains("hub-b    active"), "{out}");
}

/// Scenario 4: the activation restore fails (a managed-clusters Velero restore that restored
/// items with errors). No BackupSchedule is ever created on hub-b; its status and `hubdr
/// status` say why and that a new generation is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_activation_creates_no_backup_schedule_and_says_why() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
    fleet.set_behaviour(
        "hub-b",
        Behaviour {
            fail_activation: true,
            ..Behaviour::default()
        },
    );
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);
    let failed = |f: &Fleet| {
        f.status("hub-b")
            .is_some_and(|s| s.gates.iter().any(|g| g.message.contains("failed")))
    };
    fleet
        .run_until(
            &["hub-b", "hub-a", "hub-c", "east-1"],
            4,
            "hub-b reports the failed activation",
            failed,
        )
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
        "render a new failover generation",
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

/// Scenario 2: disaster. hub-a is down with its BackupSchedule; the failover declares it
/// unreachable; hub-b proceeds without hub-a's status. Then hub-a comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disaster_failover_and_the_old_primary_fences_itself_when_it_returns() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
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

    // hub-a returns: its agent deletes the BackupSchedule before it applies anything else.
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
        (first.verb, first.plural.as_str(), first.name.as_str()),
        (WriteVerb::Delete, "backupschedules", "schedule-acm"),
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
            .is_some_and(|o| o.kind == "BackupSchedule" && o.change == ChangeKind::Deleted),
        "first change on hub-a after its return: {first_change}"
    );
    assert_eq!(object_result(&status, SCHEDULE).result, "pruned");
    assert_eq!(status.source.generation, Some(2));

    fleet
        .run_until(&ALL, 2, "everyone at generation 2", |f| {
            f.status("hub-a")
                .is_some_and(|s| s.pass.reason != "Waiting")
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
    assert!(fleet.schedule("hub-a").is_none());

    // The repository becomes unreachable and someone recreates the BackupSchedule by hand:
    // an agent that knows its hub is fenced keeps deleting it.
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
        "pruned"
    );
    assert!(fleet
        .get(
            "hub-a",
            "cluster.open-cluster-management.io/v1beta1",
            "BackupSchedule",
            "by-hand"
        )
        .is_none());
}

/// Scenario 3: hub-c stays passive through the failover, keeps its passive-sync Restore
/// (same name, never deleted or replaced) and keeps syncing, now from hub-b's backups.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_passive_hubs_keep_their_restore_and_sync_from_the_new_primary() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
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
    fleet
        .run_until(
            &["hub-b", "hub-a", "hub-c", "east-1"],
            4,
            "hub-b backs up",
            |f| enabled(f, "hub-b"),
        )
        .await;
    assert_eq!(
        restore_phase(&fleet, "hub-b", PASSIVE_SYNC_G0),
        "FinishedWithErrors"
    );
    assert_one_schedule_at_a_time(&fleet);
}

/// Scenario 5: failing back to hub-a later (unfenced first, then generation 3). No one-shot
/// Restore name is ever reused in a cluster, and the order holds again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_back_reuses_no_restore_name_and_keeps_the_order() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
    let first = planned_failover_to_b(&mut fleet).await;
    assert_takeover_order(&fleet, first, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);

    fleet.unfence("hub-a");
    assert_eq!(fleet.generation(), 2);
    let passive_g2 = "restore-acm-passive-sync-g2";
    fleet
        .run_until(&ALL, 3, "hub-a syncs again as a passive hub", |f| {
            restore_phase(f, "hub-a", passive_g2) == "Enabled"
        })
        .await;

    let back = fleet.timeline.mark("failback to hub-a merged");
    fleet.failover("hub-a", false);
    assert_eq!(fleet.generation(), 3);
    fleet
        .run_until(
            &["hub-a", "hub-c", "east-1", "hub-b"],
            4,
            "hub-a backs up again",
            |f| {
                enabled(f, "hub-a")
                    && f.status("hub-b")
                        .is_some_and(|s| s.source.generation == Some(3))
            },
        )
        .await;
    assert_takeover_order(&fleet, back, Some("hub-b"), "hub-a", passive_g2);
    assert_one_schedule_at_a_time(&fleet);
    assert!(
        fleet.restore("hub-b", PASSIVE_SYNC_G0).is_none(),
        "the fenced hub keeps no Restore"
    );

    // Every object created per cluster over the whole run: Restores (ACM's and Velero's) are
    // one-shot, so none may have been created twice under the same name.
    let mut created: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in fleet.timeline.entries() {
        if let Some(o) = e.object().filter(|o| o.change == ChangeKind::Added) {
            let group = o.object["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *created
                .entry((
                    o.cluster.to_string(),
                    format!("{} {group}", o.kind),
                    o.name.to_string(),
                ))
                .or_default() += 1;
        }
    }
    let reused: Vec<_> = created
        .iter()
        .filter(|((_, kind, _), n)| kind.starts_with("Restore ") && **n > 1)
        .collect();
    assert!(
        reused.is_empty(),
        "one-shot Restore names reused: {reused:?}"
    );
    let activations: Vec<_> = created
        .keys()
        .filter(|(c, kind, name)| {
            kind.contains("cluster.open-cluster-management.io")
                && kind.starts_with("Restore")
                && (c == "hub-a" || c == "hub-b")
                && name.contains("sync")
        })
        .collect();
    assert!(activations.len() >= 2, "{activations:?}");
}

/// What the rendered BackupSchedule of `hub` waits for (`hubdr.io/wait-for`).
fn rendered_wait_for(fleet: &Fleet, hub: &str) -> Vec<String> {
    let path = fleet.workdir.join(format!(
        "clusters/{hub}/backupschedule.open-cluster-management-backup.schedule-acm.yaml"
    ));
    let object: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = object["metadata"]["annotations"][hubdr::gates::ANNOTATION_WAIT_FOR]
        .as_str()
        .unwrap_or_default();
    hubdr::gates::parse(text)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Scenario 6: two failovers are merged while hub-b's agent is offline (generation 2 to
/// hub-c, generation 3 to hub-b). When it reconnects it applies generation 3 directly, and its
/// BackupSchedule still waits for what generation 3 says: the activation, and the old
/// primary of this failover (hub-c) reporting generation 3 without a BackupSchedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_that_was_offline_applies_the_newest_generation_and_still_waits() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
    fleet
        .timeline
        .mark("hub-b's agent goes offline (the hub keeps running)");
    fleet.failover("hub-c", false);
    fleet
        .run_until(&["hub-c", "hub-a", "east-1"], 4, "hub-c backs up", |f| {
            enabled(f, "hub-c")
        })
        .await;
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);
    assert_eq!(fleet.generation(), 3);
    let expected = rendered_wait_for(&fleet, "hub-b");
    let restore_gate = format!("restore-finished:open-cluster-management-backup/{PASSIVE_SYNC_G0}");
    assert!(
        expected.contains(&restore_gate)
            && expected.contains(&"no-backup-schedule:hub-c@3".to_string()),
        "{expected:?}"
    );

    let reconnected = fleet.pass("hub-b").await;
    assert_eq!(
        reconnected.source.generation,
        Some(3),
        "hub-b goes from generation 1 straight to 3"
    );
    let waiting = fleet.pass("hub-b").await;
    assert_eq!(gate_conditions(&waiting), expected, "{}", waiting.to_yaml());
    let on_c = waiting
        .gates
        .iter()
        .find(|g| g.condition == "no-backup-schedule:hub-c@3")
        .unwrap();
    assert!(
        on_c.message.contains("hub-c reports generation 2"),
        "{}",
        on_c.message
    );

    // hub-c fences itself; the activation is still running, so the BackupSchedule waits on.
    fleet.pass("hub-c").await;
    fleet.pass("hub-a").await;
    let still = fleet.pass("hub-b").await;
    assert_eq!(
        gate_conditions(&still),
        [restore_gate.as_str()],
        "{}",
        still.to_yaml()
    );
    assert!(fleet.schedule("hub-b").is_none());
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
    let Some(mut fleet) = Fleet::start(SITE).await else {
        return;
    };
    steady(&mut fleet).await;
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);

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
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);
    fleet
        .run_until(
            &["hub-b", "hub-a", "hub-c", "east-1"],
            4,
            "hub-b backs up",
            |f| enabled(f, "hub-b"),
        )
        .await;
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
