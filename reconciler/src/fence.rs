//! Fencing: a hub whose role in `.hubdr/index.yaml` is `fenced` (a former primary) must not
//! write to the shared storage location, or two hubs write backups there and whoever restores
//! "latest" may get the wrong hub's data (the ACM documents' backup collision). So before
//! anything is applied, in every pass, every BackupSchedule in the backup namespace is
//! deleted, whoever created it (a person, an older agent, a restored hub). That includes the
//! first pass after the agent starts following an outage: the hub may come back with the
//! BackupSchedule it had when it went down.
//!
//! What the agent cannot do: fence a hub whose role it cannot read. When the repository is
//! unreachable at startup, nothing is known (not even that this hub was ever fenced), so
//! nothing is deleted; the agent keeps retrying with backoff and fences on its first
//! successful fetch. Until then the hub's cluster-backup operator may run its schedule once
//! more; its own BackupCollision check (and the ReadOnly backup location rendered for fenced
//! hubs, also applied on that first pass) is the remaining protection. Within one agent
//! process, a fenced role seen once keeps fencing through later fetch failures.
//!
//! After each pass, the agent of a fenced hub observes its fence and reports it
//! ([`observed`]): "fenced at generation N" only when everything the fence covers was seen in
//! place. The new primary activates only after that report (its activation Restore waits with
//! `fenced:<hub>@N`).

use hubdr::render::ObjectId;
use hubdr::status::FenceObservation;

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::ClusterApi;
use crate::observe::Observation;

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";

pub const FENCED: &str = "fenced";

/// Delete every BackupSchedule in `backup_namespace`, recording each as pruned (or failed).
/// Returns problems that stopped the fencing (the list could not be read).
pub async fn fence(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
) -> Vec<String> {
    let schedules = match api.list(ACM, "BackupSchedule", Some(backup_namespace), None).await {
        Ok(schedules) => schedules,
        Err(e) => {
            return vec![format!(
                "this hub is fenced but its BackupSchedules in {backup_namespace} cannot be listed ({e}); retrying next pass"
            )]
        }
    };
    for schedule in schedules {
        let id = ObjectId {
            api_version: ACM.into(),
            kind: "BackupSchedule".into(),
            namespace: Some(backup_namespace.into()),
            name: schedule.metadata.name.clone().unwrap_or_default(),
        };
        let action = match api.delete(&id).await {
            Ok(_) => Action::Pruned,
            Err(e) => Action::Failed(format!(
                "this hub is fenced, but deleting its BackupSchedule failed: {e}; it can cause a backup collision: retrying next pass"
            )),
        };
        tracing::info!(object = %id, result = action.name(), message = action.message(), "fence");
        changes.push(id, action);
    }
    Vec::new()
}

/// The fence as observed after the pass (`o`) at `generation`: complete when no BackupSchedule
/// is left in the backup namespace.
pub fn observed(o: &Observation, generation: Option<u64>) -> FenceObservation {
    let mut done = Vec::new();
    let mut pending = Vec::new();
    if o.observed.backup_schedules.is_empty() {
        done.push("no BackupSchedule".to_string());
    }
    for s in &o.observed.backup_schedules {
        pending.push(format!(
            "BackupSchedule {} still exists ({})",
            s.name,
            if s.phase.is_empty() {
                "no phase"
            } else {
                &s.phase
            }
        ));
    }
    FenceObservation {
        fenced_at: generation.filter(|_| pending.is_empty()),
        done,
        pending,
    }
}

/// Drop exact repeats (same object, same result): pruning by inventory reports a
/// BackupSchedule the fence already deleted a second time.
pub fn drop_repeats(changes: &mut ChangeSet) {
    let mut seen = Vec::new();
    changes.changes.retain(|c| {
        let key = (c.id.clone(), c.action.clone());
        if seen.contains(&key) {
            return false;
        }
        seen.push(key);
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubdr::status::PhaseObservation;

    #[test]
    fn fenced_only_when_no_schedule_is_left() {
        let mut o = Observation::default();
        let done = observed(&o, Some(4));
        assert_eq!(done.fenced_at, Some(4));
        assert_eq!(done.done, ["no BackupSchedule"]);
        o.observed.backup_schedules.push(PhaseObservation {
            name: "ns/schedule-acm".into(),
            phase: "Enabled".into(),
            ..Default::default()
        });
        let pending = observed(&o, Some(4));
        assert_eq!(pending.fenced_at, None);
        assert_eq!(
            pending.pending,
            ["BackupSchedule ns/schedule-acm still exists (Enabled)"]
        );
        assert_eq!(observed(&Observation::default(), None).fenced_at, None);
    }

    #[test]
    fn repeats_are_dropped_and_distinct_results_kept() {
        let id = |n: &str| ObjectId {
            api_version: ACM.into(),
            kind: "BackupSchedule".into(),
            namespace: Some("b".into()),
            name: n.into(),
        };
        let mut changes = ChangeSet::default();
        changes.push(id("s"), Action::Pruned);
        changes.push(id("t"), Action::Created);
        changes.push(id("s"), Action::Pruned);
        changes.push(id("s"), Action::Failed("x".into()));
        drop_repeats(&mut changes);
        let got: Vec<String> = changes.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "BackupSchedule b/s pruned",
                "BackupSchedule b/t created",
                "BackupSchedule b/s failed: x"
            ]
        );
    }
}
