//! The agent's memory in the cluster: the ConfigMap `hubdr-inventory-<cluster>` in the
//! agent's namespace, so that a restarted agent, even one that lost its cache directory and
//! cannot reach its repository, still knows what it owns and what it was told last.
//!
//! | key | written by (field manager) | holds |
//! |---|---|---|
//! | `inventory.yaml` | `hubdr-inventory` | what the agent owns and whether it created it (`inventory.rs`) |
//! | `role`, `backupNamespace`, `generation` | `hubdr-memory` | the role and generation of the repository state applied last, and the backup namespace it fences in |
//! | `bundleGeneration` | `hubdr-memory` | with the inbox source: the highest bundle generation applied |
//! | `fenceMode` | `hubdr-memory` | a fenced hub: `pause` (ACM 2.12+) or `delete`, how its BackupSchedules are fenced |
//! | `autoImportSetFor`, `autoImportPrior`, `autoImportRestoredFor` | `hubdr-auto-import` | ACM 2.14+ takeover: the generation whose takeover set `autoImportStrategy: ImportAndSync`, the value found before (absent: none), the generation whose change was put back (`auto_import.rs`) |
//!
//! Each writer applies only its own keys with server-side apply, so neither overwrites the
//! other, and writes only when its keys changed (an unchanged pass makes no write call).
//! The ConfigMap is read like any API response: a value that does not parse is an error
//! naming the key and the fix, never a guess.

use std::collections::BTreeMap;

use hubdr_core::object::ObjectId;
use serde_json::Value;

use crate::inventory::{Inventory, INVENTORY_KEY};
use crate::kubeapi::{CallError, ClusterApi};

const INVENTORY_MANAGER: &str = "hubdr-inventory";
const MEMORY_MANAGER: &str = "hubdr-memory";

pub const ROLE_KEY: &str = "role";
pub const BACKUP_NAMESPACE_KEY: &str = "backupNamespace";
pub const GENERATION_KEY: &str = "generation";
pub const BUNDLE_GENERATION_KEY: &str = "bundleGeneration";
pub const FENCE_MODE_KEY: &str = "fenceMode";

/// Where the memory lives: the agent's namespace and the ConfigMap's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub namespace: String,
    pub name: String,
}

impl Place {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn id(&self) -> ObjectId {
        ObjectId {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfigMap {}/{}", self.namespace, self.name)
    }
}

/// What the agent remembers besides its inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    /// The cluster's role (`active`, `passive`, `fenced`) in the repository state applied last.
    pub role: Option<String>,
    /// The backup namespace a fenced hub loses its BackupSchedules in.
    pub backup_namespace: Option<String>,
    /// The generation applied last.
    pub generation: Option<u64>,
    /// Inbox source: the highest bundle generation applied.
    pub bundle_generation: Option<u64>,
    /// A fenced hub: how its BackupSchedules are fenced (`pause` or `delete`).
    pub fence_mode: Option<String>,
}

/// The string under `key` of a memory ConfigMap's `data` (absent or null: none); anything
/// else is an error naming the key and the fix.
pub fn data_text(data: &Value, place: &Place, key: &str) -> Result<Option<String>, String> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{place}: key {key} is not a string ({other}); fix or remove the key"
        )),
    }
}

/// The whole number under `key` of a memory ConfigMap's `data`, as [`data_text`].
pub fn data_number(data: &Value, place: &Place, key: &str) -> Result<Option<u64>, String> {
    data_text(data, place, key)?
        .map(|s| {
            s.trim().parse::<u64>().map_err(|_| {
                format!("{place}: key {key} is not a whole number ({s:?}); fix or remove the key")
            })
        })
        .transpose()
}

impl Remembered {
    /// Read from a ConfigMap's `data` (`Value::Null` when there is none).
    pub fn from_data(data: &Value, place: &Place) -> Result<Self, String> {
        let text = |key: &str| data_text(data, place, key);
        let number = |key: &str| data_number(data, place, key);
        let word = |key: &str| -> Result<Option<String>, String> {
            text(key)?
                .map(|s| {
                    hubdr_core::units::check_dns1123_label(&s)
                        .map(|_| s.clone())
                        .map_err(|e| {
                            format!("{place}: key {key} ({s:?}): {e}; fix or remove the key")
                        })
                })
                .transpose()
        };
        Ok(Self {
            role: word(ROLE_KEY)?,
            backup_namespace: word(BACKUP_NAMESPACE_KEY)?,
            generation: number(GENERATION_KEY)?,
            bundle_generation: number(BUNDLE_GENERATION_KEY)?,
            fence_mode: match text(FENCE_MODE_KEY)? {
                None => None,
                Some(m) if m == "pause" || m == "delete" => Some(m),
                Some(other) => {
                    return Err(format!(
                        "{place}: key {FENCE_MODE_KEY} is {other:?}, not pause or delete; fix or remove the key"
                    ))
                }
            },
        })
    }

    /// The keys this writes (`None`: the key must be absent).
    pub fn to_data(&self) -> BTreeMap<String, Option<String>> {
        BTreeMap::from([
            (ROLE_KEY.to_string(), self.role.clone()),
            (
                BACKUP_NAMESPACE_KEY.to_string(),
                self.backup_namespace.clone(),
            ),
            (
                GENERATION_KEY.to_string(),
                self.generation.map(|g| g.to_string()),
            ),
            (
                BUNDLE_GENERATION_KEY.to_string(),
                self.bundle_generation.map(|g| g.to_string()),
            ),
            (FENCE_MODE_KEY.to_string(), self.fence_mode.clone()),
        ])
    }
}

/// The backup namespace to fence in, when the remembered role is `fenced`.
pub fn fenced_in(remembered: &Remembered, default_namespace: &str) -> Option<String> {
    crate::fence_mode::fences(remembered.role.as_deref()).then(|| {
        remembered
            .backup_namespace
            .clone()
            .unwrap_or_else(|| default_namespace.to_string())
    })
}

/// How a remembered fenced role fences: paused on ACM 2.12+ renders, deleted otherwise (and
/// when nothing was remembered, as by agents that did not store the mode).
pub fn fence_mode(remembered: &Remembered) -> crate::fence_mode::Mode {
    match remembered.fence_mode.as_deref() {
        Some("pause") => crate::fence_mode::Mode::Pause,
        _ => crate::fence_mode::Mode::Delete,
    }
}

/// The `fenceMode` value of `mode`.
pub fn fence_mode_key(mode: crate::fence_mode::Mode) -> String {
    match mode {
        crate::fence_mode::Mode::Pause => "pause".into(),
        crate::fence_mode::Mode::Delete => "delete".into(),
    }
}

/// What to remember after a successful fetch: the role and generation read, the backup
/// namespace of a hub, and for the inbox source the highest bundle generation applied.
pub fn after_fetch(
    before: &Remembered,
    role: Option<&str>,
    backup_namespace: &str,
    generation: u64,
    inbox: bool,
) -> Remembered {
    Remembered {
        role: role.map(str::to_string),
        backup_namespace: role.map(|_| backup_namespace.to_string()),
        generation: Some(generation),
        bundle_generation: if inbox {
            Some(before.bundle_generation.unwrap_or(0).max(generation))
        } else {
            before.bundle_generation
        },
        fence_mode: None,
    }
}

/// The ConfigMap's `data`, `Value::Null` when the ConfigMap does not exist.
async fn read_data(api: &mut ClusterApi, place: &Place) -> Result<Value, String> {
    match api.get(&place.id()).await {
        Ok(None) => Ok(Value::Null),
        Ok(Some(cm)) => Ok(cm.data.get("data").cloned().unwrap_or(Value::Null)),
        Err(e) => Err(format!("cannot read the agent's {place}: {e}")),
    }
}

/// What the agent remembers (all empty when the ConfigMap does not exist yet).
pub async fn recall(api: &mut ClusterApi, place: &Place) -> Result<Remembered, String> {
    let data = read_data(api, place).await?;
    Remembered::from_data(&data, place)
}

/// Store `remembered`; `Ok(false)` when it was stored already (no write call).
pub async fn remember(
    api: &mut ClusterApi,
    place: &Place,
    remembered: &Remembered,
) -> Result<bool, CallError> {
    api.put_config_map(
        &place.namespace,
        &place.name,
        MEMORY_MANAGER,
        &remembered.to_data(),
    )
    .await
}

/// The stored inventory (empty when the ConfigMap does not exist yet).
pub async fn read_inventory(api: &mut ClusterApi, place: &Place) -> Result<Inventory, String> {
    let data = read_data(api, place).await?;
    let text = match data.get(INVENTORY_KEY) {
        None | Some(Value::Null) => "[]",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(format!(
                "inventory {place}: {INVENTORY_KEY} is not a string"
            ))
        }
    };
    Inventory::from_yaml(text).map_err(|e| format!("inventory {place}: {e}"))
}

/// The inventory as stored, and the writes that keep it so: written before objects are
/// touched, so an agent killed mid-pass orphans nothing and forgets no creation.
#[derive(Debug)]
pub struct Ledger {
    place: Place,
    stored: Inventory,
}

impl Ledger {
    /// A ledger over `stored`, the inventory just read from `place`.
    pub fn new(place: Place, stored: Inventory) -> Self {
        Self { place, stored }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.stored
    }

    /// Store `inventory` (no write call when it is stored already).
    pub async fn record(
        &mut self,
        api: &mut ClusterApi,
        inventory: Inventory,
    ) -> Result<(), CallError> {
        if inventory == self.stored {
            return Ok(());
        }
        let data = BTreeMap::from([(INVENTORY_KEY.to_string(), Some(inventory.to_yaml()))]);
        api.put_config_map(
            &self.place.namespace,
            &self.place.name,
            INVENTORY_MANAGER,
            &data,
        )
        .await?;
        self.stored = inventory;
        Ok(())
    }

    /// Record that the agent is about to create `ids` (before its create calls).
    pub async fn mark_created(
        &mut self,
        api: &mut ClusterApi,
        ids: &[&ObjectId],
    ) -> Result<(), CallError> {
        let mut next = self.stored.clone();
        for id in ids {
            next.mark_created(id);
        }
        self.record(api, next).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn place() -> Place {
        Place::new("hubdr-agent", "hubdr-inventory-hub-a")
    }

    #[test]
    fn round_trips_and_absent_keys_are_none() {
        let r = Remembered {
            role: Some("fenced".into()),
            backup_namespace: Some("open-cluster-management-backup".into()),
            generation: Some(4),
            bundle_generation: None,
            fence_mode: Some("pause".into()),
        };
        let data: serde_json::Map<String, Value> = r
            .to_data()
            .into_iter()
            .filter_map(|(k, v)| Some((k, Value::String(v?))))
            .collect();
        assert_eq!(
            Remembered::from_data(&Value::Object(data), &place()).unwrap(),
            r
        );
        assert_eq!(
            Remembered::from_data(&Value::Null, &place()).unwrap(),
            Remembered::default()
        );
    }

    #[test]
    fn the_bundle_generation_only_grows_and_a_fenced_role_fences() {
        let before = Remembered {
            bundle_generation: Some(5),
            ..Remembered::default()
        };
        let now = after_fetch(&before, Some("fenced"), "backup", 4, true);
        assert_eq!(now.bundle_generation, Some(5));
        assert_eq!(now.generation, Some(4));
        assert_eq!(fenced_in(&now, "default").as_deref(), Some("backup"));
        let now = after_fetch(&now, None, "backup", 6, true);
        assert_eq!(
            (now.bundle_generation, now.backup_namespace.as_deref()),
            (Some(6), None)
        );
        assert_eq!(fenced_in(&now, "default"), None);
        let git = after_fetch(&before, Some("active"), "backup", 9, false);
        assert_eq!(git.bundle_generation, Some(5), "kept, not raised, by git");
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let e = Remembered::from_data(&json!({"generation": "seven"}), &place()).unwrap_err();
        assert!(
            e.contains("hubdr-agent/hubdr-inventory-hub-a")
                && e.contains("generation")
                && e.contains("fix or remove the key"),
            "{e}"
        );
        let e = Remembered::from_data(&json!({"role": "Fenced!"}), &place()).unwrap_err();
        assert!(e.contains("key role"), "{e}");
        let e = Remembered::from_data(&json!({"bundleGeneration": 3}), &place()).unwrap_err();
        assert!(e.contains("not a string"), "{e}");
        let e = Remembered::from_data(&json!({"fenceMode": "stop"}), &place()).unwrap_err();
        assert!(
            e.contains("key fenceMode") && e.contains("not pause or delete"),
            "{e}"
        );
    }

    #[test]
    fn the_fence_mode_is_remembered_as_pause_or_delete() {
        use crate::fence_mode::Mode;
        for mode in [Mode::Pause, Mode::Delete] {
            let r = Remembered {
                fence_mode: Some(fence_mode_key(mode)),
                ..Remembered::default()
            };
            assert_eq!(fence_mode(&r), mode);
        }
        assert_eq!(fence_mode(&Remembered::default()), Mode::Delete);
    }
}
