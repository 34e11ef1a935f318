//! What the agent observes of its etcd backups: the results of the backup Jobs' pods (see
//! `hubdr_core::status::etcd_backup` for the contract), newest first.

use hubdr_core::status::etcd_backup::{EtcdBackupObservation, EtcdBackupResult};
use serde_json::Value;

use crate::kubeapi::ClusterApi;

use super::rules::ClusterFacts;

pub const POD_SELECTOR: &str = "app.kubernetes.io/name=hubdr-etcd-backup";

/// The results in the pods of namespace `ns`; unreadable results are reported, not fatal.
pub async fn results(
    api: &mut ClusterApi,
    ns: &str,
) -> Result<(Vec<EtcdBackupResult>, Vec<String>), String> {
    let pods = api
        .list("v1", "Pod", Some(ns), Some(POD_SELECTOR))
        .await
        .map_err(|e| format!("cannot list the etcd backup pods in {ns}: {e}"))?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for pod in pods {
        let pod = serde_json::to_value(&pod).expect("objects serialize");
        if let Some(result) = result_of(&pod, &mut problems) {
            out.push(result);
        }
    }
    out.sort_by(|a, b| b.time.cmp(&a.time));
    Ok((out, problems))
}

/// The result of one pod: its `upload` container terminated with exit code 0 and a message.
fn result_of(pod: &Value, problems: &mut Vec<String>) -> Option<EtcdBackupResult> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let upload = pod
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == "upload")?;
    let terminated = upload.pointer("/state/terminated")?;
    if terminated["exitCode"] != 0 {
        return None;
    }
    let message = terminated["message"].as_str()?;
    match EtcdBackupResult::parse(message) {
        Ok(mut result) => {
            let labels = pod.pointer("/metadata/labels");
            result.job = labels
                .and_then(|l| {
                    l.get("batch.kubernetes.io/job-name")
                        .or_else(|| l.get("job-name"))
                })
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string();
            Some(result)
        }
        Err(e) => {
            problems.push(format!("etcd backup pod {name}: {e}"));
            None
        }
    }
}

/// The observation from the results (newest first) and the cluster's facts.
pub fn observation(
    results: &[EtcdBackupResult],
    facts: &ClusterFacts,
    declared_encryption: Option<bool>,
    suspended: bool,
) -> EtcdBackupObservation {
    let current = facts.current_version.clone();
    EtcdBackupObservation {
        newest: results.first().cloned(),
        newest_at_current_version: current
            .as_ref()
            .and_then(|v| results.iter().find(|r| &r.version == v).cloned()),
        current_version: current,
        installed: facts.installed.map(|t| t.to_string()),
        encryption: declared_encryption.or(facts.encryption),
        suspended,
    }
}
