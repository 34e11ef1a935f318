//! One reconcile pass over a cluster: allowlist, inventory, apply, prune. Only orchestrates;
//! the verbs live in `apply.rs` and `prune.rs`.

use std::collections::{BTreeMap, HashMap};

use hubdr::render::ObjectId;
use serde_json::Value;

use crate::apply::{self, ApplyOptions, Planned};
use crate::changeset::{Action, ChangeSet};
use crate::config::Allowlist;
use crate::inventory::{Entry, Inventory, INVENTORY_KEY};
use crate::kubeapi::ClusterApi;
use crate::prune;

/// What a pass needs to know about the agent itself.
#[derive(Debug, Clone)]
pub struct PassConfig {
    pub cluster: String,
    /// The agent's namespace, which holds its inventory ConfigMap.
    pub namespace: String,
    pub allowlist: Allowlist,
    pub apply: ApplyOptions,
}

impl PassConfig {
    pub fn inventory_name(&self) -> String {
        format!("hubdr-inventory-{}", self.cluster)
    }
}

#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub changes: ChangeSet,
    /// The inventory after the pass.
    pub inventory: Inventory,
    /// A problem that stopped part of the pass (e.g. a corrupt inventory: nothing pruned).
    pub problems: Vec<String>,
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
        if !allowlist.allows(&id.api_version, &id.kind) {
            let message = format!(
                "refused: {} is not in this agent's allowlist (its own --allow-kind / config file; the repository cannot extend it)",
                crate::config::AllowedKind::of(&id.api_version, &id.kind)
            );
            changes.push(id, Action::Failed(message));
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
    let (previous, inventory_readable) = match read_inventory(api, config).await {
        Ok(inventory) => (inventory, true),
        Err(message) => {
            problems.push(format!("{message}; nothing is pruned until it is fixed"));
            (Inventory::default(), false)
        }
    };
    let desired: Inventory = planned.iter().map(|p| Entry::new(&p.id, p.wave)).collect();

    // Record what we are about to own before touching it, so a crash mid-pass orphans nothing.
    let mut before = previous.clone();
    for entry in desired.entries() {
        before.insert(entry.clone());
    }
    if inventory_readable {
        if let Err(e) = write_inventory(api, config, &before).await {
            problems.push(format!(
                "cannot record the inventory ({e}); nothing is applied this pass"
            ));
            return PassReport {
                changes,
                inventory: previous,
                problems,
            };
        }
    }

    apply::apply_all(api, planned, blocked, &config.apply, &mut changes).await;

    let mut after = desired.clone();
    if inventory_readable {
        // The allowlist bounds pruning too: a kind the agent may no longer manage is left in
        // place and stays owned, so it is pruned once the agent may manage it again.
        let (stale, refused): (Vec<Entry>, Vec<Entry>) = previous
            .stale(&desired)
            .into_iter()
            .partition(|e| config.allowlist.allows(&e.api_version, &e.kind));
        for entry in refused {
            let id = entry.id();
            after.insert(entry);
            // Still in the repository: plan() already reported it as refused.
            if !changes.changes.iter().any(|c| c.id == id) {
                let kind = crate::config::AllowedKind::of(&id.api_version, &id.kind);
                changes.push(id, Action::Skipped(format!("not pruned: {kind} is not in this agent's allowlist; it stays in the inventory")));
            }
        }
        prune::prune(api, &config.cluster, &stale, &mut after, &mut changes).await;
        if let Err(e) = write_inventory(api, config, &after).await {
            problems.push(format!(
                "cannot record the inventory after pruning ({e}); the next pass retries"
            ));
        }
    }
    PassReport {
        changes,
        inventory: after,
        problems,
    }
}

async fn read_inventory(api: &mut ClusterApi, config: &PassConfig) -> Result<Inventory, String> {
    let id = ObjectId {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(config.namespace.clone()),
        name: config.inventory_name(),
    };
    match api.get(&id).await {
        Ok(None) => Ok(Inventory::default()),
        Ok(Some(cm)) => {
            let text = cm
                .data
                .pointer(&format!("/data/{}", INVENTORY_KEY.replace('/', "~1")))
                .and_then(Value::as_str)
                .unwrap_or("[]");
            Inventory::from_yaml(text).map_err(|e| {
                format!(
                    "inventory ConfigMap {}/{}: {e}",
                    config.namespace,
                    config.inventory_name()
                )
            })
        }
        Err(e) => Err(format!(
            "cannot read the inventory ConfigMap {}/{}: {e}",
            config.namespace,
            config.inventory_name()
        )),
    }
}

async fn write_inventory(
    api: &mut ClusterApi,
    config: &PassConfig,
    inventory: &Inventory,
) -> Result<bool, crate::kubeapi::CallError> {
    let data = BTreeMap::from([(INVENTORY_KEY.to_string(), inventory.to_yaml())]);
    api.put_config_map(&config.namespace, &config.inventory_name(), &data)
        .await
}
