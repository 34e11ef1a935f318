//! OpenAPI value validation of custom resources, as kube-apiserver's apiextensions
//! validator (kube-openapi) does it after type, enum and required (those are in
//! `schema::validate`): `pattern`, `minLength`/`maxLength`, `minimum`/`maximum` (and their
//! exclusive forms), `multipleOf`, `minItems`/`maxItems`, `minProperties`/`maxProperties`,
//! string `format`s, `anyOf`/`oneOf`/`allOf`/`not`, and the uniqueness of list-set items and
//! list-map keys. Causes carry the real server's reasons, field paths and messages
//! (`spec.x: Invalid value: "a": spec.x in body should match '^b$'`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use crate::apierror::Cause;
use crate::schema::{self, ListType};

/// Value validation of `value` against the CRD schema `schema`. One cause per violation.
pub fn validate(value: &Value, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    walk(value, schema, "", true, &mut causes);
    causes
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// How the server prints a value in `Invalid value: <v>`: strings quoted, the rest as JSON.
fn shown(v: &Value) -> String {
    v.to_string()
}

fn invalid(path: &str, v: &Value, detail: String) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        format!("Invalid value: {}: {detail}", shown(v)),
        path,
    )
}

fn walk(value: &Value, schema: &Value, path: &str, root: bool, causes: &mut Vec<Cause>) {
    if value.is_null() {
        return;
    }
    causes.extend(own_checks(value, schema, path));
    let embedded = root
        || schema
            .get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(sub) = schema::child(Some(schema), key) {
                    walk(child, sub, &join(path, key), false, causes);
                }
            }
        }
        Value::Array(list) => {
            causes.extend(uniqueness(list, schema, path));
            if let Some(item_schema) = schema::items(Some(schema)) {
                for (i, item) in list.iter().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), false, causes);
                }
            }
        }
        _ => {}
    }
}

/// The checks of one schema node on one value (no recursion into children), including the
/// junctors, whose branches are checked the same way.
fn own_checks(v: &Value, s: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    let p = if path.is_empty() { "body" } else { path };
    match v {
        Value::String(text) => string_checks(v, text, s, path, p, &mut out),
        Value::Number(_) => number_checks(v, s, path, p, &mut out),
        Value::Array(list) => {
            if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
                if (list.len() as u64) < min {
                    out.push(invalid(
                        path,
                        v,
                        format!("{p} in body should have at least {min} items"),
                    ));
                }
            }
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
                if list.len() as u64 > max {
                    out.push(Cause::new(
                        "FieldValueTooMany",
                        format!("Too many: {}: must have at most {max} items", list.len()),
                        path,
                    ));
                }
            }
        }
        Value::Object(map) => {
            if let Some(min) = s.get("minProperties").and_then(Value::as_u64) {
                if (map.len() as u64) < min {
                    out.push(invalid(
                        path,
                        v,
                        format!("{p} in body should have at least {min} properties"),
                    ));
                }
            }
            if let Some(max) = s.get("maxProperties").and_then(Value::as_u64) {
                if map.len() as u64 > max {
                    out.push(Cause::new(
                        "FieldValueTooMany",
                        format!("Too many: {}: must have at most {max} items", map.len()),
                        path,
                    ));
                }
            }
        }
        _ => {}
    }
    junctors(v, s, path, p, &mut out);
    out
}

fn branch_ok(v: &Value, branch: &Value, path: &str) -> bool {
    // A branch of a structural schema holds value validations only; its `type` (the
    // int-or-string idiom `anyOf: [{type: integer}, {type: string}]`) is checked too.
    let typed = match branch.get("type").and_then(Value::as_str) {
        None => true,
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("string") => v.is_string(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        Some("object") => v.is_object(),
        Some(_) => true,
    };
    typed && own_checks(v, branch, path).is_empty() && nested_ok(v, branch, path)
}

/// Branches may constrain properties or items too (`anyOf: [{required: [a]}, …]`).
fn nested_ok(v: &Value, branch: &Value, path: &str) -> bool {
    if let (Some(req), Value::Object(map)) = (branch.get("required").and_then(Value::as_array), v) {
        if req
            .iter()
            .filter_map(Value::as_str)
            .any(|r| !map.contains_key(r))
        {
            return false;
        }
    }
    if let (Some(props), Value::Object(map)) =
        (branch.get("properties").and_then(Value::as_object), v)
    {
        for (k, sub) in props {
            if let Some(child) = map.get(k) {
                if !branch_ok(child, sub, &join(path, k)) {
                    return false;
                }
            }
        }
    }
    true
}

fn junctors(v: &Value, s: &Value, path: &str, p: &str, out: &mut Vec<Cause>) {
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for b in all {
            out.extend(own_checks(v, b, path));
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        if !any.iter().any(|b| branch_ok(v, b, path)) {
            out.push(invalid(
                path,
                v,
                format!("{p} in body must validate at least one schema (anyOf)"),
            ));
        }
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        if one.iter().filter(|b| branch_ok(v, b, path)).count() != 1 {
            out.push(invalid(
                path,
                v,
                format!("{p} in body must validate one and only one schema (oneOf)"),
            ));
        }
    }
    if let Some(not) = s.get("not") {
        if branch_ok(v, not, path) {
            out.push(invalid(
                path,
                v,
                format!("{p} in body must not validate the schema (not)"),
            ));
        }
    }
}

fn string_checks(v: &Value, text: &str, s: &Value, path: &str, p: &str, out: &mut Vec<Cause>) {
    let chars = text.chars().count() as u64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
        if chars > max {
            let unit = if max == 1 { "byte" } else { "bytes" };
            out.push(Cause::new(
                "FieldValueTooLong",
                format!("Too long: may not be more than {max} {unit}"),
                path,
            ));
        }
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
        if chars < min {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be at least {min} chars long"),
            ));
        }
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        match compiled(pattern) {
            Some(re) if !re.is_match(text) => out.push(invalid(
                path,
                v,
                format!("{p} in body should match '{pattern}'"),
            )),
            Some(_) => {}
            // The real server refuses such a CRD; kubefake loads it, so say so here.
            None => out.push(Cause::new(
                "FieldValueInvalid",
                format!("kubefake cannot compile the schema's pattern '{pattern}'"),
                path,
            )),
        }
    }
    if let Some(format) = s.get("format").and_then(Value::as_str) {
        if let Some(false) = crate::formats::check(format, text) {
            out.push(invalid(
                path,
                v,
                format!("{p} in body must be of type {format}: {}", shown(v)),
            ));
        }
    }
}

fn number_checks(v: &Value, s: &Value, path: &str, p: &str, out: &mut Vec<Cause>) {
    let Some(n) = v.as_f64() else { return };
    let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
    if let Some(min) = s.get("minimum").filter(|m| m.is_number()) {
        let m = min.as_f64().unwrap_or(f64::MIN);
        if flag("exclusiveMinimum") && n <= m {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be greater than {min}"),
            ));
        } else if n < m {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be greater than or equal to {min}"),
            ));
        }
    }
    if let Some(max) = s.get("maximum").filter(|m| m.is_number()) {
        let m = max.as_f64().unwrap_or(f64::MAX);
        if flag("exclusiveMaximum") && n >= m {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be less than {max}"),
            ));
        } else if n > m {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be less than or equal to {max}"),
            ));
        }
    }
    if let Some(mult) = s.get("multipleOf").and_then(Value::as_f64) {
        if mult > 0.0 && (n / mult).fract() != 0.0 {
            out.push(invalid(
                path,
                v,
                format!("{p} in body should be a multiple of {}", s["multipleOf"]),
            ));
        }
    }
}

/// list-type set items and list-type map keys must be unique: `Duplicate value` at the
/// index of the second occurrence (`structurallisttype.ValidateListSetsAndMaps`).
fn uniqueness(list: &[Value], s: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    match schema::list_type(Some(s)) {
        ListType::Set => {
            for (i, item) in list.iter().enumerate() {
                if !seen.insert(item.to_string()) {
                    out.push(Cause::new(
                        "FieldValueDuplicate",
                        format!("Duplicate value: {}", shown(item)),
                        format!("{path}[{i}]"),
                    ));
                }
            }
        }
        ListType::Map(keys) => {
            for (i, item) in list.iter().enumerate() {
                let key: serde_json::Map<String, Value> = keys
                    .iter()
                    .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
                    .collect();
                if !seen.insert(Value::Object(key.clone()).to_string()) {
                    out.push(Cause::new(
                        "FieldValueDuplicate",
                        format!("Duplicate value: {}", Value::Object(key)),
                        format!("{path}[{i}]"),
                    ));
                }
            }
        }
        ListType::Atomic => {}
    }
    out
}

/// Whether the value at `field` (`spec.items[2].name`) is the same in `old` and `new`.
pub fn unchanged(old: &Value, new: &Value, field: &str) -> bool {
    fn at<'a>(mut v: &'a Value, field: &str) -> Option<&'a Value> {
        for part in field.split('.').filter(|p| !p.is_empty()) {
            let (name, rest) = part.split_once('[').unwrap_or((part, ""));
            if !name.is_empty() {
                v = v.get(name)?;
            }
            for idx in rest.split('[').filter(|i| !i.is_empty()) {
                v = v.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
            }
        }
        Some(v)
    }
    matches!((at(old, field), at(new, field)), (Some(a), Some(b)) if a == b)
}

/// Compiled patterns, cached: a schema has hundreds and every write checks them.
pub(crate) fn compiled(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(pattern).ok())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
            "count": {"type": "integer", "minimum": 1, "maximum": 10, "exclusiveMaximum": true},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "minItems": 1,
                     "maxItems": 2, "items": {"type": "string"}},
            "port": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                     "x-kubernetes-int-or-string": true},
            "when": {"type": "string", "format": "date-time"},
            "items": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
        }}}})
    }

    fn causes(spec: Value) -> Vec<(String, String, String)> {
        validate(&json!({"spec": spec}), &schema())
            .into_iter()
            .map(|c| (c.reason, c.field, c.message))
            .collect()
    }

    #[test]
    fn strings_numbers_and_lists_get_the_servers_messages() {
        assert!(causes(
            json!({"name": "abc", "count": 3, "tags": ["a"], "port": "http",
                              "when": "2024-01-02T03:04:05Z"})
        )
        .is_empty());
        let c = causes(json!({"name": "A"}));
        assert!(c.contains(&(
            "FieldValueInvalid".into(),
            "spec.name".into(),
            "Invalid value: \"A\": spec.name in body should match '^[a-z]+$'".into()
        )));
        assert!(c.contains(&(
            "FieldValueInvalid".into(),
            "spec.name".into(),
            "Invalid value: \"A\": spec.name in body should be at least 2 chars long".into()
        )));
        let c = causes(json!({"name": "abcdef"}));
        assert_eq!(
            c,
            vec![(
                "FieldValueTooLong".into(),
                "spec.name".into(),
                "Too long: may not be more than 5 bytes".into()
            )]
        );
        let c = causes(json!({"count": 10}));
        assert_eq!(
            c[0].2,
            "Invalid value: 10: spec.count in body should be less than 10"
        );
        let c = causes(json!({"count": 0}));
        assert_eq!(
            c[0].2,
            "Invalid value: 0: spec.count in body should be greater than or equal to 1"
        );
        let c = causes(json!({"tags": ["a", "b", "a"]}));
        assert!(c.contains(&(
            "FieldValueTooMany".into(),
            "spec.tags".into(),
            "Too many: 3: must have at most 2 items".into()
        )));
        assert!(c.contains(&(
            "FieldValueDuplicate".into(),
            "spec.tags[2]".into(),
            "Duplicate value: \"a\"".into()
        )));
        let c = causes(json!({"tags": []}));
        assert_eq!(
            c[0].2,
            "Invalid value: []: spec.tags in body should have at least 1 items"
        );
    }

    #[test]
    fn formats_junctors_and_map_keys() {
        let c = causes(json!({"when": "yesterday"}));
        assert_eq!(
            c[0].2,
            "Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\""
        );
        let c = causes(json!({"port": true}));
        assert_eq!(c[0].1, "spec.port");
        assert!(c[0].2.contains("must validate at least one schema (anyOf)"));
        let c = causes(json!({"items": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}));
        assert_eq!(
            c,
            vec![(
                "FieldValueDuplicate".into(),
                "spec.items[2]".into(),
                "Duplicate value: {\"name\":\"a\"}".into()
            )]
        );
    }
}
