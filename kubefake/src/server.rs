//! Starting and stopping the server, and the programmatic API tests use next to HTTP.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::Router;
use kube::core::GroupVersionKind;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::apierror::ApiError;
use crate::commit::{commit, Ownership, Target, WriteParams};
use crate::error::Error;
use crate::faults::Fault;
use crate::observe::{ChangeEvent, WriteRecord};
use crate::resources::{ResKey, ResourceInfo};
use crate::shared::Shared;
use crate::state::State;
use crate::{crd, http, lifecycle, ops};

/// Field manager used by the programmatic API.
pub const FIXTURE_MANAGER: &str = "kubefake";

/// A running fake API server on `127.0.0.1:<random port>`. Dropping it stops the server.
///
/// Dereferences to [`ServerHandle`], which carries the whole programmatic API and can be
/// cloned into tasks (for example a fake operator).
#[derive(Debug)]
pub struct FakeApiServer {
    handle: ServerHandle,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// A cheap, cloneable handle to a running server's state.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl FakeApiServer {
    /// Binds `127.0.0.1:0` and serves in a tokio task. Must be called inside a tokio runtime.
    pub async fn start() -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let (stop, stop_rx) = watch::channel(false);
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared::new(State::new(events), addr, stop_rx.clone()));
        let handle = ServerHandle {
            shared: Arc::clone(&shared),
        };
        for ns in ["default", "kube-system", "kube-public"] {
            handle.ensure_namespace(ns);
        }
        let app = Router::new().fallback(http::handle).with_state(shared);
        let mut stop_signal = stop_rx;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_signal.wait_for(|stop| *stop).await;
                })
                .await;
        });
        Ok(FakeApiServer {
            handle,
            stop,
            task: Some(task),
        })
    }

    /// A cloneable handle to this server.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Stops accepting requests, ends watches and waits (up to 5 s) for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Deref for FakeApiServer {
    type Target = ServerHandle;

    fn deref(&self) -> &ServerHandle {
        &self.handle
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl ServerHandle {
    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// A `kube::Config` pointing at this server (`Config::new(url)`; kube's default retry
    /// of 429/503/504 stays on, as in production; set `default_retry = false` to see them).
    pub fn config(&self) -> kube::Config {
        let url = self.url().parse().expect("a loopback URL is a valid URI");
        kube::Config::new(url)
    }

    /// A `kube::Client` built with `Client::try_from(self.config())`.
    pub fn try_client(&self) -> Result<kube::Client, Error> {
        kube::Client::try_from(self.config()).map_err(|source| Error::Client {
            url: self.url(),
            source: Box::new(source),
        })
    }

    /// Like [`ServerHandle::try_client`].
    ///
    /// # Panics
    /// If kube cannot build a client for a plain-HTTP loopback URL (it always can).
    pub fn client(&self) -> kube::Client {
        self.try_client()
            .expect("kube client for the fake API server")
    }

    /// Serves the kinds of the CustomResourceDefinitions in `yaml` (one or more documents,
    /// JSON works too) and stores them as Established CRD objects.
    pub fn register_crd(&self, yaml: &str) -> Result<Vec<ResourceInfo>, Error> {
        let docs = crd::parse_documents(yaml).map_err(|source| Error::Yaml {
            path: "<register_crd>".into(),
            source,
        })?;
        docs.into_iter()
            .map(|d| self.register_crd_value(d))
            .collect()
    }

    /// Like [`ServerHandle::register_crd`] for one parsed CRD.
    pub fn register_crd_value(&self, crd_doc: Value) -> Result<ResourceInfo, Error> {
        let info = crd::resource_info(&crd_doc)?;
        let name = crd_doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.{}", info.plural, info.group));
        let mut st = self.state();
        let t = target_for(
            &st,
            lifecycle::CRD_GROUP,
            "v1",
            "CustomResourceDefinition",
            None,
            &name,
        )?;
        let old = st.store.get(&ResKey::of(&t.info), None, &name).cloned();
        commit(
            &mut st,
            &t,
            old.as_ref(),
            crd_doc,
            Ownership::Update,
            &fixture_params(),
        )?;
        lifecycle::establish(&mut st, &name);
        Ok(info)
    }

    /// Registers every CRD found in YAML files under `dir` (recursively).
    pub fn load_crds_from_dir(&self, dir: impl AsRef<Path>) -> Result<Vec<ResourceInfo>, Error> {
        crd::load_dir(dir.as_ref())?
            .into_iter()
            .map(|d| self.register_crd_value(d))
            .collect()
    }

    /// Serves an extra kind without a CRD object (e.g. another built-in).
    pub fn register_resource(&self, info: ResourceInfo) {
        self.state().registry.upsert(info);
    }

    /// Delay before a CRD created through the API becomes Established and served (default 0).
    pub fn set_crd_establish_delay(&self, delay: Duration) {
        self.state().options.crd_establish_delay = delay;
    }

    /// How long a deleted Namespace stays Terminating at least (default 0: it goes as soon
    /// as its content is gone; objects with finalizers keep it Terminating until removed).
    pub fn set_namespace_finalize_delay(&self, delay: Duration) {
        self.state().options.namespace_finalize_delay = delay;
    }

    /// The CEL validation rules (`x-kubernetes-validations`) writes met that kubefake could
    /// not parse or evaluate, as `kubefake did not evaluate the validation rule <path>:
    /// <rule>: <why>` (each once). They were not taken as passing or failing; each write that
    /// met one also got it as a `Warning`.
    pub fn unevaluated_rules(&self) -> Vec<String> {
        self.state().unevaluated_rules.clone()
    }

    /// Whether namespaced creates need an existing Namespace (default true, as on a real server).
    pub fn set_require_namespaces(&self, require: bool) {
        self.state().options.require_namespaces = require;
    }

    /// Makes a kind (by group and kind or plural) disappear from discovery and answer 404,
    /// as if its CRD were not installed; `false` brings it back. Stored objects are kept.
    pub fn set_missing(&self, group: &str, kind: &str, missing: bool) {
        self.state().registry.set_missing(group, kind, missing);
    }

    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.add(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Every write call received over HTTP, in order, including dry runs, no-ops and failures.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.state().writes.clone()
    }

    /// The write calls that changed stored state (see [`WriteRecord::is_mutation`]).
    pub fn mutations(&self) -> Vec<WriteRecord> {
        self.state()
            .writes
            .iter()
            .filter(|w| w.is_mutation())
            .cloned()
            .collect()
    }

    /// Forgets the recorded write calls.
    pub fn clear_writes(&self) {
        self.state().writes.clear();
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state().store.resource_version()
    }

    /// One object as the API would return it, or `None`.
    pub fn get(
        &self,
        gvk: &GroupVersionKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let st = self.state();
        let t = target_for(&st, &gvk.group, &gvk.version, &gvk.kind, namespace, name).ok()?;
        ops::get(&st, &t).ok()
    }

    /// Objects of a kind in one namespace, or in all with `None`.
    pub fn list(&self, gvk: &GroupVersionKind, namespace: Option<&str>) -> Vec<Value> {
        let st = self.state();
        let Ok(t) = target_for(&st, &gvk.group, &gvk.version, &gvk.kind, namespace, "") else {
            return Vec::new();
        };
        let none = crate::selector::Selector::default();
        let list = ops::list(&st, &t, &none, &none);
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Every stored object (storage version), ordered by kind, namespace and name.
    pub fn objects_snapshot(&self) -> Vec<Value> {
        let st = self.state();
        st.store
            .all()
            .filter_map(|(key, rec)| {
                let info = st.registry.by_key(key)?;
                Some(rec.render(&info.api_version(&info.storage_version().name)))
            })
            .collect()
    }

    /// Creates the Namespace if it does not exist.
    pub fn ensure_namespace(&self, name: &str) {
        let gvk = GroupVersionKind::gvk("", "v1", "Namespace");
        if self.get(&gvk, None, name).is_none() {
            let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            self.put_object(ns).expect("a valid namespace");
        }
    }

    /// Creates or replaces an object as a fixture (manager `kubefake`), bypassing faults
    /// and the write log. A `status` in `object` is written through the status subresource.
    pub fn put_object(&self, object: Value) -> Result<Value, Error> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ns = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        let status = object.get("status").cloned();
        let written = {
            let mut st = self.state();
            let t = target_for(&st, &group, &version, &kind, ns.as_deref(), &name)?;
            let mut body = object;
            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            match st.store.get(&ResKey::of(&t.info), t.ns(), &name).cloned() {
                Some(old) => commit(
                    &mut st,
                    &t,
                    Some(&old),
                    body,
                    Ownership::Update,
                    &fixture_params(),
                )?,
                None => {
                    let collection = Target { name: None, ..t };
                    ops::create(&mut st, &collection, body, &fixture_params())?
                }
            }
        };
        lifecycle::schedule_pending_crds(&self.shared);
        match status {
            Some(s) if !s.is_null() => self.set_status(
                &GroupVersionKind::gvk(&group, &version, &kind),
                ns.as_deref(),
                &name,
                s,
            ),
            _ => Ok(written.object),
        }
    }

    /// Deletes an object as a fixture (finalizers are honoured like an API delete).
    pub fn delete_object(
        &self,
        gvk: &GroupVersionKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), Error> {
        {
            let mut st = self.state();
            let t = target_for(&st, &gvk.group, &gvk.version, &gvk.kind, namespace, name)?;
            ops::delete(&mut st, &t, false)?;
        }
        lifecycle::schedule_pending_namespaces(&self.shared);
        Ok(())
    }

    /// Replaces `.status` of an object (manager `kubefake`, status subresource), as an
    /// operator would. Returns the updated object.
    pub fn set_status(
        &self,
        gvk: &GroupVersionKind,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Result<Value, Error> {
        let mut st = self.state();
        let mut t = target_for(&st, &gvk.group, &gvk.version, &gvk.kind, namespace, name)?;
        t.status = t.has_status();
        let old = st
            .store
            .get(&ResKey::of(&t.info), t.ns(), name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&t.info.group, &t.info.plural, name))?;
        let mut body = old.object.clone();
        body["status"] = status;
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        Ok(commit(
            &mut st,
            &t,
            Some(&old),
            body,
            Ownership::Update,
            &fixture_params(),
        )?
        .object)
    }

    /// A receiver of every change to stored objects (API calls and fixtures alike).
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.state().events.subscribe()
    }

    /// Runs `callback` in a tokio task for every change, e.g. a fake operator moving
    /// `status.phase`. The callback gets a handle, so it may write (the lock is not held).
    /// Abort the returned task to stop it.
    pub fn on_change<F>(&self, mut callback: F) -> JoinHandle<()>
    where
        F: FnMut(&ServerHandle, &ChangeEvent) + Send + 'static,
    {
        let mut rx = self.subscribe();
        let handle = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => callback(&handle, &ev),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }
}

fn fixture_params() -> WriteParams {
    WriteParams {
        field_manager: FIXTURE_MANAGER.to_string(),
        ..WriteParams::default()
    }
}

fn target_for(
    st: &State,
    group: &str,
    version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Target, ApiError> {
    let info = st
        .registry
        .by_kind(group, kind)
        .filter(|i| i.version(version).is_some())
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                404,
                format!("no matches for kind \"{kind}\" in version \"{group}/{version}\""),
            )
        })?;
    Ok(Target {
        namespace: if info.namespaced {
            namespace.map(str::to_string)
        } else {
            None
        },
        info,
        version: version.to_string(),
        name: (!name.is_empty()).then(|| name.to_string()),
        status: false,
    })
}
