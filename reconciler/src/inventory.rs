//! The inventory: what this agent applied and therefore owns. It lives in the cluster (a
//! ConfigMap in the agent's namespace, see `memory.rs`) so a restarted agent knows what to
//! prune.
//!
//! Each entry records whether the agent created the object (`created: true`: its own create
//! call, made after a dry run showed the object absent) or adopted one that already existed
//! (`created: false`). Only created objects are ever deleted; adopted ones are released
//! (hubdr's fields dropped by server-side apply) when they leave the repository. An
//! inventory written before this field existed has no `created` key: every entry then reads
//! as adopted, the safe default (nothing it lists is deleted, only released).

use std::collections::BTreeMap;

use hubdr_core::object::ObjectId;
use serde::{Deserialize, Serialize};

pub const INVENTORY_KEY: &str = "inventory.yaml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub wave: i32,
    /// The agent created the object (else it adopted it); missing in old inventories: adopted.
    #[serde(default)]
    pub created: bool,
}

impl Entry {
    pub fn new(id: &ObjectId, wave: i32) -> Self {
        Self {
            api_version: id.api_version.clone(),
            kind: id.kind.clone(),
            namespace: id.namespace.clone(),
            name: id.name.clone(),
            wave,
            created: false,
        }
    }

    pub fn id(&self) -> ObjectId {
        ObjectId {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// A set of owned objects keyed by identity (the group/kind/namespace/name; the version may change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    entries: BTreeMap<(String, String, String, String), Entry>,
}

fn key(e: &Entry) -> (String, String, String, String) {
    let group = e
        .api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("")
        .to_string();
    (
        group,
        e.kind.clone(),
        e.namespace.clone().unwrap_or_default(),
        e.name.clone(),
    )
}

impl Inventory {
    pub fn insert(&mut self, entry: Entry) {
        self.entries.insert(key(&entry), entry);
    }

    pub fn remove(&mut self, entry: &Entry) {
        self.entries.remove(&key(entry));
    }

    pub fn contains(&self, entry: &Entry) -> bool {
        self.entries.contains_key(&key(entry))
    }

    /// The recorded entry with `entry`'s identity.
    pub fn get(&self, entry: &Entry) -> Option<&Entry> {
        self.entries.get(&key(entry))
    }

    /// Insert `entry`, keeping the `created` flag already recorded for its identity.
    pub fn upsert(&mut self, entry: Entry) {
        let created = entry.created || self.get(&entry).is_some_and(|e| e.created);
        self.insert(Entry { created, ..entry });
    }

    /// Record that the agent creates the object `id` (no-op when it is not listed).
    pub fn mark_created(&mut self, id: &ObjectId) -> bool {
        let probe = Entry::new(id, 0);
        match self.entries.get_mut(&key(&probe)) {
            Some(e) if !e.created => {
                e.created = true;
                true
            }
            _ => false,
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries of `self` that `desired` no longer holds: the objects to prune, in delete order
    /// (reverse of apply order).
    pub fn stale(&self, desired: &Inventory) -> Vec<Entry> {
        let mut out: Vec<Entry> = self
            .entries
            .iter()
            .filter(|(k, _)| !desired.entries.contains_key(*k))
            .map(|(_, e)| e.clone())
            .collect();
        out.sort_by_cached_key(|e| crate::order::apply_key(e.wave, &e.id()));
        out.reverse();
        out
    }

    pub fn to_yaml(&self) -> String {
        let list: Vec<&Entry> = self.entries.values().collect();
        serde_yaml::to_string(&list).expect("inventory serializes")
    }

    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let list: Vec<Entry> =
            hubdr_core::untrusted_yaml::from_str(text, hubdr_core::limits::API_OBJECT_MAX_BYTES)
                .map_err(|e| format!("the inventory ConfigMap is corrupt: {e}"))?;
        let mut inventory = Inventory::default();
        for e in list {
            inventory.insert(e);
        }
        Ok(inventory)
    }
}

impl FromIterator<Entry> for Inventory {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Self {
        let mut inventory = Inventory::default();
        for e in iter {
            inventory.insert(e);
        }
        inventory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(api: &str, kind: &str, name: &str, wave: i32) -> Entry {
        Entry {
            api_version: api.into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
            wave,
            created: false,
        }
    }

    #[test]
    fn stale_entries_come_in_reverse_apply_order() {
        let old: Inventory = [
            entry("a/v1", "Restore", "r", 2),
            entry("v1", "Namespace", "n", 0),
            entry("a/v1", "Keep", "k", 1),
        ]
        .into_iter()
        .collect();
        let new: Inventory = [entry("a/v1", "Keep", "k", 1)].into_iter().collect();
        let names: Vec<String> = old.stale(&new).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["r", "n"]);
    }

    #[test]
    fn identity_ignores_the_version() {
        let old: Inventory = [entry("addon.io/v1alpha1", "Addon", "x", 3)]
            .into_iter()
            .collect();
        let new: Inventory = [entry("addon.io/v1beta1", "Addon", "x", 3)]
            .into_iter()
            .collect();
        assert!(old.stale(&new).is_empty());
    }

    #[test]
    fn round_trips_through_yaml() {
        let inv: Inventory = [entry("a/v1", "Restore", "r", 2)].into_iter().collect();
        assert_eq!(Inventory::from_yaml(&inv.to_yaml()).unwrap(), inv);
        assert!(Inventory::from_yaml("{not: a list}")
            .unwrap_err()
            .contains("corrupt"));
        let mut created = inv.clone();
        assert!(created.mark_created(&entry("a/v1", "Restore", "r", 2).id()));
        assert!(!created.mark_created(&entry("a/v1", "Restore", "r", 2).id()));
        assert!(
            created.to_yaml().contains("created: true"),
            "{}",
            created.to_yaml()
        );
        assert_eq!(Inventory::from_yaml(&created.to_yaml()).unwrap(), created);
    }

    #[test]
    fn an_old_inventory_without_created_reads_as_adopted() {
        let old = "- apiVersion: v1\n  kind: PersistentVolumeClaim\n  namespace: shop\n  name: data\n  wave: 2\n";
        let inv = Inventory::from_yaml(old).unwrap();
        let entry = inv.entries().next().unwrap();
        assert_eq!(entry.id().to_string(), "PersistentVolumeClaim shop/data");
        assert!(!entry.created);
    }

    #[test]
    fn upsert_keeps_the_created_flag() {
        let mut inv = Inventory::default();
        let mut e = entry("a/v1", "Restore", "r", 2);
        e.created = true;
        inv.insert(e);
        inv.upsert(entry("a/v2", "Restore", "r", 3));
        let got = inv.entries().next().unwrap();
        assert!(
            got.created && got.wave == 3 && got.api_version == "a/v2",
            "{got:?}"
        );
    }
}
