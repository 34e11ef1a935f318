//! Hub DR for hosted control planes: ACM's hub backups do not include `hypershift.openshift.io`
//! objects, so a HostedCluster on a hub (or on any management cluster) is protected only by
//! the backups of `spec.hostedClusters`. The agent lists the HostedClusters on its cluster,
//! reports which backup covers each (its `--hcp-snapshot` targets: etcd-snapshot; a desired
//! Velero Schedule covering its control-plane namespace: oadp) and warns about the others; on
//! a hub it also says that restoring the hub does not bring them back.

use hubdr_core::status::{HealthCheck, SeenHostedCluster};
use serde_json::Value;

use super::edge::HOSTED_CLUSTER_API;
use super::Target;
use crate::apply::Planned;
use crate::kubeapi::{CallError, ClusterApi};

/// The name of the hub's health check about its hosted control planes.
pub const HUB_CHECK: &str = "hosted control planes on this hub";

/// The namespaces the desired Velero Schedules back up (`spec.template.includedNamespaces`).
pub fn scheduled_namespaces(planned: &[Planned]) -> Vec<String> {
    let mut out: Vec<String> = planned
        .iter()
        .filter(|p| p.id.kind == "Schedule" && p.id.api_version.starts_with("velero.io/"))
        .filter_map(|p| p.value.pointer("/spec/template/includedNamespaces"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Which backup covers HostedCluster `namespace/name`. Pure.
pub fn coverage(
    namespace: &str,
    name: &str,
    targets: &[Target],
    scheduled: &[String],
) -> Option<String> {
    if targets
        .iter()
        .any(|t| t.namespace == namespace && t.name == name)
    {
        return Some("etcd-snapshot".into());
    }
    let control_plane = format!("{namespace}-{name}");
    scheduled
        .contains(&control_plane)
        .then(|| "oadp".to_string())
}

/// The report and checks from the HostedClusters found (`namespace/name`). Pure.
pub fn report(
    found: &[(String, String)],
    targets: &[Target],
    scheduled: &[String],
    hub: bool,
) -> (Vec<SeenHostedCluster>, Vec<HealthCheck>) {
    let seen: Vec<SeenHostedCluster> = found
        .iter()
        .map(|(ns, name)| SeenHostedCluster {
            name: format!("{ns}/{name}"),
            covered_by: coverage(ns, name, targets, scheduled),
        })
        .collect();
    let mut checks: Vec<HealthCheck> = seen
        .iter()
        .filter(|s| s.covered_by.is_none())
        .map(|s| HealthCheck {
            name: format!("hosted-cluster {}: backed up", s.name),
            ok: false,
            message: format!(
                "HostedCluster {} runs its control plane on this cluster but no hubdr backup covers it{}: declare it in spec.hostedClusters (method etcd-snapshot or oadp)",
                s.name,
                if hub {
                    " (ACM hub backups do not include hypershift.openshift.io objects)"
                } else {
                    ""
                }
            ),
        })
        .collect();
    if hub && !seen.is_empty() {
        let list = |covered: bool| -> Vec<&str> {
            seen.iter()
                .filter(|s| s.covered_by.is_some() == covered)
                .map(|s| s.name.as_str())
                .collect()
        };
        let (covered, not) = (list(true), list(false));
        checks.push(HealthCheck {
            name: HUB_CHECK.into(),
            ok: not.is_empty(),
            message: format!(
                "this hub also hosts {} control plane(s); ACM hub backups do not include hypershift.openshift.io objects (HostedCluster, NodePool): restoring this hub does not bring them back, only spec.hostedClusters backups do (covered: {}; NOT covered: {})",
                seen.len(),
                if covered.is_empty() { "none".to_string() } else { covered.join(", ") },
                if not.is_empty() { "none".to_string() } else { not.join(", ") },
            ),
        });
    }
    (seen, checks)
}

/// List the HostedClusters on this cluster: none when the CRD is not installed.
pub async fn list(api: &mut ClusterApi) -> Result<Vec<(String, String)>, CallError> {
    let items = match api
        .list(HOSTED_CLUSTER_API, "HostedCluster", None, None)
        .await
    {
        Ok(items) => items,
        Err(CallError::KindMissing(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found: Vec<(String, String)> = items
        .into_iter()
        .filter_map(|o| Some((o.metadata.namespace?, o.metadata.name?)))
        .collect();
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(ns: &str, name: &str) -> Target {
        crate::hcp::flag::parse(
            &format!("{ns}/{name};members=etcd-0;bucket=b;secret=s"),
            "e",
            "u",
        )
        .unwrap()
    }

    #[test]
    fn undeclared_hosted_clusters_are_reported_and_a_hub_says_acm_does_not_back_them_up() {
        let found = vec![
            ("clusters".to_string(), "tenant-a".to_string()),
            ("clusters".to_string(), "tenant-b".to_string()),
            ("tenants".to_string(), "tenant-c".to_string()),
        ];
        let scheduled = vec!["tenants".to_string(), "tenants-tenant-c".to_string()];
        let (seen, checks) = report(&found, &[target("clusters", "tenant-b")], &scheduled, true);
        let covered: Vec<(&str, Option<&str>)> = seen
            .iter()
            .map(|s| (s.name.as_str(), s.covered_by.as_deref()))
            .collect();
        assert_eq!(
            covered,
            [
                ("clusters/tenant-a", None),
                ("clusters/tenant-b", Some("etcd-snapshot")),
                ("tenants/tenant-c", Some("oadp")),
            ]
        );
        assert_eq!(checks.len(), 2, "{checks:#?}");
        assert_eq!(
            checks[0].name,
            "hosted-cluster clusters/tenant-a: backed up"
        );
        assert!(
            !checks[0].ok
                && checks[0]
                    .message
                    .contains("declare it in spec.hostedClusters")
        );
        assert_eq!(checks[1].name, HUB_CHECK);
        assert!(!checks[1].ok);
        assert!(
            checks[1]
                .message
                .contains("ACM hub backups do not include hypershift.openshift.io")
                && checks[1].message.contains("NOT covered: clusters/tenant-a"),
            "{}",
            checks[1].message
        );
        // A managed management cluster: the warning, no hub note; nothing found: nothing.
        let (_, checks) = report(&found[..1], &[], &[], false);
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].message.contains("ACM hub backups"));
        assert_eq!(report(&[], &[], &[], true), (Vec::new(), Vec::new()));
    }
}
