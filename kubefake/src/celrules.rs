//! CEL validation rules of custom resources (`x-kubernetes-validations`), evaluated with
//! the `cel` crate the way kube-apiserver does: `self` is the value at the rule's schema
//! node, `oldSelf` the correlated old value on updates (object fields by name, list-map
//! items by key); transition rules (those using `oldSelf`) only run when an old value
//! exists, unless `optionalOldSelf` is set. A rule that yields false is a 422 cause with
//! the rule's `reason`, `fieldPath` and `message` (`Invalid value: "string": failed rule:
//! self == oldSelf` without a message).
//!
//! Rules the crate cannot parse (the optional-field syntax `.?`) or evaluate (Kubernetes'
//! own CEL libraries: `isURL`, `cidr`, `format`, quantities, …) are never taken as passing:
//! each is returned in [`Outcome::unevaluated`], which the server sends as a `Warning` and
//! keeps for [`crate::FakeApiServer::unevaluated_rules`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cel::{Context, Program};
use serde_json::Value;

use crate::apierror::Cause;
use crate::fieldset;
use crate::schema::{self, ListType};

/// What evaluating the rules of one object found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Rules that yielded false (or failed like on the real server: no such key).
    pub causes: Vec<Cause>,
    /// Rules kubefake could not evaluate: `<path>: <rule>: <why>`.
    pub unevaluated: Vec<String>,
}

/// Evaluates every rule of `schema` on `new` (and `old`, for transition rules).
pub fn validate(new: &Value, old: Option<&Value>, schema: &Value) -> Outcome {
    let mut out = Outcome::default();
    walk(new, old, schema, "", true, &mut out);
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn walk(v: &Value, old: Option<&Value>, s: &Value, path: &str, root: bool, out: &mut Outcome) {
    if v.is_null() {
        return;
    }
    if let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) {
        for rule in rules {
            check_rule(rule, v, old, s, path, out);
        }
    }
    let embedded = root
        || s.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(sub) = schema::child(Some(s), k) {
                    let old_child = old.and_then(|o| o.get(k));
                    walk(child, old_child, sub, &join(path, k), false, out);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema::items(Some(s)) else {
                return;
            };
            let keys = match schema::list_type(Some(s)) {
                ListType::Map(keys) => Some(keys),
                _ => None,
            };
            for (i, item) in items.iter().enumerate() {
                // Only list-map items correlate with an old item (by key), as upstream.
                let old_item = keys.as_ref().and_then(|keys| {
                    let key = fieldset::item_key(item, keys)?;
                    old.and_then(Value::as_array)?
                        .iter()
                        .find(|o| fieldset::item_key(o, keys).as_ref() == Some(&key))
                });
                walk(
                    item,
                    old_item,
                    item_schema,
                    &format!("{path}[{i}]"),
                    false,
                    out,
                );
            }
        }
        _ => {}
    }
}

/// The type name the server shows as the value of a failed rule.
fn type_shown(v: &Value, s: &Value) -> &'static str {
    match s.get("type").and_then(Value::as_str) {
        Some("string") => "string",
        Some("integer") => "integer",
        Some("number") => "number",
        Some("boolean") => "boolean",
        Some("array") => "array",
        Some("object") => "object",
        _ => match v {
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            _ => "value",
        },
    }
}

fn check_rule(
    rule: &Value,
    v: &Value,
    old: Option<&Value>,
    s: &Value,
    path: &str,
    out: &mut Outcome,
) {
    let Some(text) = rule.get("rule").and_then(Value::as_str) else {
        return;
    };
    let at = if path.is_empty() { "<root>" } else { path };
    let program = match compiled(text) {
        Ok(p) => p,
        Err(why) => {
            out.unevaluated
                .push(format!("{at}: {text}: cannot parse: {why}"));
            return;
        }
    };
    let transition = program.references().has_variable("oldSelf");
    let optional_old = rule
        .get("optionalOldSelf")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if transition && old.is_none() && !optional_old {
        return;
    }
    let mut ctx = Context::default();
    ctx.add_variable_from_value("self", to_cel(v));
    if transition {
        ctx.add_variable_from_value("oldSelf", old.map(to_cel).unwrap_or(cel::Value::Null));
    }
    let field = match rule.get("fieldPath").and_then(Value::as_str) {
        Some(fp) => format!(
            "{path}{}",
            if path.is_empty() {
                fp.trim_start_matches('.')
            } else {
                fp
            }
        ),
        None => path.to_string(),
    };
    let reason = rule
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("FieldValueInvalid");
    match program.execute(&ctx) {
        Ok(cel::Value::Bool(true)) => {}
        Ok(cel::Value::Bool(false)) => {
            let detail = match rule.get("message").and_then(Value::as_str) {
                Some(m) => m.to_string(),
                None => match rule.get("messageExpression").and_then(Value::as_str) {
                    Some(_) => format!("failed rule: {text}"),
                    None => format!("failed rule: {text}"),
                },
            };
            out.causes
                .push(Cause::new(reason, message(reason, v, s, &detail), field));
        }
        Ok(other) => out
            .unevaluated
            .push(format!("{at}: {text}: did not yield a bool but {other:?}")),
        Err(e) => {
            let e = e.to_string();
            if e.contains("No such key") || e.contains("no such key") {
                // The real server fails the rule too.
                let detail = format!("{e} evaluating rule: {text}");
                out.causes.push(Cause::new(
                    "FieldValueInvalid",
                    message("FieldValueInvalid", v, s, &detail),
                    path,
                ));
            } else {
                out.unevaluated
                    .push(format!("{at}: {text}: cannot evaluate: {e}"));
            }
        }
    }
}

fn message(reason: &str, v: &Value, s: &Value, detail: &str) -> String {
    match reason {
        "FieldValueForbidden" => format!("Forbidden: {detail}"),
        "FieldValueRequired" => format!("Required value: {detail}"),
        "FieldValueDuplicate" => format!("Duplicate value: {detail}"),
        _ => format!("Invalid value: \"{}\": {detail}", type_shown(v, s)),
    }
}

type Compiled = Result<Arc<Program>, String>;

/// Parsed rules, cached: HostedCluster has hundreds and every write evaluates them.
fn compiled(rule: &str) -> Compiled {
    static CACHE: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(rule) {
        return c.clone();
    }
    let c = Program::compile(rule)
        .map(Arc::new)
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(rule.to_string(), c.clone());
    c
}

/// JSON to CEL: integers are CEL ints (as Kubernetes' int64), objects are maps.
fn to_cel(v: &Value) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(a) => cel::Value::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: HashMap<String, cel::Value> =
                m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::Map(map.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.mode == 'A' ? has(self.a) : !has(self.a)",
             "message": "a is set exactly when mode is A"}],
        "properties": {
            "mode": {"type": "string"},
            "a": {"type": "string"},
            "id": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "id is immutable"}]},
            "url": {"type": "string", "x-kubernetes-validations": [
                {"rule": "isURL(self)", "message": "must be a URL"}]},
            "name": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self.matches('^[a-z]+$')", "reason": "FieldValueForbidden",
                 "fieldPath": ""}]}
        }}}})
    }

    #[test]
    fn rules_transition_rules_and_unevaluated_ones() {
        let obj = json!({"spec": {"mode": "A", "a": "x", "id": "1", "name": "ok"}});
        let o = validate(&obj, None, &schema());
        assert!(o.causes.is_empty() && o.unevaluated.is_empty(), "{o:?}");

        let bad = json!({"spec": {"mode": "B", "a": "x", "id": "2", "name": "NO"}});
        let o = validate(&bad, Some(&obj), &schema());
        let got: Vec<(&str, &str, &str)> = o
            .causes
            .iter()
            .map(|c| (c.reason.as_str(), c.field.as_str(), c.message.as_str()))
            .collect();
        assert!(
            got.contains(&(
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": a is set exactly when mode is A"
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "FieldValueInvalid",
                "spec.id",
                "Invalid value: \"string\": id is immutable"
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "FieldValueForbidden",
                "spec.name",
                "Forbidden: failed rule: self.matches('^[a-z]+$')"
            )),
            "{got:?}"
        );

        let with_url = json!({"spec": {"mode": "B", "url": "https://x"}});
        let o = validate(&with_url, None, &schema());
        assert!(o.causes.is_empty(), "{o:?}");
        assert_eq!(o.unevaluated.len(), 1, "{o:?}");
        assert!(
            o.unevaluated[0].starts_with("spec.url: isURL(self): cannot evaluate"),
            "{o:?}"
        );
    }
}
