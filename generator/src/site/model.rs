//! The site file as typed data. Field names are the YAML keys (camelCase).
//!
//! Every struct denies unknown fields so that a typo is an error, not a silently ignored key.
//! Defaults live here; cross-field rules live in `validate.rs`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use super::secret_key_ref::SecretKeyRef;

pub use hubdr_core::API_VERSION;
pub const KIND: &str = "Site";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Site {
    pub api_version: String,
    pub kind: String,
    pub metadata: SiteMetadata,
    pub spec: SiteSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SiteMetadata {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SiteSpec {
    #[serde(default = "default_backup_namespace")]
    pub backup_namespace: String,
    /// The ACM version the hubs run (`"2.12"`; 2.8 to 2.15): it decides how a former primary is
    /// fenced (its BackupSchedule paused from 2.12 on, deleted before). Default: the newest
    /// supported. Not written into the canonical model while unset, so older sites keep their
    /// hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acm_version: Option<String>,
    #[serde(default)]
    pub multi_cluster_hub: MultiClusterHubRef,
    /// The hubs' MultiClusterEngine, where auto-import's managed service account component is
    /// enabled (`backup.useManagedServiceAccount`). Default name `multiclusterengine`, the one
    /// ACM creates. Not written into the canonical model while unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_cluster_engine: Option<MultiClusterEngineRef>,
    /// Where the repository lives, for Argo CD and the agents.
    #[serde(default)]
    pub git: GitSource,
    pub storage: Storage,
    #[serde(default)]
    pub velero: Velero,
    pub backup: Backup,
    pub hubs: Vec<Hub>,
    #[serde(default)]
    pub failover: Failover,
    #[serde(default)]
    pub disconnected: Option<Disconnected>,
    #[serde(default)]
    pub managed_clusters: Vec<ManagedCluster>,
    #[serde(default)]
    pub volsync: Option<VolSync>,
    #[serde(default)]
    pub argocd: ArgoCd,
    #[serde(default)]
    pub agent: AgentSettings,
    #[serde(default)]
    pub patches: Vec<Patch>,
    /// HyperShift hosted clusters on hubs or managed clusters (left out of the serialized site
    /// when empty, so sites without it keep their hash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted_clusters: Vec<super::hosted::types::HostedCluster>,
    /// etcd backups of the OpenShift clusters (seed 003). Left out of the serialized site when
    /// unset, so sites without it keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_backup: Option<super::etcd_backup::types::EtcdBackup>,
}

fn default_backup_namespace() -> String {
    "open-cluster-management-backup".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MultiClusterHubRef {
    #[serde(default = "default_mch_name")]
    pub name: String,
    #[serde(default = "default_mch_namespace")]
    pub namespace: String,
}

impl Default for MultiClusterHubRef {
    fn default() -> Self {
        Self {
            name: default_mch_name(),
            namespace: default_mch_namespace(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MultiClusterEngineRef {
    #[serde(default = "default_mce_name")]
    pub name: String,
}

/// The name ACM gives the MultiClusterEngine it installs.
pub fn default_mce_name() -> String {
    "multiclusterengine".into()
}

fn default_mch_name() -> String {
    "multiclusterhub".into()
}
fn default_mch_namespace() -> String {
    "open-cluster-management".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitSource {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "default_branch")]
    pub branch: String,
}

impl Default for GitSource {
    fn default() -> Self {
        Self {
            url: None,
            branch: default_branch(),
        }
    }
}

fn default_branch() -> String {
    "main".into()
}

/// The backup storage location every hub points at (active and passive hubs share it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    pub provider: String,
    pub bucket: String,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    pub credentials_secret: SecretKeyRef,
    /// Server-side encryption key (AWS KMS key id) for the bucket.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Extra provider config (e.g. s3Url, s3ForcePathStyle, insecureSkipTLSVerify).
    #[serde(default)]
    pub config: IndexMap<String, String>,
    /// Name of the backup location inside the DPA.
    #[serde(default = "default_location_name")]
    pub location_name: String,
    #[serde(default = "default_true")]
    pub default: bool,
    #[serde(default)]
    pub snapshot_locations: Vec<SnapshotLocation>,
}

fn default_location_name() -> String {
    "default".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotLocation {
    #[serde(default = "default_location_name")]
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub config: IndexMap<String, String>,
    #[serde(default)]
    pub credentials_secret: Option<SecretKeyRef>,
}

/// Velero settings of the DataProtectionApplication.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Velero {
    /// Name of the DataProtectionApplication.
    #[serde(default = "default_dpa_name")]
    pub name: String,
    #[serde(default = "default_plugins")]
    pub default_plugins: Vec<String>,
    #[serde(default)]
    pub node_agent: Option<NodeAgent>,
    /// Velero pod resource allocations (a hub with ~2000 managed clusters needs ~1Gi memory).
    #[serde(default)]
    pub resources: Option<Resources>,
}

impl Default for Velero {
    fn default() -> Self {
        Self {
            name: default_dpa_name(),
            default_plugins: default_plugins(),
            node_agent: None,
            resources: None,
        }
    }
}

fn default_dpa_name() -> String {
    "velero".into()
}

fn default_plugins() -> Vec<String> {
    vec!["openshift".into(), "aws".into()]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeAgent {
    #[serde(default = "default_true")]
    pub enable: bool,
    /// `kopia` or `restic`.
    #[serde(default = "default_uploader")]
    pub uploader_type: String,
}

fn default_uploader() -> String {
    "kopia".into()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub limits: IndexMap<String, String>,
    #[serde(default)]
    pub requests: IndexMap<String, String>,
}

/// The BackupSchedule of the active hub.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    pub schedule: String,
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub use_managed_service_account: bool,
    #[serde(default, rename = "managedServiceAccountTTL")]
    pub managed_service_account_ttl: Option<String>,
    #[serde(default = "default_schedule_name")]
    pub name: String,
}

fn default_schedule_name() -> String {
    "schedule-acm".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HubRole {
    Active,
    Passive,
    Fenced,
    /// A former primary taken out of the site's disaster recovery by `hubdr decommission`:
    /// its ManagedClusters detached, its ACM backup objects removed, its storage untouched.
    Decommissioned,
}

impl HubRole {
    pub fn as_str(self) -> &'static str {
        match self {
            HubRole::Active => "active",
            HubRole::Passive => "passive",
            HubRole::Fenced => "fenced",
            HubRole::Decommissioned => "decommissioned",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hub {
    pub name: String,
    pub role: HubRole,
    /// How often a passive hub re-restores new backups (Restore.spec.restoreSyncInterval).
    #[serde(default)]
    pub restore_sync_interval: Option<String>,
    /// None, CleanupRestored (default) or CleanupAll.
    #[serde(default = "default_cleanup")]
    pub cleanup_before_restore: String,
    /// The failover generation at which this hub became passive; names its passive-sync
    /// Restore (`restore-acm-passive-sync-g<N>`) so a hub that stays passive keeps its Restore
    /// across failovers, and a hub that becomes passive again gets a new one.
    #[serde(default)]
    pub passive_since: u64,
    /// Whether a passive hub keeps syncing (`syncRestoreWithNewBackups`); `false` gives a
    /// one-time passive Restore `restore-acm-passive-g<N>` instead.
    #[serde(default = "default_true")]
    pub passive_sync: bool,
    /// Set by `hubdr failover`: the generation at which this hub took over. An active hub with
    /// it activates managed clusters from the backups before its BackupSchedule is created.
    #[serde(default)]
    pub active_since: Option<u64>,
    /// Set by `hubdr failover` on the old primary: the generation at which it was fenced. The
    /// new primary of that generation waits for this hub's status (unless it is unreachable).
    #[serde(default)]
    pub fenced_since: Option<u64>,
    /// Set by `hubdr failover --abort` on the old primary it gives the role back to: the
    /// generation of the abort. Such a hub activates nothing (it kept its managed clusters); its
    /// BackupSchedule is unpaused or recreated only once the aborted target reports that
    /// generation without having activated. Not written into the canonical model while unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_since: Option<u64>,
    /// Overrides `spec.disconnected` for this hub (`false` marks a connected hub in a disconnected site).
    #[serde(default)]
    pub disconnected: Option<bool>,
    #[serde(default)]
    pub argocd_cluster: Option<String>,
    /// Set by `hubdr decommission`: the generation at which this former primary was
    /// decommissioned. Not written into the canonical model while unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommissioned_since: Option<u64>,
}

fn default_cleanup() -> String {
    "CleanupRestored".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Failover {
    /// Only grows; names one-shot objects such as `restore-acm-activate-g<N>`.
    #[serde(default)]
    pub generation: u64,
    /// Set by `hubdr failover --old-primary-unreachable`: do not wait for the fenced hub.
    #[serde(default)]
    pub old_primary_unreachable: bool,
    /// The activation attempt of the takeover at this generation, raised by `hubdr failover
    /// --retry` after a failed one: each attempt activates with a Restore of its own
    /// (`restore-acm-activate-g<N>-a<attempt>` from the second on), as a Restore runs once.
    /// Not written into the canonical model while it is 1, so older sites keep their hash.
    #[serde(default = "first_attempt", skip_serializing_if = "is_first_attempt")]
    pub attempt: u64,
}

impl Default for Failover {
    fn default() -> Self {
        Self {
            generation: 0,
            old_primary_unreachable: false,
            attempt: first_attempt(),
        }
    }
}

fn first_attempt() -> u64 {
    1
}

fn is_first_attempt(attempt: &u64) -> bool {
    *attempt == 1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disconnected {
    /// The CatalogSource that mirrors the Red Hat operators.
    pub catalog_source: String,
    #[serde(default = "default_marketplace")]
    pub catalog_source_namespace: String,
}

fn default_marketplace() -> String {
    "openshift-marketplace".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedCluster {
    pub name: String,
    /// API server URL; auto-import on a new hub needs it (managedClusterClientConfigs[].url).
    #[serde(default)]
    pub api_server: Option<String>,
    #[serde(default)]
    pub argocd_cluster: Option<String>,
    /// The addresses the services this cluster publishes may have; a late-bound address
    /// outside them is refused by the source cluster's agent (see `network.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<ClusterNetwork>,
    /// Whether the cluster runs OpenShift (default); `false` leaves it out of OpenShift-only
    /// features such as `spec.etcdBackup`.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub openshift: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

/// `spec.managedClusters[].network`: CIDRs and DNS suffixes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterNetwork {
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolSync {
    /// Operator subscription channel pinned on each ManagedClusterAddOn, e.g. stable-0.9.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub replications: Vec<Replication>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Method {
    #[serde(rename = "rsync-tls")]
    RsyncTls,
    #[serde(rename = "rsync")]
    Rsync,
    #[serde(rename = "restic")]
    Restic,
    #[serde(rename = "rclone")]
    Rclone,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::RsyncTls => "rsync-tls",
            Method::Rsync => "rsync",
            Method::Restic => "restic",
            Method::Rclone => "rclone",
        }
    }
}

/// One protected volume. Method-specific fields are checked in `validate.rs`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replication {
    pub name: String,
    pub method: Method,
    /// Cron for the source trigger.
    pub schedule: String,
    pub source: ReplicationSourceSpec,
    /// rsync-tls / rsync: the single destination.
    #[serde(default)]
    pub destination: Option<ReplicationDestinationSpec>,
    /// rclone: one or more destinations fed through the intermediate bucket.
    #[serde(default)]
    pub destinations: Vec<ReplicationDestinationSpec>,
    /// rsync-tls: name of the pre-shared key Secret (`psk.txt` = `<id>:<hex>`) on both sides.
    #[serde(default)]
    pub psk_secret: Option<String>,
    /// rsync: name of the ssh keys Secret present on both sides.
    #[serde(default)]
    pub ssh_keys_secret: Option<String>,
    /// restic: the `restic-config` Secret (RESTIC_REPOSITORY, RESTIC_PASSWORD, credentials).
    #[serde(default)]
    pub repository_secret: Option<String>,
    #[serde(default)]
    pub prune_interval_days: Option<i64>,
    #[serde(default)]
    pub retain: Option<Retain>,
    /// restic: an optional restore of the backup into a PVC (trigger.manual, copyMethod Direct).
    #[serde(default)]
    pub restore: Option<ResticRestore>,
    /// rclone: config section, destination path and config Secret.
    #[serde(default)]
    pub rclone: Option<RcloneConfig>,
    /// Annotate the namespaces `volsync.backube/privileged-movers=true`.
    #[serde(default)]
    pub privileged_movers: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicationSourceSpec {
    pub cluster: String,
    pub namespace: String,
    pub pvc: String,
    #[serde(default)]
    pub copy_method: Option<String>,
    #[serde(default)]
    pub storage_class_name: Option<String>,
    #[serde(default)]
    pub volume_snapshot_class_name: Option<String>,
    #[serde(default)]
    pub access_modes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicationDestinationSpec {
    pub cluster: String,
    pub namespace: String,
    #[serde(default)]
    pub capacity: Option<String>,
    #[serde(default)]
    pub copy_method: Option<String>,
    #[serde(default)]
    pub access_modes: Vec<String>,
    #[serde(default)]
    pub storage_class_name: Option<String>,
    #[serde(default)]
    pub volume_snapshot_class_name: Option<String>,
    /// rsync-tls / rsync: LoadBalancer or ClusterIP.
    #[serde(default)]
    pub service_type: Option<String>,
    /// rsync-tls / rsync: a fixed address (e.g. a Submariner clusterset name); otherwise the
    /// source agent binds the address the destination publishes at run time.
    #[serde(default)]
    pub address: Option<String>,
    /// rclone: explicit destination schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// rclone: shift of the destination schedule after the source's, in minutes.
    #[serde(default)]
    pub schedule_offset_minutes: Option<u32>,
    /// A PVC filled from the destination's latest image (spec.dataSourceRef).
    #[serde(default)]
    pub pvc: Option<ReplicaPvc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicaPvc {
    pub name: String,
    #[serde(default)]
    pub storage_class_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retain {
    #[serde(default)]
    pub hourly: Option<i32>,
    #[serde(default)]
    pub daily: Option<i32>,
    #[serde(default)]
    pub weekly: Option<i32>,
    #[serde(default)]
    pub monthly: Option<i32>,
    #[serde(default)]
    pub yearly: Option<i32>,
    #[serde(default)]
    pub within: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResticRestore {
    pub cluster: String,
    pub namespace: String,
    /// An existing PVC the backup is restored into.
    #[serde(rename = "destinationPVC")]
    pub destination_pvc: String,
    /// A restore run, requested: the destination is rendered only when this is set, with
    /// `trigger.manual: <run>`. VolSync runs each distinct value once; set a new id to
    /// restore again. Unset, nothing is rendered (a restore declared but not requested must
    /// not run on the first render, before the first backup). `trigger` is its former name.
    #[serde(default, alias = "trigger")]
    pub run: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RcloneConfig {
    pub config_section: String,
    pub dest_path: String,
    pub config_secret: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgoCd {
    #[serde(default = "default_argocd_namespace")]
    pub namespace: String,
    #[serde(default = "default_argocd_project")]
    pub project: String,
    #[serde(default)]
    pub automated: Option<ArgoAutomated>,
}

impl Default for ArgoCd {
    fn default() -> Self {
        Self {
            namespace: default_argocd_namespace(),
            project: default_argocd_project(),
            automated: None,
        }
    }
}

fn default_argocd_namespace() -> String {
    "openshift-gitops".into()
}
fn default_argocd_project() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgoAutomated {
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub self_heal: bool,
}

/// A kustomize-like patch applied after rendering.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub target: PatchTarget,
    /// RFC 7386 JSON merge patch.
    #[serde(default)]
    pub merge: Option<serde_json::Value>,
    /// RFC 6902 JSON patch operations.
    #[serde(default)]
    pub json: Option<serde_json::Value>,
}

/// Which objects a patch applies to; each field is an exact name or a `*` glob.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchTarget {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// How `agents/<cluster>.yaml` runs hubdr-agent.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentSettings {
    #[serde(default = "default_agent_image")]
    pub image: String,
    #[serde(default = "default_agent_namespace")]
    pub namespace: String,
    /// The Secret (in the agent's namespace) holding the git token or ssh key; never in git.
    #[serde(default = "default_git_secret")]
    pub git_credentials_secret: String,
    #[serde(default = "default_agent_interval")]
    pub interval: String,
    #[serde(default = "default_agent_heartbeat")]
    pub heartbeat: String,
    /// Registered status keys, cluster -> `ed25519:<base64>`: a cluster's status is trusted
    /// only when signed by this key. Clusters not listed are trusted on first use (the key of
    /// their first signed status is pinned on the status branch).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_keys: BTreeMap<String, String>,
    /// Kinds beyond those hubdr renders that every agent of the site may manage: a privilege
    /// grant (RBAC and `--allow-kind`), for objects of template overrides. Reviewed like code.
    /// (Left out of the serialized site when empty, so sites without it keep their hash.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_kinds: Vec<ExtraKind>,
}

/// A kind granted to the agents by `spec.agent.extraKinds`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraKind {
    /// API group; `core` for the core group.
    pub group: String,
    pub kind: String,
    /// The resource (plural) RBAC rules name, e.g. `networkpolicies`.
    pub resource: String,
    /// `Namespaced` (granted in the namespaces the site renders into for the cluster) or
    /// `Cluster` (granted cluster-wide).
    pub scope: crate::kinds::Scope,
}

impl ExtraKind {
    /// The API group as objects carry it (`""` for the core group).
    pub fn api_group(&self) -> &str {
        if self.group == "core" {
            ""
        } else {
            &self.group
        }
    }
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            image: default_agent_image(),
            namespace: default_agent_namespace(),
            git_credentials_secret: default_git_secret(),
            interval: default_agent_interval(),
            heartbeat: default_agent_heartbeat(),
            status_keys: BTreeMap::new(),
            extra_kinds: Vec::new(),
        }
    }
}

fn default_agent_image() -> String {
    format!("quay.io/hubdr/hubdr-agent:{}", env!("CARGO_PKG_VERSION"))
}
fn default_agent_namespace() -> String {
    "hubdr-agent".into()
}
fn default_git_secret() -> String {
    "hubdr-git-credentials".into()
}
fn default_agent_interval() -> String {
    "30s".into()
}
fn default_agent_heartbeat() -> String {
    "10m".into()
}

#[cfg(test)]
mod tests {
    use super::ResticRestore;

    #[test]
    fn a_restore_run_is_read_under_its_former_name_trigger_too() {
        let old: ResticRestore = serde_yaml::from_str(
            "{cluster: c, namespace: n, destinationPVC: p, trigger: restore-2024-06-01}",
        )
        .unwrap();
        assert_eq!(old.run.as_deref(), Some("restore-2024-06-01"));
        let unrequested: ResticRestore =
            serde_yaml::from_str("{cluster: c, namespace: n, destinationPVC: p}").unwrap();
        assert_eq!(unrequested.run, None);
    }
}
