//! Compares one scenario's results from the oracle and from kubefake.

use serde_json::Value;

fn status_class(code: u64) -> &'static str {
    match code {
        200 | 201 => "ok",
        409 => "conflict",
        400 => "bad request",
        422 => "invalid",
        500 => "rejected by schema (500)",
        _ => "other",
    }
}

/// A description of every difference, or `None` when the results agree.
pub fn scenario(want: &Value, got: &Value) -> Option<String> {
    let mut diffs = Vec::new();
    let ws = want["steps"].as_array().unwrap();
    let gs = got["steps"].as_array().unwrap();
    for (i, (w, g)) in ws.iter().zip(gs).enumerate() {
        let wc = w["status"].as_u64().unwrap_or(0);
        let gc = g["status"].as_u64().unwrap_or(0);
        if wc != gc {
            diffs.push(format!(
                "step {i}: status: real {wc} ({}) {}, kubefake {gc} ({}) {}",
                status_class(wc),
                w["message"].as_str().unwrap_or(""),
                status_class(gc),
                g["message"].as_str().unwrap_or("")
            ));
        } else if wc == 409 && w["message"] != g["message"] {
            diffs.push(format!(
                "step {i}: conflict message: real {:?}, kubefake {:?}",
                w["message"].as_str().unwrap_or(""),
                g["message"].as_str().unwrap_or("")
            ));
        }
        let wo = w.get("object").cloned().unwrap_or(Value::Null);
        let go = g.get("object").cloned().unwrap_or(Value::Null);
        if wo != go {
            diffs.push(format!(
                "step {i}: object:\n  real     {wo}\n  kubefake {go}"
            ));
        }
        if w["managedFields"] != g["managedFields"] {
            diffs.push(format!(
                "step {i}: managedFields:\n  real     {}\n  kubefake {}",
                w["managedFields"], g["managedFields"]
            ));
        }
    }
    (!diffs.is_empty()).then(|| diffs.join("\n"))
}

/// `value` with every list sorted (by each item's JSON text), to compare results that may
/// differ in list order only.
pub fn without_order(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(without_order).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), without_order(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
