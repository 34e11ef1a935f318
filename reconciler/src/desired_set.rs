//! A cluster's desired objects as a set: each object described by exactly one file, each
//! wave readable. Checked before anything is applied, so two files for one object never
//! become "the last one wins" and a typo in a wave never becomes wave 0.

use std::collections::BTreeMap;

use hubdr_core::labels::ANNOTATION_WAVE;
use hubdr_core::object::ObjectId;
use serde_json::Value;

/// Why a cluster's objects are not a valid desired set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error(
        "{first} and {second} both describe {object} (group {group}); an object must have \
         exactly one file: remove one of them or re-render with `hubdr render`"
    )]
    Duplicate {
        object: String,
        group: String,
        first: String,
        second: String,
    },

    #[error("{path}: {message}")]
    Wave { path: String, message: String },
}

/// The wave of an object: its `hubdr.io/wave` annotation, a whole number written as a string
/// (`"2"`); 0 when it has none. An annotation that is not one is an error, never wave 0.
pub fn wave_of(value: &Value) -> Result<i32, String> {
    let Some(wave) = value
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_WAVE))
    else {
        return Ok(0);
    };
    let fix = "write a whole number as a string, such as \"1\", or re-render with `hubdr render`";
    match wave {
        Value::String(text) => text.parse().map_err(|_| {
            format!("annotation {ANNOTATION_WAVE} is {text:?}, not a whole number; {fix}")
        }),
        other => Err(format!(
            "annotation {ANNOTATION_WAVE} is {other}, not a string; {fix}"
        )),
    }
}

/// Check `objects` (path, value) of one cluster: every wave readable, no object in two files.
/// Objects without a readable id are left to the planner, which reports them.
pub fn check<'a>(objects: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Result<(), SetError> {
    let mut seen: BTreeMap<(String, String, String, String), &str> = BTreeMap::new();
    for (path, value) in objects {
        wave_of(value).map_err(|message| SetError::Wave {
            path: path.to_string(),
            message,
        })?;
        let Ok(id) = ObjectId::of(value) else {
            continue;
        };
        let group = group_of(&id.api_version);
        let key = (
            group.to_string(),
            id.kind.clone(),
            id.namespace.clone().unwrap_or_default(),
            id.name.clone(),
        );
        if let Some(first) = seen.insert(key, path) {
            return Err(SetError::Duplicate {
                object: id.to_string(),
                group: if group.is_empty() {
                    "core".to_string()
                } else {
                    group.to_string()
                },
                first: first.to_string(),
                second: path.to_string(),
            });
        }
    }
    Ok(())
}

/// The API group of `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``): two versions of one
/// group name the same object.
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, ns: Option<&str>, name: &str, wave: Value) -> Value {
        let mut v = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = ns {
            v["metadata"]["namespace"] = json!(ns);
        }
        if !wave.is_null() {
            v["metadata"]["annotations"] = json!({ANNOTATION_WAVE: wave});
        }
        v
    }

    #[test]
    fn waves_are_whole_numbers_or_errors() {
        let wave = |w: Value| wave_of(&object("v1", "ConfigMap", Some("a"), "x", w));
        assert_eq!(wave(Value::Null), Ok(0));
        assert_eq!(wave(json!("3")), Ok(3));
        assert_eq!(wave(json!("-1")), Ok(-1));
        assert_eq!(
            wave(json!("first")),
            Err("annotation hubdr.io/wave is \"first\", not a whole number; write a whole number as a string, such as \"1\", or re-render with `hubdr render`".into())
        );
        assert!(wave(json!("99999999999")).is_err());
        assert!(wave(json!(2)).unwrap_err().contains("is 2, not a string"));
    }

    #[test]
    fn one_object_in_two_files_is_refused_naming_both() {
        let a = object("apps/v1", "Deployment", Some("ns"), "web", Value::Null);
        let b = object("apps/v1beta1", "Deployment", Some("ns"), "web", Value::Null);
        let other_ns = object("apps/v1", "Deployment", Some("other"), "web", Value::Null);
        let other_group = object(
            "example.com/v1",
            "Deployment",
            Some("ns"),
            "web",
            Value::Null,
        );
        assert!(check([
            ("c/a.yaml", &a),
            ("c/o.yaml", &other_ns),
            ("c/g.yaml", &other_group)
        ])
        .is_ok());
        let e = check([("c/a.yaml", &a), ("c/o.yaml", &other_ns), ("c/b.yaml", &b)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c/a.yaml and c/b.yaml both describe Deployment ns/web (group apps); an object must \
             have exactly one file: remove one of them or re-render with `hubdr render`"
        );
        let core = object("v1", "Namespace", None, "x", Value::Null);
        let again = object("v1", "Namespace", None, "x", Value::Null);
        assert!(matches!(
            check([("c/1.yaml", &core), ("c/2.yaml", &again)]),
            Err(SetError::Duplicate { group, .. }) if group == "core"
        ));
    }

    #[test]
    fn an_unreadable_wave_names_the_file() {
        let bad = object("v1", "ConfigMap", Some("a"), "x", json!("1O"));
        let e = check([("clusters/c/configmap.a.x.yaml", &bad)]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "clusters/c/configmap.a.x.yaml: annotation hubdr.io/wave is \"1O\", not a whole number"
            ),
            "{e}"
        );
    }
}
