//! `spec.hostedClusters[]`: HyperShift hosted clusters whose control planes run on a hub or a
//! managed cluster of the site (seed 004 §4.1), and how each is protected. The types, their
//! defaults and their rules (pure: site in, diagnostics out; called by `validate::validate`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::diagnostic::Diagnostic;
use super::model::{SecretKeyRef, SiteSpec};
use super::units;

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

/// The rules of `spec.hostedClusters`.
pub fn validate(spec: &SiteSpec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let clusters: Vec<&str> = spec
        .hubs
        .iter()
        .map(|h| h.name.as_str())
        .chain(spec.managed_clusters.iter().map(|c| c.name.as_str()))
        .collect();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, h) in spec.hosted_clusters.iter().enumerate() {
        let path = format!("spec.hostedClusters[{i}]");
        let mut check = |field: &str, result: Result<(), String>, fix: &str| {
            if let Err(message) = result {
                out.push(Diagnostic::error(format!("{path}.{field}"), message, fix));
            }
        };
        check(
            "name",
            units::check_dns1123_label(&h.name),
            "rename it to a valid DNS-1123 label",
        );
        check(
            "namespace",
            units::check_dns1123_label(&h.namespace),
            "rename it to a valid DNS-1123 label (HyperShift's default is clusters)",
        );
        // The control-plane namespace `<namespace>-<name>` must be a label too.
        if h.namespace.len() + 1 + h.name.len() > 63 {
            check(
                "name",
                Err(format!(
                    "the control-plane namespace {:?} is longer than 63 characters",
                    h.control_plane_namespace()
                )),
                "shorten the name or the namespace",
            );
        }
        check(
            "schedule",
            units::parse_cron(&h.schedule).map(|_| ()),
            "use a 5-field cron expression such as \"0 */6 * * *\" (quote it in YAML)",
        );
        check(
            "maxApiDowntime",
            match units::parse_duration(&h.max_api_downtime) {
                Ok(d) if d.is_zero() => Err("must be greater than zero".into()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
            "write a Go duration such as \"10m\"",
        );
        check(
            "destination.bucket",
            units::check_dns1123_subdomain(&h.destination.bucket),
            "give the S3 bucket name (lowercase letters, digits, '-' and '.')",
        );
        check(
            "destination.credentialsSecret.name",
            units::check_dns1123_subdomain(&h.destination.credentials_secret.name),
            "name the Secret with the bucket credentials",
        );
        check(
            "encryptionKeySecret",
            units::check_dns1123_subdomain(&h.encryption_key_secret),
            "name the Secret of spec.secretEncryption.aescbc.activeKey (e.g. <name>-etcd-encryption-key)",
        );
        if !clusters.contains(&h.management_cluster.as_str()) {
            out.push(Diagnostic::error(
                format!("{path}.managementCluster"),
                format!(
                    "{:?} is not a hub or managed cluster of this site",
                    h.management_cluster
                ),
                format!(
                    "use one of spec.hubs or spec.managedClusters ({}) or add it there",
                    clusters.join(", ")
                ),
            ));
        }
        if let Some(first) = seen.insert((&h.namespace, &h.name), i) {
            out.push(Diagnostic::error(
                format!("{path}.name"),
                format!(
                    "hosted cluster {}/{} is already listed at spec.hostedClusters[{first}]",
                    h.namespace, h.name
                ),
                "list every hosted cluster once",
            ));
        }
        if h.restore_from.is_some() && h.method == HostedMethod::EtcdSnapshot {
            out.extend(validate_restore(h, &path));
        }
        if h.restore_from.is_some() && h.method == HostedMethod::Oadp {
            out.push(Diagnostic::error(
                format!("{path}.restoreFrom"),
                "restoreFrom restores an etcd snapshot; the oadp method restores with a Velero Restore",
                "remove restoreFrom, or use method: etcd-snapshot",
            ));
        }
    }
    out
}

/// `restoreFrom: latest`: the spec to create the HostedCluster from, and the URL's expiry.
fn validate_restore(h: &HostedCluster, path: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match units::parse_duration(&h.restore_url_expiry) {
        Ok(d) if d.is_zero() || d.as_secs() > MAX_RESTORE_URL_EXPIRY_SECS => {
            out.push(Diagnostic::error(
                format!("{path}.restoreUrlExpiry"),
                format!(
                    "{:?} is outside 1s..168h (S3 pre-signed URLs last at most 7 days)",
                    h.restore_url_expiry
                ),
                "use a short expiry such as \"1h\": the URL embeds a credential",
            ));
        }
        Ok(_) => {}
        Err(e) => out.push(Diagnostic::error(
            format!("{path}.restoreUrlExpiry"),
            e,
            "write a Go duration such as \"1h\"",
        )),
    }
    let Some(spec) = &h.hosted_cluster_spec else {
        out.push(Diagnostic::error(
            format!("{path}.restoreFrom"),
            "restoreFrom: latest creates the HostedCluster from its newest snapshot, but the site has no hostedClusterSpec to create it from",
            format!(
                "add hostedClusterSpec: the HostedCluster's original spec (`oc get hostedcluster -n {} {} -o jsonpath='{{.spec}}'`, kept from before the loss), or remove restoreFrom and follow `hubdr hcp restore-plan {}`",
                h.namespace, h.name, h.name
            ),
        ));
        return out;
    };
    let field = |f: &str| format!("{path}.hostedClusterSpec.{f}");
    if !spec.is_object() {
        out.push(Diagnostic::error(
            format!("{path}.hostedClusterSpec"),
            "must be a mapping (the HostedCluster's spec)",
            "write the spec's fields (release, pullSecret, platform, networking, services, ...)",
        ));
        return out;
    }
    if spec
        .pointer("/etcd/managed/storage/restoreSnapshotURL")
        .is_some()
    {
        out.push(Diagnostic::error(
            field("etcd.managed.storage.restoreSnapshotURL"),
            "is set by the agent at creation (a pre-signed URL that expires and embeds a credential: never in the site or git)",
            "remove restoreSnapshotURL from hostedClusterSpec",
        ));
    }
    if let Some(t) = spec
        .pointer("/etcd/managementType")
        .and_then(|v| v.as_str())
    {
        if t != "Managed" {
            out.push(Diagnostic::error(
                field("etcd.managementType"),
                format!("{t:?}: a snapshot restores only into managed etcd"),
                "use managementType: Managed (or leave it out)",
            ));
        }
    }
    let key = spec.pointer("/secretEncryption/aescbc/activeKey/name");
    if key.is_some_and(|k| k.as_str() != Some(h.encryption_key_secret.as_str())) {
        out.push(Diagnostic::error(
            field("secretEncryption.aescbc.activeKey.name"),
            format!(
                "is not the encryptionKeySecret {:?}: a snapshot restores only with the key it was taken with",
                h.encryption_key_secret
            ),
            "leave secretEncryption out (hubdr sets it) or name the same Secret as encryptionKeySecret",
        ));
    }
    out
}

/// The hosted clusters whose control planes run on `cluster`.
pub fn hosted_on<'a>(
    spec: &'a SiteSpec,
    cluster: &'a str,
) -> impl Iterator<Item = &'a HostedCluster> {
    spec.hosted_clusters
        .iter()
        .filter(move |h| h.management_cluster == cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_follow_the_availability_policy() {
        assert_eq!(AvailabilityPolicy::SingleReplica.etcd_members(), ["etcd-0"]);
        assert_eq!(
            AvailabilityPolicy::HighlyAvailable.etcd_members(),
            ["etcd-0", "etcd-1", "etcd-2"]
        );
    }

    fn restore_diagnostics(extra: &str) -> Vec<String> {
        let h: HostedCluster = serde_yaml::from_str(&format!(
            "{{name: t, managementCluster: hub-a, method: etcd-snapshot, schedule: '0 * * * *', destination: {{bucket: b, credentialsSecret: {{name: s3}}}}, encryptionKeySecret: t-key, restoreFrom: latest{extra}}}"
        ))
        .unwrap();
        validate_restore(&h, "spec.hostedClusters[0]")
            .into_iter()
            .map(|d| format!("{d:?}"))
            .collect()
    }

    #[test]
    fn restore_from_latest_needs_a_spec_without_url_and_with_the_same_key() {
        assert!(restore_diagnostics(", hostedClusterSpec: {platform: {type: None}}").is_empty());
        let says = |extra: &str, field: &str| {
            let d = restore_diagnostics(extra);
            assert!(
                d.len() == 1 && d[0].contains(field),
                "{extra}: {d:?} should name {field}"
            );
        };
        says("", "restoreFrom");
        says(", hostedClusterSpec: [1]", "hostedClusterSpec");
        says(
            ", hostedClusterSpec: {etcd: {managed: {storage: {restoreSnapshotURL: ['https://x']}}}}",
            "restoreSnapshotURL",
        );
        says(
            ", hostedClusterSpec: {etcd: {managementType: Unmanaged}}",
            "managementType",
        );
        says(
            ", hostedClusterSpec: {secretEncryption: {aescbc: {activeKey: {name: other}}}}",
            "activeKey",
        );
        says(
            ", hostedClusterSpec: {}, restoreUrlExpiry: 8d",
            "restoreUrlExpiry",
        );
        says(
            ", hostedClusterSpec: {}, restoreUrlExpiry: 0s",
            "restoreUrlExpiry",
        );
    }
}
