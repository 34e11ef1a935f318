//! The edge to the Kubernetes API: resolving kinds, reading, applying and deleting dynamic
//! objects with `kube::Client`. Retries what retrying helps (5xx, 429, timeouts, connection
//! errors); everything else is returned for the caller to report per object.

use std::collections::HashMap;
use std::time::Duration;

use hubdr_core::object::ObjectId;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, ApiCapabilities, ApiResource, Scope};
use kube::Client;
use serde_json::Value;

pub const FIELD_MANAGER: &str = "hubdr";

/// Why a call failed, sorted into what the agent does about it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The kind is not served (its CRD is not installed yet).
    #[error("{0} is not served by the API server (is its CRD installed?)")]
    KindMissing(String),
    /// 404, with the server's message (e.g. the object's namespace does not exist).
    #[error("not found: {0}")]
    NotFound(String),
    /// 409 from server-side apply: another field manager owns fields we set.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 422 / 400: the server refuses the object (validation, immutable field).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The server's apply engine cannot convert the object to its schema (a field the
    /// installed schema does not declare, a wrong type, a list item without its key or with
    /// a duplicate key). kube-apiserver answers 500, but retrying never helps.
    #[error("rejected by the schema: {0}")]
    SchemaRejected(String),
    /// Still failing after retries (5xx, 429, timeouts, connection errors).
    #[error("{0} (gave up after {1} attempts)")]
    Unavailable(String, u32),
    #[error("{0}")]
    Other(String),
    /// 403: refused by authorization or admission, e.g. new content in a namespace that is
    /// being deleted (Terminating). Retrying at once never helps.
    #[error("forbidden: {0}")]
    Forbidden(String),
}

impl CallError {
    /// Whether a 403 says the object's namespace is Terminating (the NamespaceLifecycle
    /// admission plugin): it goes away once the namespace is gone.
    pub fn is_namespace_terminating(&self) -> bool {
        matches!(self, CallError::Forbidden(m) if m.contains("because it is being terminated"))
    }
}

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(200),
        }
    }
}

/// One cluster's API, with a per-pass cache of resolved kinds.
pub struct ClusterApi {
    client: Client,
    retry: Retry,
    kinds: HashMap<(String, String), Option<(ApiResource, ApiCapabilities)>>,
    /// `scheme://host:port` of the API server, named when it cannot be reached.
    server: Option<String>,
}

impl ClusterApi {
    pub fn new(client: Client, retry: Retry) -> Self {
        Self {
            client,
            retry,
            kinds: HashMap::new(),
            server: None,
        }
    }

    /// Name `server` (`scheme://host:port`, see [`crate::api_server`]) in the errors of calls
    /// that cannot reach it.
    pub fn with_server(mut self, server: String) -> Self {
        self.server = Some(server);
        self
    }

    /// [`with_retry`], naming the API server when it could not be reached.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        with_retry(self.retry, call)
            .await
            .map_err(|e| name_server(e, self.server.as_deref()))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Forget resolved kinds, so CRDs installed since are seen (called at the start of each pass).
    pub fn forget_kinds(&mut self) {
        self.kinds.clear();
    }

    /// Resolve `apiVersion` + `kind` through discovery (cached; `None` when not served).
    pub async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(ApiResource, ApiCapabilities)>, CallError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let client = self.client.clone();
        let found = match self.call(|| discovery::pinned_kind(&client, &gvk)).await {
            Ok(found) => Some(found),
            Err(CallError::NotFound(_)) => None,
            Err(CallError::Other(message))
                if message.contains("MissingKind") || message.contains("missing kind") =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        self.kinds.insert(key, found.clone());
        Ok(found)
    }

    async fn api(&mut self, id: &ObjectId) -> Result<Api<DynamicObject>, CallError> {
        let (resource, caps) = self
            .resolve(&id.api_version, &id.kind)
            .await?
            .ok_or_else(|| CallError::KindMissing(format!("{} {}", id.api_version, id.kind)))?;
        Ok(match (&caps.scope, &id.namespace) {
            (Scope::Namespaced, Some(ns)) => {
                Api::namespaced_with(self.client.clone(), ns, &resource)
            }
            _ => Api::all_with(self.client.clone(), &resource),
        })
    }

    pub async fn get(&mut self, id: &ObjectId) -> Result<Option<DynamicObject>, CallError> {
        let api = self.api(id).await?;
        match self.call(|| api.get(&id.name)).await {
            Ok(object) => Ok(Some(object)),
            Err(CallError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<DynamicObject>, CallError> {
        let Some((resource, _)) = self.resolve(api_version, kind).await? else {
            return Ok(Vec::new());
        };
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let mut params = kube::api::ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        Ok(self.call(|| api.list(&params)).await?.items)
    }

    /// Server-side apply `object` as field manager `hubdr`.
    pub async fn apply(
        &mut self,
        id: &ObjectId,
        object: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<DynamicObject, CallError> {
        let api = self.api(id).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        if dry_run {
            params = params.dry_run();
        }
        let patch = Patch::Apply(object);
        self.call(|| api.patch(&id.name, &params, &patch)).await
    }

    /// Server-side apply `object` as field manager `manager`: fields hubdr sets on objects it
    /// does not own (the fence's annotations and scale), kept apart from `hubdr`'s so that they
    /// can be released later (an apply of less as the same manager) without touching the
    /// fields others own.
    pub async fn apply_as(
        &mut self,
        id: &ObjectId,
        object: &Value,
        manager: &str,
        force: bool,
    ) -> Result<DynamicObject, CallError> {
        let api = self.api(id).await?;
        let mut params = PatchParams::apply(manager);
        if force {
            params = params.force();
        }
        let patch = Patch::Apply(object);
        self.call(|| api.patch(&id.name, &params, &patch)).await
    }

    /// Create `object`; `Ok(None)` when an object of that name already exists.
    pub async fn create(
        &mut self,
        id: &ObjectId,
        object: &Value,
    ) -> Result<Option<DynamicObject>, CallError> {
        let api = self.api(id).await?;
        let object: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| CallError::Other(e.to_string()))?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        match self.call(|| api.create(&params, &object)).await {
            Ok(created) => Ok(Some(created)),
            Err(CallError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Delete; `Ok(false)` when it was already gone.
    pub async fn delete(&mut self, id: &ObjectId) -> Result<bool, CallError> {
        let api = match self.api(id).await {
            Ok(api) => api,
            // The kind is gone altogether, so the object is too.
            Err(CallError::KindMissing(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let params = DeleteParams::background();
        match self.call(|| api.delete(&id.name, &params)).await {
            Ok(_) => Ok(true),
            Err(CallError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Set some keys of a ConfigMap's data as field manager `manager` (server-side apply,
    /// creating the ConfigMap when needed), only when one of them differs. `None` removes
    /// a key this manager set before; keys of other managers are left alone.
    pub async fn put_config_map(
        &mut self,
        namespace: &str,
        name: &str,
        manager: &str,
        data: &std::collections::BTreeMap<String, Option<String>>,
    ) -> Result<bool, CallError> {
        let id = ObjectId {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        };
        let current = self.get(&id).await?;
        let current_data = current
            .as_ref()
            .and_then(|c| c.data.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        let same = data.iter().all(|(key, wanted)| {
            current_data.get(key).and_then(Value::as_str) == wanted.as_deref()
        });
        if same && (current.is_some() || data.values().all(Option::is_none)) {
            return Ok(false);
        }
        let wanted: serde_json::Map<String, Value> = data
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), Value::String(v.clone()?))))
            .collect();
        let object = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "hubdr-agent"}},
            "data": wanted,
        });
        let api = self.api(&id).await?;
        let params = PatchParams::apply(manager).force();
        let patch = Patch::Apply(&object);
        self.call(|| api.patch(name, &params, &patch)).await?;
        Ok(true)
    }
}

/// Run `call`, retrying transient failures with exponential backoff.
pub async fn with_retry<T, F, Fut>(retry: Retry, mut call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = retry.first_delay;
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let classified = classify(&error);
                let transient = matches!(classified, CallError::Unavailable(..));
                if !transient || attempt >= retry.attempts {
                    return Err(match classified {
                        CallError::Unavailable(message, _) => {
                            CallError::Unavailable(message, attempt)
                        }
                        other => other,
                    });
                }
                tracing::debug!(%error, attempt, "transient API error, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

/// A transport failure (no HTTP status: connection refused, DNS, TLS, timeout) names the
/// server it could not reach; an answer of the server (5xx, 429) needs no name.
fn name_server(error: CallError, server: Option<&str>) -> CallError {
    match (error, server) {
        (CallError::Unavailable(message, attempts), Some(server))
            if !message.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            CallError::Unavailable(
                format!("cannot reach the API server {server}: {message}"),
                attempts,
            )
        }
        (error, _) => error,
    }
}

/// Whether a 500's message is one of structured-merge-diff's typed-conversion errors.
fn is_schema_rejection(message: &str) -> bool {
    [
        "failed to create typed patch object",
        "failed to create typed live object",
        "field not declared in schema",
        "duplicate entries for key",
        "omits key field",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// Sort a kube error into what the agent does about it.
pub fn classify(error: &kube::Error) -> CallError {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match status.code {
                403 => CallError::Forbidden(message),
                404 => CallError::NotFound(message),
                409 => CallError::Conflict(message),
                400 | 422 => CallError::Invalid(message),
                500 if is_schema_rejection(&message) => CallError::SchemaRejected(message),
                429 | 500..=599 => {
                    CallError::Unavailable(format!("{} {}", status.code, message), 0)
                }
                _ => CallError::Other(format!("{} {}", status.code, message)),
            }
        }
        kube::Error::Discovery(e) => CallError::Other(format!("discovery: {e:?}")),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => {
            CallError::Unavailable(error.to_string(), 0)
        }
        other => CallError::Other(other.to_string()),
    }
}
