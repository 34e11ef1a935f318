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
