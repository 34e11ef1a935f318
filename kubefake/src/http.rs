//! The HTTP face of the server: parses requests, checks faults, dispatches to the verbs,
//! records write calls and builds responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::apierror::ApiError;
use crate::commit::{Target, WriteParams, Written};
use crate::faults::{RequestInfo, Verb};
use crate::observe::{WriteOutcome, WriteRecord, WriteVerb};
use crate::ops::{self, PatchKind};
use crate::route::{self, ResourcePath, Route};
use crate::selector::Selector;
use crate::shared::Shared;
use crate::{discovery, lifecycle, watch};

const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A parsed request.
struct Call {
    method: Method,
    route: Route,
    query: HashMap<String, String>,
    content_type: String,
    user_agent: String,
    body: Vec<u8>,
}

impl Call {
    fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    fn is_watch(&self) -> bool {
        matches!(self.q("watch"), Some("true" | "1"))
    }

    fn field_manager(&self) -> String {
        if let Some(m) = self.q("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        if self.patch_kind() == Some(PatchKind::Apply) {
            return String::new();
        }
        match self.user_agent.split('/').next().filter(|s| !s.is_empty()) {
            Some(prefix) => prefix.to_string(),
            None => "unknown".to_string(),
        }
    }

    fn patch_kind(&self) -> Option<PatchKind> {
        if self.method != Method::PATCH {
            return None;
        }
        let ct = self.content_type.split(';').next().unwrap_or("").trim();
        Some(match ct {
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchKind::Apply,
            "application/json-patch+json" => PatchKind::Json,
            "application/strategic-merge-patch+json" => PatchKind::Strategic,
            _ => PatchKind::Merge,
        })
    }

    fn dry_run(&self) -> bool {
        if self.q("dryRun") == Some("All") {
            return true;
        }
        self.method == Method::DELETE
            && serde_json::from_slice::<Value>(&self.body)
                .ok()
                .and_then(|b| b.get("dryRun").cloned())
                .and_then(|d| d.as_array().cloned())
                .is_some_and(|d| d.iter().any(|x| x == "All"))
    }

    fn verb(&self, has_name: bool) -> Verb {
        match (&self.method, self.patch_kind()) {
            (_, Some(PatchKind::Apply)) => Verb::Apply,
            (_, Some(_)) => Verb::Patch,
            (&Method::POST, _) => Verb::Create,
            (&Method::PUT, _) => Verb::Update,
            (&Method::DELETE, _) => Verb::Delete,
            _ if self.is_watch() => Verb::Watch,
            _ if has_name => Verb::Get,
            _ => Verb::List,
        }
    }

    fn body_name(&self) -> Option<String> {
        let v: Value = serde_json::from_slice(&self.body).ok()?;
        v.pointer("/metadata/name")?.as_str().map(str::to_string)
    }
}

fn write_verb(verb: Verb) -> Option<WriteVerb> {
    match verb {
        Verb::Create => Some(WriteVerb::Create),
        Verb::Update => Some(WriteVerb::Update),
        Verb::Patch => Some(WriteVerb::Patch),
        Verb::Apply => Some(WriteVerb::Apply),
        Verb::Delete => Some(WriteVerb::Delete),
        _ => None,
    }
}

/// Builds a JSON response.
pub fn json_response(code: u16, body: &Value, warnings: &[String]) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {}", Value::String(w.clone()))) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_status(), &[])
}

fn not_served() -> ApiError {
    ApiError::new(404, "the server could not find the requested resource")
}

/// The axum handler for every path.
pub async fn handle(AxumState(shared): AxumState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b.to_vec(),
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let call = Call {
        method: parts.method.clone(),
        route: route::parse(parts.uri.path()),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        content_type: header(header::CONTENT_TYPE),
        user_agent: header(header::USER_AGENT),
        body,
    };
    match &call.route {
        Route::Resource(path) => {
            let path = path.clone();
            resource_call(&shared, &call, &path).await
        }
        Route::Unknown => error_response(&not_served()),
        _ => discovery_call(&shared, &call).await,
    }
}

async fn apply_faults(shared: &Shared, info: &RequestInfo) -> Option<ApiError> {
    let decision = shared.state().faults.decide(info);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    decision.error
}

async fn discovery_call(shared: &Shared, call: &Call) -> Response {
    let info = RequestInfo {
        verb: Some(Verb::Discovery),
        ..RequestInfo::default()
    };
    if let Some(e) = apply_faults(shared, &info).await {
        return error_response(&e);
    }
    if call.method != Method::GET {
        return error_response(&ApiError::new(
            405,
            "the server does not allow this method on the requested resource",
        ));
    }
    let st = shared.state();
    let doc = match &call.route {
        Route::Version => Some(discovery::version()),
        Route::CoreVersions => Some(discovery::core_versions(&shared.addr.to_string())),
        Route::CoreResources(v) => discovery::resources(&st.registry, "", v),
        Route::Groups => Some(discovery::groups(&st.registry)),
        Route::Group(g) => discovery::group(&st.registry, g),
        Route::GroupResources(g, v) => discovery::resources(&st.registry, g, v),
        _ => None,
    };
    match doc {
        Some(doc) => json_response(200, &doc, &[]),
        None => error_response(&not_served()),
    }
}

async fn resource_call(shared: &Arc<Shared>, call: &Call, path: &ResourcePath) -> Response {
    let resolved = shared
        .state()
        .registry
        .by_plural(&path.group, &path.version, &path.plural)
        .cloned();
    let name = path.name.clone().or_else(|| {
        (call.method == Method::POST)
            .then(|| call.body_name())
            .flatten()
    });
    let verb = call.verb(path.name.is_some());
    let info = RequestInfo {
        verb: Some(verb),
        group: path.group.clone(),
        kind: resolved
            .as_ref()
            .map(|r| r.kind.clone())
            .unwrap_or_default(),
        plural: path.plural.clone(),
        namespace: path.namespace.clone(),
        name: name.clone(),
    };
    let mut record = write_verb(verb).map(|wv| WriteRecord {
        seq: 0,
        verb: wv,
        group: path.group.clone(),
        version: path.version.clone(),
        kind: info.kind.clone(),
        plural: path.plural.clone(),
        namespace: path.namespace.clone(),
        name: name.clone().unwrap_or_default(),
        subresource: path.subresource.clone(),
        dry_run: call.dry_run(),
        field_manager: call.q("fieldManager").map(str::to_string),
        force: call.q("force") == Some("true"),
        outcome: WriteOutcome::Unchanged,
        at: SystemTime::now(),
    });
    let result = match apply_faults(shared, &info).await {
        Some(e) => Err(e),
        None => match resolved {
            None => Err(not_served()),
            Some(res) => {
                let target = Target {
                    namespace: if res.namespaced {
                        path.namespace.clone()
                    } else {
                        None
                    },
                    info: res,
                    version: path.version.clone(),
                    name: path.name.clone(),
                    status: path.subresource.as_deref() == Some("status"),
                };
                dispatch(shared, call, path, target, verb).await
            }
        },
    };
    let response = match &result {
        Ok(Reply::Written(w)) => json_response(w.code, &w.object, &w.warnings),
        Ok(Reply::Read(v)) => json_response(200, v, &[]),
        Ok(Reply::Stream(_)) => Response::new(Body::empty()),
        Err(e) => error_response(e),
    };
    if let Some(rec) = record.as_mut() {
        rec.outcome = match &result {
            Ok(Reply::Written(w)) => w.outcome.clone(),
            Err(e) => WriteOutcome::Failed {
                code: e.code,
                reason: e.reason.clone(),
            },
            _ => WriteOutcome::Unchanged,
        };
        if let Ok(Reply::Written(w)) = &result {
            if let Some(n) = w.object.pointer("/metadata/name").and_then(Value::as_str) {
                if rec.verb == WriteVerb::Create {
                    rec.name = n.to_string();
                }
            }
        }
    }
    if let Some(mut rec) = record {
        let mut st = shared.state();
        rec.seq = st.writes.len() as u64 + 1;
        st.writes.push(rec);
    }
    lifecycle::schedule_pending_crds(shared);
    lifecycle::schedule_pending_namespaces(shared);
    match result {
        Ok(Reply::Stream(resp)) => resp,
        _ => response,
    }
}

enum Reply {
    Written(Written),
    Read(Value),
    Stream(Response),
}

async fn dispatch(
    shared: &Arc<Shared>,
    call: &Call,
    path: &ResourcePath,
    t: Target,
    verb: Verb,
) -> Result<Reply, ApiError> {
    if t.info.namespaced && t.namespace.is_none() && t.name.is_some() {
        return Err(not_served());
    }
    if let Some(sub) = path.subresource.as_deref().filter(|s| *s != "status") {
        return Err(ApiError::new(
            404,
            format!("the server could not find the requested resource ({sub})"),
        ));
    }
    let needs_name = matches!(
        verb,
        Verb::Update | Verb::Patch | Verb::Apply | Verb::Delete
    );
    if (needs_name && t.name.is_none()) || (verb == Verb::Create && t.name.is_some()) {
        return Err(ApiError::new(
            405,
            "the server does not allow this method on the requested resource",
        ));
    }
    let params = WriteParams {
        dry_run: call.dry_run(),
        field_manager: call.field_manager(),
        force: call.q("force") == Some("true"),
        strict: call.q("fieldValidation") == Some("Strict"),
    };
    let parse_body = || -> Result<Value, ApiError> {
        serde_json::from_slice(&call.body)
            .or_else(|_| serde_yaml::from_slice(&call.body))
            .map_err(|e| ApiError::bad_request(format!("error decoding the request body: {e}")))
    };
    let selectors = || -> Result<(Selector, Selector), ApiError> {
        Ok((
            Selector::parse(call.q("labelSelector").unwrap_or(""))?,
            Selector::parse(call.q("fieldSelector").unwrap_or(""))?,
        ))
    };
    match verb {
        Verb::Get => ops::get(&shared.state(), &t).map(Reply::Read),
        Verb::List => {
            let (labels, fields) = selectors()?;
            Ok(Reply::Read(ops::list(
                &shared.state(),
                &t,
                &labels,
                &fields,
            )))
        }
        Verb::Watch => {
            let (labels, fields) = selectors()?;
            let timeout = call
                .q("timeoutSeconds")
                .and_then(|s| s.parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::from_secs(1800));
            let rv = call.q("resourceVersion").map(str::to_string);
            Ok(Reply::Stream(watch::start(
                shared, t, rv, labels, fields, timeout,
            )))
        }
        Verb::Create => {
            let body = parse_body()?;
            ops::create(&mut shared.state(), &t, body, &params).map(Reply::Written)
        }
        Verb::Update => {
            let body = parse_body()?;
            ops::replace(&mut shared.state(), &t, body, &params).map(Reply::Written)
        }
        Verb::Patch | Verb::Apply => {
            let kind = call.patch_kind().unwrap_or(PatchKind::Merge);
            ops::patch(&mut shared.state(), &t, kind, &call.body, &params).map(Reply::Written)
        }
        Verb::Delete => ops::delete(&mut shared.state(), &t, params.dry_run).map(Reply::Written),
        Verb::Discovery => Err(not_served()),
    }
}
