//! Gates: an object annotated `hubdr.io/wait-for` is applied only when every condition holds.
//! The renderer writes them; the agent evaluates them and reports what it waits for.
//!
//! Syntax: conditions separated by `;`, each one of
//! - `restore-finished:<namespace>/<name>`: that Restore on this cluster has activated managed
//!   clusters (`veleroManagedClustersBackupName: latest`) and reached phase `Finished`;
//! - `no-backup-schedule:<cluster>@<generation>`: `<cluster>`'s status file reports it applied
//!   generation `<generation>` or later and observes no BackupSchedule.

use std::fmt;

pub const ANNOTATION_WAIT_FOR: &str = "hubdr.io/wait-for";
/// The failover generation a one-shot object belongs to.
pub const ANNOTATION_GENERATION: &str = "hubdr.io/generation";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    RestoreFinished { namespace: String, name: String },
    NoBackupSchedule { cluster: String, generation: u64 },
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::RestoreFinished { namespace, name } => {
                write!(f, "restore-finished:{namespace}/{name}")
            }
            Gate::NoBackupSchedule {
                cluster,
                generation,
            } => write!(f, "no-backup-schedule:{cluster}@{generation}"),
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
            "{ANNOTATION_WAIT_FOR} condition {condition:?} is not restore-finished:<namespace>/<name> or no-backup-schedule:<cluster>@<generation>"
        )
    };
    let (kind, argument) = condition.split_once(':').ok_or_else(bad)?;
    match kind {
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
        "no-backup-schedule" => {
            let (cluster, generation) = argument.split_once('@').ok_or_else(bad)?;
            let generation = generation.parse().map_err(|_| bad())?;
            if cluster.is_empty() {
                return Err(bad());
            }
            Ok(Gate::NoBackupSchedule {
                cluster: cluster.into(),
                generation,
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
            Gate::NoBackupSchedule {
                cluster: "hub-a".into(),
                generation: 3,
            },
        ];
        let text = format(&gates);
        assert_eq!(text, "restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0; no-backup-schedule:hub-a@3");
        assert_eq!(parse(&text).unwrap(), gates);
    }

    #[test]
    fn rejects_malformed_conditions() {
        for bad in [
            "restore-finished:noslash",
            "no-backup-schedule:hub-a",
            "no-backup-schedule:hub-a@x",
            "sometime:later",
            "restore-finished:/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("").unwrap().is_empty());
    }
}
