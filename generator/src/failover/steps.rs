//! The ordered steps the agents take in a failover, with what each waits for: the plan printed
//! for the pull request. Pure.

use std::fmt::Write;

use super::Failover;
use crate::render::desired::passive_sync_restore_name;
use crate::site::{HubRole, Site};

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
    let auto_import = spec.acm().has_auto_import_strategy();
    let import_wait = if auto_import {
        ", and autoImportStrategy ImportAndSync in place (step before)"
    } else {
        ""
    };
    let mut steps = vec![
        format!(
            "**{}** (fenced): first thing, before applying anything else (also when its agent starts after an outage), its agent {} every BackupSchedule (ACM {}), annotates every ManagedCluster but local-cluster import.open-cluster-management.io/disable-auto-import (so it does not try to take the clusters back) and scales the observability compactor to 0 when observability is installed; its backup location becomes ReadOnly. It reports \"fenced at generation {n}\" only once it observes all of that in place. Waits for: nothing.",
            failover.from,
            if spec.acm().can_pause() { "pauses (spec.paused: true)" } else { "deletes" },
            spec.acm(),
        ),
        format!("**{}** (new primary): {restore}. Waits for: {fence_wait}{import_wait}.", failover.to),
        format!(
            "**{}**: BackupSchedule {ns}/{} is created: \"failover complete\". Waits for: the activation Restore is Finished{}, and every ManagedCluster on it is Available and Joined (verified; the stragglers are named, Pending Import apart), and its observability API restarted (when installed){}.",
            failover.to,
            spec.backup.name,
            if failover.old_primary_unreachable { String::new() } else { format!(", and {} reports \"fenced at generation {n}\"", failover.from) },
            if auto_import { ", and the auto-import strategy put back (step before)" } else { "" },
        ),
    ];
    if auto_import {
        steps.insert(
            1,
            format!(
                "**{}** (new primary, ACM {}: auto-import strategy): its agent records the autoImportStrategy of ConfigMap multicluster-engine/import-controller-config (absent means the default, ImportOnly) in its memory ConfigMap, then sets ImportAndSync (that one key, by server-side apply; the ConfigMap is never deleted), so that managed clusters imported before are imported by this hub. Waits for: nothing.",
                failover.to,
                spec.acm()
            ),
        );
        steps.insert(
            3,
            format!(
                "**{}**: its agent puts autoImportStrategy back to the value it recorded (or releases the key, back to the default ImportOnly); an abort does the same. Waits for: the activation Restore is Finished, and every ManagedCluster on it is Available and Joined.",
                failover.to
            ),
        );
    }
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
        let without: Vec<&str> = clusters
            .iter()
            .filter(|c| c.api_server.is_none())
            .map(|c| c.name.as_str())
            .collect();
        let missing = shown(without.iter().copied());
        if without.is_empty() {
            "Managed clusters: auto-import is on (useManagedServiceAccount) and every managed cluster has its apiServer URL; imported clusters reconnect by themselves.".into()
        } else {
            format!(
                "Managed clusters: auto-import is on, but these clusters have no apiServer URL and will stay Pending Import until it is set on their ManagedCluster (or they are re-imported): {missing}.",
            )
        }
    } else {
        let names = shown(clusters.iter().map(|c| c.name.as_str()));
        format!(
            "Managed clusters: useManagedServiceAccount is off, so imported clusters stay Pending Import on the new hub and must be re-imported (or given an auto-import-secret): {names}. Clusters created by Hive reconnect by themselves.",
        )
    }
}

/// The first names, and how many more (a fleet lists thousands).
fn shown<'a>(names: impl Iterator<Item = &'a str>) -> String {
    const SHOWN: usize = 20;
    let names: Vec<&str> = names.collect();
    let mut text = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{load, SITE};
    use super::super::{apply, edit_site, plan, unfence};
    use super::*;

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
            text.contains("1. hub-a (fenced): first thing, before applying anything else (also when its agent starts after an outage), its agent pauses (spec.paused: true) every BackupSchedule (ACM 2.15), annotates every ManagedCluster but local-cluster import.open-cluster-management.io/disable-auto-import"),
            "{text}"
        );
        assert!(text.contains("restore-acm-passive-sync-g0 is switched to veleroManagedClustersBackupName: latest"), "{text}");
        assert!(
            text.contains("switched to veleroManagedClustersBackupName: latest. Waits for: hub-a's status to report \"fenced at generation 2\""),
            "{text}"
        );
        assert!(
            text.contains("Waits for: the activation Restore is Finished, and hub-a reports \"fenced at generation 2\", and every ManagedCluster on it is Available and Joined"),
            "{text}"
        );
        assert!(
            text.contains("every managed cluster has its apiServer URL"),
            "{text}"
        );
        // ACM 2.15 (the default): the auto-import strategy step, before the activation and
        // put back before the BackupSchedule.
        let set = text.find("2. hub-b (new primary, ACM 2.15: auto-import strategy): its agent records the autoImportStrategy of ConfigMap multicluster-engine/import-controller-config").expect(&text);
        let activation = text
            .find("3. hub-b (new primary): its passive-sync Restore")
            .expect(&text);
        let back = text
            .find("4. hub-b: its agent puts autoImportStrategy back")
            .expect(&text);
        let schedule = text.find("5. hub-b: BackupSchedule").expect(&text);
        assert!(
            set < activation && activation < back && back < schedule,
            "{text}"
        );
        assert!(
            text.contains("and autoImportStrategy ImportAndSync in place (step before)."),
            "{text}"
        );
        assert!(
            text.contains("and the auto-import strategy put back (step before)."),
            "{text}"
        );
    }

    #[test]
    fn no_auto_import_step_before_acm_2_14() {
        let text = SITE.replacen("spec:\n", "spec:\n  acmVersion: \"2.13\"\n", 1);
        let site = load(&text);
        let f = plan(&site, "hub-b", false).unwrap();
        let after = load(&apply(&text, &site, &f).unwrap());
        let steps = steps(&after, &f, false);
        assert!(!steps.contains("autoImportStrategy"), "{steps}");
        assert!(!steps.contains("auto-import strategy"), "{steps}");
        assert!(
            steps.contains("2. hub-b (new primary): its passive-sync Restore"),
            "{steps}"
        );
    }
}
