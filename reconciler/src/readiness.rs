//! What a failover's preflight reads from a hub (`hubdr failover` reads it from the status
//! branch): the ACM and MCE versions, the Hive ClusterDeployments without
//! `spec.preserveOnDelete: true`, and the backups each Restore last restored. Read-only, and
//! never fatal: what cannot be read is left out, and the preflight says it is unknown.

use hubdr_core::object::ObjectId;
use hubdr_core::status::{
    ClusterDeploymentsObservation, Observed, PhaseObservation, TakeoverObservation,
};
use kube::api::DynamicObject;
use serde_json::Value;

use crate::kubeapi::ClusterApi;
use crate::restore_gate::velero_restore_names;

const NAMES: usize = 50;

/// The ACM and MCE versions and the ClusterDeployments.
pub async fn read(api: &mut ClusterApi, observed: &mut Observed) {
    observed.acm_version = version(
        api,
        "operator.open-cluster-management.io/v1",
        "MultiClusterHub",
    )
    .await;
    observed.mce_version = version(api, "multicluster.openshift.io/v1", "MultiClusterEngine").await;
    match api
        .list("hive.openshift.io/v1", "ClusterDeployment", None, None)
        .await
    {
        Ok(list) => observed.cluster_deployments = Some(cluster_deployments(&list)),
        Err(e) => tracing::debug!(error = %e, "cannot list ClusterDeployments"),
    }
}

async fn version(api: &mut ClusterApi, api_version: &str, kind: &str) -> Option<String> {
    match api.list(api_version, kind, None, None).await {
        Ok(list) => list.iter().find_map(|o| {
            o.data
                .pointer("/status/currentVersion")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        }),
        Err(e) => {
            tracing::debug!(error = %e, kind, "cannot read the version");
            None
        }
    }
}

/// The ClusterDeployments, and those that are not preserved on deletion.
pub fn cluster_deployments(list: &[DynamicObject]) -> ClusterDeploymentsObservation {
    let mut not_preserved: Vec<String> = list
        .iter()
        .filter(|cd| cd.data.pointer("/spec/preserveOnDelete") != Some(&Value::Bool(true)))
        .map(|cd| {
            format!(
                "{}/{}",
                cd.metadata.namespace.as_deref().unwrap_or_default(),
                cd.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    not_preserved.sort();
    let count = not_preserved.len();
    not_preserved.truncate(NAMES);
    ClusterDeploymentsObservation {
        total: list.len(),
        not_preserved,
        not_preserved_count: count,
    }
}

/// The takeover this hub made: its activation Restore (the newest `hubdr.io/generation` one)
/// and its BackupSchedule's creation. `observed` must hold the Restores' restored backups.
pub fn takeover(
    backup_namespace: &str,
    restores: &[DynamicObject],
    schedules: &[DynamicObject],
    observed: &[PhaseObservation],
) -> Option<TakeoverObservation> {
    let generation_of = |r: &DynamicObject| {
        r.metadata
            .annotations
            .as_ref()?
            .get(hubdr_core::gates::ANNOTATION_GENERATION)?
            .parse::<u64>()
            .ok()
    };
    let (restore, generation) = restores
        .iter()
        .filter_map(|r| Some((r, generation_of(r)?)))
        .max_by_key(|(_, g)| *g)?;
    let name = format!(
        "{backup_namespace}/{}",
        restore.metadata.name.as_deref().unwrap_or_default()
    );
    let restored_backup = observed.iter().find(|o| o.name == name).and_then(|o| {
        o.restored_backups
            .iter()
            .find(|b| b.starts_with("acm-managed-clusters-schedule"))
            .cloned()
    });
    let finished = restore
        .data
        .pointer("/status/phase")
        .and_then(Value::as_str)
        == Some("Finished");
    Some(TakeoverObservation {
        generation,
        restore: name,
        restored_backup,
        activated_at: restore
            .data
            .pointer("/status/completionTimestamp")
            .and_then(Value::as_str)
            .filter(|_| finished)
            .map(str::to_string),
        backup_schedule_created_at: schedules
            .iter()
            .filter_map(|s| s.metadata.creation_timestamp.as_ref())
            .map(|t| t.0.to_string())
            .min(),
    })
}

/// For each Restore, the backups its Velero restores restored (their `spec.backupName`).
pub async fn restored_backups(
    api: &mut ClusterApi,
    backup_namespace: &str,
    restores: &[DynamicObject],
    observed: &mut [PhaseObservation],
) {
    for restore in restores {
        let value = serde_json::to_value(restore).unwrap_or_default();
        let name = format!(
            "{backup_namespace}/{}",
            restore.metadata.name.as_deref().unwrap_or_default()
        );
        let Some(entry) = observed.iter_mut().find(|o| o.name == name) else {
            continue;
        };
        for velero in velero_restore_names(&value) {
            let id = ObjectId {
                api_version: "velero.io/v1".into(),
                kind: "Restore".into(),
                namespace: Some(backup_namespace.into()),
                name: velero,
            };
            if let Ok(Some(found)) = api.get(&id).await {
                if let Some(backup) = found
                    .data
                    .pointer("/spec/backupName")
                    .and_then(Value::as_str)
                {
                    entry.restored_backups.push(backup.to_string());
                }
            }
        }
        entry.restored_backups.sort();
        entry.restored_backups.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cluster_deployments_without_preserve_on_delete_are_named() {
        let cd = |name: &str, preserve: Option<bool>| -> DynamicObject {
            let mut v = json!({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
                               "metadata": {"name": name, "namespace": name}, "spec": {}});
            if let Some(p) = preserve {
                v["spec"]["preserveOnDelete"] = json!(p);
            }
            serde_json::from_value(v).unwrap()
        };
        let seen = cluster_deployments(&[cd("b", None), cd("a", Some(false)), cd("c", Some(true))]);
        assert_eq!(
            seen,
            ClusterDeploymentsObservation {
                total: 3,
                not_preserved: vec!["a/a".into(), "b/b".into()],
                not_preserved_count: 2,
            }
        );
    }
}
