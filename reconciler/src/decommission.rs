//! Decommission (`hubdr decommission HUB`): a hub whose role in `.hubdr/index.yaml` is
//! `decommissioned` (a former primary taken out of the site) stays fenced (its BackupSchedules
//! deleted before anything else, [`crate::fence`]), and its agent, as a fixed operation:
//!
//! - detaches its ManagedClusters: deletes those the fence covered (annotated
//!   `import.open-cluster-management.io/disable-auto-import` by the fence's field manager,
//!   so reported in its fence), never the hub's own (`local-cluster`). The command checked the
//!   status branch first: every managed cluster Available on the active hub, every Hive
//!   ClusterDeployment with `spec.preserveOnDelete: true`. Its install file alone grants
//!   `delete` on ManagedClusters;
//! - deletes its ACM Restores in the backup namespace.
//!
//! Each deletion is reported in the pass's objects (pruned, or failed with the reason). Storage
//! objects (BackupStorageLocation, DataProtectionApplication, PVCs) are never touched here.

use hubdr_core::object::ObjectId;

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::{CallError, ClusterApi};
use crate::managed_clusters;

pub const DECOMMISSIONED: &str = "decommissioned";

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";

/// Detach the hub's ManagedClusters and delete its ACM Restores. Returns problems.
pub async fn detach(
    api: &mut ClusterApi,
    backup_namespace: &str,
    changes: &mut ChangeSet,
) -> Vec<String> {
    let mut problems = Vec::new();
    match managed_clusters::list(api).await {
        Err(e) => problems.push(format!(
            "this hub is decommissioned but its ManagedClusters cannot be listed ({e}); retrying next pass"
        )),
        Ok(clusters) => {
            for c in clusters.iter().filter(|c| !c.local && c.fence_owned) {
                let id = ObjectId {
                    api_version: managed_clusters::API_VERSION.into(),
                    kind: managed_clusters::KIND.into(),
                    namespace: None,
                    name: c.name.clone(),
                };
                delete(api, id, "detaching its ManagedCluster", changes).await;
            }
        }
    }
    match api
        .list(ACM, "Restore", Some(backup_namespace), None)
        .await
    {
        Err(CallError::KindMissing(_)) => {}
        Err(e) => problems.push(format!(
            "this hub is decommissioned but its Restores in {backup_namespace} cannot be listed ({e}); retrying next pass"
        )),
        Ok(restores) => {
            for r in restores {
                let id = ObjectId {
                    api_version: ACM.into(),
                    kind: "Restore".into(),
                    namespace: Some(backup_namespace.into()),
                    name: r.metadata.name.clone().unwrap_or_default(),
                };
                delete(api, id, "deleting its Restore", changes).await;
            }
        }
    }
    problems
}

async fn delete(api: &mut ClusterApi, id: ObjectId, what: &str, changes: &mut ChangeSet) {
    let action = match api.delete(&id).await {
        Ok(_) | Err(CallError::NotFound(_)) => Action::Pruned,
        Err(e) => Action::Failed(format!(
            "this hub is decommissioned, but {what} failed: {e}; retrying next pass"
        )),
    };
    tracing::info!(object = %id, result = action.name(), message = action.message(), "decommission");
    changes.push(id, action);
}
