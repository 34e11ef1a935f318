//! The typed conversion structured-merge-diff performs on an applied configuration before
//! merging it. kube-apiserver answers 500 when it fails: a field the schema does not
//! declare, a value of the wrong type, a map-list item without its key (and no default for
//! it), or two items with the same key. Missing key fields with a schema default (e.g.
//! `ContainerPort.protocol`) are filled in, as the engine does.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::fieldset::{self, Path, PathElement};
use crate::schema::{self, ListType};

/// Checks `config` against `schema`. With `declared`, the schema is complete, so fields it
/// does not declare are errors (CRDs, kinds with a full schema); otherwise only the list
/// structure is checked (built-ins known by their markers alone). Returns the engine's
/// message, e.g. `.spec.foo: field not declared in schema`.
/// On success, returns the key fields it filled in from defaults: the engine does not count
/// them as the applier's.
pub fn check_apply(
    config: &mut Value,
    schema: Option<&Value>,
    declared: bool,
) -> Result<Vec<Path>, String> {
    let mut w = Walker {
        declared,
        at: Path::new(),
        defaulted: Vec::new(),
    };
    w.walk(config, schema, &mut String::new(), true)?;
    Ok(w.defaulted)
}

struct Walker {
    declared: bool,
    /// The current position as a field path (map-list items by key).
    at: Path,
    defaulted: Vec<Path>,
}

fn type_error(path: &str, expected: &str, v: &Value) -> String {
    format!("{path}: expected {expected}, got {v}")
}

impl Walker {
    fn walk(
        &mut self,
        v: &mut Value,
        s: Option<&Value>,
        path: &mut String,
        root: bool,
    ) -> Result<(), String> {
        let declared = self.declared;
        let Some(s) = s else { return Ok(()) };
        if v.is_null() {
            return Ok(());
        }
        let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
        if flag("x-kubernetes-int-or-string") {
            return match v {
                Value::String(_) | Value::Number(_) => Ok(()),
                other => Err(type_error(path, "string or number", other)),
            };
        }
        if declared {
            let ok = match s.get("type").and_then(Value::as_str) {
                Some("object") => v.is_object(),
                Some("array") => v.is_array(),
                Some("string") => v.is_string(),
                Some("boolean") => v.is_boolean(),
                Some("integer") | Some("number") => v.is_number(),
                _ => true,
            };
            if !ok {
                let expected = match s.get("type").and_then(Value::as_str) {
                    Some("object") => "map",
                    Some("array") => "list",
                    Some("integer") | Some("number") => "numeric (int or float)",
                    Some(t) => t,
                    None => "value",
                };
                return Err(type_error(path, expected, v));
            }
        }
        let embedded = root || flag("x-kubernetes-embedded-resource");
        match v {
            Value::Object(map) => {
                let preserve = flag("x-kubernetes-preserve-unknown-fields")
                    || s.get("additionalProperties") == Some(&Value::Bool(true));
                for (k, child) in map.iter_mut() {
                    if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    self.at.push(PathElement::Field(k.clone()));
                    match schema::child(Some(s), k) {
                        Some(sub) => self.walk(child, Some(sub), path, false)?,
                        None if declared && !preserve => {
                            return Err(format!("{path}: field not declared in schema"));
                        }
                        None => {}
                    }
                    self.at.pop();
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Array(items) => {
                let item_schema = schema::items(Some(s));
                match schema::list_type(Some(s)) {
                    ListType::Map(keys) => {
                        let mut seen = BTreeSet::new();
                        for (i, item) in items.iter_mut().enumerate() {
                            let mut filled = Vec::new();
                            if let Value::Object(obj) = item {
                                for k in &keys {
                                    if obj.contains_key(k) {
                                        continue;
                                    }
                                    let default = item_schema
                                        .and_then(|is| schema::child(Some(is), k))
                                        .and_then(|ks| ks.get("default"));
                                    match default {
                                        Some(d) => {
                                            obj.insert(k.clone(), d.clone());
                                            filled.push(k.clone());
                                        }
                                        None => {
                                            return Err(format!(
                                            "{path}: element {i}: associative list with keys has an element that omits key field \"{k}\" (and doesn't have default value)"
                                        ));
                                        }
                                    }
                                }
                            }
                            let key = fieldset::item_key(item, &keys).unwrap_or_default();
                            if !seen.insert(key.clone()) {
                                let label = fieldset::path_string(&vec![PathElement::Key(key)]);
                                return Err(format!("{path}: duplicate entries for key {label}"));
                            }
                            let len = path.len();
                            path.push_str(&fieldset::path_string(&vec![PathElement::Key(
                                key.clone(),
                            )]));
                            self.at.push(PathElement::Key(key));
                            for k in filled {
                                let mut p = self.at.clone();
                                p.push(PathElement::Field(k));
                                self.defaulted.push(p);
                            }
                            self.walk(item, item_schema, path, false)?;
                            self.at.pop();
                            path.truncate(len);
                        }
                    }
                    ListType::Set => {
                        let mut seen = BTreeSet::new();
                        for item in items.iter() {
                            if !seen.insert(item.to_string()) {
                                return Err(format!("{path}: duplicate entries for value {item}"));
                            }
                        }
                    }
                    ListType::Atomic => {
                        for (i, item) in items.iter_mut().enumerate() {
                            let len = path.len();
                            path.push_str(&format!("[{i}]"));
                            self.walk(item, item_schema, path, false)?;
                            path.truncate(len);
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "name": {"type": "string"},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port", "protocol"],
                "items": {"type": "object", "properties": {
                    "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
            "items": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}})
    }

    fn check(v: Value) -> Result<Value, String> {
        let mut v = v;
        check_apply(&mut v, Some(&schema()), true).map(|_| v)
    }

    #[test]
    fn undeclared_fields_and_wrong_types_are_rejected() {
        let e = check(json!({"spec": {"nope": 1}})).unwrap_err();
        assert_eq!(e, ".spec.nope: field not declared in schema");
        let e = check(json!({"spec": {"name": 5}})).unwrap_err();
        assert_eq!(e, ".spec.name: expected string, got 5");
        assert!(
            check(json!({"apiVersion": "x", "kind": "K", "metadata": {"odd": 1}, "spec": {}}))
                .is_ok()
        );
    }

    #[test]
    fn map_list_keys_are_required_unique_and_defaulted() {
        let e = check(json!({"spec": {"items": [{"name": "a"}, {"name": "a"}]}})).unwrap_err();
        assert!(e.contains("duplicate entries for key [name=\"a\"]"), "{e}");
        let e = check(json!({"spec": {"items": [{}]}})).unwrap_err();
        assert!(e.contains("omits key field \"name\""), "{e}");
        let mut v = json!({"spec": {"ports": [{"port": 80}]}});
        let defaulted = check_apply(&mut v, Some(&schema()), true).unwrap();
        assert_eq!(v["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(
            fieldset::path_string(&defaulted[0]),
            ".spec.ports[port=80,protocol=\"TCP\"].protocol"
        );
    }
}
