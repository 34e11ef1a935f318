//! The status file an agent writes to `clusters/<cluster>.yaml` on the `hubdr-status` branch,
//! read back by `hubdr status` and by other agents' gates. Only timestamps of events appear in
//! it (no ages), so an unchanged cluster gives an unchanged file. Each agent signs its file
//! (`signature.rs`); readers believe only signed files (`trust.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod etcd_backup;
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

/// ACM Restore phases that mean the restore ended with errors.
pub const FAILED_RESTORE_PHASES: [&str; 4] =
    ["FinishedWithErrors", "PartiallyFailed", "Error", "Failed"];

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
    /// A fenced hub's fence, as its agent observed it after acting on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<FenceObservation>,
    /// A hub's ManagedClusters (but its own), when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_clusters: Option<ManagedClustersObservation>,
    /// What a failover's preflight reads: the hub's ACM (MultiClusterHub) and MCE versions,
    /// whether ACM observability is installed, and its Hive ClusterDeployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acm_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mce_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_deployments: Option<ClusterDeploymentsObservation>,
    /// The takeover this hub made (its activation Restore), for the recovery point and time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover: Option<TakeoverObservation>,
    /// Hosted clusters this cluster snapshots (`spec.hostedClusters`, etcd-snapshot).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted_clusters: Vec<HostedClusterStatus>,
    /// The etcd backups of the cluster (seed 003), when the site backs its etcd up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_backup: Option<etcd_backup::EtcdBackupObservation>,
    /// Every HostedCluster found on this cluster (a hub or a management cluster), and which
    /// hubdr backup covers it, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted_clusters_seen: Vec<SeenHostedCluster>,
}

/// A HostedCluster whose control plane runs on the reporting cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenHostedCluster {
    /// `namespace/name`.
    pub name: String,
    /// `etcd-snapshot` or `oadp` (declared in `spec.hostedClusters`); None: no hubdr backup
    /// covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<String>,
}

/// One hosted cluster's etcd snapshots, as its management cluster's agent reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostedClusterStatus {
    /// `namespace/name` of the HostedCluster.
    pub name: String,
    pub method: String,
    /// The step of the run in progress (`pause`, `scale-down`, `snapshot etcd-1`, `resume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What the last pass did.
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<HostedRun>,
    /// The newest good snapshot, one per etcd member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_snapshots: Vec<HostedSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostedRun {
    pub started: String,
    pub finished: String,
    pub succeeded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// How long the hosted cluster's API was down, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_down_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostedSnapshot {
    pub member: String,
    pub time: String,
    pub revision: u64,
    pub hash: u64,
    pub size: u64,
    /// The object key in the destination bucket (no URL, no credential).
    pub object: String,
}

/// A new primary's takeover, as its agent observed it: times of events only, so an unchanged
/// hub gives an unchanged status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TakeoverObservation {
    /// The failover generation of the activation Restore (`hubdr.io/generation`).
    pub generation: u64,
    /// `namespace/name` of the activation Restore.
    pub restore: String,
    /// The managed-clusters backup it restored: the recovery point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_backup: Option<String>,
    /// When the activation Restore finished (`status.completionTimestamp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    /// When the new primary's BackupSchedule was created: the takeover complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedule_created_at: Option<String>,
}

/// The time a Velero scheduled backup was taken, from its name (`<schedule>-YYYYMMDDHHMMSS`,
/// UTC), in seconds since the epoch.
pub fn backup_taken_at(name: &str) -> Option<i64> {
    let stamp = name.rsplit('-').next()?;
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    epoch(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    ))
}

/// A hub's Hive ClusterDeployments: deleting one without `spec.preserveOnDelete: true` (as a
/// switchover or decommission may) destroys the real cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDeploymentsObservation {
    pub total: usize,
    /// `namespace/name` of those without `spec.preserveOnDelete: true` (the first 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_preserved: Vec<String>,
    /// How many are not preserved.
    #[serde(default)]
    pub not_preserved_count: usize,
}

/// How many of a hub's ManagedClusters are back, and the stragglers by name (the first
/// [`ManagedClustersObservation::NAMES`] of each list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClustersObservation {
    pub total: usize,
    /// `ManagedClusterJoined` and `ManagedClusterConditionAvailable`.
    pub available: usize,
    /// Not joined: the klusterlet has not connected to this hub (needs auto-import or an
    /// `auto-import-secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_import: Vec<String>,
    /// Joined but not Available.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_available: Vec<String>,
    /// Each ManagedCluster's `spec.managedClusterClientConfigs[].url` (what auto-import connects
    /// to; an empty list when it has none), as [`crate::api_url::ApiUrl::report`] writes them:
    /// never a caBundle, never user info. At most [`Self::URLS_PER_CLUSTER`] per cluster and
    /// [`Self::URL_BYTES`] in all; `clientConfigsOmitted` counts the clusters left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_configs: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub client_configs_omitted: usize,
}

impl ManagedClustersObservation {
    pub const NAMES: usize = 50;
    pub const URLS_PER_CLUSTER: usize = 4;
    pub const URL_BYTES: usize = 1 << 20;
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the agent of a fenced hub observed of its fence. `fencedAt` is set only when every
/// part of it was observed in place: the other hubs' gates read it ("fenced at generation N").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FenceObservation {
    /// The generation applied when the fence was observed complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fenced_at: Option<u64>,
    /// What is in place, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
    /// What is not in place yet, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
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
    /// A Restore: the backups its last Velero restores restored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored_backups: Vec<String>,
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

    /// True when two reports differ only in `updatedAt` and in the values that move on their
    /// own while nothing happens ([`ClusterStatus::without_volatile`]): a change that needs no
    /// entry in the cluster's status history, only a new heartbeat (which carries the status).
    pub fn same_timeline(&self, other: &Self) -> bool {
        let mut a = self.without_volatile();
        let b = other.without_volatile();
        a.updated_at = b.updated_at.clone();
        a == b
    }

    /// This report without the values that change on a schedule in a healthy, idle cluster:
    /// each ReplicationSource's and ReplicationDestination's sync times and latest image
    /// (VolSync syncs every few minutes) and the newest Velero backup per schedule (the
    /// BackupSchedule backs up every hour or so). They are still reported (the heartbeat
    /// carries them, and `hubdr status` shows them), but a change of them alone adds no commit
    /// to the status history, which would otherwise grow by one commit per sync. What they
    /// mean for health (a backup failed or too old) is in `health`, which is kept.
    pub fn without_volatile(&self) -> Self {
        let mut out = self.clone();
        let o = &mut out.observed;
        for sync in o
            .replication_sources
            .iter_mut()
            .chain(o.replication_destinations.iter_mut())
        {
            sync.last_sync_time = None;
            sync.next_sync_time = None;
            sync.last_sync_duration = None;
            sync.latest_image = None;
        }
        o.latest_backups.clear();
        out
    }
}

/// Seconds since the Unix epoch of an RFC 3339 UTC time (`2026-11-22T10:00:00Z`, fractions
/// and `+00:00` accepted), or `None`.
pub fn epoch(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z').trim_end_matches("+00:00");
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
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
