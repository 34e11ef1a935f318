//! A takeover, as objects and gates: the new primary's activation Restore and what it and the
//! new primary's BackupSchedule and add-ons wait for. Pure.
//!
//! The order the seeds demand: the old primary is fenced BEFORE activation data is restored on
//! the new hub. So the activation Restore waits for the old primary's agent to report "fenced
//! at generation N" (`fenced:<old>@N`), unless the site declares the old primary unreachable;
//! the BackupSchedule waits for the activation to finish (and, to be safe, for the fence too)
//! and for every managed cluster to be Available and Joined on this hub.
//!
//! On ACM 2.14+ the takeover also needs the import controller's auto-import strategy at
//! `ImportAndSync` while it runs (with the default, `ImportOnly`, managed clusters imported
//! before are not imported by the new hub; stolostron/managedcluster-import-controller, and the
//! ACM switchover runbooks, e.g. the rh-acm-switchover project, set it before the activation and
//! put it back once every managed cluster is Available). The activation Restore carries
//! `hubdr.io/auto-import-strategy: ImportAndSync` (the agent records the value it finds and sets
//! that one key of `multicluster-engine/import-controller-config`) and waits for
//! `auto-import-strategy:ImportAndSync`; the BackupSchedule waits for `auto-import-restored:N`
//! (the agent put the recorded value back after the verification).

use serde_json::json;

use super::object_plan::ObjectPlan;
use super::passive_restore::{passive_restore, passive_sync_restore_name};
use crate::gates::{
    self, Gate, ANNOTATION_AUTO_IMPORT_STRATEGY, ANNOTATION_GENERATION, ANNOTATION_WAIT_FOR,
};

/// The auto-import strategy a takeover needs on ACM 2.14+.
pub const IMPORT_AND_SYNC: &str = "ImportAndSync";
use crate::site::{Hub, HubRole, Site};

/// What a new primary (`activeSince: N`) renders beyond an active hub's objects.
#[derive(Debug, Clone)]
pub struct Takeover {
    /// The activation Restore (wave 2), gated on the fence.
    pub restore: ObjectPlan,
    /// What the BackupSchedule waits for.
    pub schedule_gates: Vec<Gate>,
    /// What the volsync add-ons (activation data) wait for.
    pub addon_gates: Vec<Gate>,
}

/// The takeover by `hub` at failover generation `generation`.
pub fn plan(site: &Site, hub: &Hub, generation: u64) -> Takeover {
    let ns = &site.spec.backup_namespace;
    let mut restore = activation_restore(site, hub, generation);
    let name = activation_restore_name(hub, generation, site.spec.failover.attempt);
    let fence = fence_gates(site, generation);
    let auto_import = site.spec.acm().has_auto_import_strategy();
    let mut restore_gates = fence.clone();
    if auto_import {
        restore.annotations.push((
            ANNOTATION_AUTO_IMPORT_STRATEGY.into(),
            IMPORT_AND_SYNC.into(),
        ));
        restore_gates.push(Gate::AutoImportStrategy {
            strategy: IMPORT_AND_SYNC.into(),
        });
    }
    if !restore_gates.is_empty() {
        restore
            .annotations
            .push((ANNOTATION_WAIT_FOR.into(), gates::format(&restore_gates)));
    }
    let finished = Gate::RestoreFinished {
        namespace: ns.clone(),
        name,
    };
    let mut schedule_gates = vec![finished.clone()];
    schedule_gates.extend(fence);
    // Verify before calling it done: every managed cluster back on this hub, and the
    // observability API restarted (it serves stale tenant data after an activation).
    schedule_gates.push(Gate::ManagedClustersAvailable);
    schedule_gates.push(Gate::ObservabilityRestarted { generation });
    if auto_import {
        schedule_gates.push(Gate::AutoImportRestored { generation });
    }
    Takeover {
        restore,
        schedule_gates,
        addon_gates: vec![finished],
    }
}

/// What the BackupSchedule of a hub given the role back by an abort at `generation` waits
/// for: every hub that became passive at that generation (the aborted target) reporting it
/// without having activated the managed clusters. Until then the schedule stays paused (or,
/// deleted before ACM 2.12, is not recreated), so two hubs never back up at once.
pub fn resume_gates(site: &Site, generation: u64) -> Vec<Gate> {
    site.spec
        .hubs
        .iter()
        .filter(|h| h.role == HubRole::Passive && h.passive_since == generation)
        .map(|h| Gate::NotActivated {
            cluster: h.name.clone(),
            generation,
        })
        .collect()
}

/// The old primaries the takeover at `generation` waits for: hubs fenced at this generation
/// (a hub fenced in an earlier generation already was; one without a recorded `fencedSince`
/// is waited for, to be safe), none when the old primary is declared unreachable.
pub fn fence_gates(site: &Site, generation: u64) -> Vec<Gate> {
    if site.spec.failover.old_primary_unreachable {
        return Vec::new();
    }
    site.spec
        .hubs
        .iter()
        .filter(|h| h.role == HubRole::Fenced)
        .filter(|h| h.fenced_since.is_none_or(|g| g == generation))
        .map(|h| Gate::Fenced {
            cluster: h.name.clone(),
            generation,
        })
        .collect()
}

/// The name of the Restore of activation attempt `attempt` by `hub` at `generation`: its
/// passive-sync Restore (switched to activate) or `restore-acm-activate-g<N>` on the first
/// attempt, `restore-acm-activate-g<N>-a<attempt>` after: a Restore runs once, so a retry needs a
/// new one.
pub fn activation_restore_name(hub: &Hub, generation: u64, attempt: u64) -> String {
    match attempt {
        0 | 1 if hub.passive_sync => passive_sync_restore_name(hub.passive_since),
        0 | 1 => format!("restore-acm-activate-g{generation}"),
        n => format!("restore-acm-activate-g{generation}-a{n}"),
    }
}

/// The Restore that activates a new primary: on the first attempt its passive-sync Restore
/// switched to `veleroManagedClustersBackupName: latest` (the documented way to activate a
/// syncing hub), or a new `restore-acm-activate-g<N>` when it was not syncing; later attempts a
/// new Restore each (see [`activation_restore_name`]).
fn activation_restore(site: &Site, hub: &Hub, generation: u64) -> ObjectPlan {
    let attempt = site.spec.failover.attempt;
    let mut plan = if hub.passive_sync && attempt <= 1 {
        passive_restore(site, hub)
    } else {
        ObjectPlan::new(
            &hub.name,
            "restore.yaml.j2",
            2,
            json!({
                "name": activation_restore_name(hub, generation, attempt),
                "namespace": site.spec.backup_namespace,
                "cleanup_before_restore": hub.cleanup_before_restore,
                "sync": false,
                "restore_sync_interval": null,
                "managed_clusters_backup": "latest",
                "credentials_backup": "latest",
                "resources_backup": "latest",
            }),
        )
    };
    plan.context["managed_clusters_backup"] = json!("latest");
    plan.annotations
        .push((ANNOTATION_GENERATION.into(), generation.to_string()));
    plan
}
