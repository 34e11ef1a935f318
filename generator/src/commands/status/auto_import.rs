//! The `hubdr status` section on auto-import's reach: for each hub whose agent reports its
//! ManagedClusters' client-config URLs, where they disagree with the site's `apiServer` (read
//! back from the render index's ManagedCluster prerequisites), with the fix. Pure.

use super::view::FleetView;
use crate::site::api_server;

/// The section, or nothing when every reported URL matches (or nothing is reported).
pub fn section(fleet: &FleetView) -> String {
    let lines = lines(fleet);
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nauto-import (useManagedServiceAccount): site apiServer vs ManagedCluster spec.managedClusterClientConfigs:\n",
    );
    for line in lines {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// One line per mismatch, hub by hub.
pub fn lines(fleet: &FleetView) -> Vec<String> {
    if fleet.api_servers.is_empty() {
        return Vec::new();
    }
    fleet
        .clusters
        .iter()
        .filter(|c| c.kind == "hub")
        .filter_map(|c| {
            let seen = c.status.as_ref()?.observed.managed_clusters.as_ref()?;
            Some(api_server::mismatches(&fleet.api_servers, &c.name, seen))
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::fleet;
    use super::*;
    use crate::status::ManagedClustersObservation;

    #[test]
    fn a_managed_cluster_whose_url_differs_from_the_sites_is_flagged_with_the_fix() {
        let mut fleet = fleet(3, 3);
        assert_eq!(section(&fleet), "", "nothing expected, nothing to say");
        fleet.api_servers = [(
            "east-1".to_string(),
            "https://api.east-1.example:6443".to_string(),
        )]
        .into();
        assert_eq!(section(&fleet), "", "nothing reported, nothing to say");
        let hub_b = fleet
            .clusters
            .iter_mut()
            .find(|c| c.name == "hub-b")
            .unwrap();
        hub_b.status.as_mut().unwrap().observed.managed_clusters =
            Some(ManagedClustersObservation {
                total: 1,
                client_configs: [(
                    "east-1".to_string(),
                    vec!["https://api.east-1.example:443".to_string()],
                )]
                .into(),
                ..Default::default()
            });
        let text = super::super::render(&fleet, super::super::table::tests::NOW);
        assert!(
            text.contains("auto-import (useManagedServiceAccount): site apiServer vs ManagedCluster spec.managedClusterClientConfigs:\n  managedClusters[east-1].apiServer is https://api.east-1.example:6443, but its ManagedCluster on hub-b has spec.managedClusterClientConfigs url https://api.east-1.example:443: auto-import connects to the ManagedCluster's URL; put apiServer: https://api.east-1.example:443 in site.yaml"),
            "{text}"
        );
        let hub_b = fleet
            .clusters
            .iter_mut()
            .find(|c| c.name == "hub-b")
            .unwrap();
        let seen = hub_b
            .status
            .as_mut()
            .unwrap()
            .observed
            .managed_clusters
            .as_mut()
            .unwrap();
        seen.client_configs.insert(
            "east-1".into(),
            vec!["https://API.east-1.example:6443/".into()],
        );
        assert_eq!(section(&fleet), "", "the same URL, normalized");
    }
}
