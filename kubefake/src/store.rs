//! Stored objects, the global resourceVersion counter and the change log.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use crate::observe::{ChangeEvent, ChangeKind};
use crate::resources::{ResKey, ResourceInfo};
use crate::ssa::ManagedEntry;

/// How many change events are kept for watches that resume from a resourceVersion.
pub const LOG_CAPACITY: usize = 10_000;

/// One stored object: its JSON (without `managedFields`) and its managed fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The object, with `metadata.resourceVersion` set.
    pub object: Value,
    /// Field ownership.
    pub managed: Vec<ManagedEntry>,
}

impl Record {
    /// The object as the API returns it: `managedFields` included, `apiVersion` set to
    /// `api_version`.
    pub fn render(&self, api_version: &str) -> Value {
        let mut v = self.object.clone();
        v["apiVersion"] = Value::String(api_version.to_string());
        if !self.managed.is_empty() {
            let fields: Vec<Value> = crate::ssa::sorted(&self.managed)
                .into_iter()
                .map(ManagedEntry::to_json)
                .collect();
            v["metadata"]["managedFields"] = Value::Array(fields);
        }
        v
    }
}

type ObjKey = (ResKey, String, String);

/// All objects of all kinds.
#[derive(Debug, Default)]
pub struct Store {
    objects: BTreeMap<ObjKey, Record>,
    rv: u64,
    log: VecDeque<ChangeEvent>,
}

fn obj_key(key: &ResKey, ns: Option<&str>, name: &str) -> ObjKey {
    (key.clone(), ns.unwrap_or("").to_string(), name.to_string())
}

impl Store {
    /// The object, if stored.
    pub fn get(&self, key: &ResKey, ns: Option<&str>, name: &str) -> Option<&Record> {
        self.objects.get(&obj_key(key, ns, name))
    }

    /// Objects of one kind, in one namespace or in all (`None`), ordered by namespace and name.
    pub fn list<'a>(
        &'a self,
        key: &'a ResKey,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Record> {
        self.objects
            .iter()
            .filter(move |((k, n, _), _)| k == key && ns.is_none_or(|ns| ns == n))
            .map(|(_, r)| r)
    }

    /// Every stored object.
    pub fn all(&self) -> impl Iterator<Item = (&ResKey, &Record)> {
        self.objects.iter().map(|((k, _, _), r)| (k, r))
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn oldest_resumable(&self) -> u64 {
        match self.log.front() {
            Some(e) if self.log.len() >= LOG_CAPACITY => e.resource_version,
            _ => 0,
        }
    }

    /// Change events newer than `rv`.
    pub fn events_since(&self, rv: u64) -> impl Iterator<Item = &ChangeEvent> {
        self.log.iter().filter(move |e| e.resource_version > rv)
    }

    /// Stores `record` under a new resourceVersion and logs the change.
    pub fn put(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        mut record: Record,
        kind: ChangeKind,
    ) -> ChangeEvent {
        self.rv += 1;
        record.object["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let rendered = record.render(&info.api_version(&info.storage_version().name));
        self.objects
            .insert(obj_key(&ResKey::of(info), ns, name), record);
        self.log_event(info, ns, name, kind, rendered)
    }

    /// Removes an object and logs the deletion under a new resourceVersion.
    pub fn remove(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Option<ChangeEvent> {
        let record = self.objects.remove(&obj_key(&ResKey::of(info), ns, name))?;
        self.rv += 1;
        let mut rendered = record.render(&info.api_version(&info.storage_version().name));
        rendered["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        Some(self.log_event(info, ns, name, ChangeKind::Deleted, rendered))
    }

    fn log_event(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        kind: ChangeKind,
        object: Value,
    ) -> ChangeEvent {
        let event = ChangeEvent {
            kind,
            group: info.group.clone(),
            object_kind: info.kind.clone(),
            plural: info.plural.clone(),
            namespace: ns.map(str::to_string),
            name: name.to_string(),
            resource_version: self.rv,
            object,
        };
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(event.clone());
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;
    use serde_json::json;

    #[test]
    fn put_bumps_the_global_resource_version_and_logs() {
        let cm = builtins()
            .into_iter()
            .find(|r| r.kind == "ConfigMap")
            .unwrap();
        let mut s = Store::default();
        let rec = Record {
            object: json!({"metadata": {"name": "a"}}),
            managed: vec![],
        };
        s.put(&cm, Some("ns"), "a", rec.clone(), ChangeKind::Added);
        let e = s.put(&cm, Some("ns"), "b", rec, ChangeKind::Added);
        assert_eq!(e.resource_version, 2);
        assert_eq!(
            s.get(&ResKey::of(&cm), Some("ns"), "b").unwrap().object["metadata"]["resourceVersion"],
            "2"
        );
        assert_eq!(s.list(&ResKey::of(&cm), Some("ns")).count(), 2);
        assert_eq!(s.list(&ResKey::of(&cm), Some("other")).count(), 0);
        let d = s.remove(&cm, Some("ns"), "a").unwrap();
        assert_eq!((d.kind, d.resource_version), (ChangeKind::Deleted, 3));
        assert_eq!(s.events_since(1).count(), 2);
    }
}
