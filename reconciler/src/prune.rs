//! Pruning by inventory: delete what this agent applied before and the repository no longer
//! holds, in reverse apply order. Only objects carrying this agent's ownership label are
//! deleted; NotFound counts as deleted; `hubdr.io/prune: disabled` objects are left; a failed
//! delete stays in the inventory for the next pass.

use hubdr::render::manifest::{ANNOTATION_PRUNE, LABEL_CLUSTER};

use crate::changeset::{Action, ChangeSet};
use crate::inventory::{Entry, Inventory};
use crate::kubeapi::ClusterApi;

/// Prune `stale` (already in delete order). Entries whose delete failed are added to `keep`.
pub async fn prune(
    api: &mut ClusterApi,
    cluster: &str,
    stale: &[Entry],
    keep: &mut Inventory,
    changes: &mut ChangeSet,
) {
    for entry in stale {
        let id = entry.id();
        let action = match api.get(&id).await {
            Ok(None) => Action::Pruned,
            Ok(Some(live)) => {
                let owner = live
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_CLUSTER));
                let disabled = live
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(ANNOTATION_PRUNE))
                    .is_some_and(|v| v == "disabled");
                if owner.map(String::as_str) != Some(cluster) {
                    Action::Skipped(format!("not deleted: it does not carry {LABEL_CLUSTER}={cluster}, so this agent does not own it"))
                } else if disabled {
                    Action::Skipped(format!(
                        "not deleted: annotated {ANNOTATION_PRUNE}: disabled"
                    ))
                } else {
                    match api.delete(&id).await {
                        Ok(_) => Action::Pruned,
                        Err(e) => {
                            Action::Failed(format!("delete failed, kept in the inventory: {e}"))
                        }
                    }
                }
            }
            Err(e) => Action::Failed(format!(
                "cannot read it to prune it, kept in the inventory: {e}"
            )),
        };
        if matches!(action, Action::Failed(_)) {
            keep.insert(entry.clone());
        }
        tracing::info!(object = %id, result = action.name(), message = action.message(), "prune");
        changes.push(id, action);
    }
}
