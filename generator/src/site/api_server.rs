//! Auto-import's reach (seed §1.1.6, issue 17.1): with `useManagedServiceAccount`, a new hub
//! reconnects an imported cluster through its ManagedCluster's
//! `spec.managedClusterClientConfigs[].url`. The site names that URL (`managedClusters[].apiServer`);
//! the active hub's agent reports the URLs its ManagedClusters hold. `hubdr plan` lists each
//! as a prerequisite of the active hub, and `hubdr status` and the failover preflight compare
//! them (normalized, see `hubdr_core::api_url`). Pure.

use std::collections::BTreeMap;

use super::model::{HubRole, SiteSpec};
use crate::index::{Prerequisite, RenderIndex};
use crate::status::ManagedClustersObservation;
use hubdr_core::api_url::{ApiUrl, UNUSABLE};

/// What a ManagedCluster prerequisite is for.
/// (Short enough for the index's one-line fast path, see `hubdr_core::index`.)
pub const FOR: &str = "auto-import: its spec.managedClusterClientConfigs[].url must be this URL (hubdr status and the failover preflight check it)";

/// Managed cluster -> the `apiServer` the site gives it, when auto-import is on.
pub fn expected(spec: &SiteSpec) -> BTreeMap<String, String> {
    if !spec.backup.use_managed_service_account {
        return BTreeMap::new();
    }
    spec.managed_clusters
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.api_server.clone()?)))
        .collect()
}

/// The same, read back from a render index (the active hub's ManagedCluster prerequisites).
pub fn expected_in_index(index: &RenderIndex) -> BTreeMap<String, String> {
    index
        .clusters
        .values()
        .flat_map(|e| &e.prerequisites)
        .filter(|p| p.kind == "ManagedCluster")
        .filter_map(|p| Some((p.name.clone(), p.url.clone()?)))
        .collect()
}

/// One ManagedCluster prerequisite per managed cluster with an `apiServer`, on each active hub
/// (the one that holds the ManagedClusters; a new primary gets them by its takeover).
pub fn prerequisites(spec: &SiteSpec) -> Vec<(String, Prerequisite)> {
    let expected = expected(spec);
    spec.hubs
        .iter()
        .filter(|h| h.role == HubRole::Active)
        .flat_map(|h| {
            expected.iter().map(|(cluster, url)| {
                (
                    h.name.clone(),
                    Prerequisite {
                        kind: "ManagedCluster".into(),
                        namespace: String::new(),
                        name: cluster.clone(),
                        keys: Vec::new(),
                        for_: FOR.into(),
                        url: Some(url.clone()),
                    },
                )
            })
        })
        .collect()
}

/// Where the site's `apiServer` and the ManagedClusters `hub`'s agent saw disagree, one line
/// each with the fix. Clusters the agent did not report (not on that hub, or left out of a
/// large report) are not judged here.
pub fn mismatches(
    expected: &BTreeMap<String, String>,
    hub: &str,
    seen: &ManagedClustersObservation,
) -> Vec<String> {
    let mut out = Vec::new();
    for (cluster, url) in expected {
        let Some(urls) = seen.client_configs.get(cluster) else {
            continue;
        };
        if urls.iter().any(|u| ApiUrl::same(u, url)) {
            continue;
        }
        let usable: Vec<&String> = urls.iter().filter(|u| !u.starts_with(UNUSABLE)).collect();
        out.push(match usable.first() {
            None if urls.is_empty() => format!(
                "ManagedCluster {cluster} on {hub} has no spec.managedClusterClientConfigs url: auto-import cannot reach it; set it to the site's apiServer {url} (kubectl patch managedcluster {cluster} --type merge -p '{{\"spec\":{{\"managedClusterClientConfigs\":[{{\"url\":\"{url}\"}}]}}}}')"
            ),
            None => format!(
                "ManagedCluster {cluster} on {hub} has only unusable spec.managedClusterClientConfigs urls ({}): auto-import cannot reach it; set its url to the site's apiServer {url}",
                urls.join(", ")
            ),
            Some(first) => format!(
                "managedClusters[{cluster}].apiServer is {url}, but its ManagedCluster on {hub} has spec.managedClusterClientConfigs url {}: auto-import connects to the ManagedCluster's URL; put apiServer: {first} in site.yaml if that is the cluster's API server, else correct the ManagedCluster's url to {url}",
                usable.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(urls: &[(&str, &[&str])]) -> ManagedClustersObservation {
        ManagedClustersObservation {
            client_configs: urls
                .iter()
                .map(|(c, u)| (c.to_string(), u.iter().map(|s| s.to_string()).collect()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_mismatch_names_both_urls_and_the_fix() {
        let expected: BTreeMap<String, String> = [
            ("east-1", "https://api.east-1.example.com:6443"),
            ("west-1", "https://api.west-1.example.com:6443"),
            ("eks-1", "https://eks-1.example.com"),
            ("odd-1", "https://odd-1.example.com"),
            ("gone", "https://gone.example.com"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .into();
        let seen = seen(&[
            ("east-1", &["HTTPS://API.east-1.example.com:6443/"]),
            ("west-1", &["https://api.west-1.other.example:6443"]),
            ("eks-1", &[]),
            ("odd-1", &["(unusable: has user info (user:password@))"]),
        ]);
        let found = mismatches(&expected, "hub-a", &seen);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(FOR.len() <= 128, "one line in the index");
        assert!(
            found[0].starts_with(
                "ManagedCluster eks-1 on hub-a has no spec.managedClusterClientConfigs url"
            ) && found[0].contains("set it to the site's apiServer https://eks-1.example.com"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with("ManagedCluster odd-1 on hub-a has only unusable"),
            "{}",
            found[1]
        );
        assert_eq!(
            found[2],
            "managedClusters[west-1].apiServer is https://api.west-1.example.com:6443, but its ManagedCluster on hub-a has spec.managedClusterClientConfigs url https://api.west-1.other.example:6443: auto-import connects to the ManagedCluster's URL; put apiServer: https://api.west-1.other.example:6443 in site.yaml if that is the cluster's API server, else correct the ManagedCluster's url to https://api.west-1.example.com:6443"
        );
    }
}
