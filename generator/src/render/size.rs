//! One rendered object's size: refused past [`OBJECT_MAX_BYTES`], naming the value that makes
//! it large, so the site author knows what to shorten.

use serde_json::Value;

use crate::limits::{bytes_text, size_text, OBJECT_MAX_BYTES};

/// Why an object's file is too large: its size, and its longest string with the path to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    pub size: usize,
    pub largest: Option<(String, usize)>,
}

impl std::fmt::Display for Oversized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "it is {}, more than the limit of {} for one object (etcd refuses objects over about 1.5 MiB)",
            size_text(self.size as u64),
            bytes_text(OBJECT_MAX_BYTES as u64)
        )?;
        if let Some((path, len)) = &self.largest {
            write!(
                f,
                "; its largest value is {path} ({})",
                bytes_text(*len as u64)
            )?;
        }
        Ok(())
    }
}

/// `Err` when the file of `value` (`size` bytes) is over the limit.
pub fn check(size: usize, value: &Value) -> Result<(), Oversized> {
    if size <= OBJECT_MAX_BYTES {
        return Ok(());
    }
    Err(Oversized {
        size,
        largest: largest_string(value, String::new()),
    })
}

/// The longest string in `value` (keys included), with its path (`spec.a[0]["x.y/z"]`).
fn largest_string(value: &Value, path: String) -> Option<(String, usize)> {
    let longer = |a: Option<(String, usize)>, b: Option<(String, usize)>| match (a, b) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
        (a, b) => a.or(b),
    };
    match value {
        Value::String(s) => Some((path, s.len())),
        Value::Array(items) => items.iter().enumerate().fold(None, |best, (i, item)| {
            longer(best, largest_string(item, format!("{path}[{i}]")))
        }),
        Value::Object(map) => map.iter().fold(None, |best, (key, item)| {
            let child = if key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                }
            } else {
                format!("{path}[{key:?}]")
            };
            let as_key = Some((format!("{child} (its key)"), key.len()));
            longer(longer(best, as_key), largest_string(item, child))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_longest_value_of_an_oversized_object() {
        let big = "x".repeat(OBJECT_MAX_BYTES + 10);
        let value = json!({
            "metadata": {"name": "a", "annotations": {"example.com/note": big}},
            "spec": {"list": ["short"]},
        });
        let refused = check(big.len() + 200, &value).unwrap_err();
        assert_eq!(
            refused.largest,
            Some((
                "metadata.annotations[\"example.com/note\"]".to_string(),
                big.len()
            ))
        );
        assert_eq!(
            refused.to_string(),
            "it is 1 MiB (1048786 bytes), more than the limit of 1 MiB for one object (etcd refuses \
             objects over about 1.5 MiB); its largest value is \
             metadata.annotations[\"example.com/note\"] (1 MiB)"
        );
        assert!(check(OBJECT_MAX_BYTES, &value).is_ok());
        let listed = json!({"spec": {"items": ["a", big]}});
        assert_eq!(
            check(big.len() + 50, &listed)
                .unwrap_err()
                .largest
                .unwrap()
                .0,
            "spec.items[1]"
        );
    }
}
