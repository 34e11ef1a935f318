//! Update validation of built-in fields that cannot change after creation, with the real
//! server's causes. PersistentVolumeClaim: `spec` is immutable except
//! `resources.requests` (bound claims only, never below the provisioned capacity) and
//! `volumeAttributesClassName` (`ValidatePersistentVolumeClaimUpdate`).

use serde_json::Value;

use crate::apierror::Cause;
use crate::resources::ResourceInfo;

/// Causes for an update of `old` to `new` of kind `info` (empty: allowed).
pub fn check(info: &ResourceInfo, old: &Value, new: &Value) -> Vec<Cause> {
    if info.group.is_empty() && info.plural == "persistentvolumeclaims" {
        return pvc(old, new);
    }
    Vec::new()
}

fn storage(v: &Value, pointer: &str) -> Option<f64> {
    quantity(v.pointer(pointer)?.as_str()?)
}

/// A resource quantity (`10Gi`, `500M`, `1.5Ti`, `1e3`) in bytes.
pub fn quantity(q: &str) -> Option<f64> {
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * factor)
}

fn pvc(old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let bound = old.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    let mut old_spec = old.get("spec").cloned().unwrap_or(Value::Null);
    let mut new_spec = new.get("spec").cloned().unwrap_or(Value::Null);
    for spec in [&mut old_spec, &mut new_spec] {
        if let Some(m) = spec.as_object_mut() {
            m.remove("volumeAttributesClassName");
        }
    }
    if bound {
        if let Some(requests) = new_spec.pointer("/resources/requests").cloned() {
            if let Some(r) = old_spec.get_mut("resources").and_then(Value::as_object_mut) {
                r.insert("requests".into(), requests);
            }
        }
        let floor = storage(old, "/status/capacity/storage")
            .or_else(|| storage(old, "/spec/resources/requests/storage"));
        if let (Some(floor), Some(wanted)) =
            (floor, storage(new, "/spec/resources/requests/storage"))
        {
            if wanted < floor {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "Forbidden: field can not be less than status.capacity",
                    "spec.resources.requests.storage",
                ));
            }
        }
    }
    if old_spec != new_spec {
        causes.push(Cause::new(
            "FieldValueForbidden",
            format!(
                "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                diff(&old_spec, &new_spec, "")
            ),
            "spec",
        ));
    }
    causes
}

/// A short diff of two specs (the real server prints a Go struct diff here).
fn diff(old: &Value, new: &Value, path: &str) -> String {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .map(|k| {
                    diff(
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => format!("  {path}: - {old} + {new}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(size: &str, class: &str, phase: &str) -> Value {
        json!({"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                        "resources": {"requests": {"storage": size}}},
               "status": {"phase": phase, "capacity": {"storage": "10Gi"}}})
    }

    fn info() -> ResourceInfo {
        crate::resources::Registry::with_builtins()
            .by_key(&crate::resources::ResKey {
                group: String::new(),
                plural: "persistentvolumeclaims".into(),
            })
            .cloned()
            .unwrap()
    }

    #[test]
    fn only_bound_claims_grow_and_nothing_else_changes() {
        let old = claim("10Gi", "fast", "Bound");
        assert!(check(&info(), &old, &claim("20Gi", "fast", "Bound")).is_empty());
        let c = check(&info(), &old, &claim("10Gi", "slow", "Bound"));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "spec");
        assert!(c[0].message.starts_with(
            "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"
        ), "{}", c[0].message);
        assert!(
            c[0].message.contains(".storageClassName"),
            "{}",
            c[0].message
        );
        let c = check(&info(), &old, &claim("5Gi", "fast", "Bound"));
        assert_eq!(c[0].field, "spec.resources.requests.storage");
        let pending = claim("10Gi", "fast", "Pending");
        assert_eq!(
            check(&info(), &pending, &claim("20Gi", "fast", "Pending")).len(),
            1
        );
        assert_eq!(quantity("1Gi"), Some(1073741824.0));
    }
}
