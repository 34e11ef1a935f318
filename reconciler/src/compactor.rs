//! ACM observability's compactor (StatefulSet `observability-thanos-compact` in
//! `open-cluster-management-observability`): hubs share the metrics bucket, and two compactors
//! must never run on one bucket. A fenced hub scales it to 0 (remembering the replicas it had in
//! an annotation); a hub that resumes as primary after an abort gets them back. Both writes are
//! server-side applies as the fence's field manager; hubdr does not own the StatefulSet.

use hubdr_core::object::ObjectId;
use kube::api::DynamicObject;
use serde_json::{json, Value};

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::{CallError, ClusterApi};
use crate::managed_clusters::FENCE_MANAGER;

pub const NAMESPACE: &str = "open-cluster-management-observability";
pub const NAME: &str = "observability-thanos-compact";
/// The replicas the compactor had before the fence scaled it to 0.
pub const FENCED_REPLICAS: &str = "hubdr.io/fenced-replicas";
const MCO_API: &str = "observability.open-cluster-management.io/v1beta2";

/// The compactor as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactorState {
    /// `spec.replicas` (1 when unset, the API default).
    pub replicas: i64,
    /// `status.replicas`: pods that still exist.
    pub running: i64,
    /// The annotation the fence left: replicas to restore.
    pub fenced_replicas: Option<i64>,
}

impl CompactorState {
    pub fn of(object: &DynamicObject) -> Self {
        let number = |pointer: &str| object.data.pointer(pointer).and_then(Value::as_i64);
        CompactorState {
            replicas: number("/spec/replicas").unwrap_or(1),
            running: number("/status/replicas").unwrap_or(0),
            fenced_replicas: object
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(FENCED_REPLICAS))
                .and_then(|r| r.parse().ok()),
        }
    }
}

pub fn id() -> ObjectId {
    ObjectId {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        namespace: Some(NAMESPACE.into()),
        name: NAME.into(),
    }
}

/// The compactor, when its StatefulSet exists (and the kind is served).
pub async fn get(api: &mut ClusterApi) -> Result<Option<CompactorState>, CallError> {
    match api.get(&id()).await {
        Ok(found) => Ok(found.as_ref().map(CompactorState::of)),
        Err(CallError::KindMissing(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether observability is installed (a MultiClusterObservability exists).
pub async fn observability_installed(api: &mut ClusterApi) -> Result<bool, CallError> {
    Ok(!api
        .list(MCO_API, "MultiClusterObservability", None, None)
        .await?
        .is_empty())
}

/// Scale the compactor to 0, remembering its replicas. Returns problems.
pub async fn scale_down(api: &mut ClusterApi, changes: &mut ChangeSet) -> Vec<String> {
    let current = match get(api).await {
        Ok(Some(c)) => c,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("this hub is fenced but its observability compactor cannot be read ({e}); retrying next pass")],
    };
    if current.replicas == 0 && current.fenced_replicas.is_some() {
        return Vec::new();
    }
    let remembered = current.fenced_replicas.unwrap_or(current.replicas);
    let patch = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE,
                     "annotations": {FENCED_REPLICAS: remembered.to_string()}},
        "spec": {"replicas": 0},
    });
    write(
        api,
        &patch,
        changes,
        "scaling the observability compactor to 0",
    )
    .await
}

/// Give the compactor back the replicas the fence took (and drop the annotation). Returns
/// problems.
pub async fn restore(
    api: &mut ClusterApi,
    current: Option<CompactorState>,
    changes: &mut ChangeSet,
) -> Vec<String> {
    let Some(replicas) = current.and_then(|c| c.fenced_replicas) else {
        return Vec::new();
    };
    // Applying only the replicas as the fence's manager also drops its annotation.
    let patch = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"replicas": replicas},
    });
    write(
        api,
        &patch,
        changes,
        "restoring the observability compactor",
    )
    .await
}

async fn write(
    api: &mut ClusterApi,
    patch: &Value,
    changes: &mut ChangeSet,
    what: &str,
) -> Vec<String> {
    let action = match api.apply_as(&id(), patch, FENCE_MANAGER, true).await {
        Ok(_) => Action::Configured,
        Err(CallError::NotFound(_)) => return Vec::new(),
        Err(e) => Action::Failed(format!("{what} failed: {e}; retrying next pass")),
    };
    tracing::info!(object = %id(), result = action.name(), message = action.message(), "{what}");
    changes.push(id(), action);
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_replicas_and_the_remembered_ones() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "annotations": {FENCED_REPLICAS: "2"}},
            "spec": {"replicas": 0}, "status": {"replicas": 1},
        }))
        .unwrap();
        assert_eq!(
            CompactorState::of(&object),
            CompactorState {
                replicas: 0,
                running: 1,
                fenced_replicas: Some(2)
            }
        );
        let bare: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
        }))
        .unwrap();
        assert_eq!(CompactorState::of(&bare).replicas, 1);
    }
}
