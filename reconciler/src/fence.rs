//! Fencing: a hub whose role in `.hubdr/index.yaml` is `fenced` (a former primary) must not
//! write to the shared storage location, or two hubs write backups there and whoever restores
//! "latest" may get the wrong hub's data (the ACM documents' backup collision); it must not try
//! to take its managed clusters back; and its observability compactor must not run beside the
//! new primary's on the shared bucket. So before anything is applied, in every pass:
//!
//! - every BackupSchedule in the backup namespace, whoever created it (a person, an older
//!   agent, a restored hub), is paused (`spec.paused: true`, ACM 2.12+: the render keeps the
//!   fenced hub's BackupSchedule, paused) or deleted (older ACM: the render drops it);
//! - every ManagedCluster but the hub's own is annotated
//!   `import.open-cluster-management.io/disable-auto-import` ([`crate::managed_clusters`]);
//! - the observability compactor is scaled to 0 ([`crate::compactor`]).
//!
//! The objects hubdr does not own are written by server-side apply as the field manager
//! `hubdr-fence`, so that an abort can release exactly those fields. That includes the first
//! pass after the agent starts following an outage: the hub may come back with the
//! BackupSchedule it had when it went down.
//!
//! After each pass, the agent of a fenced hub observes its fence and reports it
//! ([`observed`]): "fenced at generation N" (`observed.fence.fencedAt`) only when everything
//! above was seen in place. The new primary activates only after that report (its activation
//! Restore waits with `fenced:<hub>@N`).
//!
//! A passive hub must not back up either: stray BackupSchedules there are deleted before
//! anything is applied, and reported ([`remove_strays`]).
//!
//! The role applied last is kept in the cluster (`memory.rs`: the `role`, `backupNamespace`
//! and `fenceMode` keys of the agent's inventory ConfigMap), so an agent restarted while its
//! repository is unreachable still fences, from the remembered role and mode (pause on ACM
//! 2.12+, delete before), before anything else. Within one agent process, a fenced role seen
//! once keeps fencing through later fetch failures. What remains out of reach: a hub whose
//! agent never applied a fenced role (the failover was merged while the hub was cut off from
//! the repository) is fenced on the agent's first successful fetch; until then the
//! cluster-backup operator's own BackupCollision check (and the ReadOnly backup location
//! rendered for fenced hubs) is the protection. A memory that cannot be read is reported.

use hubdr_core::object::ObjectId;
use hubdr_core::status::FenceObservation;
use serde_json::{json, Value};

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::ClusterApi;
use crate::managed_clusters::{self, shown, DISABLE_AUTO_IMPORT, FENCE_MANAGER};
use crate::observe::Observation;
use crate::{compactor, compactor::CompactorState};

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";

pub use crate::fence_mode::{fences, Mode, FENCED, PASSIVE};

/// Fence the hub (see the module documentation). Returns problems that stopped part of it.
pub async fn fence_hub(
    api: &mut ClusterApi,
    backup_namespace: &str,
    mode: Mode,
    changes: &mut ChangeSet,
) -> Vec<String> {
    let mut problems = match mode {
        Mode::Delete => fence(api, backup_namespace, changes).await,
        Mode::Pause => pause(api, backup_namespace, changes).await,
    };
    problems.extend(managed_clusters::disable_auto_import(api).await);
    problems.extend(compactor::scale_down(api, changes).await);
    problems
}

fn schedule_id(backup_namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: ACM.into(),
        kind: "BackupSchedule".into(),
        namespace: Some(backup_namespace.into()),
        name: name.into(),
    }
}

/// Delete every BackupSchedule in `backup_namespace`, recording each as pruned (or failed).
/// Returns problems that stopped the fencing (the list could not be read).
pub async fn fence(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
) -> Vec<String> {
    delete_schedules(api, backup_namespace, changes, "this hub is fenced")
        .await
        .1
}

/// Delete every BackupSchedule of a passive hub: returns the ones removed (`namespace/name`)
/// and problems.
pub async fn remove_strays(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
) -> (Vec<String>, Vec<String>) {
    let (removed, problems) =
        delete_schedules(api, backup_namespace, changes, "this hub is passive").await;
    for name in &removed {
        tracing::warn!(schedule = %name, "stray BackupSchedule on a passive hub removed: a passive hub must not back up (backup collision)");
    }
    (removed, problems)
}

async fn delete_schedules(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
    why: &str,
) -> (Vec<String>, Vec<String>) {
    let schedules = match api.list(ACM, "BackupSchedule", Some(backup_namespace), None).await {
        Ok(schedules) => schedules,
        Err(e) => {
            return (Vec::new(), vec![format!(
                "{why} but its BackupSchedules in {backup_namespace} cannot be listed ({e}); retrying next pass"
            )])
        }
    };
    let mut removed = Vec::new();
    for schedule in schedules {
        let id = schedule_id(
            backup_namespace,
            &schedule.metadata.name.clone().unwrap_or_default(),
        );
        let action = match api.delete(&id).await {
            Ok(_) => {
                removed.push(format!("{backup_namespace}/{}", id.name));
                Action::Pruned
            }
            Err(e) => Action::Failed(format!(
                "{why}, but deleting its BackupSchedule failed: {e}; it can cause a backup collision: retrying next pass"
            )),
        };
        tracing::info!(object = %id, result = action.name(), message = action.message(), "fence");
        changes.push(id, action);
    }
    (removed, Vec::new())
}

/// Pause every BackupSchedule in `backup_namespace` that is not paused (server-side apply of
/// `spec.paused: true` as the fence's field manager). Returns problems.
pub async fn pause(
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
        if schedule.data.pointer("/spec/paused") == Some(&Value::Bool(true)) {
            continue;
        }
        let id = schedule_id(
            backup_namespace,
            &schedule.metadata.name.clone().unwrap_or_default(),
        );
        let patch = json!({
            "apiVersion": ACM, "kind": "BackupSchedule",
            "metadata": {"name": id.name, "namespace": backup_namespace},
            "spec": {"paused": true},
        });
        let action = match api.apply_as(&id, &patch, FENCE_MANAGER, true).await {
            Ok(_) => Action::Configured,
            Err(e) => Action::Failed(format!(
                "this hub is fenced, but pausing its BackupSchedule failed: {e}; it can cause a backup collision: retrying next pass"
            )),
        };
        tracing::info!(object = %id, result = action.name(), message = action.message(), "fence: pause");
        changes.push(id, action);
    }
    Vec::new()
}

/// The fence as observed after the pass (`o`) at `generation`: complete when every
/// BackupSchedule is paused (or, deleting, none is left), every ManagedCluster but the hub's
/// own carries disable-auto-import, and the observability compactor runs no pod.
pub fn observed(o: &Observation, generation: Option<u64>, mode: Mode) -> FenceObservation {
    let mut done = Vec::new();
    let mut pending = Vec::new();
    let schedules = &o.observed.backup_schedules;
    match mode {
        Mode::Delete if schedules.is_empty() => done.push("no BackupSchedule".to_string()),
        Mode::Delete => pending.extend(schedules.iter().map(|s| {
            format!(
                "BackupSchedule {} still exists ({})",
                s.name,
                if s.phase.is_empty() {
                    "no phase"
                } else {
                    &s.phase
                }
            )
        })),
        Mode::Pause => {
            for s in schedules {
                if o.paused_schedules.contains(&s.name) {
                    done.push(format!("BackupSchedule {} paused", s.name));
                } else {
                    pending.push(format!("BackupSchedule {} is not paused", s.name));
                }
            }
            if schedules.is_empty() {
                done.push("no BackupSchedule".to_string());
            }
        }
    }
    match &o.managed_clusters_error {
        Some(e) => pending.push(format!("ManagedClusters cannot be read: {e}")),
        None => {
            let remote: Vec<_> = o.managed_clusters.iter().filter(|c| !c.local).collect();
            let missing: Vec<String> = remote
                .iter()
                .filter(|c| !c.disable_auto_import)
                .map(|c| c.name.clone())
                .collect();
            if missing.is_empty() {
                done.push(format!(
                    "{} ManagedCluster(s) annotated {DISABLE_AUTO_IMPORT}",
                    remote.len()
                ));
            } else {
                pending.push(format!(
                    "{} of {} ManagedCluster(s) without {DISABLE_AUTO_IMPORT}: {}",
                    missing.len(),
                    remote.len(),
                    shown(&missing)
                ));
            }
        }
    }
    match (&o.compactor_error, o.compactor) {
        (Some(e), _) => pending.push(format!("the observability compactor cannot be read: {e}")),
        (
            None,
            Some(CompactorState {
                replicas: 0,
                running: 0,
                ..
            }),
        ) => done.push("observability compactor scaled to 0".into()),
        (None, Some(c)) => pending.push(format!(
            "observability compactor {}/{} at {} replica(s), {} pod(s) running",
            compactor::NAMESPACE,
            compactor::NAME,
            c.replicas,
            c.running
        )),
        (None, None) if o.observability => {
            done.push("observability installed without a compactor StatefulSet".into())
        }
        (None, None) => done.push("observability not installed".into()),
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
    use crate::managed_clusters::ManagedClusterState;
    use hubdr_core::status::PhaseObservation;

    fn schedule(name: &str) -> PhaseObservation {
        PhaseObservation {
            name: name.into(),
            phase: "Enabled".into(),
            ..Default::default()
        }
    }

    fn cluster(name: &str, annotated: bool) -> ManagedClusterState {
        ManagedClusterState {
            name: name.into(),
            local: name == "local-cluster",
            disable_auto_import: annotated,
            ..Default::default()
        }
    }

    #[test]
    fn deleting_fences_when_no_schedule_is_left() {
        let mut o = Observation::default();
        let done = observed(&o, Some(4), Mode::Delete);
        assert_eq!(done.fenced_at, Some(4));
        assert_eq!(
            done.done,
            [
                "no BackupSchedule",
                "0 ManagedCluster(s) annotated import.open-cluster-management.io/disable-auto-import",
                "observability not installed"
            ]
        );
        o.observed
            .backup_schedules
            .push(schedule("ns/schedule-acm"));
        let pending = observed(&o, Some(4), Mode::Delete);
        assert_eq!(pending.fenced_at, None);
        assert_eq!(
            pending.pending,
            ["BackupSchedule ns/schedule-acm still exists (Enabled)"]
        );
        assert_eq!(
            observed(&Observation::default(), None, Mode::Delete).fenced_at,
            None
        );
    }

    #[test]
    fn pausing_fences_when_every_part_is_observed() {
        let mut o = Observation::default();
        o.observed
            .backup_schedules
            .push(schedule("ns/schedule-acm"));
        o.managed_clusters = vec![cluster("east-1", false), cluster("local-cluster", false)];
        o.compactor = Some(CompactorState {
            replicas: 0,
            running: 1,
            fenced_replicas: Some(1),
        });
        o.observability = true;
        let pending = observed(&o, Some(2), Mode::Pause);
        assert_eq!(pending.fenced_at, None);
        assert_eq!(
            pending.pending,
            [
                "BackupSchedule ns/schedule-acm is not paused",
                "1 of 1 ManagedCluster(s) without import.open-cluster-management.io/disable-auto-import: east-1",
                "observability compactor open-cluster-management-observability/observability-thanos-compact at 0 replica(s), 1 pod(s) running"
            ]
        );
        o.paused_schedules.push("ns/schedule-acm".into());
        o.managed_clusters[0].disable_auto_import = true;
        o.compactor = Some(CompactorState {
            replicas: 0,
            running: 0,
            fenced_replicas: Some(1),
        });
        let done = observed(&o, Some(2), Mode::Pause);
        assert_eq!(done.fenced_at, Some(2), "{done:?}");
        assert_eq!(
            done.done,
            [
                "BackupSchedule ns/schedule-acm paused",
                "1 ManagedCluster(s) annotated import.open-cluster-management.io/disable-auto-import",
                "observability compactor scaled to 0"
            ]
        );
        o.managed_clusters_error = Some("403 forbidden".into());
        assert_eq!(observed(&o, Some(2), Mode::Pause).fenced_at, None);
    }

    #[test]
    fn repeats_are_dropped_and_distinct_results_kept() {
        let id = |n: &str| schedule_id("b", n);
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
