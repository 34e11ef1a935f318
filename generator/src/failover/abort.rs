//! `hubdr failover --abort`: the way back before the new primary's activation finished, as a
//! new generation N+1 with gates of its own. The old primary becomes active again
//! (`resumedSince: N+1`): the agent releases its fence (the disable-auto-import annotations,
//! the compactor's replicas) and its BackupSchedule is unpaused (or recreated before ACM 2.12)
//! only once the target reports generation N+1 without having activated
//! (`not-activated:<target>@N+1`). The target becomes passive again (`passiveSince: N+1`, so a
//! new passive-sync Restore: a Restore runs once) and its activation Restore is removed. Pure.

use crate::render::takeover::activation_restore_name;
use crate::site::edit::set_scalar;
use crate::site::{HubRole, Site};
use crate::status::{ClusterStatus, FAILED_RESTORE_PHASES};

/// An abort of the failover at the current generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    /// The old primary, which becomes active again.
    pub old: String,
    /// The new primary of the aborted failover, which becomes passive again.
    pub target: String,
    /// The aborted failover's generation, and the abort's.
    pub aborted: u64,
    pub generation: u64,
    /// The target's current activation Restore.
    pub restore: String,
}

pub fn plan(site: &Site) -> Result<Abort, String> {
    let aborted = site.spec.failover.generation;
    let hubs = &site.spec.hubs;
    let target = hubs
        .iter()
        .find(|h| h.role == HubRole::Active && h.active_since == Some(aborted))
        .ok_or_else(|| {
            format!("no failover is in progress at generation {aborted}: no hub took over at it, so there is nothing to abort")
        })?;
    if site.spec.failover.old_primary_unreachable {
        return Err(format!(
            "the old primary of generation {aborted} was declared unreachable: there is no hub to give the role back to"
        ));
    }
    let old: Vec<&str> = hubs
        .iter()
        .filter(|h| h.role == HubRole::Fenced && h.fenced_since == Some(aborted))
        .map(|h| h.name.as_str())
        .collect();
    let [old] = old[..] else {
        return Err(format!(
            "the failover at generation {aborted} fenced {} hub(s) ({}), not one: hubdr cannot tell which one to give the role back to",
            old.len(),
            old.join(", ")
        ));
    };
    Ok(Abort {
        old: old.to_string(),
        target: target.name.clone(),
        aborted,
        generation: aborted + 1,
        restore: activation_restore_name(target, aborted, site.spec.failover.attempt),
    })
}

/// Whether the target's status (from the status branch) still allows going back: its
/// activation has not started restoring managed clusters, and it does not back up.
pub fn check(
    abort: &Abort,
    backup_namespace: &str,
    status: Option<&ClusterStatus>,
) -> Result<(), String> {
    let target = &abort.target;
    let Some(status) = status else {
        // Never reported: it applied nothing of the failover. The render's gate waits for its
        // report anyway.
        return Ok(());
    };
    let too_late = "it is too late to abort: fail back instead (`hubdr unfence` the old primary, then `hubdr failover --to` it)";
    if let Some(s) = status.observed.backup_schedules.first() {
        return Err(format!(
            "{target} already has BackupSchedule {}: the takeover is complete; {too_late}",
            s.name
        ));
    }
    if let Some(c) = status
        .observed
        .managed_clusters
        .as_ref()
        .filter(|c| c.total > 0)
    {
        return Err(format!(
            "{target} already holds {} ManagedCluster(s): the activation restored them; {too_late}",
            c.total
        ));
    }
    let name = format!("{backup_namespace}/{}", abort.restore);
    let phase = super::restore_phase(status, &name).unwrap_or_default();
    match phase {
        "Finished" => Err(format!(
            "the activation Restore {name} Finished on {target}; {too_late}"
        )),
        "Running" => Err(format!(
            "the activation Restore {name} is Running on {target}: a running activation cannot be stopped halfway; wait until it ends (then fail back, or retry if it failed)"
        )),
        p if FAILED_RESTORE_PHASES.contains(&p) => Ok(()),
        _ => Ok(()),
    }
}

/// The site text with the roles given back at the new generation.
pub fn apply(text: &str, site: &Site, abort: &Abort) -> Result<String, String> {
    let index = |name: &str| super::planned_index(site, name);
    let generation = abort.generation.to_string();
    let mut text = set_scalar(text, "spec.failover.generation", &generation)?;
    if site.spec.failover.attempt != 1 {
        text = set_scalar(&text, "spec.failover.attempt", "1")?;
    }
    let old = index(&abort.old);
    text = set_scalar(&text, &format!("spec.hubs[{old}].role"), "active")?;
    text = set_scalar(
        &text,
        &format!("spec.hubs[{old}].resumedSince"),
        &generation,
    )?;
    let target = index(&abort.target);
    text = set_scalar(&text, &format!("spec.hubs[{target}].role"), "passive")?;
    set_scalar(
        &text,
        &format!("spec.hubs[{target}].passiveSince"),
        &generation,
    )
}

/// The ordered steps of the abort, with what each waits for; Markdown when asked.
pub fn steps(after: &Site, abort: &Abort, markdown: bool) -> String {
    let ns = &after.spec.backup_namespace;
    let n = abort.generation;
    let schedule = &after.spec.backup.name;
    let resume = if after.spec.acm().can_pause() {
        format!("its BackupSchedule {ns}/{schedule} is unpaused")
    } else {
        format!("its BackupSchedule {ns}/{schedule} is created again")
    };
    let lines = [
        format!(
            "**{}** (passive again): its activation Restore {ns}/{} is removed, and a new passive-sync Restore {ns}/{} starts (a Restore runs once). Waits for: nothing.",
            abort.target,
            abort.restore,
            crate::render::desired::passive_sync_restore_name(n)
        ),
        format!(
            "**{}** (active again, `resumedSince: {n}`): its agent removes the disable-auto-import annotations it set on the ManagedClusters, gives the observability compactor its replicas back, and {resume}. Waits for: {}'s status to report generation {n} without having activated (no ManagedCluster, no activation Restore).",
            abort.old, abort.target
        ),
    ];
    let mut out = format!(
        "{}Abort of the failover to {} (generation {}), as generation {n}\n\n",
        if markdown { "## " } else { "" },
        abort.target,
        abort.aborted
    );
    for (i, line) in lines.iter().enumerate() {
        let line = if markdown {
            line.clone()
        } else {
            line.replace("**", "").replace('`', "")
        };
        out.push_str(&format!("{}. {line}\n", i + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{load, restoring, SITE};
    use super::*;
    use crate::status::ManagedClustersObservation;

    /// hub-b at generation 2, its passive-sync Restore in `phase`, holding `clusters`
    /// ManagedClusters.
    fn status(phase: &str, clusters: usize) -> ClusterStatus {
        let mut s = restoring(2, "restore-acm-passive-sync-g0", phase);
        s.observed.managed_clusters = (clusters > 0).then(|| ManagedClustersObservation {
            total: clusters,
            ..Default::default()
        });
        s
    }

    #[test]
    fn an_abort_gives_the_roles_back_at_a_new_generation() {
        assert!(plan(&load(SITE))
            .unwrap_err()
            .contains("no failover is in progress"));
        let failed_over = crate::failover::edit_site(SITE, "hub-b", false).unwrap();
        let site = load(&failed_over);
        let abort = plan(&site).unwrap();
        assert_eq!(
            abort,
            Abort {
                old: "hub-a".into(),
                target: "hub-b".into(),
                aborted: 2,
                generation: 3,
                restore: "restore-acm-passive-sync-g0".into(),
            }
        );
        let after = load(&apply(&failed_over, &site, &abort).unwrap());
        assert_eq!(after.spec.failover.generation, 3);
        let hubs: Vec<(&str, HubRole, Option<u64>, u64)> = after
            .spec
            .hubs
            .iter()
            .map(|h| (h.name.as_str(), h.role, h.resumed_since, h.passive_since))
            .collect();
        assert_eq!(
            hubs,
            [
                ("hub-a", HubRole::Active, Some(3), 0),
                ("hub-b", HubRole::Passive, None, 3)
            ]
        );
        let unreachable = crate::failover::edit_site(SITE, "hub-b", true).unwrap();
        assert!(plan(&load(&unreachable))
            .unwrap_err()
            .contains("declared unreachable"));
    }

    #[test]
    fn only_before_the_activation_restored_anything() {
        let failed_over = crate::failover::edit_site(SITE, "hub-b", false).unwrap();
        let abort = plan(&load(&failed_over)).unwrap();
        for ok in [
            None,
            Some(status("Enabled", 0)),
            Some(status("FinishedWithErrors", 0)),
        ] {
            assert_eq!(check(&abort, "ns", ok.as_ref()), Ok(()));
        }
        for (s, expected) in [
            (status("Running", 0), "is Running on hub-b"),
            (status("Finished", 0), "Finished on hub-b; it is too late"),
            (
                status("FinishedWithErrors", 3),
                "already holds 3 ManagedCluster(s)",
            ),
        ] {
            let e = check(&abort, "ns", Some(&s)).unwrap_err();
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
        }
    }
}
