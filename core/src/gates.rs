//! Gates: an object annotated `hubdr.io/wait-for` is applied only when every condition holds.
//! The renderer writes them; the agent evaluates them and reports what it waits for.
//!
//! Syntax: conditions separated by `;`, each one of
//! - `restore-finished:<namespace>/<name>`: that Restore on this cluster has activated managed
//!   clusters (`veleroManagedClustersBackupName: latest`) and reached phase `Finished`;
//! - `fenced:<cluster>@<generation>`: `<cluster>`'s status file reports its fence observed
//!   complete at generation `<generation>` or later (its BackupSchedules paused or deleted, and
//!   what else the fence covers: see the agent's `fence` module);
//! - `managed-clusters-available`: on this cluster, every ManagedCluster but the hub's own is
//!   `ManagedClusterJoined` and `ManagedClusterConditionAvailable`, and every managed cluster the
//!   render lists has one (the verification of a takeover);
//! - `observability-restarted:<generation>`: on this cluster, the observability API
//!   (Deployment `observability-observatorium-api`) was restarted after the activation of
//!   generation `<generation>`, or observability is not installed;
//! - `not-activated:<cluster>@<generation>`: `<cluster>`'s status file reports generation
//!   `<generation>` or later and no sign of an activation (no ManagedCluster, no activation
//!   Restore): the target of an aborted failover did not take the managed clusters;
//! - `no-backup-schedule:<cluster>@<generation>`: `<cluster>`'s status file reports it applied
//!   generation `<generation>` or later and observes no BackupSchedule (written by earlier
//!   versions; still understood);
//! - `auto-import-strategy:<strategy>`: on this cluster (ACM 2.14+), the import controller's
//!   ConfigMap `multicluster-engine/import-controller-config` has `autoImportStrategy:
//!   <strategy>` (`ImportAndSync` during an activation);
//! - `auto-import-restored:<generation>`: on this cluster, the agent put the auto-import strategy
//!   back to what it was before the takeover of generation `<generation>`.

use std::fmt;

pub const ANNOTATION_WAIT_FOR: &str = "hubdr.io/wait-for";
/// The failover generation a one-shot object belongs to.
pub const ANNOTATION_GENERATION: &str = "hubdr.io/generation";
/// On an activation Restore (ACM 2.14+): the auto-import strategy the takeover needs while it
/// runs (`ImportAndSync`), which the new primary's agent sets and later puts back.
pub const ANNOTATION_AUTO_IMPORT_STRATEGY: &str = "hubdr.io/auto-import-strategy";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    RestoreFinished { namespace: String, name: String },
    Fenced { cluster: String, generation: u64 },
    ManagedClustersAvailable,
    ObservabilityRestarted { generation: u64 },
    NotActivated { cluster: String, generation: u64 },
    NoBackupSchedule { cluster: String, generation: u64 },
    AutoImportStrategy { strategy: String },
    AutoImportRestored { generation: u64 },
}

const MANAGED_CLUSTERS_AVAILABLE: &str = "managed-clusters-available";

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::RestoreFinished { namespace, name } => {
                write!(f, "restore-finished:{namespace}/{name}")
            }
            Gate::Fenced {
                cluster,
                generation,
            } => write!(f, "fenced:{cluster}@{generation}"),
            Gate::ManagedClustersAvailable => f.write_str(MANAGED_CLUSTERS_AVAILABLE),
            Gate::ObservabilityRestarted { generation } => {
                write!(f, "observability-restarted:{generation}")
            }
            Gate::NotActivated {
                cluster,
                generation,
            } => write!(f, "not-activated:{cluster}@{generation}"),
            Gate::NoBackupSchedule {
                cluster,
                generation,
            } => write!(f, "no-backup-schedule:{cluster}@{generation}"),
            Gate::AutoImportStrategy { strategy } => write!(f, "auto-import-strategy:{strategy}"),
            Gate::AutoImportRestored { generation } => {
                write!(f, "auto-import-restored:{generation}")
            }
        }
    }
}

/// The annotation value for `gates`.
pub fn format(gates: &[Gate]) -> String {
    gates
        .iter()
        .map(Gate::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn parse(text: &str) -> Result<Vec<Gate>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(parse_one)
        .collect()
}

fn parse_one(condition: &str) -> Result<Gate, String> {
    let bad = || {
        format!(
            "{ANNOTATION_WAIT_FOR} condition {condition:?} is not restore-finished:<namespace>/<name>, fenced:<cluster>@<generation>, managed-clusters-available, observability-restarted:<generation>, not-activated:<cluster>@<generation>, no-backup-schedule:<cluster>@<generation>, auto-import-strategy:<strategy> or auto-import-restored:<generation>"
        )
    };
    if condition == MANAGED_CLUSTERS_AVAILABLE {
        return Ok(Gate::ManagedClustersAvailable);
    }
    let (kind, argument) = condition.split_once(':').ok_or_else(bad)?;
    match kind {
        "observability-restarted" => Ok(Gate::ObservabilityRestarted {
            generation: argument.parse().map_err(|_| bad())?,
        }),
        "auto-import-restored" => Ok(Gate::AutoImportRestored {
            generation: argument.parse().map_err(|_| bad())?,
        }),
        "auto-import-strategy" if matches!(argument, "ImportAndSync" | "ImportOnly") => {
            Ok(Gate::AutoImportStrategy {
                strategy: argument.into(),
            })
        }
        "restore-finished" => {
            let (namespace, name) = argument.split_once('/').ok_or_else(bad)?;
            if namespace.is_empty() || name.is_empty() {
                return Err(bad());
            }
            Ok(Gate::RestoreFinished {
                namespace: namespace.into(),
                name: name.into(),
            })
        }
        "fenced" | "not-activated" | "no-backup-schedule" => {
            let (cluster, generation) = argument.split_once('@').ok_or_else(bad)?;
            let generation = generation.parse().map_err(|_| bad())?;
            if cluster.is_empty() {
                return Err(bad());
            }
            let cluster = cluster.to_string();
            Ok(match kind {
                "fenced" => Gate::Fenced {
                    cluster,
                    generation,
                },
                "not-activated" => Gate::NotActivated {
                    cluster,
                    generation,
                },
                _ => Gate::NoBackupSchedule {
                    cluster,
                    generation,
                },
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let gates = vec![
            Gate::RestoreFinished {
                namespace: "open-cluster-management-backup".into(),
                name: "restore-acm-passive-sync-g0".into(),
            },
            Gate::Fenced {
                cluster: "hub-a".into(),
                generation: 3,
            },
            Gate::ManagedClustersAvailable,
            Gate::ObservabilityRestarted { generation: 3 },
            Gate::NotActivated {
                cluster: "hub-b".into(),
                generation: 4,
            },
            Gate::NoBackupSchedule {
                cluster: "hub-c".into(),
                generation: 2,
            },
            Gate::AutoImportStrategy {
                strategy: "ImportAndSync".into(),
            },
            Gate::AutoImportRestored { generation: 2 },
        ];
        let text = format(&gates);
        assert_eq!(text, "restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0; fenced:hub-a@3; managed-clusters-available; observability-restarted:3; not-activated:hub-b@4; no-backup-schedule:hub-c@2; auto-import-strategy:ImportAndSync; auto-import-restored:2");
        assert_eq!(parse(&text).unwrap(), gates);
    }

    #[test]
    fn rejects_malformed_conditions() {
        for bad in [
            "restore-finished:noslash",
            "no-backup-schedule:hub-a",
            "no-backup-schedule:hub-a@x",
            "fenced:@3",
            "fenced:hub-a",
            "managed-clusters-available:3",
            "observability-restarted:x",
            "sometime:later",
            "restore-finished:/x",
            "auto-import-strategy:Sometimes",
            "auto-import-restored:x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("").unwrap().is_empty());
    }
}
