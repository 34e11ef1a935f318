//! Field paths and field sets (a simplified `fieldsV1`), computed from objects with a schema.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::schema::{self, ListType};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of an object (`f:name`).
    Field(String),
    /// An item of a map-list, by its keys as canonical JSON (`k:{"name":"x"}`).
    Key(String),
    /// An item of a set-list, by its value as JSON (`v:"x"`).
    Value(String),
}

/// A path from the object root to a field.
pub type Path = Vec<PathElement>;

/// Metadata fields that are never owned (the API server strips them from field sets).
const UNOWNED_METADATA: [&str; 11] = [
    "name",
    "namespace",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// A set of owned field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    /// An empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Adds a path.
    pub fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }

    /// Whether `path` itself is a member.
    pub fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    /// Whether some member starts with `prefix` (and is longer than it).
    pub fn has_descendant(&self, prefix: &Path) -> bool {
        self.0
            .range(prefix.clone()..)
            .take_while(|p| p.starts_with(prefix))
            .any(|p| p.len() > prefix.len())
    }

    /// Members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Path> {
        self.0.iter()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of members.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Members of `self` or `other`.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    /// Members of `self` not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// Members of both.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Renders the set as `fieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for el in path {
                let key = element_key(el);
                node = node
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("fieldsV1 nodes are objects");
            }
        }
        // A member with children is marked with ".".
        for path in &self.0 {
            if self.has_descendant(path) {
                let mut node = &mut root;
                for el in path {
                    node = node
                        .get_mut(&element_key(el))
                        .and_then(Value::as_object_mut)
                        .expect("node exists");
                }
                node.insert(".".into(), Value::Object(Map::new()));
            }
        }
        Value::Object(root)
    }

    /// Parses `fieldsV1` JSON.
    #[cfg(test)]
    pub fn from_fields_v1(value: &Value) -> FieldSet {
        let mut set = FieldSet::new();
        fn walk(node: &Value, prefix: &mut Path, set: &mut FieldSet) {
            let Some(map) = node.as_object() else { return };
            if (map.is_empty() || map.contains_key(".")) && !prefix.is_empty() {
                set.insert(prefix.clone());
            }
            for (k, child) in map {
                let el = if let Some(f) = k.strip_prefix("f:") {
                    PathElement::Field(f.to_string())
                } else if let Some(key) = k.strip_prefix("k:") {
                    PathElement::Key(key.to_string())
                } else if let Some(v) = k.strip_prefix("v:") {
                    PathElement::Value(v.to_string())
                } else {
                    continue;
                };
                prefix.push(el);
                walk(child, prefix, set);
                prefix.pop();
            }
        }
        walk(value, &mut Vec::new(), &mut set);
        set
    }
}

impl FromIterator<Path> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Path>>(iter: I) -> Self {
        FieldSet(iter.into_iter().collect())
    }
}

fn element_key(el: &PathElement) -> String {
    match el {
        PathElement::Field(f) => format!("f:{f}"),
        PathElement::Key(k) => format!("k:{k}"),
        PathElement::Value(v) => format!("v:{v}"),
    }
}

/// Renders a path the way conflict messages show it: `.spec.overrides.components[name="x"].enabled`.
pub fn path_string(path: &Path) -> String {
    let mut out = String::new();
    for el in path {
        match el {
            PathElement::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            PathElement::Key(k) => {
                let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            PathElement::Value(v) => out.push_str(&format!("[={v}]")),
        }
    }
    out
}

/// The canonical key of a map-list item (`{"name":"x"}`), or `None` if a key is missing.
pub fn item_key(item: &Value, keys: &[String]) -> Option<String> {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut map = Map::new();
    for k in sorted {
        map.insert(k.clone(), item.get(k)?.clone());
    }
    Some(Value::Object(map).to_string())
}

/// Every owned field of `value`: leaves, atomic values, map-list items and set items.
pub fn fields_of(value: &Value, schema: Option<&Value>) -> FieldSet {
    let mut set = FieldSet::new();
    if let Value::Object(map) = value {
        for (k, child) in map {
            if k == "apiVersion" || k == "kind" {
                continue;
            }
            let sub = schema::child_at(schema, k, true);
            let mut prefix = vec![PathElement::Field(k.clone())];
            if k == "metadata" {
                if let Value::Object(meta) = child {
                    for (mk, mv) in meta {
                        if UNOWNED_METADATA.contains(&mk.as_str()) {
                            continue;
                        }
                        prefix.push(PathElement::Field(mk.clone()));
                        collect(mv, schema::child(sub, mk), &mut prefix, &mut set);
                        prefix.pop();
                    }
                }
                continue;
            }
            collect(child, sub, &mut prefix, &mut set);
        }
    }
    set
}

fn collect(value: &Value, schema: Option<&Value>, prefix: &mut Path, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() && !schema::map_is_atomic(schema) => {
            for (k, child) in map {
                prefix.push(PathElement::Field(k.clone()));
                collect(child, schema::child_at(schema, k, false), prefix, set);
                prefix.pop();
            }
        }
        // An empty map-list or set owns nothing (structured-merge-diff has no path for it).
        Value::Array(list) if list.is_empty() && schema::list_type(schema) != ListType::Atomic => {}
        Value::Array(list) if !list.is_empty() => match schema::list_type(schema) {
            ListType::Map(keys) if list.iter().all(|i| item_key(i, &keys).is_some()) => {
                let item_schema = schema::items(schema);
                for item in list {
                    let key = item_key(item, &keys).expect("checked above");
                    prefix.push(PathElement::Key(key));
                    set.insert(prefix.clone());
                    if let Value::Object(fields) = item {
                        for (k, child) in fields {
                            prefix.push(PathElement::Field(k.clone()));
                            collect(child, schema::child(item_schema, k), prefix, set);
                            prefix.pop();
                        }
                    }
                    prefix.pop();
                }
            }
            ListType::Set => {
                for item in list {
                    prefix.push(PathElement::Value(item.to_string()));
                    set.insert(prefix.clone());
                    prefix.pop();
                }
            }
            _ => set.insert(prefix.clone()),
        },
        _ => set.insert(prefix.clone()),
    }
}

fn key_matches(item: &Value, key: &str) -> bool {
    let Ok(Value::Object(want)) = serde_json::from_str::<Value>(key) else {
        return false;
    };
    want.iter().all(|(k, v)| item.get(k) == Some(v))
}

fn value_matches(item: &Value, v: &str) -> bool {
    serde_json::from_str::<Value>(v).is_ok_and(|want| &want == item)
}

/// The value at `path`, if present.
pub fn get_path<'a>(value: &'a Value, path: &Path) -> Option<&'a Value> {
    let mut cur = value;
    for el in path {
        cur = match el {
            PathElement::Field(f) => cur.as_object()?.get(f)?,
            PathElement::Key(k) => cur.as_array()?.iter().find(|i| key_matches(i, k))?,
            PathElement::Value(v) => cur.as_array()?.iter().find(|i| value_matches(i, v))?,
        };
    }
    Some(cur)
}

/// Removes the value at `path`; containers along the path that become empty are removed too.
/// Returns whether something was removed.
///
/// Like the engine: a map emptied by the removal goes too, up the chain; a list emptied by
/// it becomes null (dropped when stored), which leaves its parent map in place.
pub fn remove_path(value: &mut Value, path: &Path) -> bool {
    go(value, path) != Removal::None
}

#[derive(Debug, PartialEq, Eq)]
enum Removal {
    None,
    /// Removed; an emptied parent map goes too.
    Cascade,
    /// Removed; the parent map stays even if it is empty now.
    Stop,
}

fn go(cur: &mut Value, path: &[PathElement]) -> Removal {
    let Some((first, rest)) = path.split_first() else {
        return Removal::None;
    };
    let flag = |removed: bool| {
        if removed {
            Removal::Cascade
        } else {
            Removal::None
        }
    };
    if rest.is_empty() {
        return match (first, cur) {
            (PathElement::Field(f), Value::Object(m)) => flag(m.remove(f).is_some()),
            (PathElement::Key(k), Value::Array(a)) => {
                let before = a.len();
                a.retain(|i| !key_matches(i, k));
                flag(a.len() != before)
            }
            (PathElement::Value(v), Value::Array(a)) => {
                let before = a.len();
                a.retain(|i| !value_matches(i, v));
                flag(a.len() != before)
            }
            _ => Removal::None,
        };
    }
    match (first, cur) {
        (PathElement::Field(f), Value::Object(m)) => {
            let Some(child) = m.get_mut(f) else {
                return Removal::None;
            };
            let below = go(child, rest);
            if below == Removal::None {
                return below;
            }
            match child {
                Value::Array(a) if a.is_empty() => {
                    m.remove(f);
                    Removal::Stop
                }
                Value::Object(o) if o.is_empty() && below == Removal::Cascade => {
                    m.remove(f);
                    Removal::Cascade
                }
                _ => Removal::Stop,
            }
        }
        (PathElement::Key(k), Value::Array(a)) => match a.iter_mut().find(|i| key_matches(i, k)) {
            Some(child) => match go(child, rest) {
                Removal::None => Removal::None,
                _ => Removal::Stop,
            },
            None => Removal::None,
        },
        _ => Removal::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> PathElement {
        PathElement::Field(s.into())
    }

    fn components_schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "components": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "enabled": {"type": "boolean"}}}},
            "args": {"type": "array", "items": {"type": "string"}}}}}})
    }

    #[test]
    fn fields_of_keys_map_lists_and_keeps_atomic_lists_whole() {
        let obj = json!({"apiVersion": "a/v1", "kind": "K",
            "metadata": {"name": "n", "labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"components": [{"name": "c1", "enabled": true}], "args": ["1", "2"]}});
        let s = components_schema();
        let set = fields_of(&obj, Some(&s));
        let key = PathElement::Key(r#"{"name":"c1"}"#.into());
        let expected: FieldSet = [
            vec![f("metadata"), f("labels"), f("a")],
            vec![
                f("metadata"),
                f("finalizers"),
                PathElement::Value("\"x\"".into()),
            ],
            vec![f("spec"), f("components"), key.clone()],
            vec![f("spec"), f("components"), key.clone(), f("name")],
            vec![f("spec"), f("components"), key, f("enabled")],
            vec![f("spec"), f("args")],
        ]
        .into_iter()
        .collect();
        assert_eq!(set, expected);
    }

    #[test]
    fn fields_v1_round_trips_and_marks_owned_parents() {
        let obj = json!({"spec": {"components": [{"name": "c1", "enabled": true}]}});
        let set = fields_of(&obj, Some(&components_schema()));
        let v1 = set.to_fields_v1();
        assert_eq!(
            v1,
            json!({"f:spec": {"f:components": {"k:{\"name\":\"c1\"}": {
                ".": {}, "f:name": {}, "f:enabled": {}}}}})
        );
        assert_eq!(FieldSet::from_fields_v1(&v1), set);
    }

    #[test]
    fn get_and_remove_follow_keys_and_clean_up_empty_parents() {
        let mut obj = json!({"spec": {"components": [{"name": "c1", "enabled": true},
                                                     {"name": "c2"}]},
                             "metadata": {"name": "n", "labels": {"a": "1"}}});
        let key = PathElement::Key(r#"{"name":"c1"}"#.into());
        let enabled = vec![f("spec"), f("components"), key.clone(), f("enabled")];
        assert_eq!(get_path(&obj, &enabled), Some(&json!(true)));
        assert!(remove_path(
            &mut obj,
            &vec![f("spec"), f("components"), key]
        ));
        assert_eq!(obj["spec"]["components"], json!([{"name": "c2"}]));
        assert!(remove_path(
            &mut obj,
            &vec![f("metadata"), f("labels"), f("a")]
        ));
        assert_eq!(obj["metadata"], json!({"name": "n"}));
        assert!(!remove_path(&mut obj, &vec![f("nope")]));
    }

    #[test]
    fn path_string_is_readable() {
        let p = vec![
            f("spec"),
            PathElement::Key(r#"{"name":"c1"}"#.into()),
            f("enabled"),
        ];
        assert_eq!(path_string(&p), ".spec[name=\"c1\"].enabled");
    }
}
