//! Namespace termination, as kube-apiserver and the namespace controller do it: a deleted
//! Namespace gets a deletionTimestamp and `status.phase: Terminating`, refuses new content
//! with 403 (the NamespaceLifecycle admission plugin), and is removed once it is empty and
//! the fake's finalization step has run (immediately, or after
//! `Options::namespace_finalize_delay`).

use serde_json::{json, Value};

use crate::apierror::{ApiError, Cause};
use crate::meta;
use crate::observe::ChangeKind;
use crate::resources::{ResKey, ResourceInfo};
use crate::state::State;

/// The finalizer the API server puts in `spec.finalizers` of every Namespace.
pub const FINALIZER: &str = "kubernetes";

fn key() -> ResKey {
    ResKey {
        group: String::new(),
        plural: "namespaces".into(),
    }
}

/// Whether `info` is the core Namespace kind.
pub fn is_namespace(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.plural == "namespaces"
}

/// Whether the namespace exists and is being terminated.
pub fn terminating(st: &State, ns: &str) -> bool {
    st.store
        .get(&key(), None, ns)
        .is_some_and(|r| r.object["metadata"].get("deletionTimestamp").is_some())
}

/// The NamespaceLifecycle admission check for creations: 403 in a terminating namespace.
pub fn refuse_new_content(
    st: &State,
    info: &ResourceInfo,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    if !terminating(st, ns) {
        return Ok(());
    }
    let what = if info.group.is_empty() {
        info.plural.clone()
    } else {
        format!("{}.{}", info.plural, info.group)
    };
    Err(ApiError::new(
        403,
        format!(
            "{what} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated"
        ),
    )
    .with_details(&info.group, &info.plural, name)
    .with_causes(vec![Cause::new(
        "NamespaceTerminating",
        format!("namespace {ns} is being terminated"),
        "metadata.namespace",
    )]))
}

/// Marks the namespace Terminating (deletionTimestamp, `spec.finalizers: [kubernetes]`,
/// `status.phase: Terminating` and the controller's conditions). Returns whether it was
/// newly marked.
pub fn mark(st: &mut State, info: &ResourceInfo, name: &str) -> bool {
    let Some(mut record) = st.store.get(&key(), None, name).cloned() else {
        return false;
    };
    if record.object["metadata"].get("deletionTimestamp").is_some() {
        return false;
    }
    let now = meta::now();
    record.object["metadata"]["deletionTimestamp"] = Value::String(now.clone());
    record.object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    record.object["spec"] = json!({"finalizers": [FINALIZER]});
    record.object["status"] = json!({
        "phase": "Terminating",
        "conditions": [{
            "type": "NamespaceDeletionContentFailure", "status": "False",
            "reason": "ContentDeleted", "message": "All content successfully deleted, may be waiting on finalization",
            "lastTransitionTime": now,
        }],
    });
    let event = st.store.put(info, None, name, record, ChangeKind::Modified);
    st.emit(event);
    true
}

/// Whether any namespaced object is left in `ns`.
pub fn has_content(st: &State, ns: &str) -> bool {
    let kinds: Vec<ResKey> = st
        .registry
        .visible()
        .filter(|r| r.namespaced)
        .map(ResKey::of)
        .collect();
    kinds
        .iter()
        .any(|k| st.store.list(k, Some(ns)).next().is_some())
}

/// Whether the finalization step may remove `ns` now: it is terminating, empty, and its
/// finalization delay (if any) has passed.
pub fn ready_to_finalize(st: &State, ns: &str) -> bool {
    terminating(st, ns) && !st.namespaces_waiting.iter().any(|n| n == ns) && !has_content(st, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_reads_like_the_admission_plugin() {
        let (tx, _) = tokio::sync::broadcast::channel(4);
        let mut st = State::new(tx);
        let ns_info = st.registry.by_key(&key()).cloned().unwrap();
        let cm = st
            .registry
            .by_key(&ResKey {
                group: String::new(),
                plural: "configmaps".into(),
            })
            .cloned()
            .unwrap();
        let ns = crate::store::Record {
            object: json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}),
            managed: Vec::new(),
        };
        st.store.put(&ns_info, None, "gone", ns, ChangeKind::Added);
        assert!(refuse_new_content(&st, &cm, "gone", "x").is_ok());
        assert!(mark(&mut st, &ns_info, "gone"));
        assert!(!mark(&mut st, &ns_info, "gone"), "marked once");
        let err = refuse_new_content(&st, &cm, "gone", "x").unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "configmaps \"x\" is forbidden: unable to create new content in namespace gone because it is being terminated"
        );
        assert!(ready_to_finalize(&st, "gone"));
    }
}
