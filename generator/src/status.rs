//! The status file an agent writes to `clusters/<cluster>.yaml` on the `hubdr-status` branch,
//! read back by `hubdr status` and by other agents' gates. Only timestamps of events appear in
//! it (no ages), so an unchanged cluster gives an unchanged file. Each agent signs its file
//! (`signature.rs`); readers believe only signed files (`trust.rs`).

use serde::{Deserialize, Serialize};

pub mod refs;
pub mod signature;
pub mod trust;

pub const STATUS_BRANCH: &str = "hubdr-status";
pub const STATUS_KIND: &str = "ClusterStatus";

/// Status files, signatures and pins on the status branch: `clusters/<cluster>.yaml`,
/// `clusters/<cluster>.sig`, `keys/<cluster>.pub`.
pub const STATUS_DIR: &str = "clusters";
pub const STATUS_SUFFIX: &str = ".yaml";
pub const SIGNATURE_SUFFIX: &str = ".sig";
pub const PIN_DIR: &str = "keys";
pub const PIN_SUFFIX: &str = ".pub";

/// Where a cluster's status file lives on the status branch.
pub fn status_path(cluster: &str) -> String {
    format!("{STATUS_DIR}/{cluster}{STATUS_SUFFIX}")
}

/// Where the signature of a cluster's status lives on the status branch.
pub fn signature_path(cluster: &str) -> String {
    format!("{STATUS_DIR}/{cluster}{SIGNATURE_SUFFIX}")
}

/// The Secret, in the agent's namespace, where the agent keeps the key it signs its status with.
pub fn status_key_secret(cluster: &str) -> String {
    format!("hubdr-status-key-{cluster}")
}

/// Where the key a cluster's first signed status pinned lives on the status branch.
pub fn pin_path(cluster: &str) -> String {
    format!("{PIN_DIR}/{cluster}{PIN_SUFFIX}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub api_version: String,
    pub kind: String,
    pub cluster: String,
    pub agent_version: String,
    /// When the content last changed, or the last heartbeat.
    pub updated_at: String,
    pub source: SourceStatus,
    pub pass: PassStatus,
    #[serde(default)]
    pub objects: Vec<ObjectResult>,
    #[serde(default)]
    pub gates: Vec<GateStatus>,
    #[serde(default)]
    pub observed: Observed,
    #[serde(default)]
    pub health: Vec<HealthCheck>,
    /// What this agent owns in the cluster (its inventory), as `Kind namespace/name`.
    #[serde(default)]
    pub inventory: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// The commit last applied (or attempted).
    #[serde(default)]
    pub commit: Option<String>,
    /// `failover.generation` of that commit.
    #[serde(default)]
    pub generation: Option<u64>,
    /// True when the repository could not be reached and the last applied state is kept.
    #[serde(default)]
    pub stale: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of the last pass, with one of a fixed set of reasons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassStatus {
    /// `Succeeded`, `Progressing` (gates waiting) or `Failed`.
    pub outcome: String,
    /// `FetchFailed`, `VerifyFailed`, `BuildFailed`, `ApplyFailed`, `PruneFailed`,
    /// `PruneGuard` (pruning held as a likely accident), `HealthFailed`, `Waiting` or `Applied`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// `Kind namespace/name`.
    pub object: String,
    /// `created`, `configured`, `unchanged`, `pruned`, `waiting`, `failed` or `skipped`.
    pub result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    pub object: String,
    /// The `hubdr.io/wait-for` condition.
    pub condition: String,
    /// When the agent started waiting (kept across passes).
    pub since: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    #[serde(default)]
    pub backup_schedules: Vec<PhaseObservation>,
    #[serde(default)]
    pub restores: Vec<PhaseObservation>,
    #[serde(default)]
    pub data_protection_applications: Vec<PhaseObservation>,
    #[serde(default)]
    pub backup_storage_locations: Vec<PhaseObservation>,
    /// Newest Velero backup per schedule.
    #[serde(default)]
    pub latest_backups: Vec<BackupObservation>,
    #[serde(default)]
    pub replication_sources: Vec<SyncObservation>,
    #[serde(default)]
    pub replication_destinations: Vec<SyncObservation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseObservation {
    /// `namespace/name`.
    pub name: String,
    #[serde(default)]
    pub phase: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// `hubdr.io/generation` of the object, when it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupObservation {
    pub schedule: String,
    pub name: String,
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncObservation {
    /// `namespace/name`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<String>,
    /// The address an rsync-tls / rsync destination publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub name: String,
    pub ok: bool,
    pub message: String,
}

impl ClusterStatus {
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::untrusted_yaml::from_str(text, crate::limits::STATUS_FILE_MAX_BYTES)
            .map_err(|e| format!("not a hubdr cluster status: {e}"))
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("status always serializes")
    }

    /// True when two reports differ only in `updatedAt`.
    pub fn same_content(&self, other: &Self) -> bool {
        let mut a = self.clone();
        a.updated_at = other.updated_at.clone();
        a == *other
    }
}

/// An age in seconds as `42s`, `12m`, `3h` or `2d`.
pub fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
