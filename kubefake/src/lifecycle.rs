//! Side effects of writes: CRD establishment and removal, namespace and CRD cascades,
//! finalizer-driven deletion.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::crd;
use crate::meta;
use crate::namespaces;
use crate::observe::ChangeKind;
use crate::resources::{ResKey, ResourceInfo};
use crate::shared::Shared;
use crate::ssa::{self, Actor};
use crate::state::State;
use crate::store::Record;

/// Group of CustomResourceDefinitions.
pub const CRD_GROUP: &str = "apiextensions.k8s.io";

/// Whether `info` is the CustomResourceDefinition kind.
pub fn is_crd(info: &ResourceInfo) -> bool {
    info.group == CRD_GROUP && info.plural == "customresourcedefinitions"
}

fn crd_info(st: &State) -> ResourceInfo {
    st.registry
        .by_key(&ResKey {
            group: CRD_GROUP.into(),
            plural: "customresourcedefinitions".into(),
        })
        .cloned()
        .expect("CRD kind is built in")
}

/// Called after a CRD object was stored: establish now, or queue it when a delay is set.
pub fn crd_written(st: &mut State, name: &str) {
    if st.options.crd_establish_delay == Duration::ZERO {
        establish(st, name);
    } else if !st.pending_crds.iter().any(|n| n == name) {
        st.pending_crds.push(name.to_string());
    }
}

/// Establishes queued CRDs after the configured delay, in tokio tasks (immediately when
/// no runtime is running).
pub fn schedule_pending_crds(shared: &Arc<Shared>) {
    let (pending, delay) = {
        let mut st = shared.state();
        (
            std::mem::take(&mut st.pending_crds),
            st.options.crd_establish_delay,
        )
    };
    for name in pending {
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let shared = Arc::clone(shared);
                rt.spawn(async move {
                    tokio::time::sleep(delay).await;
                    establish(&mut shared.state(), &name);
                });
            }
            Err(_) => establish(&mut shared.state(), &name),
        }
    }
}

/// Serves the kind a stored CRD declares and marks the CRD Established (as the API
/// server's own controller would, with manager `kube-apiserver`).
pub fn establish(st: &mut State, name: &str) {
    st.pending_crds.retain(|n| n != name);
    let crd_kind = crd_info(st);
    let key = ResKey::of(&crd_kind);
    let Some(record) = st.store.get(&key, None, name).cloned() else {
        return;
    };
    let Ok(info) = crd::resource_info(&record.object) else {
        return;
    };
    let now = meta::now();
    let status = crd::established_status(&record.object, &info, &now);
    st.registry.upsert(info);
    if record.object.get("status") == Some(&status)
        || conditions_without_time(record.object.get("status"))
            == conditions_without_time(Some(&status))
    {
        return;
    }
    let mut object = record.object.clone();
    object["status"] = status;
    let api_version = crd_kind.api_version("v1");
    let actor = Actor {
        manager: "kube-apiserver",
        subresource: "status",
        api_version: &api_version,
        now: &now,
    };
    let managed = ssa::update(Some(&record.object), &object, &record.managed, None, &actor);
    let event = st.store.put(
        &crd_kind,
        None,
        name,
        Record { object, managed },
        ChangeKind::Modified,
    );
    st.emit(event);
}

fn conditions_without_time(status: Option<&Value>) -> Option<Value> {
    let mut s = status?.clone();
    for c in s.get_mut("conditions")?.as_array_mut()? {
        c.as_object_mut()?.remove("lastTransitionTime");
    }
    Some(s)
}

/// Removes an object for good, with cascades: a Namespace takes its objects along, a CRD
/// takes its custom resources and its served kind.
pub fn remove(st: &mut State, info: &ResourceInfo, ns: Option<&str>, name: &str) {
    if let Some(event) = st.store.remove(info, ns, name) {
        st.emit(event);
    }
    if let Some(ns) = ns {
        finalize_namespace_if_ready(st, ns);
    }
    if info.group.is_empty() && info.plural == "namespaces" {
        let kinds: Vec<ResourceInfo> = st
            .registry
            .visible()
            .filter(|r| r.namespaced)
            .cloned()
            .collect();
        for kind in kinds {
            remove_all(st, &kind, Some(name));
        }
    } else if is_crd(info) {
        let served = name.split_once('.').and_then(|(plural, group)| {
            st.registry
                .by_key(&ResKey {
                    group: group.to_string(),
                    plural: plural.to_string(),
                })
                .cloned()
        });
        if let Some(kind) = served {
            remove_all(st, &kind, None);
            st.registry.remove(&kind.group, &kind.plural);
        }
    }
}

fn remove_all(st: &mut State, kind: &ResourceInfo, ns: Option<&str>) {
    let key = ResKey::of(kind);
    let names: Vec<(Option<String>, String)> = st
        .store
        .list(&key, ns)
        .map(|r| {
            (
                meta::meta_str(&r.object, "namespace").map(str::to_string),
                meta::meta_str(&r.object, "name")
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for (ns, name) in names {
        if let Some(event) = st.store.remove(kind, ns.as_deref(), &name) {
            st.emit(event);
        }
    }
}

/// DELETE of a Namespace: marks it Terminating, deletes its content (objects with
/// finalizers are only marked, as an API delete does), and removes it once empty unless a
/// finalization delay is set. Returns the Terminating Namespace as the API answers it.
pub fn terminate_namespace(st: &mut State, info: &ResourceInfo, name: &str) -> Option<Value> {
    let newly = namespaces::mark(st, info, name);
    let marked = st.store.get(&ResKey::of(info), None, name)?.render("v1");
    if !newly {
        return Some(marked);
    }
    let kinds: Vec<ResourceInfo> = st
        .registry
        .visible()
        .filter(|r| r.namespaced)
        .cloned()
        .collect();
    for kind in kinds {
        delete_content(st, &kind, name);
    }
    if st.options.namespace_finalize_delay > Duration::ZERO {
        st.namespaces_waiting.push(name.to_string());
        st.pending_namespaces.push(name.to_string());
    }
    finalize_namespace_if_ready(st, name);
    Some(marked)
}

/// The namespace controller's content deletion: objects without finalizers go, the others
/// get a deletionTimestamp and go when their finalizers are removed.
fn delete_content(st: &mut State, kind: &ResourceInfo, ns: &str) {
    let key = ResKey::of(kind);
    let objects: Vec<(String, Record)> = st
        .store
        .list(&key, Some(ns))
        .map(|r| {
            (
                meta::meta_str(&r.object, "name")
                    .unwrap_or_default()
                    .to_string(),
                r.clone(),
            )
        })
        .collect();
    for (name, mut record) in objects {
        let finalizers = record.object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if !finalizers {
            if let Some(event) = st.store.remove(kind, Some(ns), &name) {
                st.emit(event);
            }
        } else if record.object["metadata"].get("deletionTimestamp").is_none() {
            record.object["metadata"]["deletionTimestamp"] = Value::String(meta::now());
            record.object["metadata"]["deletionGracePeriodSeconds"] = serde_json::json!(0);
            let event = st
                .store
                .put(kind, Some(ns), &name, record, ChangeKind::Modified);
            st.emit(event);
        }
    }
}

/// The finalization step: removes a terminating namespace that is empty and not waiting.
pub fn finalize_namespace_if_ready(st: &mut State, ns: &str) {
    if !namespaces::ready_to_finalize(st, ns) {
        return;
    }
    let info = st
        .registry
        .by_key(&ResKey {
            group: String::new(),
            plural: "namespaces".into(),
        })
        .cloned();
    if let Some(info) = info {
        if let Some(event) = st.store.remove(&info, None, ns) {
            st.emit(event);
        }
    }
}

/// Runs the finalization step of terminating namespaces after the configured delay, in
/// tokio tasks (immediately when no runtime is running).
pub fn schedule_pending_namespaces(shared: &Arc<Shared>) {
    let (pending, delay) = {
        let mut st = shared.state();
        (
            std::mem::take(&mut st.pending_namespaces),
            st.options.namespace_finalize_delay,
        )
    };
    for name in pending {
        let finish = move |st: &mut State| {
            st.namespaces_waiting.retain(|n| *n != name);
            finalize_namespace_if_ready(st, &name);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let shared = Arc::clone(shared);
                rt.spawn(async move {
                    tokio::time::sleep(delay).await;
                    finish(&mut shared.state());
                });
            }
            Err(_) => finish(&mut shared.state()),
        }
    }
}
