//! The managed clusters that run a VolSync mover (read by `desired` and `access`).

use crate::site::validate::destination_specs;
use crate::site::Site;

/// Managed clusters that run a VolSync mover, in site order.
pub fn participating_clusters(site: &Site) -> Vec<&str> {
    let Some(volsync) = &site.spec.volsync else {
        return Vec::new();
    };
    let mut used = std::collections::HashSet::new();
    for r in &volsync.replications {
        used.insert(r.source.cluster.as_str());
        for d in destination_specs(r) {
            used.insert(d.cluster.as_str());
        }
        if let Some(restore) = &r.restore {
            used.insert(restore.cluster.as_str());
        }
    }
    site.spec
        .managed_clusters
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| used.contains(c))
        .collect()
}
