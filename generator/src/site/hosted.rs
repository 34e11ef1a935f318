//! `spec.hostedClusters[]`: HyperShift hosted clusters whose control planes run on a hub or a
//! managed cluster of the site (seed 004 §4.1), and how each is protected. The types, their
//! defaults and their rules (pure: site in, diagnostics out; called by `validate::validate`).

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::model::SiteSpec;
use super::units;

pub mod types;
pub use types::*;

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
            // Refused rather than ignored: the late-bound pre-signed URL is not implemented.
            out.push(Diagnostic::error(
                format!("{path}.restoreFrom"),
                "restoreFrom: latest is not supported by this version of hubdr (the agent does not yet fill in a pre-signed restoreSnapshotURL)",
                format!(
                    "remove restoreFrom and follow `hubdr hcp restore-plan {}` to recreate the hosted cluster from its newest snapshot",
                    h.name
                ),
            ));
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
}
