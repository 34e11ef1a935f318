//! `hubdr decommission HUB`: take a fenced former primary out of the site for good. Pure:
//! what the status branch must show first, and the edit of the site text.
//!
//! Refused until the status branch (signed status only, as read for the preflight) shows
//! every ManagedCluster Available and Joined on the active hub, and every Hive
//! ClusterDeployment of the active hub and of the decommissioned one with
//! `spec.preserveOnDelete: true` (detaching a ManagedCluster whose ClusterDeployment lacks it
//! destroys the real cluster). The render then drops the hub's ACM backup objects (its
//! BackupSchedule; it has no Restore since it was fenced) and leaves its storage objects
//! (DataProtectionApplication, BackupStorageLocation, bucket) as they are.

use std::collections::BTreeMap;

use crate::site::edit::set_scalar;
use crate::site::{HubRole, Site};
use crate::status::ClusterStatus;

/// What a decommission changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommission {
    /// The fenced former primary.
    pub hub: String,
    /// The active hub, which must hold every managed cluster.
    pub active: String,
    pub generation: u64,
}

/// Check that `hub` is a fenced former primary and that there is an active hub.
pub fn plan(site: &Site, hub: &str) -> Result<Decommission, String> {
    let hubs = &site.spec.hubs;
    let target = super::hub_named(site, hub)?;
    if target.role != HubRole::Fenced {
        return Err(format!(
            "{hub} is {}, not fenced: only a fenced former primary can be decommissioned{}",
            target.role.as_str(),
            match target.role {
                HubRole::Active => "; fail over to another hub first (`hubdr failover --to HUB`)",
                HubRole::Passive =>
                    "; a passive hub holds no managed clusters: remove it from spec.hubs instead",
                _ => "",
            }
        ));
    }
    let active = hubs
        .iter()
        .find(|h| h.role == HubRole::Active)
        .ok_or("the site has no active hub to hold the managed clusters")?;
    Ok(Decommission {
        hub: hub.to_string(),
        active: active.name.clone(),
        generation: site.spec.failover.generation,
    })
}

/// What the status branch must show before `d`: the missing evidence, one line each (empty:
/// go ahead).
pub fn missing(d: &Decommission, statuses: &BTreeMap<String, ClusterStatus>) -> Vec<String> {
    let mut out = Vec::new();
    match statuses.get(&d.active) {
        None => out.push(format!(
            "{}: no signed status on the status branch",
            d.active
        )),
        Some(s) => {
            if s.source.generation != Some(d.generation) {
                out.push(format!(
                    "{}: has not reported generation {} yet (its status is at {})",
                    d.active,
                    d.generation,
                    s.source
                        .generation
                        .map_or_else(|| "none".to_string(), |g| g.to_string())
                ));
            }
            match &s.observed.managed_clusters {
                None => out.push(format!(
                    "{}: its ManagedClusters are unknown (the agent could not list them)",
                    d.active
                )),
                Some(mc) => {
                    if !mc.pending_import.is_empty() {
                        out.push(format!(
                            "{}: ManagedCluster(s) Pending Import: {}",
                            d.active,
                            mc.pending_import.join(", ")
                        ));
                    }
                    if !mc.not_available.is_empty() {
                        out.push(format!(
                            "{}: ManagedCluster(s) joined but not Available: {}",
                            d.active,
                            mc.not_available.join(", ")
                        ));
                    }
                    if mc.available != mc.total {
                        out.push(format!(
                            "{}: {} of {} ManagedCluster(s) Available and Joined",
                            d.active, mc.available, mc.total
                        ));
                    }
                }
            }
        }
    }
    for hub in [&d.active, &d.hub] {
        let Some(s) = statuses.get(hub) else {
            if hub == &d.hub {
                out.push(format!(
                    "{hub}: no signed status on the status branch (its ClusterDeployments are unknown)"
                ));
            }
            continue;
        };
        match &s.observed.cluster_deployments {
            None => out.push(format!(
                "{hub}: its ClusterDeployments are unknown (the agent could not list them)"
            )),
            Some(cds) if cds.not_preserved_count > 0 => {
                let more = cds
                    .not_preserved_count
                    .saturating_sub(cds.not_preserved.len());
                out.push(format!(
                    "{hub}: ClusterDeployment(s) without spec.preserveOnDelete: true: {}{}",
                    cds.not_preserved.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
            Some(_) => {}
        }
    }
    out
}

/// Mark the hub decommissioned in the site text.
pub fn apply(text: &str, site: &Site, d: &Decommission) -> Result<String, String> {
    let i = site
        .spec
        .hubs
        .iter()
        .position(|h| h.name == d.hub)
        .ok_or_else(|| format!("{:?} is not a hub of this site", d.hub))?;
    let text = set_scalar(text, &format!("spec.hubs[{i}].role"), "decommissioned")?;
    set_scalar(
        &text,
        &format!("spec.hubs[{i}].decommissionedSince"),
        &d.generation.to_string(),
    )
}

/// Decommission `hub` in the site text, without the status checks (tests, scripted fleets).
pub fn edit_site(text: &str, hub: &str) -> Result<String, String> {
    let site = super::parse(text)?;
    apply(text, &site, &plan(&site, hub)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ClusterDeploymentsObservation, ManagedClustersObservation};

    fn status(generation: u64, available: usize, total: usize) -> ClusterStatus {
        let mut s = ClusterStatus::parse(&format!(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: x\nagentVersion: '0'\nupdatedAt: '2026-01-01T00:00:00Z'\nsource: {{generation: {generation}}}\npass: {{outcome: Succeeded, reason: Applied}}\n"
        ))
        .unwrap();
        s.observed.managed_clusters = Some(ManagedClustersObservation {
            total,
            available,
            pending_import: Vec::new(),
            not_available: Vec::new(),
            ..Default::default()
        });
        s.observed.cluster_deployments = Some(ClusterDeploymentsObservation::default());
        s
    }

    fn d() -> Decommission {
        Decommission {
            hub: "hub-a".into(),
            active: "hub-b".into(),
            generation: 2,
        }
    }

    #[test]
    fn all_available_and_preserved_goes_ahead() {
        let statuses = BTreeMap::from([
            ("hub-b".to_string(), status(2, 3, 3)),
            ("hub-a".to_string(), status(2, 0, 0)),
        ]);
        assert_eq!(missing(&d(), &statuses), Vec::<String>::new());
    }

    #[test]
    fn names_what_is_missing() {
        let mut b = status(1, 1, 2);
        if let Some(mc) = b.observed.managed_clusters.as_mut() {
            mc.not_available = vec!["west-2".into()];
        }
        let mut a = status(2, 0, 0);
        a.observed.cluster_deployments = Some(ClusterDeploymentsObservation {
            total: 1,
            not_preserved: vec!["east-1/east-1".into()],
            not_preserved_count: 1,
        });
        let statuses = BTreeMap::from([("hub-b".to_string(), b), ("hub-a".to_string(), a)]);
        assert_eq!(
            missing(&d(), &statuses),
            [
                "hub-b: has not reported generation 2 yet (its status is at 1)",
                "hub-b: ManagedCluster(s) joined but not Available: west-2",
                "hub-b: 1 of 2 ManagedCluster(s) Available and Joined",
                "hub-a: ClusterDeployment(s) without spec.preserveOnDelete: true: east-1/east-1",
            ]
        );
        assert_eq!(
            missing(&d(), &BTreeMap::new()),
            [
                "hub-b: no signed status on the status branch",
                "hub-a: no signed status on the status branch (its ClusterDeployments are unknown)",
            ]
        );
    }
}
