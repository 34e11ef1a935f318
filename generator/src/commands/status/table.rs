//! The `hubdr status` table: one row per cluster, then what needs explaining. Pure.

use std::fmt::Write;

use super::view::{epoch, human, ClusterView, FleetView};
use crate::status::{ClusterStatus, PhaseObservation};

const HEADERS: [&str; 8] = [
    "CLUSTER",
    "ROLE",
    "GENERATION",
    "PASS",
    "BACKUPSCHEDULE",
    "RESTORE",
    "NEWEST BACKUP",
    "HEARTBEAT",
];

pub fn render(fleet: &FleetView, now: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "site {}: generation {} (commit {})\n",
        fleet.site, fleet.generation, fleet.commit
    );
    let rows: Vec<[String; 8]> = fleet
        .clusters
        .iter()
        .map(|c| {
            let [a, b, c2, d, e, f, g] = row(c, fleet.generation, now);
            let beat =
                super::heartbeat::cell(c.heartbeat.as_ref(), now, fleet.heartbeat_stall_after);
            [a, b, c2, d, e, f, g, beat]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ", w = widths[i]);
            }
        }
        format!("{}\n", text.trim_end())
    };
    out.push_str(&line(&HEADERS.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    let notes: Vec<String> = fleet
        .clusters
        .iter()
        .filter_map(|c| notes(c, now))
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes.join(""));
    }
    if let Some(recovery) = super::recovery::line(fleet, now) {
        out.push('\n');
        out.push_str(&recovery);
    }
    out.push_str(&super::hosted::section(fleet));
    out.push_str(&super::auto_import::section(fleet));
    if !fleet.unknown.is_empty() {
        let _ = writeln!(
            out,
            "\nstatus from clusters the site does not name (an agent started with a misspelt --cluster?): {}",
            fleet.unknown.join(", ")
        );
    }
    out
}

fn row(c: &ClusterView, current: u64, now: i64) -> [String; 7] {
    let Some(s) = &c.status else {
        return [
            c.name.clone(),
            c.role_text().into(),
            "-".into(),
            if c.ignored.is_some() {
                "status ignored"
            } else {
                "no status yet"
            }
            .into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ];
    };
    let generation = match s.source.generation {
        Some(g) if g >= current => g.to_string(),
        Some(g) => format!("{g} (behind)"),
        None => "-".into(),
    };
    let generation = if s.source.stale {
        format!("{generation} stale")
    } else {
        generation
    };
    let pass = if s.pass.reason == "Applied" {
        s.pass.outcome.clone()
    } else {
        format!("{} ({})", s.pass.outcome, s.pass.reason)
    };
    let hub = c.kind == "hub";
    [
        c.name.clone(),
        c.role_text().into(),
        generation,
        pass,
        if hub {
            phases(&s.observed.backup_schedules)
        } else {
            "-".into()
        },
        if hub {
            phases(&s.observed.restores)
        } else {
            "-".into()
        },
        if hub {
            newest_backup(s, now)
        } else {
            "-".into()
        },
    ]
}

/// `name Phase, ...` without the namespace; `-` when none.
fn phases(list: &[PhaseObservation]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|p| {
            let name = p.name.rsplit('/').next().unwrap_or(&p.name);
            format!(
                "{name} {}",
                if p.phase.is_empty() {
                    "(no phase)"
                } else {
                    &p.phase
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn newest_backup(s: &ClusterStatus, now: i64) -> String {
    let time = |b: &crate::status::BackupObservation| {
        b.completed
            .clone()
            .or_else(|| b.started.clone())
            .unwrap_or_default()
    };
    match s.observed.latest_backups.iter().max_by_key(|b| time(b)) {
        None => "none".into(),
        Some(b) => match epoch(&time(b)) {
            Some(at) => format!("{} ({} ago)", b.name, human(now - at)),
            None => b.name.clone(),
        },
    }
}

/// The newest etcd backup (seed 003), when the cluster reports its etcd backups.
fn etcd_backup_line(s: &ClusterStatus, now: i64) -> Option<String> {
    let etcd = s.observed.etcd_backup.as_ref()?;
    Some(match &etcd.newest {
        None if etcd.suspended => {
            "etcd backup: none yet (not due: the cluster is younger than 24 h)".into()
        }
        None => "etcd backup: none yet".into(),
        Some(b) => {
            let age = epoch(&b.time)
                .map(|t| format!(", {} ago", human(now - t)))
                .unwrap_or_default();
            format!(
                "etcd backup: {} ({} bytes) and {} ({} bytes), OpenShift {}{age}",
                b.snapshot.object, b.snapshot.size, b.keys.object, b.keys.size, b.version
            )
        }
    })
}

/// What a row cannot say: waits, failed checks, failed passes, staleness.
fn notes(c: &ClusterView, now: i64) -> Option<String> {
    let mut lines = Vec::new();
    match &c.status {
        None => {
            lines.push(c.ignored.clone().unwrap_or_else(|| {
                "its agent has not reported on the status branch yet".to_string()
            }))
        }
        Some(s) => {
            if s.source.stale {
                lines.push(format!(
                    "stale: {}",
                    s.source
                        .message
                        .as_deref()
                        .unwrap_or("the repository could not be reached")
                ));
            }
            for g in &s.gates {
                let age = epoch(&g.since)
                    .map(|t| format!(" ({})", human(now - t)))
                    .unwrap_or_default();
                lines.push(format!(
                    "waiting since {}{age}: {} for {}: {}",
                    g.since, g.object, g.condition, g.message
                ));
            }
            if let Some(line) = etcd_backup_line(s, now) {
                lines.push(line);
            }
            let failing: Vec<String> = s
                .health
                .iter()
                .filter(|h| !h.ok)
                .map(|h| format!("{} ({})", h.name, h.message))
                .collect();
            if !failing.is_empty() {
                lines.push(format!("failing checks: {}", failing.join("; ")));
            }
            if !matches!(
                s.pass.reason.as_str(),
                "Applied" | "Waiting" | "HealthFailed"
            ) {
                lines.push(format!("{}: {}", s.pass.reason, s.pass.message));
            }
        }
    }
    if let Some(super::heartbeat::Heartbeat::Ignored(why)) = &c.heartbeat {
        lines.push(format!("heartbeat ignored: {why}"));
    }
    if lines.is_empty() {
        return None;
    }
    Some(format!(
        "{}:\n{}",
        c.name,
        lines.iter().map(|l| format!("  {l}\n")).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fleet, gate, NOW};
    use super::*;
    use crate::status::{HealthCheck, PassStatus};

    #[test]
    fn a_completed_failover() {
        let mut f = fleet(2, 2);
        f.clusters[1].heartbeat = Some(super::super::heartbeat::Heartbeat::At(NOW - 120));
        f.clusters[3].heartbeat = Some(super::super::heartbeat::Heartbeat::At(NOW - 7200));
        f.clusters[2].heartbeat = Some(super::super::heartbeat::Heartbeat::Ignored(
            "refs/hubdr/heartbeat/hub-c is dated 2h in the future".into(),
        ));
        insta::assert_snapshot!(render(&f, NOW));
    }

    #[test]
    fn a_failover_that_waits_and_fails() {
        let mut f = fleet(2, 1);
        let a = f.clusters[0].status.as_mut().unwrap();
        a.source.stale = true;
        a.source.message = Some(
            "cannot reach https://git.example.com/acm-dr.git; keeping the last applied state"
                .into(),
        );
        a.pass = PassStatus {
            outcome: "Failed".into(),
            reason: "FetchFailed".into(),
            message: "cannot reach the repository".into(),
        };
        let b = f.clusters[1].status.as_mut().unwrap();
        b.pass = PassStatus {
            outcome: "Progressing".into(),
            reason: "Waiting".into(),
            message: "2 object(s) waiting".into(),
        };
        b.observed.backup_schedules.clear();
        b.observed.restores[0].phase = "FinishedWithErrors".into();
        b.gates = vec![
            gate(
                "restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0",
                NOW - 300,
            ),
            gate("no-backup-schedule:hub-a@2", NOW - 300),
        ];
        b.health.push(HealthCheck {
            name: "backup-schedule-phase".into(),
            ok: false,
            message: "no BackupSchedule on the active hub".into(),
        });
        f.clusters[2].status = None;
        insta::assert_snapshot!(render(&f, NOW));
    }

    #[test]
    fn an_ignored_status_is_shown_with_the_reason() {
        let mut f = fleet(2, 2);
        f.clusters[3].status = None;
        f.clusters[3].ignored = Some(
            "status of east-1 ignored: signature does not match the key pinned for it: signed by key id 0123456789abcdef (ed25519:x), the trusted key has id fedcba9876543210".into(),
        );
        insta::assert_snapshot!(render(&f, NOW));
    }

    #[test]
    fn the_newest_etcd_backup_and_its_failing_checks_are_shown() {
        use crate::status::etcd_backup::{
            EtcdBackupObject, EtcdBackupObservation, EtcdBackupResult,
        };
        let mut f = fleet(2, 2);
        let east = f.clusters[3].status.as_mut().unwrap();
        east.observed.etcd_backup = Some(EtcdBackupObservation {
            newest: Some(EtcdBackupResult {
                job: "etcd-backup-29002".into(),
                time: "2026-01-10T02:31:07Z".into(),
                version: "4.16.3".into(),
                snapshot: EtcdBackupObject {
                    object: "s3:etcd-snapshots/east-1/snapshot_2026-01-10_023100.db".into(),
                    size: 104857600,
                },
                keys: EtcdBackupObject {
                    object: "vault:etcd-keys/east-1/static_kuberesources_2026-01-10_023100.tar.gz"
                        .into(),
                    size: 81234,
                },
            }),
            current_version: Some("4.16.5".into()),
            ..Default::default()
        });
        east.health.push(HealthCheck {
            name: "etcd-backup-z-stream".into(),
            ok: false,
            message: "no etcd backup of 4.16.5 yet: a restore needs a backup of the same z-stream"
                .into(),
        });
        let text = render(&f, NOW);
        assert!(
            text.contains("etcd backup: s3:etcd-snapshots/east-1/snapshot_2026-01-10_023100.db (104857600 bytes) and vault:etcd-keys/east-1/static_kuberesources_2026-01-10_023100.tar.gz (81234 bytes), OpenShift 4.16.3"),
            "{text}"
        );
        assert!(
            text.contains("failing checks: etcd-backup-z-stream (no etcd backup of 4.16.5 yet"),
            "{text}"
        );
    }
}
