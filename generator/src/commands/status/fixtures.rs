//! Test fixtures of `hubdr status`: a fleet after a failover, at a fixed clock (read by the
//! tests of `table`, `progress`, `recovery` and `status`).

use super::view::{ClusterView, FleetView};
use crate::status::{
    BackupObservation, ClusterStatus, GateStatus, HealthCheck, Observed, PassStatus,
    PhaseObservation, SourceStatus,
};

pub const NOW: i64 = 1_795_000_000;

fn at(seconds_ago: i64) -> String {
    // NOW is 2026-11-18T11:06:40Z.
    let t = NOW - seconds_ago;
    let (days, rest) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    assert_eq!(days, 20_775, "the fixture clock is fixed");
    format!(
        "2026-11-18T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

pub fn gate(condition: &str, since: i64) -> GateStatus {
    GateStatus {
        object: "BackupSchedule open-cluster-management-backup/schedule-acm".into(),
        condition: condition.into(),
        since: at(NOW - since),
        message: if condition.starts_with("restore-finished") {
            "the activation restore failed (phase FinishedWithErrors)".into()
        } else {
            "hub-a reports generation 1".into()
        },
    }
}

fn status(cluster: &str, generation: u64) -> ClusterStatus {
    ClusterStatus {
        api_version: "hubdr.io/v1alpha1".into(),
        kind: "ClusterStatus".into(),
        cluster: cluster.into(),
        agent_version: "0.1.0".into(),
        updated_at: at(30),
        source: SourceStatus {
            commit: Some("c".into()),
            generation: Some(generation),
            stale: false,
            message: None,
        },
        pass: PassStatus {
            outcome: "Succeeded".into(),
            reason: "Applied".into(),
            message: String::new(),
        },
        objects: vec![],
        gates: vec![],
        observed: Observed::default(),
        health: vec![HealthCheck {
            name: "dpa-present".into(),
            ok: true,
            message: String::new(),
        }],
        inventory: vec![],
    }
}

fn phase(name: &str, phase: &str) -> PhaseObservation {
    PhaseObservation {
        name: format!("open-cluster-management-backup/{name}"),
        phase: phase.into(),
        ..Default::default()
    }
}

/// hub-a fenced (at `a_generation`), hub-b the new primary, hub-c passive, east-1 managed.
pub fn fleet(generation: u64, a_generation: u64) -> FleetView {
    let a = status("hub-a", a_generation);
    let mut b = status("hub-b", generation);
    b.observed.backup_schedules = vec![phase("schedule-acm", "Enabled")];
    b.observed.restores = vec![phase("restore-acm-passive-sync-g0", "Finished")];
    b.observed.latest_backups = vec![BackupObservation {
        schedule: "acm-validation-policy-schedule".into(),
        name: "acm-validation-policy-schedule-20261118100000".into(),
        phase: "Completed".into(),
        started: Some(at(800)),
        completed: Some(at(780)),
    }];
    let mut c = status("hub-c", generation);
    c.observed.restores = vec![phase("restore-acm-passive-sync-g0", "Enabled")];
    let managed = status("east-1", generation);
    let view = |name: &str, kind: &str, role: Option<&str>, s: ClusterStatus| ClusterView {
        name: name.into(),
        kind: kind.into(),
        role: role.map(str::to_string),
        status: Some(s),
        ignored: None,
        heartbeat: None,
    };
    FleetView {
        site: "prod-emea".into(),
        generation,
        commit: "0123456789ab".into(),
        active: Some("hub-b".into()),
        waited_for: vec!["hub-a".into()],
        merged_at: None,
        clusters: vec![
            view("hub-a", "hub", Some("fenced"), a),
            view("hub-b", "hub", Some("active"), b),
            view("hub-c", "hub", Some("passive"), c),
            view("east-1", "managed", None, managed),
        ],
        rendered_at: NOW - 600,
        unknown: vec![],
        status_ref: Some("refs/heads/hubdr-status".into()),
        api_servers: Default::default(),
        heartbeat_stall_after: 1800,
    }
}
