//! `-o json`: one JSON document per result, for scripts. Every document starts with
//! `apiVersion` (`hubdr.io/v1alpha1`, changed only with an incompatible change) and `kind`
//! (`ValidateResult`, `PlanResult`, `StatusResult`, ...); fields are only ever added within a
//! version. The schemas are documented in the README ("Scripting").

use serde_json::{Map, Value};

pub const API_VERSION: &str = "hubdr.io/v1alpha1";

/// The document of `kind` with `fields` after `apiVersion` and `kind`.
pub fn document(kind: &str, fields: Value) -> Value {
    let mut map = Map::new();
    map.insert("apiVersion".into(), API_VERSION.into());
    map.insert("kind".into(), kind.into());
    if let Value::Object(fields) = fields {
        map.extend(fields);
    }
    Value::Object(map)
}

/// Print the document of `kind`, pretty, with a final newline.
pub fn print(out: &mut dyn std::io::Write, kind: &str, fields: Value) {
    let text = serde_json::to_string_pretty(&document(kind, fields)).unwrap_or_default();
    let _ = writeln!(out, "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_and_kind_come_first() {
        let doc = document("PlanResult", serde_json::json!({"changes": 1}));
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            text,
            r#"{"apiVersion":"hubdr.io/v1alpha1","kind":"PlanResult","changes":1}"#
        );
    }
}
