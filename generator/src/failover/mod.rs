//! Failover and unfencing as edits of the site file (`steps.rs`: the ordered steps the agents
//! will take). Pure: text in, text out.

pub mod abort;
pub mod decommission;
pub mod preflight;
pub mod retry;
mod steps;
#[cfg(test)]
mod test_support;

pub use steps::steps;

use crate::site::edit::{insert_mapping_before, set_scalar};
use crate::site::{Hub, HubRole, Site};
use crate::status::ClusterStatus;

/// What a failover changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    pub to: String,
    pub from: String,
    pub generation: u64,
    pub old_primary_unreachable: bool,
}

/// Check that `to` can take over, and describe the failover.
pub fn plan(site: &Site, to: &str, old_primary_unreachable: bool) -> Result<Failover, String> {
    let hubs = &site.spec.hubs;
    let target = hub_named(site, to)?;
    if target.role != HubRole::Passive {
        return Err(format!(
            "{to} is {}, not passive: only a passive hub, which has been restoring the primary's backups, can take over{}",
            target.role.as_str(),
            if target.role == HubRole::Fenced { "; run `hubdr unfence` first and let it sync" } else { "" }
        ));
    }
    let from = hubs
        .iter()
        .find(|h| h.role == HubRole::Active)
        .ok_or("the site has no active hub, so there is nothing to fail over from; set role: active on the primary")?;
    Ok(Failover {
        to: to.to_string(),
        from: from.name.clone(),
        generation: site.spec.failover.generation + 1,
        old_primary_unreachable,
    })
}

/// The hub of `site` named `name`; refused with the names of its hubs.
fn hub_named<'a>(site: &'a Site, name: &str) -> Result<&'a Hub, String> {
    let hubs = &site.spec.hubs;
    hubs.iter().find(|h| h.name == name).ok_or_else(|| {
        let names: Vec<&str> = hubs.iter().map(|h| h.name.as_str()).collect();
        format!(
            "{name:?} is not a hub of this site (hubs: {})",
            names.join(", ")
        )
    })
}

/// The index in `spec.hubs` of hub `name`, which a plan of this site named.
fn planned_index(site: &Site, name: &str) -> usize {
    site.spec
        .hubs
        .iter()
        .position(|h| h.name == name)
        .expect("planned from this site")
}

/// The phase `status` reports of Restore `name` (`namespace/name`), when it reports that
/// Restore.
fn restore_phase<'a>(status: &'a ClusterStatus, name: &str) -> Option<&'a str> {
    status
        .observed
        .restores
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.phase.as_str())
}

/// Fail over to hub `to` in the site text (which must be a valid site file).
pub fn edit_site(text: &str, to: &str, old_primary_unreachable: bool) -> Result<String, String> {
    let site = parse(text)?;
    let failover = plan(&site, to, old_primary_unreachable)?;
    apply(text, &site, &failover)
}

/// Unfence hub `hub` in the site text (which must be a valid site file).
pub fn unfence(text: &str, hub: &str) -> Result<String, String> {
    unfence_site(text, &parse(text)?, hub)
}

fn parse(text: &str) -> Result<Site, String> {
    crate::site::load_str(text, std::path::Path::new("site.yaml"))
        .map(|l| l.site)
        .map_err(|e| e.to_string())
}

/// Apply `failover` to the site text: generation, roles, `activeSince`, the unreachable flag.
pub fn apply(text: &str, site: &Site, failover: &Failover) -> Result<String, String> {
    let index = |name: &str| planned_index(site, name);
    let generation = failover.generation.to_string();
    let mut text = if text_has(text, "spec.failover") {
        set_scalar(text, "spec.failover.generation", &generation)?
    } else {
        insert_mapping_before(
            text,
            "spec.hubs",
            "failover",
            &[("generation", &generation)],
        )?
    };
    if failover.old_primary_unreachable || site.spec.failover.old_primary_unreachable {
        text = set_scalar(
            &text,
            "spec.failover.oldPrimaryUnreachable",
            &failover.old_primary_unreachable.to_string(),
        )?;
    }
    let to = index(&failover.to);
    text = set_scalar(&text, &format!("spec.hubs[{to}].role"), "active")?;
    text = set_scalar(&text, &format!("spec.hubs[{to}].activeSince"), &generation)?;
    let from = index(&failover.from);
    text = set_scalar(&text, &format!("spec.hubs[{from}].role"), "fenced")?;
    text = set_scalar(
        &text,
        &format!("spec.hubs[{from}].fencedSince"),
        &generation,
    )?;
    Ok(text)
}

/// Turn a fenced hub back into a passive one that starts a new passive-sync Restore.
pub fn unfence_site(text: &str, site: &Site, hub: &str) -> Result<String, String> {
    let i = site
        .spec
        .hubs
        .iter()
        .position(|h| h.name == hub)
        .ok_or_else(|| format!("{hub:?} is not a hub of this site"))?;
    if site.spec.hubs[i].role != HubRole::Fenced {
        return Err(format!(
            "{hub} is {}, not fenced: only a fenced former primary can be unfenced",
            site.spec.hubs[i].role.as_str()
        ));
    }
    let text = set_scalar(text, &format!("spec.hubs[{i}].role"), "passive")?;
    set_scalar(
        &text,
        &format!("spec.hubs[{i}].passiveSince"),
        &site.spec.failover.generation.to_string(),
    )
}

fn text_has(text: &str, path: &str) -> bool {
    crate::site::locate::Locator::new(text)
        .exact(path)
        .is_some()
}

/// The cautions the ACM documents give before restoring onto a former primary.
pub const UNFENCE_CAUTIONS: &str = "\
Before unfencing a former primary, check (ACM business continuity, disaster recovery tests):
  - Restoring onto the initial primary is only safe when it created nothing new since it was
    fenced; a freshly installed hub is the safer passive hub.
  - It must not still hold managed clusters: ManagedCluster objects left on it keep trying to
    take the clusters back from the active hub. Detach them (or reinstall the hub) first.
  - Its passive-sync Restore uses cleanupBeforeRestore (CleanupRestored by default), which
    deletes resources that earlier ACM restores created and the new backups lack.
  - It must run the same ACM version and operators as the active hub.";

#[cfg(test)]
mod tests {
    use super::test_support::{load, SITE};
    use super::*;

    #[test]
    fn failover_edits_only_what_it_must() {
        let site = load(SITE);
        let f = plan(&site, "hub-b", false).unwrap();
        assert_eq!((f.from.as_str(), f.generation), ("hub-a", 2));
        let text = apply(SITE, &site, &f).unwrap();
        let after = load(&text);
        assert_eq!(after.spec.failover.generation, 2);
        assert_eq!(after.spec.hubs[0].role, HubRole::Fenced);
        assert_eq!(after.spec.hubs[1].role, HubRole::Active);
        assert_eq!(after.spec.hubs[1].active_since, Some(2));
        assert_eq!(after.spec.hubs[0].fenced_since, Some(2));
        assert_eq!(
            text.lines().count(),
            SITE.lines().count() + 2,
            "only activeSince and fencedSince are added"
        );
        let without_added = text.replacen("      activeSince: 2\n", "", 1).replacen(
            "      fencedSince: 2\n",
            "",
            1,
        );
        let changed: Vec<(&str, &str)> = SITE
            .lines()
            .zip(without_added.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(
            changed,
            [
                ("      role: active", "      role: fenced"),
                ("      role: passive", "      role: active"),
                ("    generation: 1", "    generation: 2")
            ]
        );
    }

    #[test]
    fn failover_refuses_what_cannot_take_over() {
        let site = load(SITE);
        assert!(plan(&site, "hub-a", false)
            .unwrap_err()
            .contains("not passive"));
        assert!(plan(&site, "east-1", false)
            .unwrap_err()
            .contains("not a hub"));
    }

    #[test]
    fn unfence_makes_a_new_passive_generation() {
        let site = load(SITE);
        let f = plan(&site, "hub-b", true).unwrap();
        let text = apply(SITE, &site, &f).unwrap();
        let fenced = load(&text);
        assert!(fenced.spec.failover.old_primary_unreachable);
        assert!(unfence_site(&text, &fenced, "hub-b")
            .unwrap_err()
            .contains("not fenced"));
        let text = unfence_site(&text, &fenced, "hub-a").unwrap();
        let after = load(&text);
        assert_eq!(after.spec.hubs[0].role, HubRole::Passive);
        assert_eq!(after.spec.hubs[0].passive_since, 2);
    }
}
