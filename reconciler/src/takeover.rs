//! What a new primary's agent does itself once its activation Restore finished (the seeds'
//! and runbooks' steps on objects hubdr does not own): restart ACM observability's API
//! (Deployment `observability-observatorium-api`), which serves stale tenant data after an
//! activation. The restart is a server-side apply of a pod-template annotation
//! (`hubdr.io/restarted-for-generation: N`) as the field manager `hubdr-takeover`, once per
//! generation; the new primary's BackupSchedule waits for it (`observability-restarted:N`).

use hubdr_core::gates::ANNOTATION_GENERATION;
use hubdr_core::object::ObjectId;
use serde_json::{json, Value};

use crate::apply::Planned;
use crate::changeset::{Action, ChangeSet};
use crate::kubeapi::{CallError, ClusterApi};
use crate::restore_gate::{restore_gate, Verdict};

pub const NAMESPACE: &str = "open-cluster-management-observability";
pub const API_DEPLOYMENT: &str = "observability-observatorium-api";
pub const RESTARTED_FOR: &str = "hubdr.io/restarted-for-generation";
const MANAGER: &str = "hubdr-takeover";

fn id() -> ObjectId {
    ObjectId {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some(NAMESPACE.into()),
        name: API_DEPLOYMENT.into(),
    }
}

/// The generation the observability API was restarted for: `Ok(None)` when observability is
/// not installed (no such Deployment), `Ok(Some(None))` when it was never restarted by hubdr.
pub async fn restarted_for(api: &mut ClusterApi) -> Result<Option<Option<u64>>, CallError> {
    match api.get(&id()).await {
        Ok(Some(deployment)) => Ok(Some(
            deployment
                .data
                .pointer("/spec/template/metadata/annotations")
                .and_then(|a| a.get(RESTARTED_FOR))
                .and_then(Value::as_str)
                .and_then(|g| g.parse().ok()),
        )),
        Ok(None) | Err(CallError::KindMissing(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the observability API was restarted after the activation of `generation`.
pub async fn restarted_verdict(api: &mut ClusterApi, generation: u64) -> Verdict {
    match restarted_for(api).await {
        Ok(None) => Verdict::Holds,
        Ok(Some(Some(g))) if g >= generation => Verdict::Holds,
        Ok(Some(_)) => Verdict::Waits(format!(
            "the observability API ({NAMESPACE}/{API_DEPLOYMENT}) has not been restarted since the activation of generation {generation}; its agent restarts it once the activation Restore finished"
        )),
        Err(e) => Verdict::Waits(format!("cannot read {NAMESPACE}/{API_DEPLOYMENT}: {e}")),
    }
}

/// Restart the observability API once the activation Restore of `planned` (the one carrying
/// `hubdr.io/generation`) has finished on this cluster. Returns problems.
pub async fn after_activation(
    api: &mut ClusterApi,
    planned: &[Planned],
    changes: &mut ChangeSet,
) -> Vec<String> {
    let activation = planned.iter().find_map(|p| {
        let generation = p
            .value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION_GENERATION))
            .and_then(Value::as_str)?
            .parse::<u64>()
            .ok()?;
        (p.id.kind == "Restore").then_some((p.id.clone(), generation))
    });
    let Some((restore, generation)) = activation else {
        return Vec::new();
    };
    match restarted_for(api).await {
        Ok(Some(Some(g))) if g >= generation => return Vec::new(),
        Ok(None) => return Vec::new(),
        Ok(Some(_)) => {}
        Err(e) => {
            return vec![format!(
                "cannot read the observability API to restart it ({e}); retrying next pass"
            )]
        }
    }
    let namespace = restore.namespace.clone().unwrap_or_default();
    if restore_gate(api, &namespace, &restore.name).await != Verdict::Holds {
        return Vec::new();
    }
    let patch = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": API_DEPLOYMENT, "namespace": NAMESPACE},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_FOR: generation.to_string()}}}},
    });
    let action = match api.apply_as(&id(), &patch, MANAGER, true).await {
        Ok(_) => Action::Configured,
        Err(e) => Action::Failed(format!(
            "restarting the observability API after the activation failed: {e}; retrying next pass"
        )),
    };
    tracing::info!(object = %id(), result = action.name(), message = action.message(), "takeover: restart the observability API");
    changes.push(id(), action);
    Vec::new()
}
