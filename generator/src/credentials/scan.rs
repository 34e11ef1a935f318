//! Every string and every key of a value, at any depth and in lists, checked for key material:
//! the strings themselves ([`detect::in_text`]), map keys (a key can be a pasted key too),
//! fields named like secrets (`password: ...`), `stringData` anywhere, and the values of a
//! `data` map decoded from base64 first.
//!
//! Two passes, as finding paths costs more than finding nothing: [`holds`] answers yes or no
//! without building any path; [`find`] builds the field path of each finding, only run when the
//! answer is yes. [`json_may_hold`] is a third, cheaper first pass over serialized JSON.

use serde_json::{Map, Value};

use super::detect::{self, What};

/// Key material at one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The field path as written (`spec.storage.config.aws_secret_access_key`), to locate it.
    pub path: String,
    /// The same path to show: a key that is key material itself is shown as `***`.
    pub shown: String,
    pub what: What,
}

/// Whether anything in `value` is key material.
pub fn holds(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| key_finding(k).is_some() || field_finding(k, v).is_some() || holds(v)),
        Value::Array(items) => items.iter().any(holds),
        Value::String(s) => detect::in_text(s).is_some(),
        _ => false,
    }
}

/// Every finding in `value`, whose own field path is `root` (empty for a document).
pub fn find(value: &Value, root: &str) -> Vec<Finding> {
    let mut walk = Walk {
        path: root.to_string(),
        shown: root.to_string(),
        found: Vec::new(),
    };
    walk.value(value);
    walk.found
}

struct Walk {
    path: String,
    shown: String,
    found: Vec<Finding>,
}

impl Walk {
    fn value(&mut self, value: &Value) {
        match value {
            Value::Object(map) => self.map(map),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let (path_len, shown_len) = self.push_index(i);
                    self.value(item);
                    self.pop(path_len, shown_len);
                }
            }
            Value::String(s) => {
                if let Some(what) = detect::in_text(s) {
                    self.report(what);
                }
            }
            _ => {}
        }
    }

    fn map(&mut self, map: &Map<String, Value>) {
        for (k, v) in map {
            let key_is_material = key_finding(k);
            let (path_len, shown_len) =
                self.push_key(k, key_is_material.is_some_and(|w| w != What::SecretPayload));
            if let Some(what) = key_is_material.or_else(|| field_finding(k, v)) {
                // One finding per field: what is below it is refused with it.
                self.report(what);
            } else {
                self.value(v);
            }
            self.pop(path_len, shown_len);
        }
    }

    fn push_key(&mut self, key: &str, hide: bool) -> (usize, usize) {
        let lens = (self.path.len(), self.shown.len());
        for (buf, text) in [
            (&mut self.path, key),
            (&mut self.shown, if hide { "***" } else { key }),
        ] {
            if !buf.is_empty() {
                buf.push('.');
            }
            buf.push_str(text);
        }
        lens
    }

    fn push_index(&mut self, i: usize) -> (usize, usize) {
        use std::fmt::Write;
        let lens = (self.path.len(), self.shown.len());
        let _ = write!(self.path, "[{i}]");
        let _ = write!(self.shown, "[{i}]");
        lens
    }

    fn pop(&mut self, path_len: usize, shown_len: usize) {
        self.path.truncate(path_len);
        self.shown.truncate(shown_len);
    }

    fn report(&mut self, what: What) {
        self.found.push(Finding {
            path: self.path.clone(),
            shown: self.shown.clone(),
            what,
        });
    }
}

/// A map key that is key material itself, or `stringData`.
fn key_finding(key: &str) -> Option<What> {
    if key == "stringData" {
        return Some(What::SecretPayload);
    }
    detect::in_text(key)
}

/// What the field `key: value` holds because of its name: a field named like a secret with a
/// value, or a `data` map whose values decode to key material.
fn field_finding(key: &str, value: &Value) -> Option<What> {
    match value {
        Value::String(s) if detect::is_secret_name(key) && !s.trim().is_empty() => {
            Some(detect::in_text(s).unwrap_or(What::SecretField))
        }
        Value::Number(_) if detect::is_secret_name(key) => Some(What::SecretField),
        Value::Object(data) if key == "data" => data.values().find_map(|v| match v {
            Value::String(s) => detect::in_encoded(s),
            _ => None,
        }),
        _ => None,
    }
}

/// A first pass over compact JSON (as `serde_json::to_vec` writes it): false when nothing in
/// it can be key material, true when [`find`] should look. Each string is read in place
/// (unescaped only when it has escapes); a key is a string followed by `:`.
pub fn json_may_hold(json: &[u8]) -> bool {
    let mut i = 0;
    while let Some(open) = memchr::memchr(b'"', &json[i..]) {
        let start = i + open + 1;
        let Some((end, escaped)) = string_end(json, start) else {
            return true;
        };
        i = end + 1;
        let raw = &json[start..end];
        let is_key = json.get(i) == Some(&b':');
        let suspect = if escaped {
            match serde_json::from_slice::<String>(&json[start - 1..=end]) {
                Ok(text) if is_key => {
                    key_finding(&text).is_some() || detect::is_secret_name(&text) || text == "data"
                }
                Ok(text) => detect::in_text(&text).is_some(),
                Err(_) => true,
            }
        } else {
            let material = || {
                detect::may_be_key_material(raw)
                    && std::str::from_utf8(raw).map_or(true, |s| detect::in_text(s).is_some())
            };
            if is_key {
                raw == b"data"
                    || raw == b"stringData"
                    || detect::is_secret_name_bytes(raw)
                    || material()
            } else {
                material()
            }
        };
        if suspect {
            return true;
        }
    }
    false
}

/// The index of the quote that closes the string starting at `start`, and whether the string
/// has escapes.
fn string_end(json: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start;
    let mut escaped = false;
    loop {
        let at = i + memchr::memchr2(b'"', b'\\', &json[i..])?;
        if json[at] == b'"' {
            return Some((at, escaped));
        }
        escaped = true;
        i = at + 2;
        if i > json.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key_id() -> String {
        format!("AKIA{}", "IOSFODNN7EXAMPLE")
    }

    fn findings(value: &Value) -> Vec<(String, String, What)> {
        find(value, "")
            .into_iter()
            .map(|f| (f.path, f.shown, f.what))
            .collect()
    }

    #[test]
    fn values_keys_lists_and_depth_are_all_searched() {
        let id = key_id();
        let value = json!({
            "spec": {
                "config": {"region": "eu-west-1", "aws_secret_access_key": "abc", "k": id},
                "list": ["fine", {"deep": [id]}],
                "keys": {id.clone(): "x"},
            },
        });
        let expected = vec![
            (
                "spec.config.aws_secret_access_key".to_string(),
                "spec.config.aws_secret_access_key".to_string(),
                What::SecretField,
            ),
            (
                "spec.config.k".into(),
                "spec.config.k".into(),
                What::AwsAccessKeyId,
            ),
            (
                "spec.list[1].deep[0]".into(),
                "spec.list[1].deep[0]".into(),
                What::AwsAccessKeyId,
            ),
            (
                format!("spec.keys.{id}"),
                "spec.keys.***".into(),
                What::AwsAccessKeyId,
            ),
        ];
        assert_eq!(findings(&value), expected);
        assert!(holds(&value));
        let json = serde_json::to_vec(&value).unwrap();
        assert!(json_may_hold(&json));
    }

    #[test]
    fn string_data_and_encoded_data_are_secret_payloads_on_any_kind() {
        let value = json!({
            "kind": "ConfigMap",
            "stringData": {"cloud": "[default]"},
            "spec": {"data": {"k": base64_of(&key_id())}},
        });
        assert_eq!(
            findings(&value),
            vec![
                (
                    "stringData".to_string(),
                    "stringData".to_string(),
                    What::SecretPayload
                ),
                ("spec.data".into(), "spec.data".into(), What::AwsAccessKeyId),
            ]
        );
    }

    fn base64_of(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn ordinary_objects_hold_nothing() {
        let hex = "0123456789abcdef".repeat(4);
        let value = json!({
            "apiVersion": "v1",
            "metadata": {"name": "restore-acm-passive-sync", "annotations": {"hubdr.io/site-hash": format!("sha256:{hex}")}},
            "spec": {
                "image": format!("quay.io/acm-dr/hubdr-agent@sha256:{hex}"),
                "credential": {"name": "cloud-credentials", "key": "cloud"},
                "clientSecret": {"name": "oauth"},
                "password": "",
                "data": {"setting": "true"},
            },
        });
        assert_eq!(findings(&value), vec![]);
        assert!(!holds(&value));
        // The first pass looks closer at a `data` key, and finds nothing more.
        let json = serde_json::to_vec(&value).unwrap();
        assert!(json_may_hold(&json));
        let without_data = json!({"spec": {"image": format!("img@sha256:{hex}"), "name": "x"}});
        assert!(!json_may_hold(&serde_json::to_vec(&without_data).unwrap()));
    }

    #[test]
    fn the_first_pass_reads_escaped_strings() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----";
        let json = serde_json::to_vec(&json!({"a": {"b": pem}})).unwrap();
        assert!(json_may_hold(&json));
        let quoted = serde_json::to_vec(&json!({"a": "say \"hi\" to \\ everyone"})).unwrap();
        assert!(!json_may_hold(&quoted));
    }
}
