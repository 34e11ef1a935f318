//! The etcd backup part of a cluster's status (seed 003): what the agent observed of the
//! newest backups, and the contract of a backup Job's result.
//!
//! The contract: the backup pod's `upload` container ends by writing one JSON object to its
//! termination message (`/dev/termination-log`, at most 4096 bytes):
//! `{"time": RFC 3339, "version": OpenShift version, "snapshot": {"object": "remote:path/file",
//! "size": bytes}, "keys": {...}}`. The agent reads it from the pods of the backup's Jobs
//! (label `app.kubernetes.io/name=hubdr-etcd-backup`). Untrusted: size-limited, strictly
//! typed.

use serde::{Deserialize, Serialize};

/// Largest termination message Kubernetes keeps.
pub const RESULT_MAX_BYTES: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdBackupObservation {
    /// The newest successful backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<EtcdBackupResult>,
    /// The newest successful backup taken at the cluster's current version (what a restore
    /// needs: the same z-stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_at_current_version: Option<EtcdBackupResult>,
    /// The cluster's current OpenShift version (ClusterVersion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// When the cluster was installed (ClusterVersion history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    /// Whether etcd encryption is on (declared in the site, else read from APIServer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<bool>,
    /// Whether the CronJob is suspended (the cluster is younger than 24 h, or unknown).
    #[serde(default)]
    pub suspended: bool,
}

/// One backup's result, as the upload container reports it (plus the Job's name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdBackupResult {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job: String,
    pub time: String,
    pub version: String,
    pub snapshot: EtcdBackupObject,
    pub keys: EtcdBackupObject,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdBackupObject {
    /// `remote:bucket/prefix/cluster/file`.
    pub object: String,
    pub size: u64,
}

impl EtcdBackupResult {
    /// Parse a termination message; errors name what is wrong.
    pub fn parse(message: &str) -> Result<Self, String> {
        if message.len() > RESULT_MAX_BYTES {
            return Err(format!(
                "the backup result is {} bytes (at most {RESULT_MAX_BYTES})",
                message.len()
            ));
        }
        let result: Self = serde_json::from_str(message.trim())
            .map_err(|e| format!("the backup result is not the documented JSON: {e}"))?;
        if result.time.parse::<jiff::Timestamp>().is_err() {
            return Err(format!(
                "the backup result's time {:?} is not RFC 3339",
                result.time
            ));
        }
        let file = |o: &EtcdBackupObject, prefix: &str, suffix: &str| {
            let name = o.object.rsplit('/').next().unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(suffix)
        };
        if !file(&result.snapshot, "snapshot_", ".db")
            || !file(&result.keys, "static_kuberesources_", ".tar.gz")
        {
            return Err(
                "the backup result does not name a snapshot_<ts>.db and a static_kuberesources_<ts>.tar.gz"
                    .into(),
            );
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_follow_the_contract() {
        let good = r#"{"time":"2026-01-10T02:31:07Z","version":"4.16.5","snapshot":{"object":"s3:b/c/snapshot_2026-01-10_023100.db","size":104857600},"keys":{"object":"k:b/c/static_kuberesources_2026-01-10_023100.tar.gz","size":81234}}"#;
        let r = EtcdBackupResult::parse(good).unwrap();
        assert_eq!(r.version, "4.16.5");
        assert_eq!(r.snapshot.size, 104857600);
        for (bad, says) in [
            ("not json", "not the documented JSON"),
            (
                &good.replace("2026-01-10T02:31:07Z", "yesterday"),
                "RFC 3339",
            ),
            (&good.replace("snapshot_", "data_"), "snapshot_<ts>.db"),
            (
                &good.replace("\"size\":81234", "\"size\":-1"),
                "documented JSON",
            ),
            (&good.replace("}}", "},\"extra\":1}"), "documented JSON"),
            (&" ".repeat(5000), "at most 4096"),
        ] {
            let e = EtcdBackupResult::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
