//! Fencing: a hub whose role in `.hubdr/index.yaml` is `fenced` (a former primary) must not
//! write to the shared storage location, or two hubs write backups there and whoever restores
//! "latest" may get the wrong hub's data (the ACM documents' backup collision). So before
//! anything is applied, in every pass, every BackupSchedule in the backup namespace is
//! deleted, whoever created it (a person, an older agent, a restored hub). That includes the
//! first pass after the agent starts following an outage: the hub may come back with the
//! BackupSchedule it had when it went down.
//!
//! The role applied last is kept in the cluster (`memory.rs`: the `role` and
//! `backupNamespace` keys of the agent's inventory ConfigMap), so an agent restarted while
//! its repository is unreachable still fences, from the remembered role, before anything
//! else. Within one agent process, a fenced role seen once keeps fencing through later fetch
//! failures. What remains out of reach: a hub whose agent never applied a fenced role (the
//! failover was merged while the hub was cut off from the repository) is fenced on the
//! agent's first successful fetch; until then the cluster-backup operator's own
//! BackupCollision check is the protection. A memory that cannot be read is reported.

use hubdr_core::object::ObjectId;

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::ClusterApi;

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
