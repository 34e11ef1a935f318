//! The write pipeline every verb ends in: identity, system metadata, status scope,
//! pruning, validation, generation, ownership, no-op detection, dry run and storage.

use serde_json::{Map, Value};

use crate::apierror::{ApiError, Cause};
use crate::meta;
use crate::observe::{ChangeKind, WriteOutcome};
use crate::resources::ResourceInfo;
use crate::schema;
use crate::ssa::{self, Actor, ManagedEntry};
use crate::state::State;
use crate::store::Record;
use crate::{celrules, crd, immutable, lifecycle, values};

/// Where a write goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The kind.
    pub info: ResourceInfo,
    /// The version from the URL.
    pub version: String,
    /// Namespace (namespaced kinds only).
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Whether the request goes to the `status` subresource.
    pub status: bool,
}

impl Target {
    /// `apiVersion` of the request.
    pub fn api_version(&self) -> String {
        self.info.api_version(&self.version)
    }

    /// The schema used for pruning and validation.
    pub fn schema(&self) -> Option<&Value> {
        self.info.version(&self.version)?.schema.as_ref()
    }

    /// The schema used for list types.
    pub fn structure(&self) -> Option<&Value> {
        self.info.version(&self.version)?.structure.as_ref()
    }

    /// Whether the kind has a status subresource in this version.
    pub fn has_status(&self) -> bool {
        self.info.has_status(&self.version)
    }

    /// `"status"` or `""`, for managed fields.
    pub fn subresource(&self) -> &'static str {
        if self.status {
            "status"
        } else {
            ""
        }
    }

    pub(crate) fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

/// Query parameters that shape a write.
#[derive(Debug, Clone, Default)]
pub struct WriteParams {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager`, already defaulted.
    pub field_manager: String,
    /// `force=true` (apply only).
    pub force: bool,
    /// `fieldValidation=Strict`.
    pub strict: bool,
}

/// The result of a successful write.
#[derive(Debug, Clone)]
pub struct Written {
    /// Response body.
    pub object: Value,
    /// HTTP code (200 or 201).
    pub code: u16,
    /// What happened, for the write log.
    pub outcome: WriteOutcome,
    /// `Warning` header values (pruned unknown fields).
    pub warnings: Vec<String>,
}

/// How ownership of the new object is decided.
pub enum Ownership {
    /// A non-apply write by this manager.
    Update,
    /// Server-side apply already computed the managed fields.
    Applied(Vec<ManagedEntry>),
}

/// Drops unknown fields of `value` (400 under strict validation), returning warnings.
pub fn prune(
    value: &mut Value,
    t: &Target,
    strict: bool,
    defaults: bool,
) -> Result<Vec<String>, ApiError> {
    let Some(schema) = t.schema() else {
        return Ok(Vec::new());
    };
    let unknown = schema::prune_and_default(value, schema, defaults);
    if strict && !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|u| format!("unknown field \"{u}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            list.join(", ")
        )));
    }
    Ok(unknown
        .iter()
        .map(|u| format!("unknown field \"{u}\""))
        .collect())
}

fn metadata(v: &mut Value) -> &mut Map<String, Value> {
    if !v.get("metadata").is_some_and(Value::is_object) {
        v["metadata"] = Value::Object(Map::new());
    }
    v["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// The part of an object whose changes bump `metadata.generation`.
fn generation_part(v: &Value, has_status: bool) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        if has_status {
            m.remove("status");
        }
    }
    c
}

fn without_rv(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    c
}

/// Runs the write pipeline for the object `new` replacing `old` (or created when `None`).
pub fn commit(
    st: &mut State,
    t: &Target,
    old: Option<&Record>,
    mut new: Value,
    ownership: Ownership,
    p: &WriteParams,
) -> Result<Written, ApiError> {
    let info = &t.info;
    let name = t.name.clone().unwrap_or_default();
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    new["apiVersion"] = Value::String(info.api_version(&info.storage_version().name));
    new["kind"] = Value::String(info.kind.clone());
    let requested_rv = meta::meta_str(&new, "resourceVersion").map(str::to_string);
    {
        let m = metadata(&mut new);
        m.insert("name".into(), Value::String(name.clone()));
        match t.ns() {
            Some(ns) => m.insert("namespace".into(), Value::String(ns.to_string())),
            None => m.remove("namespace"),
        };
        m.remove("managedFields");
        m.remove("resourceVersion");
        m.remove("selfLink");
    }

    // System-owned metadata.
    match old {
        Some(old) => {
            if let Some(rv) = requested_rv.as_deref().filter(|rv| !rv.is_empty()) {
                if Some(rv) != meta::meta_str(&old.object, "resourceVersion") {
                    return Err(ApiError::stale(&info.group, &info.plural, &name));
                }
            }
            let m = metadata(&mut new);
            for key in [
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old.object["metadata"].get(key) {
                    Some(v) => m.insert(key.into(), v.clone()),
                    None => m.remove(key),
                };
            }
        }
        None => {
            let m = metadata(&mut new);
            m.insert("uid".into(), Value::String(meta::new_uid()));
            m.insert("creationTimestamp".into(), Value::String(meta::now()));
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            if let Some(problem) = meta::name_problem(&name, &info.group, &info.kind) {
                return Err(ApiError::invalid(
                    &info.kind,
                    &info.group,
                    &name,
                    vec![Cause::new(
                        "FieldValueInvalid",
                        format!("Invalid value: \"{name}\": {problem}"),
                        "metadata.name",
                    )],
                ));
            }
        }
    }

    // Status scope: the main resource never changes status, /status changes only status.
    if t.has_status() {
        let old_obj = old.map(|o| &o.object);
        if t.status {
            let status = new.get("status").cloned();
            let mut base = old_obj.cloned().unwrap_or_default();
            match status {
                Some(s) => base["status"] = s,
                None => {
                    base.as_object_mut().map(|m| m.remove("status"));
                }
            }
            new = base;
            new["apiVersion"] = Value::String(info.api_version(&info.storage_version().name));
        } else {
            match old_obj.and_then(|o| o.get("status")) {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().map(|m| m.remove("status"));
                }
            }
        }
    }

    let mut warnings = prune(&mut new, t, p.strict, true)?;
    let mut rule_warnings = Vec::new();
    if let Some(schema) = t.schema() {
        let mut causes = schema::validate(&new, schema);
        if causes.is_empty() {
            let old_obj = old.map(|o| &o.object);
            causes = values::validate(&new, schema);
            let rules = celrules::validate(&new, old_obj, schema);
            causes.extend(rules.causes);
            // Validation ratcheting (Kubernetes 1.30+): unchanged values may stay invalid.
            if let Some(old_obj) = old_obj {
                causes.retain(|c| !values::unchanged(old_obj, &new, &c.field));
            }
            for rule in rules.unevaluated {
                let warning = format!("kubefake did not evaluate the validation rule {rule}");
                if !st.unevaluated_rules.contains(&warning) {
                    st.unevaluated_rules.push(warning.clone());
                }
                rule_warnings.push(warning);
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(&info.kind, &info.group, &name, causes));
        }
    }
    if let Some(old) = old.filter(|_| !t.status) {
        let causes = immutable::check(info, &old.object, &new);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&info.kind, &info.group, &name, causes));
        }
    }
    warnings.append(&mut rule_warnings);
    if lifecycle::is_crd(info) {
        crd::resource_info(&new).map_err(|e| {
            ApiError::invalid(
                &info.kind,
                &info.group,
                &name,
                vec![Cause::new("FieldValueInvalid", e.to_string(), "spec")],
            )
        })?;
    }

    let generation = match old {
        Some(o) => {
            let g = o.object["metadata"]["generation"].as_i64().unwrap_or(1);
            if generation_part(&o.object, t.has_status()) != generation_part(&new, t.has_status()) {
                g + 1
            } else {
                g
            }
        }
        None => 1,
    };
    metadata(&mut new).insert("generation".into(), Value::from(generation));

    let now = meta::now();
    let api_version = t.api_version();
    let actor = Actor {
        manager: &p.field_manager,
        subresource: t.subresource(),
        api_version: &api_version,
        now: &now,
    };
    let managed = match ownership {
        Ownership::Applied(m) => m,
        Ownership::Update => ssa::update(
            old.map(|o| &o.object),
            &new,
            old.map(|o| o.managed.as_slice()).unwrap_or(&[]),
            t.structure(),
            &actor,
        ),
    };

    if let Some(old) = old {
        if without_rv(&old.object) == new && ssa::same_ownership(&old.managed, &managed) {
            return Ok(Written {
                object: old.render(&api_version),
                code: 200,
                outcome: WriteOutcome::Unchanged,
                warnings,
            });
        }
    }
    let (code, outcome, change) = match old {
        Some(_) => (200, WriteOutcome::Changed, ChangeKind::Modified),
        None => (201, WriteOutcome::Created, ChangeKind::Added),
    };
    let mut record = Record {
        object: new,
        managed,
    };
    if p.dry_run {
        if let Some(rv) = old.and_then(|o| meta::meta_str(&o.object, "resourceVersion")) {
            record.object["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        }
        return Ok(Written {
            object: record.render(&api_version),
            code,
            outcome,
            warnings,
        });
    }

    let finished_deleting = record.object["metadata"].get("deletionTimestamp").is_some()
        && record.object["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
    let event = st.store.put(info, t.ns(), &name, record, change);
    st.emit(event);
    let stored = st
        .store
        .get(&crate::resources::ResKey::of(info), t.ns(), &name)
        .expect("just stored");
    let object = stored.render(&api_version);
    if finished_deleting {
        lifecycle::remove(st, info, t.ns(), &name);
    } else if lifecycle::is_crd(info) {
        lifecycle::crd_written(st, &name);
    }
    Ok(Written {
        object,
        code,
        outcome,
        warnings,
    })
}
