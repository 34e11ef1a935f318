//! Pruning by inventory: what this agent applied before and the repository no longer holds,
//! in reverse apply order, is deleted or released.
//!
//! - **Deleted**: only objects the agent created (inventory `created: true`) that carry its
//!   ownership label, and never the shared kinds of `hubdr::prune_guard::RELEASE_ONLY`
//!   (MultiClusterHub, DataProtectionApplication, Namespace).
//! - **Released**: everything else the agent owned (objects it adopted, shared kinds): a
//!   server-side apply of an empty intent (apiVersion, kind, name, namespace) as field
//!   manager `hubdr`, so the API server drops only the fields hubdr set and the object stays
//!   with whatever its other managers own. The intent carries the resourceVersion just read,
//!   so an object deleted in between is not re-created empty.
//!
//! NotFound counts as done; `hubdr.io/prune: disabled` objects are left as they are; an
//! object that cannot be read, deleted or released stays in the inventory for the next pass.

use hubdr::prune_guard;
use hubdr::render::manifest::{ANNOTATION_PRUNE, LABEL_CLUSTER};
use hubdr::render::ObjectId;
use kube::api::DynamicObject;
use serde_json::{json, Value};

use crate::changeset::{Action, ChangeSet};
use crate::inventory::{Entry, Inventory};
use crate::kubeapi::{CallError, ClusterApi, FIELD_MANAGER};

/// What pruning does with a stale entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposal {
    Delete,
    Release,
}

/// Delete only what the agent created, and never a shared kind.
pub fn disposal(entry: &Entry) -> Disposal {
    if entry.created && !prune_guard::release_only(&entry.api_version, &entry.kind) {
        Disposal::Delete
    } else {
        Disposal::Release
    }
}

/// Prune `stale` (already in delete order). Entries that could not be pruned are added to `keep`.
pub async fn prune(
    api: &mut ClusterApi,
    cluster: &str,
    stale: &[Entry],
    keep: &mut Inventory,
    changes: &mut ChangeSet,
) {
    for entry in stale {
        let id = entry.id();
        let disposal = disposal(entry);
        let verb = match disposal {
            Disposal::Delete => "delete",
            Disposal::Release => "release",
        };
        let action = match api.get(&id).await {
            Ok(None) => match disposal {
                Disposal::Delete => Action::Pruned,
                Disposal::Release => Action::Released,
            },
            Ok(Some(live)) if prune_disabled(&live) => Action::Skipped(format!(
                "not {verb}d: annotated {ANNOTATION_PRUNE}: disabled"
            )),
            Ok(Some(live)) => match disposal {
                Disposal::Delete => delete(api, cluster, &id, &live).await,
                Disposal::Release => release(api, &id, &live).await,
            },
            Err(e) => Action::Failed(format!(
                "cannot read it to {verb} it, kept in the inventory: {e}"
            )),
        };
        if matches!(action, Action::Failed(_)) {
            keep.insert(entry.clone());
        }
        tracing::info!(object = %id, result = action.name(), message = action.message(), "prune");
        changes.push(id, action);
    }
}

fn prune_disabled(live: &DynamicObject) -> bool {
    live.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_PRUNE))
        .is_some_and(|v| v == "disabled")
}

async fn delete(
    api: &mut ClusterApi,
    cluster: &str,
    id: &ObjectId,
    live: &DynamicObject,
) -> Action {
    let owner = live
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_CLUSTER));
    if owner.map(String::as_str) != Some(cluster) {
        return Action::Skipped(format!(
            "not deleted: it does not carry {LABEL_CLUSTER}={cluster}, so this agent does not own it"
        ));
    }
    match api.delete(id).await {
        Ok(_) => Action::Pruned,
        Err(e) => Action::Failed(format!("delete failed, kept in the inventory: {e}")),
    }
}

async fn release(api: &mut ClusterApi, id: &ObjectId, live: &DynamicObject) -> Action {
    let applies = live.metadata.managed_fields.as_ref().is_some_and(|m| {
        m.iter().any(|f| {
            f.manager.as_deref() == Some(FIELD_MANAGER) && f.operation.as_deref() == Some("Apply")
        })
    });
    if !applies {
        // hubdr owns no field of it (it never got applied): nothing to drop, no write.
        return Action::Released;
    }
    let intent = release_intent(id, live.metadata.resource_version.as_deref());
    match api.apply(id, &intent, false, false).await {
        Ok(_) => Action::Released,
        Err(CallError::Invalid(message)) if message.contains("immutable") => {
            hand_over_then_release(api, id, live).await
        }
        Err(e) => Action::Failed(format!("release failed, kept in the inventory: {e}")),
    }
}

/// Field manager that keeps the fields the API server does not let the agent drop.
pub const RELEASED_MANAGER: &str = "hubdr-released";

/// Dropping hubdr's fields would change what the API server keeps immutable (a claim's
/// `spec`): the fields are first applied, unchanged, by [`RELEASED_MANAGER`], so hubdr's
/// release leaves them in place, owned by that manager.
async fn hand_over_then_release(
    api: &mut ClusterApi,
    id: &ObjectId,
    live: &DynamicObject,
) -> Action {
    let mut keep = release_intent(id, None);
    if let Some(spec) = live.data.get("spec") {
        keep["spec"] = spec.clone();
    }
    let handed = match api.apply_as(id, &keep, RELEASED_MANAGER, false).await {
        Ok(o) => o,
        Err(e) => {
            return Action::Failed(format!(
                "release failed, kept in the inventory: the API server refuses to drop its immutable fields, and handing them to {RELEASED_MANAGER} failed: {e}"
            ))
        }
    };
    let intent = release_intent(id, handed.metadata.resource_version.as_deref());
    match api.apply(id, &intent, false, false).await {
        Ok(_) => Action::Released,
        Err(e) => Action::Failed(format!("release failed, kept in the inventory: {e}")),
    }
}

/// The empty intent whose server-side apply drops every field hubdr set on `id`.
pub fn release_intent(id: &ObjectId, resource_version: Option<&str>) -> Value {
    let mut metadata = json!({"name": id.name});
    if let Some(ns) = &id.namespace {
        metadata["namespace"] = json!(ns);
    }
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({"apiVersion": id.api_version, "kind": id.kind, "metadata": metadata})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(api: &str, kind: &str, created: bool) -> Entry {
        Entry {
            api_version: api.into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: "x".into(),
            wave: 0,
            created,
        }
    }

    #[test]
    fn only_created_objects_of_unshared_kinds_are_deleted() {
        assert_eq!(
            disposal(&entry("v1", "PersistentVolumeClaim", true)),
            Disposal::Delete
        );
        assert_eq!(
            disposal(&entry("v1", "PersistentVolumeClaim", false)),
            Disposal::Release
        );
        for (api, kind) in [
            ("v1", "Namespace"),
            ("operator.open-cluster-management.io/v1", "MultiClusterHub"),
            ("oadp.openshift.io/v1alpha1", "DataProtectionApplication"),
        ] {
            assert_eq!(
                disposal(&entry(api, kind, true)),
                Disposal::Release,
                "{kind}"
            );
        }
    }

    #[test]
    fn the_release_intent_names_the_object_and_nothing_else() {
        let id = entry("v1", "PersistentVolumeClaim", false).id();
        assert_eq!(
            release_intent(&id, Some("42")),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "x", "namespace": "ns", "resourceVersion": "42"}})
        );
    }
}
