//! The edge of the snapshot sequence: read the state and the cluster, plan, write the state,
//! then make the effects. The state is written BEFORE the effects, so an agent killed between
//! the two finds what it was doing (and the replicas to restore) when it starts again.

use std::collections::BTreeMap;

use hubdr_core::object::ObjectId;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};

use super::job::{self, RUN_LABEL};
use super::plan::{self, Decision, Effect, HostedClusterObs, JobObs, Observed};
use super::state::{SequenceState, Step};
use super::{Target, API_DEPLOYMENTS};
use crate::kubeapi::{with_retry, CallError, ClusterApi};

/// Field manager of the agent's writes for hosted clusters (never `hubdr`'s own).
pub const MANAGER: &str = "hubdr-hcp";
pub const STATE_KEY: &str = "state";
pub const HOSTED_CLUSTER_API: &str = "hypershift.openshift.io/v1beta1";

/// What one pass did for one hosted cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// The step reached and what happened (no credentials).
    pub report: String,
    /// The state as stored after the pass.
    pub state: SequenceState,
    /// Calls that failed this pass.
    pub errors: Vec<String>,
}

fn id(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// One pass of `target`'s sequence at `now` (unix seconds).
pub async fn pass(
    api: &mut ClusterApi,
    agent_namespace: &str,
    target: &Target,
    now: i64,
) -> Result<PassReport, CallError> {
    let state = match load(api, agent_namespace, target).await? {
        Ok(state) => state,
        Err(why) => {
            return Ok(PassReport {
                report: format!(
                    "refusing to act: {why}; fix or delete ConfigMap {agent_namespace}/{} after checking the hosted cluster is unpaused and scaled up",
                    target.state_name()
                ),
                state: SequenceState::default(),
                errors: vec![why],
            })
        }
    };
    let observed = observe(api, target, &state).await?;
    let Decision {
        state: next,
        effects,
        report,
    } = plan::plan(target, &state, &observed, now);
    if next != state {
        save(api, agent_namespace, target, &next).await?;
    }
    let resuming = next.run.as_ref().is_none_or(|r| r.step == Step::Resume);
    let mut errors = Vec::new();
    for effect in &effects {
        if let Err(e) = apply(api, target, effect).await {
            let why = format!("{effect:?}: {e}");
            errors.push(why.clone());
            if !resuming {
                // A forward step failed: the run fails and resumes (next pass, and on).
                let failed = plan::failed(&next, why);
                save(api, agent_namespace, target, &failed).await?;
                return Ok(PassReport {
                    report: format!("{report}; failed, resuming"),
                    state: failed,
                    errors,
                });
            }
        }
    }
    Ok(PassReport {
        report,
        state: next,
        errors,
    })
}

/// The stored state: `Ok(Err)` when it is there but unusable.
pub async fn load(
    api: &mut ClusterApi,
    agent_namespace: &str,
    target: &Target,
) -> Result<Result<SequenceState, String>, CallError> {
    let cm = api
        .get(&id(
            "v1",
            "ConfigMap",
            agent_namespace,
            &target.state_name(),
        ))
        .await?;
    let text = cm
        .as_ref()
        .and_then(|c| c.data.get("data"))
        .and_then(|d| d.get(STATE_KEY))
        .and_then(Value::as_str);
    Ok(match text {
        None => Ok(SequenceState::default()),
        Some(text) => SequenceState::parse(text),
    })
}

async fn save(
    api: &mut ClusterApi,
    agent_namespace: &str,
    target: &Target,
    state: &SequenceState,
) -> Result<(), CallError> {
    let data = BTreeMap::from([(STATE_KEY.to_string(), Some(state.to_text()))]);
    api.put_config_map(agent_namespace, &target.state_name(), MANAGER, &data)
        .await?;
    Ok(())
}

async fn observe(
    api: &mut ClusterApi,
    target: &Target,
    state: &SequenceState,
) -> Result<Observed, CallError> {
    let cp = target.control_plane_namespace();
    let hosted_cluster = api
        .get(&id(
            HOSTED_CLUSTER_API,
            "HostedCluster",
            &target.namespace,
            &target.name,
        ))
        .await?
        .map(|hc| HostedClusterObs {
            paused_until: hc
                .data
                .pointer("/spec/pausedUntil")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    let mut deployments = BTreeMap::new();
    for d in API_DEPLOYMENTS {
        if let Some(obj) = api.get(&id("apps/v1", "Deployment", &cp, d)).await? {
            let spec = obj
                .data
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let status = obj
                .data
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            deployments.insert(d.to_string(), (spec as i32, status as i32));
        }
    }
    let job = match state.run.as_ref().map(|r| (r, r.step)) {
        Some((run, Step::Snapshot { member })) => match target.members.get(member) {
            Some(m) => observe_job(api, &cp, &job::job_name(&run.id, m)).await?,
            None => Some(JobObs::Failed(format!("no etcd member #{member}"))),
        },
        _ => None,
    };
    Ok(Observed {
        hosted_cluster,
        deployments,
        job,
    })
}

async fn observe_job(
    api: &mut ClusterApi,
    namespace: &str,
    name: &str,
) -> Result<Option<JobObs>, CallError> {
    let Some(j) = api.get(&id("batch/v1", "Job", namespace, name)).await? else {
        return Ok(None);
    };
    let count = |k: &str| {
        j.data
            .pointer(&format!("/status/{k}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    if count("failed") > 0 {
        let why = j
            .data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c["type"] == "Failed"))
            .and_then(|c| c["message"].as_str().or(c["reason"].as_str()))
            .unwrap_or("the Job failed")
            .chars()
            .take(300)
            .collect();
        return Ok(Some(JobObs::Failed(why)));
    }
    if count("succeeded") == 0 {
        return Ok(Some(JobObs::Running));
    }
    let pods = api
        .list(
            "v1",
            "Pod",
            Some(namespace),
            Some(&format!("job-name={name}")),
        )
        .await?;
    let message = pods.iter().find_map(|p| {
        p.data
            .pointer("/status/containerStatuses")?
            .as_array()?
            .iter()
            .find(|c| c["name"] == "upload")?
            .pointer("/state/terminated/message")?
            .as_str()
            .map(str::to_string)
    });
    Ok(Some(JobObs::Succeeded(match message {
        Some(m) => job::parse_result(&m),
        None => Err("its pod reported no snapshot status".into()),
    })))
}

async fn merge_patch(
    api: &mut ClusterApi,
    target: &ObjectId,
    patch: &Value,
) -> Result<(), CallError> {
    let (resource, _) = api
        .resolve(&target.api_version, &target.kind)
        .await?
        .ok_or_else(|| CallError::KindMissing(format!("{} {}", target.api_version, target.kind)))?;
    let ns = target.namespace.as_deref().unwrap_or_default();
    let handle: Api<DynamicObject> = Api::namespaced_with(api.client().clone(), ns, &resource);
    let params = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    };
    let patch = Patch::Merge(patch);
    with_retry(crate::kubeapi::Retry::default(), || {
        handle.patch(&target.name, &params, &patch)
    })
    .await?;
    Ok(())
}

async fn apply(api: &mut ClusterApi, target: &Target, effect: &Effect) -> Result<(), CallError> {
    let cp = target.control_plane_namespace();
    let hc = id(
        HOSTED_CLUSTER_API,
        "HostedCluster",
        &target.namespace,
        &target.name,
    );
    match effect {
        Effect::Pause => merge_patch(api, &hc, &json!({"spec": {"pausedUntil": "true"}})).await,
        Effect::Unpause => merge_patch(api, &hc, &json!({"spec": {"pausedUntil": null}})).await,
        Effect::Scale(replicas) => {
            for (name, n) in replicas {
                let d = id("apps/v1", "Deployment", &cp, name);
                merge_patch(api, &d, &json!({"spec": {"replicas": n}})).await?;
            }
            Ok(())
        }
        Effect::CreateJob { run, member } => {
            let member = target
                .members
                .get(*member)
                .ok_or_else(|| CallError::Other(format!("no etcd member #{member}")))?;
            let object = job::job(target, run, member);
            let name = job::job_name(run, member);
            api.create(&id("batch/v1", "Job", &cp, &name), &object)
                .await?;
            Ok(())
        }
        Effect::DeleteJobs { run } => {
            let jobs = api
                .list(
                    "batch/v1",
                    "Job",
                    Some(&cp),
                    Some(&format!("{RUN_LABEL}={run}")),
                )
                .await?;
            for j in jobs {
                if let Some(name) = j.metadata.name {
                    api.delete(&id("batch/v1", "Job", &cp, &name)).await?;
                }
            }
            Ok(())
        }
    }
}
