//! Applying desired objects: wave by wave, CRDs and Namespaces first (waiting for them to be
//! established), every object dry-run before anything in its wave changes, and only objects
//! that drifted written. A pass over an unchanged cluster makes no write call.
//!
//! Objects the dry run found absent are recorded in the inventory as created by the agent
//! (`memory::Ledger::mark_created`) before their create call, so only they can ever be
//! deleted by pruning; objects that already existed are adopted.

use std::collections::HashMap;
use std::time::Duration;

use hubdr_core::object::ObjectId;
use serde_json::Value;

use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::{CallError, ClusterApi};
use crate::memory::Ledger;
use crate::order;

pub use crate::planned::Planned;

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Take ownership of fields another field manager owns (server-side apply `force`).
    pub force_conflicts: bool,
    /// How long to wait for a CRD to be established.
    pub establish_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            force_conflicts: false,
            establish_timeout: Duration::from_secs(30),
        }
    }
}

/// A `blocked` reason starting with this is a refusal: reported as failed, not as waiting.
pub const REFUSED: &str = "refused: ";
/// A `blocked` reason starting with this skips the object (reported `skipped`, not failed).
pub const SKIPPED: &str = "skipped: ";

/// Whether `object` is a HostedCluster to create from a snapshot (`restoreFrom: latest`, see
/// `hcp::restore`): only ever created, never applied to an existing one.
pub fn is_restore(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(hubdr_core::labels::ANNOTATION_LATE_BIND))
        .and_then(Value::as_str)
        .is_some_and(|b| {
            b.contains(&format!(
                "/{}/",
                hubdr_core::labels::LATE_BIND_HOSTED_SNAPSHOT
            ))
        })
}

/// Apply `objects` (any order) and record each result in `changes`. Objects listed in
/// `blocked` are reported as waiting with the given reason (failed when it starts with
/// [`REFUSED`]) and not touched. With a `ledger`, objects about to be created are recorded as
/// created first.
pub async fn apply_all(
    api: &mut ClusterApi,
    objects: &[Planned],
    blocked: &HashMap<ObjectId, String>,
    options: &ApplyOptions,
    mut ledger: Option<&mut Ledger>,
    changes: &mut ChangeSet,
) {
    let mut sorted: Vec<&Planned> = objects.iter().collect();
    order::sort_for_apply(&mut sorted, |p| (p.wave, &p.id));
    let mut waves: Vec<Vec<&Planned>> = Vec::new();
    for p in sorted {
        match waves.last_mut() {
            Some(wave) if wave[0].wave == p.wave => wave.push(p),
            _ => waves.push(vec![p]),
        }
    }
    for wave in waves {
        let (first, rest): (Vec<&Planned>, Vec<&Planned>) = wave
            .into_iter()
            .partition(|p| order::kind_rank(&p.id.kind) <= 1);
        apply_stage(
            api,
            &first,
            blocked,
            options,
            ledger.as_deref_mut(),
            changes,
        )
        .await;
        wait_established(api, &first, options, changes).await;
        apply_stage(api, &rest, blocked, options, ledger.as_deref_mut(), changes).await;
    }
}

/// What a dry run found for one object.
enum Plan {
    Create,
    Configure,
    Unchanged,
}

async fn apply_stage(
    api: &mut ClusterApi,
    stage: &[&Planned],
    blocked: &HashMap<ObjectId, String>,
    options: &ApplyOptions,
    ledger: Option<&mut Ledger>,
    changes: &mut ChangeSet,
) {
    // Dry-run the whole stage before changing anything in it.
    let mut to_write = Vec::new();
    for p in stage {
        if let Some(reason) = blocked.get(&p.id) {
            let action = if let Some(why) = reason.strip_prefix(SKIPPED) {
                Action::Skipped(why.to_string())
            } else if reason.starts_with(REFUSED) {
                Action::Failed(reason.clone())
            } else {
                Action::Waiting(reason.clone())
            };
            changes.push(p.id.clone(), action);
            continue;
        }
        let restore = is_restore(&p.value);
        match dry_run(api, p, options).await {
            // A HostedCluster created from a snapshot: only ever created (see hcp::restore).
            Ok(Plan::Unchanged | Plan::Configure) if restore => changes.push(
                p.id.clone(),
                Action::Failed(format!("{REFUSED}it already exists: a snapshot restores only when the HostedCluster is created; nothing was applied")),
            ),
            Err(action) if restore => changes.push(p.id.clone(), scrub(action, p)),
            Ok(Plan::Unchanged) => changes.push(p.id.clone(), Action::Unchanged),
            Ok(plan) => to_write.push((p, plan)),
            Err(action) => changes.push(p.id.clone(), action),
        }
    }
    // Record what the agent is about to create before creating it.
    let creates: Vec<&ObjectId> = to_write
        .iter()
        .filter(|(_, plan)| matches!(plan, Plan::Create))
        .map(|(p, _)| &p.id)
        .collect();
    if let (Some(ledger), false) = (ledger, creates.is_empty()) {
        if let Err(e) = ledger.mark_created(api, &creates).await {
            let message = format!(
                "not created: cannot record in the inventory that this agent creates it ({e}); retrying next pass"
            );
            to_write.retain(|(p, plan)| {
                let create = matches!(plan, Plan::Create);
                if create {
                    changes.push(p.id.clone(), Action::Failed(message.clone()));
                }
                !create
            });
        }
    }
    for (p, plan) in to_write {
        if is_restore(&p.value) {
            let action = match api.create(&p.id, &p.value).await {
                Ok(Some(_)) => Action::Created,
                Ok(None) => Action::Failed(format!("{REFUSED}it was created meanwhile: a snapshot restores only when the HostedCluster is created; nothing was applied")),
                Err(e) => scrub(failure(e, options), p),
            };
            tracing::info!(object = %p.id, result = action.name(), message = action.message(), "create from snapshot");
            changes.push(p.id.clone(), action);
            continue;
        }
        let action = match api
            .apply(&p.id, &p.value, false, options.force_conflicts)
            .await
        {
            Ok(_) => match plan {
                Plan::Create => Action::Created,
                _ => Action::Configured,
            },
            Err(e) => failure(e, options),
        };
        tracing::info!(object = %p.id, result = action.name(), message = action.message(), "apply");
        changes.push(p.id.clone(), action);
    }
}

/// `action` without the pre-signed URL `p` carries (an API error may quote it).
fn scrub(action: Action, p: &Planned) -> Action {
    let clean = scrub_url;
    match action {
        Action::Failed(m) => Action::Failed(clean(&m, &p.value)),
        Action::Waiting(m) => Action::Waiting(clean(&m, &p.value)),
        Action::Skipped(m) => Action::Skipped(clean(&m, &p.value)),
        other => other,
    }
}

/// `message` without the URL set into `object` (an API error may quote the object).
pub fn scrub_url(message: &str, object: &Value) -> String {
    let mut out = message.to_string();
    if let Some(urls) = object
        .pointer("/spec/etcd/managed/storage/restoreSnapshotURL")
        .and_then(Value::as_array)
    {
        for url in urls.iter().filter_map(Value::as_str) {
            out = out.replace(url, "[pre-signed URL]");
            if let Some((base, _)) = url.split_once('?') {
                out = out.replace(&url[base.len()..], "?[signature]");
            }
        }
    }
    if let Some(i) = out.find("X-Amz-") {
        out.truncate(i);
        out.push_str("[redacted]");
    }
    out
}

async fn dry_run(
    api: &mut ClusterApi,
    p: &Planned,
    options: &ApplyOptions,
) -> Result<Plan, Action> {
    let live = api.get(&p.id).await.map_err(|e| failure(e, options))?;
    let preview = api
        .apply(&p.id, &p.value, true, options.force_conflicts)
        .await
        .map_err(|e| failure(e, options))?;
    let Some(live) = live else {
        return Ok(Plan::Create);
    };
    let live = serde_json::to_value(&live).expect("objects serialize");
    let preview = serde_json::to_value(&preview).expect("objects serialize");
    Ok(if comparable(&live) == comparable(&preview) {
        Plan::Unchanged
    } else {
        Plan::Configure
    })
}

/// The object without what the server changes on every write or what apply cannot change.
fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for volatile in [
                "managedFields",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "uid",
            ] {
                meta.remove(volatile);
            }
        }
    }
    object
}

fn failure(error: CallError, options: &ApplyOptions) -> Action {
    match error {
        CallError::KindMissing(kind) => Action::Waiting(format!("{kind} is not served yet (its CRD is not installed); retrying next pass")),
        CallError::Conflict(message) if !options.force_conflicts => Action::Failed(format!(
            "conflict with another field manager: {message}; resolve the other writer, or run the agent with --force-conflicts to take ownership"
        )),
        CallError::Invalid(message) if message.contains("immutable") => Action::Failed(format!(
            "the API server refuses to change an immutable field: {message}; delete the object so it can be recreated"
        )),
        CallError::Invalid(message) => Action::Failed(format!("rejected by the API server: {message}")),
        CallError::SchemaRejected(message) => Action::Failed(format!(
            "rejected by the installed schema (not retried): {message}; the object has a field or value this cluster's CRD or API version does not accept (an older operator?), or a list with a missing or duplicate key: upgrade the operator or fix the site"
        )),
        CallError::NotFound(message) => Action::Failed(format!(
            "the API server answered NotFound: {message}; if the object's namespace does not exist, create it first"
        )),
        error @ CallError::Forbidden(_) if error.is_namespace_terminating() => Action::Waiting(format!(
            "its namespace is being deleted (Terminating) and refuses new objects: {error}; the agent creates it again once the namespace is gone"
        )),
        CallError::Forbidden(message) => Action::Failed(format!(
            "forbidden by the API server (not retried): {message}; check the agent's access (RBAC) to this kind and namespace"
        )),
        other => Action::Failed(other.to_string()),
    }
}

/// Wait until the stage's CRDs are Established (Namespaces are ready when created).
async fn wait_established(
    api: &mut ClusterApi,
    stage: &[&Planned],
    options: &ApplyOptions,
    changes: &mut ChangeSet,
) {
    for p in stage
        .iter()
        .filter(|p| p.id.kind == "CustomResourceDefinition")
    {
        let deadline = tokio::time::Instant::now() + options.establish_timeout;
        loop {
            let established = match api.get(&p.id).await {
                Ok(Some(crd)) => is_established(&serde_json::to_value(&crd).unwrap_or_default()),
                _ => false,
            };
            if established {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                changes.push(
                    p.id.clone(),
                    Action::Waiting("the CRD is not Established yet".into()),
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        api.forget_kinds();
    }
}

fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
}
