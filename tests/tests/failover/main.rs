//! Failover end to end: real agents, one real git repository, fake hubs with a fake
//! cluster-backup operator on one shared storage location. Every scenario asserts on the
//! global timeline of what happened in all clusters (see `hubdr_e2e::timeline`).
//!
//! The agents are driven pass by pass (and the hubs' cron by explicit ticks), in orders
//! chosen to be adversarial: the new primary's agent usually runs before the old primary's.
//! One test runs the agents as free-running tokio tasks instead.

mod abort;
mod activation;
mod auto_import;
mod decommission;
mod disaster;
mod failback;
mod planned;
mod preflight;
mod refusals;
mod strays;
mod verify;

use std::time::Duration;

use hubdr::status::ClusterStatus;
use hubdr_e2e::timeline::ObjectView;
use hubdr_e2e::{Behaviour, Fleet};
use kubefake::ChangeKind;

pub const ALL: [&str; 4] = ["hub-a", "hub-b", "hub-c", "east-1"];
/// The order of most scenarios' rounds: the new primary's agent first.
pub const B_FIRST: [&str; 4] = ["hub-b", "hub-a", "hub-c", "east-1"];
pub const SCHEDULE: &str = "BackupSchedule open-cluster-management-backup/schedule-acm";
pub const PASSIVE_SYNC_G0: &str = "restore-acm-passive-sync-g0";

pub fn added(o: &ObjectView<'_>) -> bool {
    o.change == ChangeKind::Added
}

pub fn deleted(o: &ObjectView<'_>) -> bool {
    o.change == ChangeKind::Deleted
}

pub fn enabled(fleet: &Fleet, hub: &str) -> bool {
    fleet
        .schedule(hub)
        .is_some_and(|s| s["status"]["phase"] == "Enabled")
}

pub fn restore_phase(fleet: &Fleet, hub: &str, name: &str) -> String {
    fleet
        .restore(hub, name)
        .and_then(|r| r["status"]["phase"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The e2e site with `spec.acmVersion: <version>`.
pub fn site_acm(version: &str) -> String {
    let site = hubdr_e2e::SITE.replacen(
        "spec:\n",
        &format!("spec:\n  acmVersion: \"{version}\"\n"),
        1,
    );
    assert_ne!(site, hubdr_e2e::SITE);
    site
}

/// The fake hubs run ACM `version` (the site's `acmVersion` must match: the preflight checks).
pub fn on_version(fleet: &Fleet, version: &str) {
    for hub in ["hub-a", "hub-b", "hub-c"] {
        fleet.set_behaviour(
            hub,
            Behaviour {
                acm_version: Some(version.into()),
                ..Behaviour::default()
            },
        );
    }
}

/// A fleet on `site`, at [`steady`]; `None` where [`Fleet::start`] skips the scenarios.
pub async fn steady_fleet(site: &str) -> Option<Fleet> {
    let mut fleet = Fleet::start(site).await?;
    steady(&mut fleet).await;
    Some(fleet)
}

/// A fleet on `site`, at [`steady_and_reported`].
pub async fn reported_fleet(site: &str) -> Option<Fleet> {
    let mut fleet = Fleet::start(site).await?;
    steady_and_reported(&mut fleet).await;
    Some(fleet)
}

/// A fleet on the e2e site at `spec.acmVersion: <acm>`, its fake hubs running ACM `running`,
/// at [`steady`].
pub async fn steady_on_acm(acm: &str, running: &str) -> Option<Fleet> {
    let mut fleet = Fleet::start(&site_acm(acm)).await?;
    on_version(&fleet, running);
    steady(&mut fleet).await;
    Some(fleet)
}

/// The planned failover to hub-b merged (hub-a reachable): the timeline position of the merge.
pub fn merge_failover_to_b(fleet: &mut Fleet) -> u64 {
    let merged = fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);
    merged
}

/// A fleet on `site` at [`steady`], hub-b's fake hub then behaving as `behaviour`, and the
/// planned failover to hub-b merged: the fleet and the timeline position of the merge.
pub async fn failover_to_b_with(site: &str, behaviour: Behaviour) -> Option<(Fleet, u64)> {
    let mut fleet = steady_fleet(site).await?;
    fleet.set_behaviour("hub-b", behaviour);
    let merged = merge_failover_to_b(&mut fleet);
    Some((fleet, merged))
}

/// Rounds in [`B_FIRST`] order until hub-b's BackupSchedule is Enabled, at most `max_rounds`
/// (`what`: the wait, as its failure names it).
pub async fn until_b_backs_up(fleet: &mut Fleet, max_rounds: usize, what: &str) {
    fleet
        .run_until(&B_FIRST, max_rounds, what, |f| enabled(f, "hub-b"))
        .await;
}

/// Rounds of every agent until every cluster reports generation `generation`, at most 2.
pub async fn until_all_report(fleet: &mut Fleet, generation: u64) {
    let what = format!("every cluster reports generation {generation}");
    fleet
        .run_until(&ALL, 2, &what, |f| {
            ALL.iter().all(|c| {
                f.status(c)
                    .is_some_and(|s| s.source.generation == Some(generation))
            })
        })
        .await;
}

/// What `hub`'s agent last reported of its fence (the default when it reported none).
pub fn fence_of(fleet: &Fleet, hub: &str) -> hubdr::status::FenceObservation {
    fleet
        .status(hub)
        .unwrap_or_else(|| panic!("{hub} has reported no status"))
        .observed
        .fence
        .unwrap_or_default()
}

/// Generation 1 running: hub-a backs up, hub-b and hub-c sync its backups.
pub async fn steady(fleet: &mut Fleet) {
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

/// [`steady`], then one more round so that every agent reports what the last cron tick did
/// (the evidence `hubdr failover`'s preflight reads).
pub async fn steady_and_reported(fleet: &mut Fleet) {
    steady(fleet).await;
    fleet.round(&ALL).await;
}

/// What the BackupSchedule waits for.
pub fn gate_conditions(status: &ClusterStatus) -> Vec<String> {
    status
        .gates
        .iter()
        .filter(|g| g.object == SCHEDULE)
        .map(|g| g.condition.clone())
        .collect()
}

pub fn object_result<'a>(
    status: &'a ClusterStatus,
    object: &str,
) -> &'a hubdr::status::ObjectResult {
    status
        .objects
        .iter()
        .find(|o| o.object == object)
        .unwrap_or_else(|| panic!("{object} not in the status:\n{}", status.to_yaml()))
}

/// `hub`'s BackupSchedule exists, paused (the fence of ACM 2.12+).
pub fn assert_paused(fleet: &Fleet, hub: &str) {
    let schedule = fleet
        .schedule(hub)
        .unwrap_or_else(|| panic!("{hub} has no BackupSchedule"));
    assert_eq!(schedule["spec"]["paused"], true, "{schedule}");
    assert_eq!(schedule["status"]["phase"], "Paused", "{schedule}");
}

/// When every part of `old`'s fence was in place after timeline position `after`: its
/// BackupSchedule deleted or paused, its managed clusters' ManagedClusters annotated
/// disable-auto-import, its observability compactor at 0 replicas with no pod left.
pub fn fence_complete_at(fleet: &Fleet, after: u64, old: &str) -> Option<u64> {
    let t = &fleet.timeline;
    let schedule = fenced_at(fleet, after, old)?;
    let annotated = t.first_object(after, old, "ManagedCluster", |o| {
        o.name != "local-cluster"
            && o.object
                .pointer(
                    "/metadata/annotations/import.open-cluster-management.io~1disable-auto-import",
                )
                .is_some()
    })?;
    let compactor = t.first_object(after, old, "StatefulSet", |o| {
        o.object.pointer("/spec/replicas") == Some(&serde_json::json!(0))
            && o.object.pointer("/status/replicas") == Some(&serde_json::json!(0))
    })?;
    Some(schedule.max(annotated).max(compactor))
}

/// When `old`'s fence took hold after timeline position `after`: its BackupSchedule deleted,
/// or paused (`spec.paused: true`).
pub fn fenced_at(fleet: &Fleet, after: u64, old: &str) -> Option<u64> {
    fleet
        .timeline
        .first_object(after, old, "BackupSchedule", |o| {
            o.change == ChangeKind::Deleted
                || o.object.pointer("/spec/paused") == Some(&serde_json::json!(true))
        })
}

/// When `new` started activating managed clusters with Restore `restore` after `after`: the
/// Restore created or switched with `veleroManagedClustersBackupName: latest`.
pub fn activation_started(fleet: &Fleet, after: u64, new: &str, restore: &str) -> Option<u64> {
    fleet.timeline.first_object(after, new, "Restore", |o| {
        o.name == restore && o.spec("veleroManagedClustersBackupName") == "latest"
    })
}

/// The order every takeover by `new` must keep (from timeline position `after`): `old` (when
/// reachable) fenced completely (see [`fence_complete_at`]) before the activation Restore
/// `restore` starts; the activation Finished
/// before `new`'s BackupSchedule is created, and before the volsync add-on; no collision.
/// Returns when `new`'s BackupSchedule was created.
pub fn assert_takeover_order(
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
    let started = activation_started(fleet, after, new, restore).unwrap_or_else(|| {
        panic!(
            "{new}'s activation Restore {restore} never started\n{}",
            t.render()
        )
    });
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
        let fenced = fence_complete_at(fleet, after, old)
            .unwrap_or_else(|| panic!("{old} never fenced completely\n{}", t.render()));
        assert!(
            fenced < started,
            "{old} fenced at {fenced}, but {new}'s activation started at {started}\n{}",
            t.render()
        );
    }
    assert!(
        t.collisions().is_empty(),
        "collision recorded\n{}",
        t.render()
    );
    // The observability API restarted after the activation, before the BackupSchedule.
    let restarted = t
        .first_object(after, new, "Deployment", |o| {
            o.object
                .pointer("/spec/template/metadata/annotations/hubdr.io~1restarted-for-generation")
                .is_some()
        })
        .unwrap_or_else(|| {
            panic!(
                "{new} never restarted its observability API\n{}",
                t.render()
            )
        });
    assert!(
        finished < restarted && restarted < created,
        "{new}: activation finished at {finished}, observability API restarted at {restarted}, BackupSchedule created at {created}\n{}",
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
pub fn assert_one_schedule_at_a_time(fleet: &Fleet) {
    let (max, at) = fleet.timeline.max_concurrent_backup_schedules();
    assert_eq!(
        max,
        1,
        "two BackupSchedules existed at once at entry {at}\n{}",
        fleet.timeline.render()
    );
}

/// Backups hub `hub` wrote after timeline position `after`.
pub fn backups_by(fleet: &Fleet, hub: &str, after: u64) -> usize {
    fleet
        .storage
        .backups()
        .iter()
        .filter(|b| b.hub == hub && b.seq > after)
        .count()
}

/// `hubdr status [--watch]` on the fleet's repository: its result and output.
pub fn hubdr_status(fleet: &Fleet, watch: bool) -> (Result<(), i32>, String) {
    let command = hubdr::cli::Command::Status(hubdr::cli::StatusArgs {
        command: None,
        show: hubdr::cli::StatusShowArgs {
            repo: fleet.url(),
            branch: hubdr::status::STATUS_BRANCH.into(),
            source_branch: "main".into(),
            watch,
            interval: Duration::from_millis(10),
            // Short, so a broken stall check ends the watch instead of hanging, but longer than
            // the test agents' silences on a loaded machine: it also judges their heartbeats.
            stall_after: Some(Duration::from_secs(120)),
            ..Default::default()
        },
    });
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = hubdr::commands::run(&command, &mut out, &mut err).map_err(|e| e.exit_code());
    (result, String::from_utf8(out).unwrap())
}

/// The Restore of hub-b's passive sync (and activation), as the status names it.
pub const RESTORE_G0: &str = "Restore open-cluster-management-backup/restore-acm-passive-sync-g0";

/// The conditions `object` waits for in `status`.
pub fn waits_of(status: &ClusterStatus, object: &str) -> Vec<String> {
    status
        .gates
        .iter()
        .filter(|g| g.object == object)
        .map(|g| g.condition.clone())
        .collect()
}

/// A planned failover to hub-b with both hubs alive, hub-b's agent running first. Returns
/// the timeline position of the merge.
pub async fn planned_failover_to_b(fleet: &mut Fleet) -> u64 {
    let merged = merge_failover_to_b(fleet);

    // The new primary's agent runs first: nothing activates before the old primary is fenced.
    let first = fleet.pass("hub-b").await;
    assert_eq!(first.source.generation, Some(2));
    assert!(fleet.schedule("hub-b").is_none());
    for object in [SCHEDULE, RESTORE_G0] {
        assert_eq!(
            object_result(&first, object).result,
            "waiting",
            "{object}\n{}",
            first.to_yaml()
        );
    }
    assert_eq!(first.pass.reason, "Waiting");
    let restore = fleet.restore("hub-b", PASSIVE_SYNC_G0).unwrap();
    assert_eq!(restore["spec"]["veleroManagedClustersBackupName"], "skip");
    assert_eq!(restore_phase(fleet, "hub-b", PASSIVE_SYNC_G0), "Enabled");

    let restore_gate = format!("restore-finished:open-cluster-management-backup/{PASSIVE_SYNC_G0}");
    let second = fleet.pass("hub-b").await;
    assert_eq!(
        waits_of(&second, RESTORE_G0),
        ["fenced:hub-a@2"],
        "{}",
        second.to_yaml()
    );
    assert_eq!(
        gate_conditions(&second),
        [
            restore_gate.as_str(),
            "fenced:hub-a@2",
            "managed-clusters-available",
            "observability-restarted:2",
            "auto-import-restored:2"
        ],
        "{}",
        second.to_yaml()
    );
    let on_a = second
        .gates
        .iter()
        .find(|g| g.object == RESTORE_G0)
        .unwrap();
    assert!(
        on_a.message.contains("hub-a reports generation 1"),
        "{}",
        on_a.message
    );
    assert!(object_result(&second, RESTORE_G0)
        .message
        .contains("fenced:hub-a@2"));
    assert!(fleet.schedule("hub-b").is_none());
    let still = fleet.pass("hub-b").await;
    assert_eq!(
        still.gates, second.gates,
        "the waits keep their start time across passes"
    );
    assert!(
        fleet
            .timeline
            .first_after(merged, |e| matches!(
                e.event,
                hubdr_e2e::Event::Activated { .. }
            ))
            .is_none(),
        "nothing activated before the old primary was fenced\n{}",
        fleet.timeline.render()
    );

    // The old primary's agent fences it (ACM 2.15: its BackupSchedule paused, its
    // ManagedClusters annotated, its compactor scaled to 0), but reports it only once the
    // compactor's pod is gone.
    let fencing = fleet.pass("hub-a").await;
    assert_eq!(object_result(&fencing, SCHEDULE).result, "configured");
    assert_paused(fleet, "hub-a");
    let fence = fencing.observed.fence.clone().unwrap_or_default();
    assert_eq!(fence.fenced_at, None, "{}", fencing.to_yaml());
    assert_eq!(
        fence.pending,
        ["observability compactor open-cluster-management-observability/observability-thanos-compact at 0 replica(s), 1 pod(s) running"],
        "{}",
        fencing.to_yaml()
    );
    let east = fleet.managed_cluster("hub-a", "east-1").unwrap();
    assert_eq!(
        east["metadata"]["annotations"]["import.open-cluster-management.io/disable-auto-import"],
        ""
    );
    let not_yet = fleet.pass("hub-b").await;
    let on_a = not_yet
        .gates
        .iter()
        .find(|g| g.object == RESTORE_G0)
        .unwrap();
    assert!(
        on_a.message
            .contains("hub-a is not fenced yet at generation 2: observability compactor"),
        "{}",
        on_a.message
    );
    assert!(activation_started(fleet, merged, "hub-b", PASSIVE_SYNC_G0).is_none());
    fleet.tick().await;
    let fenced = fleet.pass("hub-a").await;
    let fence = fenced.observed.fence.clone().unwrap_or_default();
    assert_eq!(fence.fenced_at, Some(2), "{}", fenced.to_yaml());
    assert_eq!(
        fence.done,
        [
            "BackupSchedule open-cluster-management-backup/schedule-acm paused",
            "1 ManagedCluster(s) annotated import.open-cluster-management.io/disable-auto-import",
            "observability compactor scaled to 0"
        ]
    );
    let third = fleet.pass("hub-b").await;
    assert_eq!(object_result(&third, RESTORE_G0).result, "configured");
    assert_eq!(restore_phase(fleet, "hub-b", PASSIVE_SYNC_G0), "Running");
    let running = fleet.pass("hub-b").await;
    assert_eq!(
        gate_conditions(&running),
        [
            restore_gate.as_str(),
            "managed-clusters-available",
            "observability-restarted:2",
            "auto-import-restored:2"
        ],
        "{}",
        running.to_yaml()
    );
    assert!(
        running.gates[0]
            .message
            .contains("has not finished (Running)"),
        "{}",
        running.gates[0].message
    );
    fleet.tick().await;
    assert_eq!(restore_phase(fleet, "hub-b", PASSIVE_SYNC_G0), "Finished");
    // Verified before it backs up: the restored ManagedCluster has not joined yet.
    let fourth = fleet.pass("hub-b").await;
    assert_eq!(
        gate_conditions(&fourth),
        ["managed-clusters-available", "auto-import-restored:2"],
        "{}",
        fourth.to_yaml()
    );
    assert!(
        fourth.gates[0]
            .message
            .contains("0 of 1 ManagedCluster(s) Available and Joined; Pending Import (1): east-1"),
        "{}",
        fourth.gates[0].message
    );
    assert!(fleet.schedule("hub-b").is_none());
    // The observability API was restarted once the activation finished.
    let api = fleet.observatorium_api("hub-b").unwrap();
    assert_eq!(
        api["spec"]["template"]["metadata"]["annotations"]["hubdr.io/restarted-for-generation"],
        "2"
    );
    fleet.tick().await;
    let fifth = fleet.pass("hub-b").await;
    assert!(fifth.gates.is_empty(), "{}", fifth.to_yaml());
    assert_eq!(object_result(&fifth, SCHEDULE).result, "created");
    let clusters = fifth.observed.managed_clusters.clone().unwrap_or_default();
    assert_eq!((clusters.total, clusters.available), (1, 1));

    fleet
        .run_until(&ALL, 3, "hub-b's BackupSchedule Enabled", |f| {
            enabled(f, "hub-b")
        })
        .await;
    merged
}

/// What the rendered BackupSchedule of `hub` waits for (`hubdr.io/wait-for`).
pub fn rendered_wait_for(fleet: &Fleet, hub: &str) -> Vec<String> {
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
