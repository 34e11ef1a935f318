//! Failover and unfencing as edits of the site file, plus the ordered steps the agents will
//! take. Pure: text in, text out.

use std::fmt::Write;

use crate::render::desired::passive_sync_restore_name;
use crate::site::edit::{insert_mapping_before, set_scalar};
use crate::site::{HubRole, Site};

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
    let target = hubs.iter().find(|h| h.name == to).ok_or_else(|| {
        let names: Vec<&str> = hubs.iter().map(|h| h.name.as_str()).collect();
        format!(
            "{to:?} is not a hub of this site (hubs: {})",
            names.join(", ")
        )
    })?;
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
    let index = |name: &str| {
        site.spec
            .hubs
            .iter()
            .position(|h| h.name == name)
            .expect("planned from this site")
    };
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

/// The ordered steps the agents take, with what each waits for; Markdown when asked.
pub fn steps(after: &Site, failover: &Failover, markdown: bool) -> String {
    let spec = &after.spec;
    let ns = &spec.backup_namespace;
    let target = spec
        .hubs
        .iter()
        .find(|h| h.name == failover.to)
        .expect("target is in the edited site");
    let n = failover.generation;
    let restore = if target.passive_sync {
        format!("its passive-sync Restore {ns}/{} is switched to veleroManagedClustersBackupName: latest", passive_sync_restore_name(target.passive_since))
    } else {
        format!("Restore {ns}/restore-acm-activate-g{n} is created (managed clusters, credentials and resources: latest)")
    };
    let fence_wait = if failover.old_primary_unreachable {
        format!(
            "nothing: {} is declared unreachable, so {} does not wait for its status",
            failover.from, failover.to
        )
    } else {
        format!(
            "{}'s status to report \"fenced at generation {n}\" (the seeds: stop the old primary before restoring activation data)",
            failover.from
        )
    };
    let mut steps = vec![
        format!(
            "**{}** (fenced): its agent deletes every BackupSchedule first thing, before applying anything else, also when it starts after an outage; its backup location becomes ReadOnly; it reports \"fenced at generation {n}\" only once it observes no BackupSchedule left. Shut it down or detach its managed clusters: a former primary keeps trying to reconnect them. Waits for: nothing.",
            failover.from
        ),
        format!("**{}** (new primary): {restore}. Waits for: {fence_wait}.", failover.to),
        format!(
            "**{}**: BackupSchedule {ns}/{} is created. Waits for: the activation Restore is Finished{}.",
            failover.to,
            spec.backup.name,
            if failover.old_primary_unreachable { String::new() } else { format!(", and {} reports \"fenced at generation {n}\"", failover.from) }
        ),
    ];
    if spec
        .volsync
        .as_ref()
        .is_some_and(|v| !v.replications.is_empty())
    {
        steps.push(format!("**{}**: the volsync ManagedClusterAddOns are applied. Waits for: the activation Restore is Finished.", failover.to));
    }
    for hub in spec.hubs.iter().filter(|h| h.role == HubRole::Passive) {
        steps.push(if hub.passive_sync {
            format!(
                "**{}** (passive): keeps Restore {ns}/{}, now syncing the new primary's backups. Waits for: nothing.",
                hub.name,
                passive_sync_restore_name(hub.passive_since)
            )
        } else {
            format!(
                "**{}** (passive, one-time restore): keeps Restore {ns}/restore-acm-passive-g{}; it does not sync, so its passive data is as old as that restore. Waits for: nothing.",
                hub.name, hub.passive_since
            )
        });
    }
    steps.push(import_step(after));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}Failover to {} (generation {n})\n",
        if markdown { "## " } else { "" },
        failover.to
    );
    for (i, step) in steps.iter().enumerate() {
        let step = if markdown {
            step.clone()
        } else {
            step.replace("**", "")
        };
        let _ = writeln!(out, "{}. {step}", i + 1);
    }
    out
}

fn import_step(site: &Site) -> String {
    let clusters = &site.spec.managed_clusters;
    if clusters.is_empty() {
        return "Managed clusters: none listed in the site.".into();
    }
    if site.spec.backup.use_managed_service_account {
        let missing: Vec<&str> = clusters
            .iter()
            .filter(|c| c.api_server.is_none())
            .map(|c| c.name.as_str())
            .collect();
        if missing.is_empty() {
            "Managed clusters: auto-import is on (useManagedServiceAccount) and every managed cluster has its apiServer URL; imported clusters reconnect by themselves.".into()
        } else {
            format!(
                "Managed clusters: auto-import is on, but these clusters have no apiServer URL and will stay Pending Import until it is set on their ManagedCluster (or they are re-imported): {}.",
                missing.join(", ")
            )
        }
    } else {
        let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        format!(
            "Managed clusters: useManagedServiceAccount is off, so imported clusters stay Pending Import on the new hub and must be re-imported (or given an auto-import-secret): {}. Clusters created by Hive reconnect by themselves.",
            names.join(", ")
        )
    }
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
    use super::*;
    use std::path::Path;

    const SITE: &str = include_str!("../../repos-example/site.yaml");

    fn load(text: &str) -> Site {
        crate::site::load_str(text, Path::new("site.yaml"))
            .expect("valid")
            .site
    }

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

    #[test]
    fn steps_name_the_right_hubs_on_failback() {
        let text = edit_site(SITE, "hub-b", false).unwrap();
        let text = unfence(&text, "hub-a").unwrap();
        let site = load(&text);
        let f = plan(&site, "hub-a", true).unwrap();
        let after = load(&apply(&text, &site, &f).unwrap());
        let steps = steps(&after, &f, false);
        assert!(
            steps.contains("Waits for: nothing: hub-b is declared unreachable, so hub-a does not wait for its status"),
            "{steps}"
        );
        assert!(steps.contains("restore-acm-passive-sync-g2 is switched to veleroManagedClustersBackupName: latest"), "{steps}");
    }

    #[test]
    fn steps_name_the_gates() {
        let site = load(SITE);
        let f = plan(&site, "hub-b", false).unwrap();
        let after = load(&apply(SITE, &site, &f).unwrap());
        let text = steps(&after, &f, false);
        assert!(
            text.contains("1. hub-a (fenced): its agent deletes every BackupSchedule first thing"),
            "{text}"
        );
        assert!(text.contains("restore-acm-passive-sync-g0 is switched to veleroManagedClustersBackupName: latest"), "{text}");
        assert!(
            text.contains("switched to veleroManagedClustersBackupName: latest. Waits for: hub-a's status to report \"fenced at generation 2\""),
            "{text}"
        );
        assert!(
            text.contains("Waits for: the activation Restore is Finished, and hub-a reports \"fenced at generation 2\"."),
            "{text}"
        );
        assert!(
            text.contains("every managed cluster has its apiServer URL"),
            "{text}"
        );
    }
}
