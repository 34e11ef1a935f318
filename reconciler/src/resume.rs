//! Resuming: a hub that is active again after an aborted failover (`resumedSince` in the
//! site) releases everything its fence set on objects hubdr does not own: the fields the field
//! manager `hubdr-fence` owns on its BackupSchedules (`spec.paused`), the disable-auto-import
//! annotations on its ManagedClusters, and the observability compactor's replicas. The runner
//! does it only while the hub's BackupSchedule is not held back by a gate, so that the hub
//! takes its clusters back only once the aborted target is known not to have activated them.
//! On an active hub with nothing fenced it finds nothing to release and writes nothing.

use hubdr_core::object::ObjectId;
use serde_json::json;

use crate::changeset::{Action, ChangeSet};
use crate::compactor;
use crate::kubeapi::ClusterApi;
use crate::managed_clusters::{self, fence_owned, FENCE_MANAGER};

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";

/// Release the fence. Returns problems (retried next pass).
pub async fn resume(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
) -> Vec<String> {
    let mut problems = Vec::new();
    match api
        .list(ACM, "BackupSchedule", Some(backup_namespace), None)
        .await
    {
        Ok(schedules) => {
            for schedule in schedules.iter().filter(|s| fence_owned(s)) {
                let id = ObjectId {
                    api_version: ACM.into(),
                    kind: "BackupSchedule".into(),
                    namespace: Some(backup_namespace.into()),
                    name: schedule.metadata.name.clone().unwrap_or_default(),
                };
                // Applying nothing as the fence's manager drops what it set (spec.paused).
                let patch = json!({"apiVersion": ACM, "kind": "BackupSchedule",
                                   "metadata": {"name": id.name, "namespace": backup_namespace}});
                let action = match api.apply_as(&id, &patch, FENCE_MANAGER, true).await {
                    Ok(_) => Action::Configured,
                    Err(e) => Action::Failed(format!(
                        "releasing the fence's pause failed: {e}; retrying next pass"
                    )),
                };
                tracing::info!(object = %id, result = action.name(), message = action.message(), "resume");
                changes.push(id, action);
            }
        }
        Err(e) => problems.push(format!(
            "cannot list the BackupSchedules to release the fence ({e}); retrying next pass"
        )),
    }
    match managed_clusters::list(api).await {
        Ok(clusters) => problems.extend(managed_clusters::release(api, &clusters).await),
        Err(e) => problems.push(format!(
            "cannot list the ManagedClusters to release the fence ({e}); retrying next pass"
        )),
    }
    match compactor::get(api).await {
        Ok(current) => problems.extend(compactor::restore(api, current, changes).await),
        Err(e) => problems.push(format!(
            "cannot read the observability compactor to restore it ({e}); retrying next pass"
        )),
    }
    problems
}
