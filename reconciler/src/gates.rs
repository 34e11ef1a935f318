//! Gates: an object annotated `hubdr.io/wait-for` is created only when every condition holds
//! (syntax in [`hubdr_core::gates`]). Gates guard CREATION, and the change of an object to another
//! failover generation: an object whose desired `hubdr.io/generation` differs from the live
//! one's (a passive-sync Restore being switched to activate managed clusters) waits like a
//! new one, and stays as it is meanwhile. Any other change of an existing object is applied
//! normally, and nothing is ever deleted because a gate stopped holding.
//!
//! - `restore-finished:<ns>/<name>`: that Restore on this cluster was switched to
//!   `veleroManagedClustersBackupName: latest` and is `Finished`. A Restore that ended with
//!   errors holds only when every error is the harmless one the ACM documents describe: a
//!   Velero restore of an EMPTY backup ends `PartiallyFailed`. Any other failure is reported
//!   as such, and the object waits until a new generation brings a new Restore.
//! - `fenced:<cluster>@<N>`: `<cluster>`'s status file says its agent observed the fence complete
//!   at generation N or later (see [`crate::fence`]).
//! - `managed-clusters-available`: on this cluster, every ManagedCluster but the hub's own is
//!   Joined and Available, and every managed cluster of the render has one.
//! - `observability-restarted:<N>`: on this cluster, the observability API was restarted after
//!   the activation of generation N (or observability is not installed; see
//!   [`crate::takeover`]).
//! - `not-activated:<cluster>@<N>`: `<cluster>`'s status file says it applied generation N or
//!   later, observed its cluster, and shows no ManagedCluster and no activation Restore (the
//!   target of an aborted failover did not take the managed clusters).
//! - `no-backup-schedule:<cluster>@<N>` (older renders): `<cluster>`'s status file says it applied
//!   generation N or later, observed its cluster in that pass, and saw no BackupSchedule.
//!
//! - `auto-import-strategy:<s>` and `auto-import-restored:<N>`: the ACM 2.14+ auto-import
//!   strategy step of a takeover ([`crate::auto_import`]).
//! - implicitly, on every ACM Restore that does not exist yet: no other Restore in its
//!   namespace is active ([`crate::one_restore`]).
//!
//! The verdicts are pure functions; [`evaluate`] only reads the cluster.

use std::collections::BTreeMap;

use hubdr_core::gates::{Gate, ANNOTATION_GENERATION, ANNOTATION_WAIT_FOR};
use hubdr_core::object::ObjectId;
use hubdr_core::status::{ClusterStatus, GateStatus};
use kube::api::DynamicObject;
use serde_json::Value;

use crate::apply::Planned;
use crate::kubeapi::ClusterApi;
use crate::managed_clusters;
use crate::statuses::Statuses;

pub use crate::restore_gate::{
    restore_gate, restore_verdict, velero_restore_names, Verdict, FAILED_PHASES,
};

/// One condition an object waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub object: ObjectId,
    /// The condition as written in the annotation.
    pub condition: String,
    pub message: String,
}

/// The `hubdr.io/wait-for` annotation of an object, if any.
pub fn wait_for(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_WAIT_FOR))
        .and_then(Value::as_str)
}

/// Whether any planned object waits for another cluster's status.
pub fn needs_statuses(planned: &[Planned]) -> bool {
    planned
        .iter()
        .filter_map(|p| wait_for(&p.value))
        .flat_map(|w| hubdr_core::gates::parse(w).unwrap_or_default())
        .any(|g| !matches!(g, Gate::RestoreFinished { .. }))
}

/// Whether applying `desired` over `live` moves the object to another failover generation
/// (`hubdr.io/generation`): such a change is gated like a creation.
pub fn changes_generation(desired: &Value, live: &DynamicObject) -> bool {
    let Some(wanted) = desired
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_GENERATION))
        .and_then(Value::as_str)
    else {
        return false;
    };
    let current = live
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_GENERATION));
    current.map(String::as_str) != Some(wanted)
}

/// The conditions of `planned` that do not hold, object by object. Objects that already
/// exist are not gated, unless the change moves them to another generation. Only trusted
/// (signed) statuses count; a refused one is named.
pub async fn evaluate(
    api: &mut ClusterApi,
    planned: &[Planned],
    statuses: &Statuses,
    managed: &[String],
    auto_import: &AutoImportFacts,
) -> Vec<Wait> {
    let mut waits = Vec::new();
    for p in planned {
        let one_restore = crate::one_restore::is_acm_restore(&p.id);
        let text = match wait_for(&p.value) {
            Some(text) => text,
            None if one_restore => "",
            None => continue,
        };
        let wait = |condition: &str, message: String| Wait {
            object: p.id.clone(),
            condition: condition.to_string(),
            message,
        };
        let exists = match api.get(&p.id).await {
            Ok(Some(live)) if !changes_generation(&p.value, &live) => continue,
            Ok(live) => live.is_some(),
            Err(e) => {
                let condition = if text.is_empty() {
                    crate::one_restore::CONDITION
                } else {
                    text
                };
                waits.push(wait(condition, format!("cannot tell whether it exists yet ({e}); it is not created until that is known")));
                continue;
            }
        };
        // A new ACM Restore only when no other one is active (see `one_restore`).
        if one_restore && !exists {
            if let Some(message) = crate::one_restore::evaluate(api, &p.id).await {
                waits.push(wait(crate::one_restore::CONDITION, message));
            }
        }
        if text.is_empty() {
            continue;
        }
        let gates = match hubdr_core::gates::parse(text) {
            Ok(gates) => gates,
            Err(message) => {
                waits.push(wait(
                    text,
                    format!(
                        "{message}; the object is not created: re-render it with `hubdr render`"
                    ),
                ));
                continue;
            }
        };
        for gate in gates {
            let verdict = match &gate {
                Gate::RestoreFinished { namespace, name } => {
                    restore_gate(api, namespace, name).await
                }
                Gate::Fenced {
                    cluster,
                    generation,
                } => refused(statuses, cluster).unwrap_or_else(|| {
                    fence_verdict(cluster, *generation, statuses.trusted.get(cluster))
                }),
                Gate::ManagedClustersAvailable => match managed_clusters::list(api).await {
                    Ok(clusters) => match managed_clusters::all_available(&clusters, managed) {
                        Ok(()) => Verdict::Holds,
                        Err(why) => Verdict::Waits(format!(
                            "{why}; the takeover is not verified, so no BackupSchedule yet"
                        )),
                    },
                    Err(e) => Verdict::Waits(format!("cannot read the ManagedClusters: {e}")),
                },
                Gate::ObservabilityRestarted { generation } => {
                    crate::takeover::restarted_verdict(api, *generation).await
                }
                Gate::NotActivated {
                    cluster,
                    generation,
                } => refused(statuses, cluster).unwrap_or_else(|| {
                    not_activated_verdict(cluster, *generation, statuses.trusted.get(cluster))
                }),
                Gate::NoBackupSchedule {
                    cluster,
                    generation,
                } => refused(statuses, cluster).unwrap_or_else(|| {
                    schedule_verdict(cluster, *generation, statuses.trusted.get(cluster))
                }),
                Gate::AutoImportStrategy { strategy } => auto_import.strategy_verdict(strategy),
                Gate::AutoImportRestored { generation } => {
                    auto_import.restored_verdict(*generation)
                }
            };
            if let Verdict::Waits(message) = verdict {
                waits.push(wait(&gate.to_string(), message));
            }
        }
    }
    waits
}

/// What the auto-import strategy gates read, computed each pass by `crate::auto_import` before
/// the gates are evaluated (kept here so that this module does not depend on it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoImportFacts {
    /// The live `autoImportStrategy` of `multicluster-engine/import-controller-config` after this
    /// pass's step (`None`: absent).
    pub live: Option<String>,
    /// Why the live value is not known (it could not be read).
    pub unreadable: Option<String>,
    /// The value recorded before the takeover (`None`: there was none).
    pub prior: Option<String>,
    /// The generation whose change was undone.
    pub restored_for: Option<u64>,
}

impl AutoImportFacts {
    /// `auto-import-strategy:<strategy>`: the live value is `strategy`.
    pub fn strategy_verdict(&self, strategy: &str) -> Verdict {
        if let Some(why) = &self.unreadable {
            return Verdict::Waits(why.clone());
        }
        if self.live.as_deref() == Some(strategy) {
            return Verdict::Holds;
        }
        Verdict::Waits(format!(
            "multicluster-engine/import-controller-config has autoImportStrategy {}, not {strategy}: the managed clusters imported before would not be imported by this hub (ACM 2.14+); its agent sets it before the activation",
            self.live.as_deref().unwrap_or("unset (ImportOnly)")
        ))
    }

    /// `auto-import-restored:<N>`: the agent put the strategy back after the takeover of N.
    pub fn restored_verdict(&self, generation: u64) -> Verdict {
        if self.restored_for.is_some_and(|r| r >= generation) {
            return Verdict::Holds;
        }
        Verdict::Waits(format!(
            "autoImportStrategy is still ImportAndSync for the takeover of generation {generation}: its agent puts back {} once the activation finished and every managed cluster is Available and Joined",
            self.prior.as_deref().unwrap_or("the default (ImportOnly)")
        ))
    }
}

/// The verdict on a gate that reads `cluster`'s status when that status was refused (not
/// signed by its trusted key, or from the future): it waits, naming why.
fn refused(statuses: &Statuses, cluster: &str) -> Option<Verdict> {
    match (statuses.trusted.get(cluster), statuses.refusal(cluster)) {
        (None, Some(why)) => Some(Verdict::Waits(format!(
            "{why}; the gate holds only on {cluster}'s own signed status"
        ))),
        _ => None,
    }
}

/// What `blocked` needs: one message per waiting object.
pub fn blocked_messages(waits: &[Wait]) -> BTreeMap<ObjectId, String> {
    let mut out: BTreeMap<ObjectId, String> = BTreeMap::new();
    for w in waits {
        let line = format!("waiting for {}: {}", w.condition, w.message);
        out.entry(w.object.clone())
            .and_modify(|m| m.push_str(&format!("; {line}")))
            .or_insert(line);
    }
    out
}

/// The status entries for `waits`, keeping `since` from `previous` for conditions that were
/// already waiting.
pub fn gate_statuses(waits: &[Wait], previous: &[GateStatus], now: &str) -> Vec<GateStatus> {
    waits
        .iter()
        .map(|w| {
            let object = w.object.to_string();
            let since = previous
                .iter()
                .find(|g| g.object == object && g.condition == w.condition)
                .map_or_else(|| now.to_string(), |g| g.since.clone());
            GateStatus {
                object,
                condition: w.condition.clone(),
                since,
                message: w.message.clone(),
            }
        })
        .collect()
}

/// Waits while `cluster`'s status reports no generation or one before `generation`: its agent
/// has not done what the gate waits for (`not_yet`: "fenced it yet").
fn behind(
    cluster: &str,
    generation: u64,
    status: &ClusterStatus,
    not_yet: &str,
) -> Option<Verdict> {
    let applied = status.source.generation;
    if applied.is_some_and(|g| g >= generation) {
        return None;
    }
    let applied = applied.map_or_else(
        || "no generation".to_string(),
        |g| format!("generation {g}"),
    );
    Some(Verdict::Waits(format!(
        "{cluster} reports {applied} (at {}), not {generation} or later: its agent has not {not_yet}",
        status.updated_at
    )))
}

/// Whether `cluster`'s status shows its fence observed complete at generation `generation` or
/// later.
pub fn fence_verdict(cluster: &str, generation: u64, status: Option<&ClusterStatus>) -> Verdict {
    let unreachable = format!(
        "if {cluster} is gone for good, declare it unreachable (spec.failover.oldPrimaryUnreachable: true) in a reviewed pull request"
    );
    let Some(status) = status else {
        return Verdict::Waits(format!(
            "{cluster} has published no status yet; its agent must fence it first ({unreachable})"
        ));
    };
    let fence = status.observed.fence.as_ref();
    if fence
        .and_then(|f| f.fenced_at)
        .is_some_and(|at| at >= generation)
    {
        return Verdict::Holds;
    }
    if let Some(behind) = behind(
        cluster,
        generation,
        status,
        &format!("fenced it yet ({unreachable})"),
    ) {
        return behind;
    }
    match fence {
        None => Verdict::Waits(format!(
            "{cluster}'s agent reports no fence at generation {generation} (its last pass: {}: {})",
            status.pass.reason, status.pass.message
        )),
        Some(f) => Verdict::Waits(format!(
            "{cluster} is not fenced yet at generation {generation}: {}",
            if f.pending.is_empty() {
                "its agent has not observed the fence complete".to_string()
            } else {
                f.pending.join("; ")
            }
        )),
    }
}

/// Whether `cluster` (the target of an aborted failover) reports generation `generation` or
/// later without any sign of having activated the managed clusters.
pub fn not_activated_verdict(
    cluster: &str,
    generation: u64,
    status: Option<&ClusterStatus>,
) -> Verdict {
    let Some(status) = status else {
        return Verdict::Waits(format!(
            "{cluster} has published no status yet, so whether it activated the managed clusters is unknown"
        ));
    };
    if let Some(behind) = behind(cluster, generation, status, "applied the abort yet") {
        return behind;
    }
    if matches!(status.pass.reason.as_str(), "FetchFailed" | "VerifyFailed")
        || status.health.is_empty()
    {
        return Verdict::Waits(format!(
            "{cluster}'s agent did not observe its cluster in its last pass ({}: {})",
            status.pass.reason, status.pass.message
        ));
    }
    if let Some(c) = status
        .observed
        .managed_clusters
        .as_ref()
        .filter(|c| c.total > 0)
    {
        return Verdict::Waits(format!(
            "{cluster} holds {} ManagedCluster(s): it activated them, so this hub must not take them back; the abort came too late: fail back instead (`hubdr unfence` this hub, then `hubdr failover --to` it)",
            c.total
        ));
    }
    if let Some(r) = status
        .observed
        .restores
        .iter()
        .find(|r| r.generation.is_some())
    {
        return Verdict::Waits(format!(
            "{cluster} still has activation Restore {} ({})",
            r.name,
            if r.phase.is_empty() {
                "no phase"
            } else {
                &r.phase
            }
        ));
    }
    Verdict::Holds
}

/// Whether `cluster`'s status shows its BackupSchedule gone at generation `generation` or later.
pub fn schedule_verdict(cluster: &str, generation: u64, status: Option<&ClusterStatus>) -> Verdict {
    let Some(status) = status else {
        return Verdict::Waits(format!(
            "{cluster} has published no status yet; its agent must fence it first"
        ));
    };
    if let Some(behind) = behind(cluster, generation, status, "fenced it yet") {
        return behind;
    }
    if matches!(status.pass.reason.as_str(), "FetchFailed" | "VerifyFailed") {
        return Verdict::Waits(format!(
            "{cluster}'s last pass failed ({}): {}",
            status.pass.reason, status.pass.message
        ));
    }
    // Health checks are computed only when the agent observed its cluster in that pass.
    if status.health.is_empty() {
        return Verdict::Waits(format!(
            "{cluster}'s agent did not observe its cluster in its last pass: {}",
            status.pass.message
        ));
    }
    if let Some(s) = status.observed.backup_schedules.first() {
        let phase = if s.phase.is_empty() {
            "no phase"
        } else {
            &s.phase
        };
        return Verdict::Waits(format!(
            "{cluster} still has BackupSchedule {} ({phase})",
            s.name
        ));
    }
    Verdict::Holds
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
