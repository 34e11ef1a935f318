//! One reconcile pass over a cluster: allowlist, inventory, apply, prune guard, prune. Only
//! orchestrates; the verbs live in `apply.rs` and `prune.rs`, the decisions of the guard in
//! `hubdr_core::prune_guard`, the inventory's storage in `memory.rs`.

use std::collections::HashMap;

use hubdr_core::object::ObjectId;
use serde_json::Value;

use hubdr_core::prune_guard::{Counts, Hold, Limit};

use crate::apply::{self, ApplyOptions, Planned};
use crate::changeset::{Action, ChangeSet};
use crate::config::Allowlist;
use crate::inventory::{Entry, Inventory};
use crate::kubeapi::ClusterApi;
use crate::memory::{self, Ledger, Place};
use crate::prune::{self, Disposal};

/// What a pass needs to know about the agent itself.
#[derive(Debug, Clone)]
pub struct PassConfig {
    pub cluster: String,
    /// The agent's namespace, which holds its inventory ConfigMap.
    pub namespace: String,
    pub allowlist: Allowlist,
    pub apply: ApplyOptions,
    /// When pruning is held as a likely accident (`--max-prune-percent`, `--allow-mass-prune`).
    pub prune: Limit,
}

impl PassConfig {
    pub fn inventory_name(&self) -> String {
        format!("hubdr-inventory-{}", self.cluster)
    }

    /// The ConfigMap holding the agent's inventory and memory.
    pub fn memory_place(&self) -> Place {
        Place::new(self.namespace.clone(), self.inventory_name())
    }
}

#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub changes: ChangeSet,
    /// The inventory after the pass.
    pub inventory: Inventory,
    /// A problem that stopped part of the pass (e.g. a corrupt inventory: nothing pruned).
    pub problems: Vec<String>,
    /// Set when the prune guard held this pass's prune: why, and which objects.
    pub prune_guard: Option<String>,
}

/// Turn desired files into plannable objects; objects the allowlist refuses are reported.
pub fn plan(objects: &[Value], allowlist: &Allowlist, changes: &mut ChangeSet) -> Vec<Planned> {
    let mut planned = Vec::new();
    for value in objects {
        let id = match ObjectId::of(value) {
            Ok(id) => id,
            Err(message) => {
                let unknown = ObjectId {
                    api_version: "?".into(),
                    kind: "?".into(),
                    namespace: None,
                    name: "?".into(),
                };
                changes.push(unknown, Action::Failed(message));
                continue;
            }
        };
        // Refused objects get no API call at all, not even a read.
        if let Some(why) = allowlist.refusal(&id) {
            changes.push(id, Action::Failed(format!("refused: {why}")));
            continue;
        }
        // read_cluster refuses a whole directory with an unreadable wave; never wave 0.
        let wave = match crate::desired_set::wave_of(value) {
            Ok(wave) => wave,
            Err(message) => {
                changes.push(id, Action::Failed(message));
                continue;
            }
        };
        planned.push(Planned {
            id,
            wave,
            value: value.clone(),
        });
    }
    planned
}

/// Apply `planned` and prune what this agent owned before and no longer wants.
pub async fn pass(
    api: &mut ClusterApi,
    config: &PassConfig,
    planned: &[Planned],
    blocked: &HashMap<ObjectId, String>,
    mut changes: ChangeSet,
) -> PassReport {
    api.forget_kinds();
    let mut problems = Vec::new();
    let place = config.memory_place();
    let (previous, inventory_readable) = match memory::read_inventory(api, &place).await {
        Ok(inventory) => (inventory, true),
        Err(message) => {
            problems.push(format!("{message}; nothing is pruned until it is fixed"));
            (Inventory::default(), false)
        }
    };
    let desired: Inventory = planned.iter().map(|p| Entry::new(&p.id, p.wave)).collect();

    // Record what we are about to own before touching it, so a crash mid-pass orphans
    // nothing. New entries are adopted until a create call makes them created.
    let mut before = previous.clone();
    for entry in desired.entries() {
        before.upsert(entry.clone());
    }
    let mut ledger = Ledger::new(place, previous.clone());
    if inventory_readable {
        if let Err(e) = ledger.record(api, before).await {
            problems.push(format!(
                "cannot record the inventory ({e}); nothing is applied this pass"
            ));
            return PassReport {
                changes,
                inventory: previous,
                problems,
                prune_guard: None,
            };
        }
    }

    let recording = inventory_readable.then_some(&mut ledger);
    apply::apply_all(
        api,
        planned,
        blocked,
        &config.apply,
        recording,
        &mut changes,
    )
    .await;

    // What is still desired keeps what the ledger knows about it (created or adopted).
    let mut after: Inventory = desired
        .entries()
        .map(|e| {
            ledger
                .inventory()
                .get(e)
                .cloned()
                .unwrap_or_else(|| e.clone())
        })
        .collect();
    let mut prune_guard = None;
    if inventory_readable {
        // The allowlist bounds pruning too: a kind or namespace the agent may no longer manage
        // is left in place and stays owned, so it is pruned once the agent may manage it again.
        let (stale, refused): (Vec<Entry>, Vec<Entry>) = previous
            .stale(&desired)
            .into_iter()
            .partition(|e| config.allowlist.refusal(&e.id()).is_none());
        for entry in refused {
            let id = entry.id();
            let why = config.allowlist.refusal(&id).unwrap_or_default();
            after.insert(entry);
            // Still in the repository: plan() already reported it as refused.
            if !changes.changes.iter().any(|c| c.id == id) {
                changes.push(
                    id,
                    Action::Skipped(format!("not pruned: {why}; it stays in the inventory")),
                );
            }
        }
        let counts = Counts {
            owned: previous.len(),
            desired: desired.len(),
            stale: stale.len(),
            deletes: stale
                .iter()
                .filter(|e| prune::disposal(e) == Disposal::Delete)
                .count(),
        };
        match hubdr_core::prune_guard::check(counts, config.prune) {
            Some(hold) => {
                prune_guard = Some(held(&hold, &stale));
                for entry in stale {
                    changes.push(
                        entry.id(),
                        Action::Skipped(format!(
                            "not pruned: the prune guard holds this pass's prune ({})",
                            short(&hold)
                        )),
                    );
                    after.insert(entry);
                }
            }
            None => prune::prune(api, &config.cluster, &stale, &mut after, &mut changes).await,
        }
        if let Err(e) = ledger.record(api, after.clone()).await {
            problems.push(format!(
                "cannot record the inventory after pruning ({e}); the next pass retries"
            ));
        }
    }
    PassReport {
        changes,
        inventory: after,
        problems,
        prune_guard,
    }
}

/// At most this many objects are named in the PruneGuard message (each held object is also
/// reported on its own).
const NAMED: usize = 20;

/// The PruneGuard message: why, and which objects are held.
fn held(hold: &Hold, stale: &[Entry]) -> String {
    let mut names: Vec<String> = stale
        .iter()
        .take(NAMED)
        .map(|e| {
            let verb = match prune::disposal(e) {
                Disposal::Delete => "delete",
                Disposal::Release => "release",
            };
            format!("{} ({verb})", e.id())
        })
        .collect();
    if stale.len() > NAMED {
        names.push(format!("and {} more", stale.len() - NAMED));
    }
    format!("{hold}. Held: {}", names.join(", "))
}

fn short(hold: &Hold) -> &'static str {
    match hold {
        Hold::EmptyDesired { .. } => "the repository wants nothing on this cluster",
        Hold::MassDeletion { .. } => "too many deletions at once: see --allow-mass-prune",
    }
}
