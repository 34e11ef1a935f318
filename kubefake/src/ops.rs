//! The API verbs on top of the store: get, list, create, replace, patch, apply, delete.

use serde_json::{json, Value};

use crate::apierror::ApiError;
use crate::commit::{commit, prune, Ownership, Target, WriteParams, Written};
use crate::lifecycle;
use crate::meta;
use crate::namespaces;
use crate::observe::{ChangeKind, WriteOutcome};
use crate::resources::ResKey;
use crate::selector::Selector;
use crate::ssa::{self, Actor};
use crate::state::State;
use crate::store::Record;

/// The patch formats the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json` (built-ins only; treated as a merge patch).
    Strategic,
    /// `application/apply-patch+yaml`.
    Apply,
}

fn name_of(t: &Target) -> &str {
    t.name.as_deref().unwrap_or_default()
}

fn existing<'a>(st: &'a State, t: &Target) -> Result<&'a Record, ApiError> {
    st.store
        .get(&ResKey::of(&t.info), t.ns(), name_of(t))
        .ok_or_else(|| ApiError::not_found(&t.info.group, &t.info.plural, name_of(t)))
}

fn check_namespace(st: &State, t: &Target) -> Result<(), ApiError> {
    let Some(ns) = t.ns() else { return Ok(()) };
    if !st.options.require_namespaces {
        return Ok(());
    }
    let key = ResKey {
        group: String::new(),
        plural: "namespaces".into(),
    };
    if st.store.get(&key, None, ns).is_none() {
        return Err(ApiError::not_found("", "namespaces", ns));
    }
    namespaces::refuse_new_content(st, &t.info, ns, name_of(t))
}

/// Checks that the body names the same object as the URL.
fn check_identity(t: &Target, body: &Value, need_type: bool) -> Result<(), ApiError> {
    let api_version = body.get("apiVersion").and_then(Value::as_str);
    let kind = body.get("kind").and_then(Value::as_str);
    if need_type && (api_version.is_none() || kind.is_none()) {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in the applied object",
        ));
    }
    if let Some(av) = api_version.filter(|av| *av != t.api_version()) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            t.api_version()
        )));
    }
    if let Some(k) = kind.filter(|k| *k != t.info.kind) {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            t.info.kind
        )));
    }
    if let (Some(body_name), Some(url_name)) = (meta::meta_str(body, "name"), t.name.as_deref()) {
        if body_name != url_name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
            )));
        }
    }
    if let (Some(body_ns), Some(url_ns)) = (meta::meta_str(body, "namespace"), t.ns()) {
        if body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

/// GET one object.
pub fn get(st: &State, t: &Target) -> Result<Value, ApiError> {
    let rec = existing(st, t)?;
    if t.status && !t.has_status() {
        return Err(ApiError::not_found(
            &t.info.group,
            &t.info.plural,
            name_of(t),
        ));
    }
    Ok(rec.render(&t.api_version()))
}

/// GET a collection, filtered by label and field selectors.
pub fn list(st: &State, t: &Target, labels: &Selector, fields: &Selector) -> Value {
    let key = ResKey::of(&t.info);
    let items: Vec<Value> = st
        .store
        .list(&key, t.ns())
        .map(|r| r.render(&t.api_version()))
        .filter(|o| labels.matches_labels(o) && fields.matches_fields(o))
        .collect();
    json!({
        "kind": format!("{}List", t.info.kind),
        "apiVersion": t.api_version(),
        "metadata": {"resourceVersion": st.store.resource_version().to_string()},
        "items": items,
    })
}

/// POST: create a new object.
pub fn create(
    st: &mut State,
    t: &Target,
    mut body: Value,
    p: &WriteParams,
) -> Result<Written, ApiError> {
    if t.status {
        return Err(ApiError::new(
            405,
            "create is not allowed on the status subresource",
        ));
    }
    check_identity(t, &body, false)?;
    let name = match meta::meta_str(&body, "name").filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => match meta::meta_str(&body, "generateName").filter(|n| !n.is_empty()) {
            Some(prefix) => meta::generate_name(prefix),
            None => {
                return Err(ApiError::invalid(
                    &t.info.kind,
                    &t.info.group,
                    "",
                    vec![crate::apierror::Cause::new(
                        "FieldValueRequired",
                        "Required value: name or generateName is required",
                        "metadata.name",
                    )],
                ))
            }
        },
    };
    let t = Target {
        name: Some(name.clone()),
        ..t.clone()
    };
    if st.store.get(&ResKey::of(&t.info), t.ns(), &name).is_some() {
        return Err(ApiError::already_exists(
            &t.info.group,
            &t.info.plural,
            &name,
        ));
    }
    check_namespace(st, &t)?;
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    commit(st, &t, None, body, Ownership::Update, p)
}

/// PUT: replace an object (or its status).
pub fn replace(
    st: &mut State,
    t: &Target,
    body: Value,
    p: &WriteParams,
) -> Result<Written, ApiError> {
    check_identity(t, &body, false)?;
    let old = existing(st, t)?.clone();
    if t.status && !t.has_status() {
        return Err(ApiError::not_found(
            &t.info.group,
            &t.info.plural,
            name_of(t),
        ));
    }
    commit(st, t, Some(&old), body, Ownership::Update, p)
}

/// PATCH: merge, JSON or strategic patch, or server-side apply.
pub fn patch(
    st: &mut State,
    t: &Target,
    kind: PatchKind,
    body: &[u8],
    p: &WriteParams,
) -> Result<Written, ApiError> {
    if t.status && !t.has_status() {
        return Err(ApiError::not_found(
            &t.info.group,
            &t.info.plural,
            name_of(t),
        ));
    }
    if kind == PatchKind::Apply {
        return apply(st, t, body, p);
    }
    if kind == PatchKind::Strategic && t.schema().is_some() {
        return Err(ApiError::new(
            415,
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    let old = existing(st, t)?.clone();
    let mut doc = old.render(&t.api_version());
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &ops).map_err(|e| ApiError::new(422, e.to_string()))?;
        }
        _ => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid merge patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut doc, &patch);
        }
    }
    check_identity(t, &doc, false)?;
    commit(st, t, Some(&old), doc, Ownership::Update, p)
}

fn parse_config(body: &[u8]) -> Result<Value, ApiError> {
    let parsed = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
    };
    if !parsed.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration must be an object",
        ));
    }
    Ok(parsed)
}

/// Server-side apply.
fn apply(st: &mut State, t: &Target, body: &[u8], p: &WriteParams) -> Result<Written, ApiError> {
    if p.field_manager.is_empty() {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    let mut config = parse_config(body)?;
    check_identity(t, &config, true)?;
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    if let Some(m) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.insert("name".into(), Value::String(name_of(t).to_string()));
        if let Some(ns) = t.ns() {
            m.insert("namespace".into(), Value::String(ns.to_string()));
        }
    }
    if p.strict {
        // fieldValidation=Strict reports undeclared fields as a 400 first.
        prune(&mut config.clone(), t, true, false)?;
    }
    // The engine's typed conversion: rejected configurations never reach the merge.
    let declared = t.schema().is_some();
    let defaulted =
        crate::typecheck::check_apply(&mut config, t.schema().or(t.structure()), declared)
            .map_err(|e| {
                ApiError::new(
                    500,
                    format!(
                        "failed to create typed patch object ({}/{}; {}, Kind={}): {e}",
                        t.ns().unwrap_or_default(),
                        name_of(t),
                        t.api_version(),
                        t.info.kind
                    ),
                )
            })?;
    let mut warnings = prune(&mut config, t, p.strict, false)?;
    if t.has_status() {
        let obj = config.as_object_mut().expect("checked object");
        if t.status {
            obj.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "status"));
        } else {
            obj.remove("status");
        }
    }
    let old = st
        .store
        .get(&ResKey::of(&t.info), t.ns(), name_of(t))
        .cloned();
    if old.is_none() {
        if t.status {
            return Err(ApiError::not_found(
                &t.info.group,
                &t.info.plural,
                name_of(t),
            ));
        }
        check_namespace(st, t)?;
    }
    let now = meta::now();
    let api_version = t.api_version();
    let actor = Actor {
        manager: &p.field_manager,
        subresource: t.subresource(),
        api_version: &api_version,
        now: &now,
    };
    let applied = ssa::apply(
        old.as_ref().map(|o| &o.object),
        old.as_ref().map(|o| o.managed.as_slice()).unwrap_or(&[]),
        &config,
        &defaulted.into_iter().collect(),
        t.structure(),
        &actor,
        p.force,
    )
    .map_err(|conflicts| conflict_error(t, conflicts))?;
    let mut written = commit(
        st,
        t,
        old.as_ref(),
        applied.object,
        Ownership::Applied(applied.managed),
        p,
    )?;
    warnings.append(&mut written.warnings);
    written.warnings = warnings;
    Ok(written)
}

/// kube-apiserver's wording: Update managers are named with their apiVersion, appliers not.
fn conflict_with(c: &ssa::Conflict) -> String {
    let sub = if c.subresource.is_empty() {
        String::new()
    } else {
        format!(" with subresource \"{}\"", c.subresource)
    };
    match c.operation {
        ssa::Operation::Update => {
            format!(
                "conflict with \"{}\"{sub} using {}",
                c.manager, c.api_version
            )
        }
        ssa::Operation::Apply => format!("conflict with \"{}\"{sub}", c.manager),
    }
}

fn conflict_error(t: &Target, conflicts: Vec<ssa::Conflict>) -> ApiError {
    let causes: Vec<crate::apierror::Cause> = conflicts
        .iter()
        .map(|c| {
            crate::apierror::Cause::new(
                "FieldManagerConflict",
                conflict_with(c),
                crate::fieldset::path_string(&c.path),
            )
        })
        .collect();
    let lines: Vec<String> = causes
        .iter()
        .map(|c| format!("- {}: {}", c.message, c.field))
        .collect();
    let plural = if causes.len() == 1 {
        "conflict"
    } else {
        "conflicts"
    };
    let message = if causes.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            causes[0].message, causes[0].field
        )
    } else {
        format!(
            "Apply failed with {} {plural}:\n{}",
            causes.len(),
            lines.join("\n")
        )
    };
    ApiError::new(409, message)
        .with_details(&t.info.group, &t.info.plural, name_of(t))
        .with_causes(causes)
}

/// DELETE one object. Objects with finalizers are only marked (deletionTimestamp).
pub fn delete(st: &mut State, t: &Target, dry_run: bool) -> Result<Written, ApiError> {
    if t.status {
        return Err(ApiError::new(
            405,
            "delete is not allowed on the status subresource",
        ));
    }
    let old = existing(st, t)?.clone();
    let api_version = t.api_version();
    if namespaces::is_namespace(&t.info) {
        let object = if dry_run {
            let mut marked = old.render(&api_version);
            marked["status"] = json!({"phase": "Terminating"});
            marked
        } else {
            lifecycle::terminate_namespace(st, &t.info, name_of(t))
                .unwrap_or_else(|| old.render(&api_version))
        };
        return Ok(Written {
            object,
            code: 200,
            outcome: WriteOutcome::Deleted,
            warnings: Vec::new(),
        });
    }
    let has_finalizers = old.object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        let mut marked = old.clone();
        if marked.object["metadata"].get("deletionTimestamp").is_none() {
            marked.object["metadata"]["deletionTimestamp"] = Value::String(meta::now());
            marked.object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if !dry_run {
                let event = st.store.put(
                    &t.info,
                    t.ns(),
                    name_of(t),
                    marked.clone(),
                    ChangeKind::Modified,
                );
                st.emit(event);
                marked = existing(st, t)?.clone();
            }
        }
        return Ok(Written {
            object: marked.render(&api_version),
            code: 200,
            outcome: WriteOutcome::Deleted,
            warnings: Vec::new(),
        });
    }
    if !dry_run {
        lifecycle::remove(st, &t.info, t.ns(), name_of(t));
    }
    let mut details = json!({"name": name_of(t), "kind": t.info.plural,
        "uid": old.object["metadata"]["uid"]});
    if !t.info.group.is_empty() {
        details["group"] = json!(t.info.group);
    }
    Ok(Written {
        object: json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Success", "details": details}),
        code: 200,
        outcome: WriteOutcome::Deleted,
        warnings: Vec::new(),
    })
}
