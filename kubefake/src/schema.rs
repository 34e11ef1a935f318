//! Structural-schema helpers: navigation, list types, pruning, defaulting, validation.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::apierror::Cause;

/// How a list merges under server-side apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// The whole list is one value (the default).
    Atomic,
    /// Items are keyed by these fields (`x-kubernetes-list-type: map`).
    Map(Vec<String>),
    /// Items are scalars owned one by one (`x-kubernetes-list-type: set`).
    Set,
}

/// Schema of `metadata`, the same for every kind: finalizers are a set, owner references
/// are keyed by uid, labels and annotations are granular maps.
pub fn metadata_structure() -> &'static Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(|| {
        json!({"type": "object", "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "x-kubernetes-list-type": "set",
                           "items": {"type": "string"}},
            "ownerReferences": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["uid"],
                                "items": {"type": "object"}},
        }})
    })
}

/// The schema of field `name` of an object described by `schema`.
pub fn child<'a>(schema: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    let s = schema?;
    if let Some(p) = s.get("properties").and_then(|p| p.get(name)) {
        return Some(p);
    }
    s.get("additionalProperties").filter(|a| a.is_object())
}

/// Like [`child`], but `metadata` at the root of an object (or of an embedded resource)
/// always gets [`metadata_structure`].
pub fn child_at<'a>(schema: Option<&'a Value>, name: &str, root: bool) -> Option<&'a Value> {
    if name == "metadata" && (root || is_embedded(schema)) {
        return Some(metadata_structure());
    }
    child(schema, name)
}

fn is_embedded(schema: Option<&Value>) -> bool {
    schema
        .and_then(|s| s.get("x-kubernetes-embedded-resource"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The schema of the items of a list described by `schema`.
pub fn items(schema: Option<&Value>) -> Option<&Value> {
    schema?.get("items").filter(|i| i.is_object())
}

/// The list type declared by `schema`.
pub fn list_type(schema: Option<&Value>) -> ListType {
    let Some(s) = schema else {
        return ListType::Atomic;
    };
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let keys = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| {
                    k.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            ListType::Map(keys)
        }
        Some("set") => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// Whether a map is replaced as a whole (`x-kubernetes-map-type: atomic`).
pub fn map_is_atomic(schema: Option<&Value>) -> bool {
    schema
        .and_then(|s| s.get("x-kubernetes-map-type"))
        .and_then(Value::as_str)
        == Some("atomic")
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn nullable(schema: &Value) -> bool {
    schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Removes fields the schema does not declare and, with `defaults`, fills in `default`s.
/// Returns the paths of the removed fields (e.g. `spec.foo`).
pub fn prune_and_default(value: &mut Value, schema: &Value, defaults: bool) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut walker = Pruner {
        defaults,
        unknown: &mut unknown,
    };
    walker.walk(value, schema, "", true);
    unknown
}

struct Pruner<'a> {
    defaults: bool,
    unknown: &'a mut Vec<String>,
}

impl Pruner<'_> {
    fn walk(&mut self, value: &mut Value, schema: &Value, path: &str, root: bool) {
        let keep_meta = root || is_embedded(Some(schema));
        match value {
            Value::Object(map) => {
                let preserve = preserves_unknown(schema);
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let sub = props
                        .and_then(|p| p.get(&key))
                        .or(additional.filter(|a| a.is_object()));
                    match sub {
                        // A null in a field that is not nullable is dropped (and defaulted
                        // below), as kube-apiserver does for custom resources.
                        Some(sub) if map[&key].is_null() && !nullable(sub) => {
                            map.remove(&key);
                        }
                        Some(sub) => {
                            if let Some(child) = map.get_mut(&key) {
                                self.walk(child, sub, &join(path, &key), false);
                            }
                        }
                        None if preserve || additional == Some(&Value::Bool(true)) => {}
                        None => {
                            map.remove(&key);
                            self.unknown.push(join(path, &key));
                        }
                    }
                }
                if let Some(props) = props.filter(|_| self.defaults) {
                    for (key, sub) in props {
                        if !map.contains_key(key) {
                            if let Some(default) = sub.get("default") {
                                let mut default = default.clone();
                                self.walk(&mut default, sub, &join(path, key), false);
                                map.insert(key.clone(), default);
                            }
                        }
                    }
                }
            }
            Value::Array(list) => {
                if let Some(item_schema) = items(Some(schema)) {
                    for (i, item) in list.iter_mut().enumerate() {
                        self.walk(item, item_schema, &format!("{path}[{i}]"), false);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Type, enum and required checks. Returns one cause per violation.
pub fn validate(value: &Value, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    walk_validate(value, schema, "", true, &mut causes);
    causes
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(v: &Value, schema: &Value) -> bool {
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if int_or_string {
        return v.is_string() || v.is_i64() || v.is_u64();
    }
    match schema.get("type").and_then(Value::as_str) {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("boolean") => v.is_boolean(),
        Some("number") => v.is_number(),
        Some("integer") => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        Some(_) => true,
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) => "object".to_string(),
        Value::Array(_) => "array".to_string(),
        other => other.to_string(),
    }
}

fn walk_validate(value: &Value, schema: &Value, path: &str, root: bool, causes: &mut Vec<Cause>) {
    if value.is_null() {
        return;
    }
    if !type_matches(value, schema) {
        let expected = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string");
        causes.push(Cause::new(
            "FieldValueTypeInvalid",
            format!(
                "Invalid value: \"{}\": {path} in body must be of type {expected}: \"{}\"",
                type_name(value),
                type_name(value)
            ),
            path,
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!(
                    "Unsupported value: {}: supported values: {}",
                    Value::String(short(value)),
                    list.join(", ")
                ),
                path,
            ));
        }
    }
    let keep_meta = root || is_embedded(Some(schema));
    match value {
        Value::Object(map) => {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    let exempt = keep_meta && r == "metadata";
                    if !map.contains_key(r) && !exempt {
                        causes.push(Cause::new(
                            "FieldValueRequired",
                            "Required value",
                            join(path, r),
                        ));
                    }
                }
            }
            for (key, child_value) in map {
                if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(sub) = child(Some(schema), key) {
                    walk_validate(child_value, sub, &join(path, key), false, causes);
                }
            }
        }
        Value::Array(list) => {
            if let Some(item_schema) = items(Some(schema)) {
                for (i, item) in list.iter().enumerate() {
                    walk_validate(item, item_schema, &format!("{path}[{i}]"), false, causes);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["mode"], "properties": {
                "mode": {"type": "string", "enum": ["A", "B"]},
                "replicas": {"type": "integer", "default": 1},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "items": {"type": "array", "items": {"type": "object",
                          "properties": {"name": {"type": "string"}}}},
            }},
        }})
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_preserved_ones_and_metadata() {
        let mut v = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n", "odd": 1},
            "spec": {"mode": "A", "bogus": 1, "free": {"any": 2},
                     "items": [{"name": "a", "extra": true}]}});
        let mut bare = v.clone();
        assert!(prune_and_default(&mut bare, &schema(), false).len() == 2);
        assert!(
            bare["spec"].get("replicas").is_none(),
            "no defaults without the flag"
        );
        let unknown = prune_and_default(&mut v, &schema(), true);
        assert_eq!(unknown, vec!["spec.bogus", "spec.items[0].extra"]);
        assert_eq!(v["spec"]["free"]["any"], 2);
        assert_eq!(v["metadata"]["odd"], 1);
        assert_eq!(v["spec"]["replicas"], 1, "default applied");
    }

    #[test]
    fn validation_reports_type_enum_and_required() {
        let v = json!({"spec": {"mode": "C", "replicas": "two"}});
        let causes = validate(&v, &schema());
        let reasons: Vec<_> = causes
            .iter()
            .map(|c| (c.reason.as_str(), c.field.as_str()))
            .collect();
        assert!(
            reasons.contains(&("FieldValueNotSupported", "spec.mode")),
            "{causes:?}"
        );
        assert!(
            reasons.contains(&("FieldValueTypeInvalid", "spec.replicas")),
            "{causes:?}"
        );
        let missing = validate(&json!({"spec": {}}), &schema());
        assert_eq!(missing[0].reason, "FieldValueRequired");
        assert_eq!(missing[0].field, "spec.mode");
        assert!(validate(&json!({"spec": {"mode": "A", "replicas": 3}}), &schema()).is_empty());
    }

    #[test]
    fn list_types_are_read_from_extensions() {
        let s = json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]});
        assert_eq!(list_type(Some(&s)), ListType::Map(vec!["name".into()]));
        assert_eq!(list_type(None), ListType::Atomic);
        let meta = child_at(None, "metadata", true);
        assert_eq!(list_type(child(meta, "finalizers")), ListType::Set);
    }
}
