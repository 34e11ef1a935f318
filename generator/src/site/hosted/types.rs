//! The types of `spec.hostedClusters[]` and their defaults (no site logic: `site::model` holds
//! them, `site::hosted` reads them).

use serde::{Deserialize, Serialize};

use crate::site::secret_key_ref::SecretKeyRef;

/// One hosted cluster (a `HostedCluster` in `namespace`, control plane in `<namespace>-<name>`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostedCluster {
    pub name: String,
    #[serde(default = "default_hosted_namespace")]
    pub namespace: String,
    /// The hub or managed cluster of this site that runs the control plane.
    pub management_cluster: String,
    #[serde(default)]
    pub availability_policy: AvailabilityPolicy,
    pub method: HostedMethod,
    /// Cron of the snapshots (etcd-snapshot) or of the Velero Schedule (oadp).
    pub schedule: String,
    pub destination: HostedDestination,
    /// The Secret holding the etcd encryption key (`spec.secretEncryption.aescbc.activeKey`);
    /// a snapshot restores only with the same key.
    pub encryption_key_secret: String,
    /// etcd-snapshot: the longest the hosted API may stay down; past it the agent resumes the
    /// cluster and reports the run failed.
    #[serde(default = "default_max_api_downtime")]
    pub max_api_downtime: String,
    /// `latest`: the rendered HostedCluster is created from the newest snapshot (a late-bound
    /// pre-signed URL); only ever applied to a HostedCluster that does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_from: Option<RestoreFrom>,
    /// `restoreFrom: latest`: how long the pre-signed URL the agent fills in stays valid.
    #[serde(
        default = "default_restore_url_expiry",
        skip_serializing_if = "is_default_restore_url_expiry"
    )]
    pub restore_url_expiry: String,
    /// `restoreFrom: latest`: the HostedCluster's spec to create it from (its original spec,
    /// without status); hubdr sets the etcd restore and the encryption key into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_cluster_spec: Option<serde_json::Value>,
}

impl HostedCluster {
    /// The namespace of the control plane (`<namespace>-<name>`), where etcd runs.
    pub fn control_plane_namespace(&self) -> String {
        format!("{}-{}", self.namespace, self.name)
    }
}

pub fn default_hosted_namespace() -> String {
    "clusters".into()
}

fn default_max_api_downtime() -> String {
    "10m".into()
}

fn default_restore_url_expiry() -> String {
    "1h".into()
}

fn is_default_restore_url_expiry(v: &str) -> bool {
    v == default_restore_url_expiry()
}

/// The longest a pre-signed restore URL may stay valid (S3 refuses more than 7 days).
pub const MAX_RESTORE_URL_EXPIRY_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum AvailabilityPolicy {
    #[default]
    SingleReplica,
    HighlyAvailable,
}

impl AvailabilityPolicy {
    /// The etcd members to snapshot: etcd-0, or etcd-0..2 when highly available.
    pub fn etcd_members(self) -> &'static [&'static str] {
        match self {
            AvailabilityPolicy::SingleReplica => &["etcd-0"],
            AvailabilityPolicy::HighlyAvailable => &["etcd-0", "etcd-1", "etcd-2"],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AvailabilityPolicy::SingleReplica => "SingleReplica",
            AvailabilityPolicy::HighlyAvailable => "HighlyAvailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum HostedMethod {
    /// The seed's procedure, run by the management cluster's agent.
    #[serde(rename = "etcd-snapshot")]
    EtcdSnapshot,
    /// OADP/Velero with the `hypershift` plugin.
    #[serde(rename = "oadp")]
    Oadp,
}

impl HostedMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HostedMethod::EtcdSnapshot => "etcd-snapshot",
            HostedMethod::Oadp => "oadp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreFrom {
    Latest,
}

/// Where snapshots or Velero backups of a hosted cluster go (S3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostedDestination {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The Secret (on the management cluster) with the bucket credentials.
    pub credentials_secret: SecretKeyRef,
}
