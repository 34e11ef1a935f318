//! The etcd backup's health checks (seed 003), pure: what was observed in, checks out.
//!
//! - `etcd-backup`: a backup exists (not due while the cluster is younger than 24 h);
//! - `etcd-backup-age`: the newest is at most two schedule periods old (the period is the
//!   schedule's shortest interval);
//! - `etcd-backup-z-stream`: a backup of the current version exists (a restore needs the
//!   same z-stream);
//! - `etcd-backup-keys-apart`: with etcd encryption on, the key archives go elsewhere than the
//!   snapshots.

use hubdr_core::status::etcd_backup::EtcdBackupObservation;
use hubdr_core::status::HealthCheck;
use jiff::{SignedDuration, Timestamp};

/// What the checks need beside the observation.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub schedule: String,
    /// The site sends key archives and snapshots to different places.
    pub keys_apart: bool,
    /// The cluster is past its first 24 h.
    pub old_enough: bool,
}

fn check(name: &str, ok: bool, message: String) -> HealthCheck {
    HealthCheck {
        name: name.into(),
        ok,
        message,
    }
}

pub fn checks(o: &EtcdBackupObservation, e: &Expectations, now: Timestamp) -> Vec<HealthCheck> {
    let mut out = Vec::new();
    match &o.newest {
        None if !e.old_enough => out.push(check(
            "etcd-backup",
            true,
            "no backup due yet: the cluster is younger than 24 h (first certificate rotation)"
                .into(),
        )),
        None => out.push(check(
            "etcd-backup",
            false,
            "no etcd backup yet: check the etcd-backup CronJob's Jobs and their Secrets".into(),
        )),
        Some(newest) => {
            out.push(check(
                "etcd-backup",
                true,
                format!("newest {} at {}", newest.snapshot.object, newest.time),
            ));
            let period = hubdr_core::units::parse_cron(&e.schedule)
                .ok()
                .and_then(|c| c.min_interval_minutes())
                .map(|m| SignedDuration::from_mins(m as i64));
            let age = newest
                .time
                .parse::<Timestamp>()
                .map(|t| now.duration_since(t));
            if let (Some(period), Ok(age)) = (period, age) {
                let limit = period * 2;
                out.push(check(
                    "etcd-backup-age",
                    age <= limit,
                    if age <= limit {
                        format!("the newest is {} h old", age.as_hours())
                    } else {
                        format!(
                            "the newest etcd backup is {} h old, more than two schedule periods ({} h)",
                            age.as_hours(),
                            limit.as_hours()
                        )
                    },
                ));
            }
        }
    }
    if let (Some(current), true) = (&o.current_version, e.old_enough) {
        let ok = o.newest_at_current_version.is_some();
        out.push(check(
            "etcd-backup-z-stream",
            ok,
            if ok {
                format!("a backup of {current} exists")
            } else {
                format!("no etcd backup of {current} yet: a restore needs a backup of the same z-stream")
            },
        ));
    }
    let beside = o.encryption == Some(true) && !e.keys_apart;
    out.push(check(
        "etcd-backup-keys-apart",
        !beside,
        if beside {
            "etcd encryption is on and the key archives (static_kuberesources) go to the snapshots' bucket: move spec.etcdBackup.keys elsewhere".into()
        } else {
            "the key archives are stored apart from the snapshots, or encryption is off".into()
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubdr_core::status::etcd_backup::{EtcdBackupObject, EtcdBackupResult};

    fn result(time: &str, version: &str) -> EtcdBackupResult {
        EtcdBackupResult {
            job: "etcd-backup-1".into(),
            time: time.into(),
            version: version.into(),
            snapshot: EtcdBackupObject {
                object: "s3:b/c/snapshot_x.db".into(),
                size: 1,
            },
            keys: EtcdBackupObject {
                object: "k:b/c/static_kuberesources_x.tar.gz".into(),
                size: 1,
            },
        }
    }

    fn failing(checks: &[HealthCheck]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn each_condition_has_its_check() {
        let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let e = Expectations {
            schedule: "30 2 * * *".into(),
            keys_apart: true,
            old_enough: true,
        };
        let mut o = EtcdBackupObservation {
            current_version: Some("4.16.5".into()),
            ..Default::default()
        };
        // No backup yet.
        assert_eq!(
            failing(&checks(&o, &e, now)),
            ["etcd-backup", "etcd-backup-z-stream"]
        );
        // Not due on a young cluster.
        let young = Expectations {
            old_enough: false,
            ..e.clone()
        };
        assert!(failing(&checks(&o, &young, now)).is_empty());
        // Newest older than two periods (daily: 48 h), and of the previous z-stream.
        o.newest = Some(result("2026-01-07T02:30:00Z", "4.16.3"));
        assert_eq!(
            failing(&checks(&o, &e, now)),
            ["etcd-backup-age", "etcd-backup-z-stream"]
        );
        // Fresh and of the current version.
        o.newest = Some(result("2026-01-10T02:30:00Z", "4.16.5"));
        o.newest_at_current_version = o.newest.clone();
        assert!(failing(&checks(&o, &e, now)).is_empty());
        // Keys beside the snapshots while encryption is on.
        o.encryption = Some(true);
        let beside = Expectations {
            keys_apart: false,
            ..e.clone()
        };
        assert_eq!(
            failing(&checks(&o, &beside, now)),
            ["etcd-backup-keys-apart"]
        );
        o.encryption = Some(false);
        assert!(failing(&checks(&o, &beside, now)).is_empty());
    }
}
