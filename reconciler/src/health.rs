//! Health checks equal to the ACM backup policies (`backup-restore-enabled`,
//! `backup-restore-auto-import`), computed from what the agent observed. Pure.

use hubdr_core::status::HealthCheck;
use jiff::Timestamp;

use crate::observe::Observation;

/// What the checks need to know about the hub.
#[derive(Debug, Clone)]
pub struct HubFacts {
    /// `active`, `passive` or `fenced`.
    pub role: String,
    /// The BackupSchedule's cron, to judge whether backups are recent.
    pub schedule: Option<String>,
    pub now: Timestamp,
    /// Stray BackupSchedules the agent removed from this passive hub in this pass.
    pub strays_removed: Vec<String>,
}

pub fn hub_checks(o: &Observation, facts: &HubFacts) -> Vec<HealthCheck> {
    let mut checks = Vec::new();
    let mut check = |name: &str, ok: bool, message: String| {
        checks.push(HealthCheck {
            name: name.into(),
            ok,
            message,
        })
    };

    for (component, needle) in [
        ("cluster-backup operator", "cluster-backup"),
        ("OADP operator", "openshift-adp"),
        ("Velero", "velero"),
    ] {
        let pods: Vec<&(String, String)> = o
            .backup_pods
            .iter()
            .filter(|(n, _)| n.contains(needle))
            .collect();
        let running = pods.iter().any(|(_, phase)| phase == "Running");
        check(
            &format!("{}-pod-running", needle),
            running,
            if running {
                format!("{component} pod running")
            } else if pods.is_empty() {
                format!("no {component} pod in the backup namespace")
            } else {
                format!("{component} pod not Running")
            },
        );
    }

    let dpa = o.observed.data_protection_applications.first();
    check(
        "dpa-present",
        dpa.is_some(),
        match dpa {
            Some(d) => format!(
                "DataProtectionApplication {} {}",
                d.name,
                if d.phase.is_empty() {
                    "present"
                } else {
                    &d.phase
                }
            ),
            None => "no DataProtectionApplication in the backup namespace".into(),
        },
    );

    let available = o
        .observed
        .backup_storage_locations
        .iter()
        .any(|l| l.phase == "Available");
    check(
        "storage-location-available",
        available,
        if available {
            "a BackupStorageLocation is Available".into()
        } else {
            format!(
                "no BackupStorageLocation is Available ({})",
                describe(&o.observed.backup_storage_locations)
            )
        },
    );

    let schedules = &o.observed.backup_schedules;
    let collision = schedules.iter().find(|s| s.phase == "BackupCollision");
    check("no-backup-collision", collision.is_none(), match collision {
        Some(s) => format!("BackupSchedule {} is in BackupCollision: another hub wrote to the storage location; delete this BackupSchedule and create a new one on the primary", s.name),
        None => "no BackupSchedule in BackupCollision".into(),
    });

    match facts.role.as_str() {
        "active" => {
            let bad = schedules
                .iter()
                .find(|s| s.phase.is_empty() || s.phase.starts_with("Failed"));
            check(
                "backup-schedule-phase",
                !schedules.is_empty() && bad.is_none(),
                match (schedules.first(), bad) {
                    (None, _) => "no BackupSchedule on the active hub".into(),
                    (_, Some(s)) => format!(
                        "BackupSchedule {} phase {:?}: {}",
                        s.name, s.phase, s.message
                    ),
                    (Some(s), None) => format!("BackupSchedule {} is {}", s.name, s.phase),
                },
            );
        }
        "fenced" => {
            // Paused (ACM 2.12+) counts as stopped: the fence keeps the schedule, paused.
            let running: Vec<&str> = schedules
                .iter()
                .map(|s| s.name.as_str())
                .filter(|n| !o.paused_schedules.iter().any(|p| p == n))
                .collect();
            check(
                "fenced-no-backup-schedule",
                running.is_empty(),
                match (running.first(), schedules.first()) {
                    (Some(name), _) => format!("the fenced hub still has BackupSchedule {name} running: it can cause a backup collision"),
                    (None, Some(_)) => "every BackupSchedule on the fenced hub is paused".into(),
                    (None, None) => "no BackupSchedule on the fenced hub".into(),
                },
            );
        }
        _ => {
            check(
                "passive-no-backup-schedule",
                schedules.is_empty(),
                match (schedules.first(), facts.strays_removed.is_empty()) {
                    (Some(s), _) => format!("the passive hub has BackupSchedule {}: it can cause a backup collision; its agent removes it", s.name),
                    (None, false) => format!(
                        "stray BackupSchedule(s) removed this pass: {}: a passive hub must not back up (backup collision)",
                        facts.strays_removed.join(", ")
                    ),
                    (None, true) => "no BackupSchedule on the passive hub".into(),
                },
            );
            let restores = &o.observed.restores;
            let bad = restores.iter().find(|r| {
                r.phase.is_empty() || r.phase == "Failed" || r.phase == "FailedValidation"
            });
            check(
                "restore-phase",
                !restores.is_empty() && bad.is_none(),
                match (restores.first(), bad) {
                    (None, _) => "no Restore on the passive hub".into(),
                    (_, Some(r)) => {
                        format!("Restore {} phase {:?}: {}", r.name, r.phase, r.message)
                    }
                    (Some(r), None) => format!("Restore {} is {}", r.name, r.phase),
                },
            );
        }
    }

    let present = !o.backups.is_empty();
    check(
        "backups-present",
        present,
        if present {
            format!("{} backup(s) in the storage location", o.backups.len())
        } else {
            "no backups found".into()
        },
    );

    let stuck_after = std::time::Duration::from_secs(3600);
    let stuck: Vec<&str> = o
        .backups
        .iter()
        .filter(|b| {
            b.phase == "InProgress"
                && age(b.started.as_deref(), facts.now).is_some_and(|a| a > stuck_after)
        })
        .map(|b| b.name.as_str())
        .collect();
    check(
        "no-backup-stuck",
        stuck.is_empty(),
        if stuck.is_empty() {
            "no backup stuck InProgress".into()
        } else {
            format!("InProgress for over an hour: {}", stuck.join(", "))
        },
    );

    if facts.role == "active" {
        let validation = o
            .observed
            .latest_backups
            .iter()
            .find(|b| b.schedule == "acm-validation-policy-schedule");
        let interval = facts
            .schedule
            .as_deref()
            .and_then(|s| hubdr_core::units::parse_cron(s).ok())
            .and_then(|c| c.min_interval_minutes());
        let limit = interval.map(|m| std::time::Duration::from_secs(m.max(1) * 60 * 2));
        // The message names the newest backup's time, not its age, so an unchanged hub
        // gives an unchanged status file (and no status commit every pass).
        let newest = o
            .observed
            .latest_backups
            .iter()
            .filter_map(|b| {
                let at = b.completed.as_deref().or(b.started.as_deref())?;
                Some((age(Some(at), facts.now)?, at))
            })
            .min_by_key(|(a, _)| *a);
        let recent = match (newest, limit) {
            (Some((a, _)), Some(limit)) => a <= limit,
            (Some(_), None) => true,
            (None, _) => false,
        };
        check("backups-recent", recent && validation.is_some(), match (newest, validation) {
            (None, _) => "the primary has produced no backup yet".into(),
            (_, None) => "no acm-validation-policy-schedule backup: the primary's schedule is not running".into(),
            (Some((_, at)), Some(_)) if recent => format!("newest backup finished at {at}"),
            (Some((_, at)), Some(_)) => format!(
                "newest backup finished at {at}, longer ago than twice the schedule's interval ({})",
                limit.map(human).unwrap_or_default()
            ),
        });
    }
    checks
}

fn describe(list: &[hubdr_core::status::PhaseObservation]) -> String {
    if list.is_empty() {
        return "none found".into();
    }
    list.iter()
        .map(|l| {
            format!(
                "{} {}",
                l.name,
                if l.phase.is_empty() {
                    "no phase"
                } else {
                    &l.phase
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn age(timestamp: Option<&str>, now: Timestamp) -> Option<std::time::Duration> {
    let t: Timestamp = timestamp?.parse().ok()?;
    let seconds = now.as_second() - t.as_second();
    Some(std::time::Duration::from_secs(seconds.max(0) as u64))
}

fn human(d: std::time::Duration) -> String {
    hubdr_core::status::human_age(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubdr_core::status::{BackupObservation, PhaseObservation};

    fn facts(role: &str) -> HubFacts {
        HubFacts {
            role: role.into(),
            schedule: Some("0 */2 * * *".into()),
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
            strays_removed: Vec::new(),
        }
    }

    fn healthy_active() -> Observation {
        let mut o = Observation {
            backup_pods: vec![
                (
                    "cluster-backup-chart-clusterbackup-abc".into(),
                    "Running".into(),
                ),
                (
                    "openshift-adp-controller-manager-x".into(),
                    "Running".into(),
                ),
                ("velero-7d9".into(), "Running".into()),
            ],
            ..Observation::default()
        };
        o.observed.data_protection_applications = vec![PhaseObservation {
            name: "b/velero".into(),
            phase: "Reconciled".into(),
            ..Default::default()
        }];
        o.observed.backup_storage_locations = vec![PhaseObservation {
            name: "b/default".into(),
            phase: "Available".into(),
            ..Default::default()
        }];
        o.observed.backup_schedules = vec![PhaseObservation {
            name: "b/schedule-acm".into(),
            phase: "Enabled".into(),
            ..Default::default()
        }];
        let b = BackupObservation {
            schedule: "acm-validation-policy-schedule".into(),
            name: "acm-validation-policy-schedule-20261122100000".into(),
            phase: "Completed".into(),
            started: Some("2026-11-22T10:00:00Z".into()),
            completed: Some("2026-11-22T10:01:00Z".into()),
        };
        o.backups = vec![b.clone()];
        o.observed.latest_backups = vec![b];
        o
    }

    fn failing(checks: &[HealthCheck]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn a_healthy_active_hub_passes_every_check() {
        let checks = hub_checks(&healthy_active(), &facts("active"));
        assert!(failing(&checks).is_empty(), "{checks:#?}");
        let recent = checks.iter().find(|c| c.name == "backups-recent").unwrap();
        // A time, not an age: the status file must not change only because time passes.
        assert_eq!(
            recent.message,
            "newest backup finished at 2026-11-22T10:01:00Z"
        );
    }

    #[test]
    fn collision_old_backups_and_stuck_backups_fail() {
        let mut o = healthy_active();
        o.observed.backup_schedules[0].phase = "BackupCollision".into();
        o.observed.latest_backups[0].completed = Some("2026-11-22T05:00:00Z".into());
        o.backups.push(BackupObservation {
            schedule: "acm-resources-schedule".into(),
            name: "x".into(),
            phase: "InProgress".into(),
            started: Some("2026-11-22T09:00:00Z".into()),
            completed: None,
        });
        let checks = hub_checks(&o, &facts("active"));
        assert_eq!(
            failing(&checks),
            ["no-backup-collision", "no-backup-stuck", "backups-recent"]
        );
    }

    #[test]
    fn passive_and_fenced_hubs_check_their_own_objects() {
        let mut o = healthy_active();
        let passive = hub_checks(&o, &facts("passive"));
        assert_eq!(
            failing(&passive),
            ["passive-no-backup-schedule", "restore-phase"]
        );
        let fenced = hub_checks(&o, &facts("fenced"));
        assert_eq!(failing(&fenced), ["fenced-no-backup-schedule"]);
        o.paused_schedules.push("b/schedule-acm".into());
        let paused = hub_checks(&o, &facts("fenced"));
        assert!(failing(&paused).is_empty(), "{paused:#?}");
        o.observed.backup_schedules.clear();
        o.backup_pods.clear();
        let fenced = hub_checks(&o, &facts("fenced"));
        assert_eq!(
            failing(&fenced),
            [
                "cluster-backup-pod-running",
                "openshift-adp-pod-running",
                "velero-pod-running"
            ]
        );
    }
}
