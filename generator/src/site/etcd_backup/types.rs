//! The types of `spec.etcdBackup` and their defaults (no site logic: `site::model` holds them,
//! `site::etcd_backup` reads them).

use serde::{Deserialize, Serialize};

/// Where the backup objects live on each selected cluster (its agent may use it).
pub const DEFAULT_NAMESPACE: &str = "hubdr-etcd-backup";
/// The uploader: rclone, a maintained tool for every object store, pinned by tag.
pub const DEFAULT_UPLOAD_IMAGE: &str = "docker.io/rclone/rclone:1.68.2";
/// Runs `chroot /host /usr/local/bin/cluster-backup.sh` (any image with bash and chroot).
pub const DEFAULT_BACKUP_IMAGE: &str = "registry.access.redhat.com/ubi9/ubi:9.5";

/// `spec.etcdBackup`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdBackup {
    /// Namespace of the backup objects on every selected cluster.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// 5-field cron, in the cluster's time zone (UTC on OpenShift nodes): pick quiet hours.
    pub schedule: String,
    #[serde(default)]
    pub retention: EtcdRetention,
    /// Whether etcd encryption is on. Unset: each agent reads the cluster's APIServer at run
    /// time and reports keys stored beside snapshots as a health problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<bool>,
    /// Where `snapshot_<ts>.db` goes.
    pub snapshots: EtcdDestination,
    /// Where `static_kuberesources_<ts>.tar.gz` (the encryption keys) goes: apart from the
    /// snapshots.
    pub keys: EtcdDestination,
    /// Which clusters: unset = every OpenShift hub and managed cluster of the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Clusters left out (opt-out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub images: EtcdImages,
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.into()
}

/// How long shipped backups are kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdRetention {
    /// Objects older than this many days are deleted from both destinations after each upload.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u32,
}

impl Default for EtcdRetention {
    fn default() -> Self {
        Self {
            max_age_days: default_max_age_days(),
        }
    }
}

fn default_max_age_days() -> u32 {
    30
}

/// An rclone remote and path; the remote is defined in `rclone.conf` of a Secret (by name).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdDestination {
    /// The remote's name in the Secret's `rclone.conf`, e.g. `s3`.
    pub remote: String,
    /// Bucket and prefix, e.g. `acme-etcd-snapshots/prod`; the cluster name is appended.
    pub path: String,
    /// The Secret (in the backup namespace) with key `rclone.conf`; never in git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
}

impl EtcdDestination {
    /// The bucket: the first path segment.
    pub fn bucket(&self) -> &str {
        self.path.trim_matches('/').split('/').next().unwrap_or("")
    }

    /// `remote:path/<cluster>`, as rclone takes it.
    pub fn target(&self, cluster: &str) -> String {
        format!("{}:{}/{cluster}", self.remote, self.path.trim_matches('/'))
    }

    /// Whether `self` and `other` are the same place: same remote and bucket.
    pub fn same_place(&self, other: &EtcdDestination) -> bool {
        self.remote == other.remote && self.bucket() == other.bucket()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdImages {
    /// Runs the host's `cluster-backup.sh` through `chroot /host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Runs rclone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

impl EtcdImages {
    pub fn backup(&self) -> &str {
        self.backup.as_deref().unwrap_or(DEFAULT_BACKUP_IMAGE)
    }
    pub fn upload(&self) -> &str {
        self.upload.as_deref().unwrap_or(DEFAULT_UPLOAD_IMAGE)
    }
}
