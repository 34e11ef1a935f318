//! Tests of `gates.rs`.

use super::*;
use hubdr_core::status::{HealthCheck, PassStatus, PhaseObservation, SourceStatus};
use serde_json::json;

fn restore(managed: &str, phase: &str) -> Value {
    json!({
        "spec": {"veleroManagedClustersBackupName": managed},
        "status": {"phase": phase, "lastMessage": "restore ended with errors",
                   "veleroManagedClustersRestoreName": "r-acm-managed-clusters-schedule-1",
                   "veleroResourcesRestoreName": "r-acm-resources-schedule-1"},
    })
}

fn velero(phase: &str, total: Option<u64>) -> Option<Value> {
    let mut v = json!({"status": {"phase": phase, "errors": 3}});
    if let Some(t) = total {
        v["status"]["progress"] = json!({"totalItems": t});
    }
    Some(v)
}

fn both(managed: Option<Value>, resources: Option<Value>) -> BTreeMap<String, Option<Value>> {
    BTreeMap::from([
        ("r-acm-managed-clusters-schedule-1".to_string(), managed),
        ("r-acm-resources-schedule-1".to_string(), resources),
    ])
}

fn waits(v: Verdict) -> String {
    match v {
        Verdict::Waits(m) => m,
        Verdict::Holds => panic!("expected the gate to wait"),
    }
}

#[test]
fn restore_holds_only_when_activated_and_finished() {
    let none = BTreeMap::new();
    assert!(waits(restore_verdict("ns/r", None, &none)).contains("does not exist yet"));
    assert!(waits(restore_verdict(
        "ns/r",
        Some(&restore("skip", "Enabled")),
        &none
    ))
    .contains("not \"latest\""));
    assert!(waits(restore_verdict(
        "ns/r",
        Some(&restore("latest", "Running")),
        &none
    ))
    .contains("has not finished (Running)"));
    assert!(
        waits(restore_verdict("ns/r", Some(&restore("latest", "")), &none))
            .contains("no phase yet")
    );
    assert_eq!(
        restore_verdict("ns/r", Some(&restore("latest", "Finished")), &none),
        Verdict::Holds
    );
    // A Finished passive sync that was never switched to latest does not activate anything.
    assert!(matches!(
        restore_verdict("ns/r", Some(&restore("skip", "Finished")), &none),
        Verdict::Waits(_)
    ));
}

#[test]
fn an_empty_backup_is_harmless_but_a_real_failure_is_reported() {
    let r = restore("latest", "FinishedWithErrors");
    let empty = both(
        velero("PartiallyFailed", Some(0)),
        velero("Completed", Some(40)),
    );
    assert_eq!(restore_verdict("ns/r", Some(&r), &empty), Verdict::Holds);
    let absent_progress = both(
        velero("PartiallyFailed", None),
        velero("Completed", Some(40)),
    );
    assert_eq!(
        restore_verdict("ns/r", Some(&r), &absent_progress),
        Verdict::Holds
    );

    let real = both(
        velero("PartiallyFailed", Some(12)),
        velero("Completed", Some(40)),
    );
    let message = waits(restore_verdict("ns/r", Some(&r), &real));
    assert!(message.contains("the activation restore ns/r failed (phase FinishedWithErrors: restore ended with errors)"), "{message}");
    assert!(message.contains("Velero restore r-acm-managed-clusters-schedule-1 is PartiallyFailed (12 items, 3 errors)"), "{message}");
    assert!(
        message.contains("No BackupSchedule will be created until it is fixed"),
        "{message}"
    );
    assert!(message.contains("`hubdr failover --retry`"), "{message}");

    let missing = both(None, velero("Completed", Some(40)));
    assert!(waits(restore_verdict("ns/r", Some(&r), &missing)).contains("is missing"));
    // Nothing explains an Error phase: a failure, not an empty backup.
    assert!(waits(restore_verdict(
        "ns/r",
        Some(&restore("latest", "Error")),
        &BTreeMap::new()
    ))
    .contains("failed (phase Error"));
}

#[test]
fn names_the_velero_restores_of_the_status() {
    assert_eq!(
        velero_restore_names(&restore("latest", "Finished")),
        [
            "r-acm-managed-clusters-schedule-1",
            "r-acm-resources-schedule-1"
        ]
    );
}

fn status(generation: Option<u64>, reason: &str, schedules: &[&str]) -> ClusterStatus {
    ClusterStatus {
        api_version: "hubdr.io/v1alpha1".into(),
        kind: "ClusterStatus".into(),
        cluster: "hub-a".into(),
        agent_version: "0".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
        source: SourceStatus {
            generation,
            ..Default::default()
        },
        pass: PassStatus {
            outcome: String::new(),
            reason: reason.into(),
            message: "m".into(),
        },
        objects: vec![],
        gates: vec![],
        observed: hubdr_core::status::Observed {
            backup_schedules: schedules
                .iter()
                .map(|n| PhaseObservation {
                    name: n.to_string(),
                    phase: "Enabled".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        health: vec![HealthCheck {
            name: "dpa-present".into(),
            ok: true,
            message: String::new(),
        }],
        inventory: vec![],
    }
}

#[test]
fn no_backup_schedule_needs_a_fresh_successful_observation() {
    assert!(waits(schedule_verdict("hub-a", 3, None)).contains("no status yet"));
    assert!(waits(schedule_verdict(
        "hub-a",
        3,
        Some(&status(Some(2), "Applied", &[]))
    ))
    .contains("reports generation 2"));
    assert!(waits(schedule_verdict(
        "hub-a",
        3,
        Some(&status(None, "Applied", &[]))
    ))
    .contains("no generation"));
    assert!(waits(schedule_verdict(
        "hub-a",
        3,
        Some(&status(Some(3), "FetchFailed", &[]))
    ))
    .contains("last pass failed (FetchFailed)"));
    assert!(waits(schedule_verdict(
        "hub-a",
        3,
        Some(&status(Some(3), "VerifyFailed", &[]))
    ))
    .contains("VerifyFailed"));
    assert!(waits(schedule_verdict(
        "hub-a",
        3,
        Some(&status(Some(3), "Applied", &["ns/schedule-acm"]))
    ))
    .contains("still has BackupSchedule ns/schedule-acm"));
    let mut unobserved = status(Some(3), "ApplyFailed", &[]);
    unobserved.health.clear();
    assert!(waits(schedule_verdict("hub-a", 3, Some(&unobserved))).contains("did not observe"));
    assert_eq!(
        schedule_verdict("hub-a", 3, Some(&status(Some(3), "HealthFailed", &[]))),
        Verdict::Holds
    );
    assert_eq!(
        schedule_verdict("hub-a", 3, Some(&status(Some(4), "Applied", &[]))),
        Verdict::Holds
    );
}

#[test]
fn not_activated_needs_a_fresh_report_without_clusters_or_activation() {
    assert!(waits(not_activated_verdict("hub-b", 3, None)).contains("no status yet"));
    assert!(waits(not_activated_verdict(
        "hub-b",
        3,
        Some(&status(Some(2), "Applied", &[]))
    ))
    .contains("has not applied the abort yet"));
    assert_eq!(
        not_activated_verdict("hub-b", 3, Some(&status(Some(3), "Applied", &[]))),
        Verdict::Holds
    );
    let mut activated = status(Some(3), "Applied", &[]);
    activated.observed.managed_clusters = Some(hubdr_core::status::ManagedClustersObservation {
        total: 2,
        ..Default::default()
    });
    assert!(waits(not_activated_verdict("hub-b", 3, Some(&activated)))
        .contains("holds 2 ManagedCluster(s): it activated them"));
    let mut restoring = status(Some(3), "Applied", &[]);
    restoring.observed.restores.push(PhaseObservation {
        name: "ns/restore-acm-passive-sync-g0".into(),
        phase: "Running".into(),
        generation: Some(2),
        ..Default::default()
    });
    assert!(waits(not_activated_verdict("hub-b", 3, Some(&restoring)))
        .contains("still has activation Restore ns/restore-acm-passive-sync-g0 (Running)"));
}

#[test]
fn since_is_kept_while_the_same_condition_waits() {
    let id = ObjectId {
        api_version: "v1".into(),
        kind: "BackupSchedule".into(),
        namespace: Some("ns".into()),
        name: "s".into(),
    };
    let w = |c: &str| Wait {
        object: id.clone(),
        condition: c.into(),
        message: "m".into(),
    };
    let first = gate_statuses(&[w("a"), w("b")], &[], "T1");
    let second = gate_statuses(&[w("b"), w("c")], &first, "T2");
    let since: Vec<(&str, &str)> = second
        .iter()
        .map(|g| (g.condition.as_str(), g.since.as_str()))
        .collect();
    assert_eq!(since, [("b", "T1"), ("c", "T2")]);
    let blocked = blocked_messages(&[w("a"), w("b")]);
    assert_eq!(blocked[&id], "waiting for a: m; waiting for b: m");
}

/// The gates that wait for another cluster's report (`fenced:`, `not-activated:`,
/// `no-backup-schedule:`) say the same of a report behind their generation, each naming what
/// that cluster's agent has not done yet.
#[test]
fn a_report_behind_the_generation_waits_naming_what_is_not_done() {
    let (older, none) = (
        status(Some(2), "Applied", &[]),
        status(None, "Applied", &[]),
    );
    let unreachable = "if hub-a is gone for good, declare it unreachable (spec.failover.oldPrimaryUnreachable: true) in a reviewed pull request";
    for (status, reports) in [(&older, "generation 2"), (&none, "no generation")] {
        let behind = format!("reports {reports} (at 2026-01-01T00:00:00Z), not 3 or later");
        assert_eq!(
            waits(fence_verdict("hub-a", 3, Some(status))),
            format!("hub-a {behind}: its agent has not fenced it yet ({unreachable})")
        );
        assert_eq!(
            waits(not_activated_verdict("hub-b", 3, Some(status))),
            format!("hub-b {behind}: its agent has not applied the abort yet")
        );
        assert_eq!(
            waits(schedule_verdict("hub-a", 3, Some(status))),
            format!("hub-a {behind}: its agent has not fenced it yet")
        );
    }
}
