//! Whether a condition holds ([`Verdict`]), and the activation Restore's gate: whether an ACM
//! Restore (and the Velero restores it names) lets gated objects be created (read by `gates`,
//! `takeover` and `readiness`).

use std::collections::BTreeMap;

use hubdr_core::object::ObjectId;
use serde_json::Value;

use crate::kubeapi::ClusterApi;

const ACM_RESTORE: &str = "cluster.open-cluster-management.io/v1beta1";
const VELERO: &str = "velero.io/v1";

/// ACM Restore phases that mean the restore ended with errors.
pub const FAILED_PHASES: [&str; 4] = ["FinishedWithErrors", "PartiallyFailed", "Error", "Failed"];

/// The Velero restores an ACM Restore names in its status.
const VELERO_RESTORE_FIELDS: [&str; 4] = [
    "veleroManagedClustersRestoreName",
    "veleroCredentialsRestoreName",
    "veleroResourcesRestoreName",
    "veleroGenericResourcesRestoreName",
];

/// Whether a condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    /// Not yet, and why (including real failures that need a person).
    Waits(String),
}

/// Whether the activation Restore `namespace/name` on this cluster lets gated objects be created.
pub async fn restore_gate(api: &mut ClusterApi, namespace: &str, name: &str) -> Verdict {
    let id = |api_version: &str, name: &str| ObjectId {
        api_version: api_version.into(),
        kind: "Restore".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    };
    let restore = match api.get(&id(ACM_RESTORE, name)).await {
        Ok(found) => found.map(|o| serde_json::to_value(o).unwrap_or_default()),
        Err(e) => return Verdict::Waits(format!("cannot read Restore {namespace}/{name}: {e}")),
    };
    let mut velero = BTreeMap::new();
    if let Some(r) = restore
        .as_ref()
        .filter(|r| FAILED_PHASES.contains(&phase(r)))
    {
        for velero_name in velero_restore_names(r) {
            let found = match api.get(&id(VELERO, &velero_name)).await {
                Ok(found) => found.map(|o| serde_json::to_value(o).unwrap_or_default()),
                Err(e) => {
                    return Verdict::Waits(format!(
                        "cannot read Velero restore {namespace}/{velero_name}: {e}"
                    ))
                }
            };
            velero.insert(velero_name, found);
        }
    }
    restore_verdict(&format!("{namespace}/{name}"), restore.as_ref(), &velero)
}

fn phase(object: &Value) -> &str {
    object
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The Velero restores an ACM Restore's status names.
pub fn velero_restore_names(restore: &Value) -> Vec<String> {
    VELERO_RESTORE_FIELDS
        .iter()
        .filter_map(|f| {
            restore
                .pointer(&format!("/status/{f}"))
                .and_then(Value::as_str)
        })
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether the activation Restore `restore` (`ns/name`) lets the gated object be created.
/// `velero` holds the Velero restores it names (`None`: not found).
pub fn restore_verdict(
    restore_name: &str,
    restore: Option<&Value>,
    velero: &BTreeMap<String, Option<Value>>,
) -> Verdict {
    let Some(restore) = restore else {
        return Verdict::Waits(format!(
            "Restore {restore_name} does not exist yet (it is applied in an earlier wave)"
        ));
    };
    let managed = restore
        .pointer("/spec/veleroManagedClustersBackupName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if managed != "latest" {
        return Verdict::Waits(format!(
            "Restore {restore_name} has veleroManagedClustersBackupName {managed:?}, not \"latest\": the activation is not applied yet"
        ));
    }
    let phase = phase(restore);
    if phase == "Finished" {
        return Verdict::Holds;
    }
    if !FAILED_PHASES.contains(&phase) {
        let shown = if phase.is_empty() {
            "no phase yet"
        } else {
            phase
        };
        return Verdict::Waits(format!(
            "the activation Restore {restore_name} has not finished ({shown})"
        ));
    }
    let mut harmless = Vec::new();
    let mut failures = Vec::new();
    for (name, found) in velero {
        match found.as_ref().map(velero_outcome) {
            None => failures.push(format!("Velero restore {name} is missing")),
            Some(VeleroOutcome::Completed) => {}
            Some(VeleroOutcome::EmptyBackup) => harmless.push(name.clone()),
            Some(VeleroOutcome::Failed(why)) => {
                failures.push(format!("Velero restore {name} {why}"))
            }
        }
    }
    if failures.is_empty() && !harmless.is_empty() {
        // The ACM documents: restoring an empty backup leaves the Velero restore PartiallyFailed.
        return Verdict::Holds;
    }
    if failures.is_empty() {
        failures.push("it names no Velero restore that explains the phase".into());
    }
    let last = restore
        .pointer("/status/lastMessage")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Verdict::Waits(format!(
        "the activation restore {restore_name} failed (phase {phase}{}): {}. No BackupSchedule will be created until it is fixed: \
         find the cause in the Velero restores, then start a new activation attempt with `hubdr failover --retry` (a Restore runs once: the new attempt gets a Restore of its own)",
        if last.is_empty() { String::new() } else { format!(": {last}") },
        failures.join("; ")
    ))
}

enum VeleroOutcome {
    Completed,
    /// `PartiallyFailed` with nothing to restore: the backup was empty.
    EmptyBackup,
    Failed(String),
}

fn velero_outcome(restore: &Value) -> VeleroOutcome {
    let phase = phase(restore);
    let total = restore
        .pointer("/status/progress/totalItems")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    match phase {
        "Completed" => VeleroOutcome::Completed,
        "PartiallyFailed" if total == 0 => VeleroOutcome::EmptyBackup,
        _ => {
            let errors = restore
                .pointer("/status/errors")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let reason = restore
                .pointer("/status/failureReason")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut why = format!(
                "is {} ({total} items, {errors} errors)",
                if phase.is_empty() {
                    "without a phase"
                } else {
                    phase
                }
            );
            if !reason.is_empty() {
                why.push_str(&format!(": {reason}"));
            }
            VeleroOutcome::Failed(why)
        }
    }
}
