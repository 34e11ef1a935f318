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
    use super::super::view::ClusterView;
    use super::*;
    use crate::status::{ClusterStatus, ManagedClustersObservation};

    /// hub-b, active, reporting its ManagedCluster east-1 at `url`.
    fn fleet(url: Option<&str>) -> FleetView {
        let mut status = ClusterStatus::parse(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: hub-b\nagentVersion: '0'\nupdatedAt: '2026-11-18T10:00:00Z'\nsource: {generation: 3}\npass: {outcome: Succeeded, reason: Applied}\n",
        )
        .unwrap();
        status.observed.managed_clusters = url.map(|u| ManagedClustersObservation {
            total: 1,
            client_configs: [("east-1".to_string(), vec![u.to_string()])].into(),
            ..Default::default()
        });
        FleetView {
            site: "s".into(),
            generation: 3,
            commit: "c".into(),
            active: Some("hub-b".into()),
            waited_for: Vec::new(),
            clusters: vec![ClusterView {
                name: "hub-b".into(),
                kind: "hub".into(),
                role: Some("active".into()),
                status: Some(status),
                ignored: None,
                heartbeat: None,
            }],
            merged_at: None,
            rendered_at: 0,
            unknown: Vec::new(),
            status_ref: Some("refs/heads/hubdr-status".into()),
            heartbeat_stall_after: 1800,
            api_servers: [(
                "east-1".to_string(),
                "https://api.east-1.example:6443".to_string(),
            )]
            .into(),
        }
    }

    #[test]
    fn a_managed_cluster_whose_url_differs_from_the_sites_is_flagged_with_the_fix() {
        assert_eq!(
            section(&fleet(None)),
            "",
            "nothing reported, nothing to say"
        );
        let mut quiet = fleet(Some("https://api.east-1.example:443"));
        quiet.api_servers.clear();
        assert_eq!(section(&quiet), "", "nothing expected, nothing to say");
        let text = super::super::render(&fleet(Some("https://api.east-1.example:443")), 0);
        assert!(
            text.contains("auto-import (useManagedServiceAccount): site apiServer vs ManagedCluster spec.managedClusterClientConfigs:\n  managedClusters[east-1].apiServer is https://api.east-1.example:6443, but its ManagedCluster on hub-b has spec.managedClusterClientConfigs url https://api.east-1.example:443: auto-import connects to the ManagedCluster's URL; put apiServer: https://api.east-1.example:443 in site.yaml"),
            "{text}"
        );
        assert_eq!(
            section(&fleet(Some("https://API.east-1.example:6443/"))),
            "",
            "the same URL, normalized"
        );
    }
}
