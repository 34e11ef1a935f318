//! The one way hubdr and hubdr-agent read YAML that others wrote: repository files, the render
//! index, other clusters' status files, bundle and export manifests, the inventory ConfigMap.
//! (The site file has its own reader, `site::load`, which locates its errors; it runs the same
//! guard.)
//!
//! Each read is bounded before any parsing: the size against a limit from `crate::limits`,
//! then the nesting and tags by the linear pre-scan in `crate::yaml_guard`, and only then
//! serde_yaml. Untyped reads take the fast subset parser's value when it reads the text
//! (`crate::yaml_subset`, linear and shallow by construction) and are guarded otherwise.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::limits::{bytes_text, size_text};
use crate::yaml_guard::{self, Refusal};

/// Why untrusted YAML was not read. The messages say what is wrong and the limit; callers add
/// which file it was.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("it is {}, more than the limit of {}", size_text(*size), bytes_text(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("it is not UTF-8 text: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    #[error("{0}; {fix}", fix = .0.fix())]
    Refused(Refusal),
    #[error("{0}")]
    Syntax(#[from] serde_yaml::Error),
}

/// `text` as a `T`, when it is at most `limit` bytes and passes the guard.
pub fn from_str<T: DeserializeOwned>(text: &str, limit: u64) -> Result<T, YamlError> {
    check(text, limit)?;
    Ok(serde_yaml::from_str(text)?)
}

/// [`from_str`] of bytes that must be UTF-8.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, YamlError> {
    check_size(bytes.len(), limit)?;
    from_str(std::str::from_utf8(bytes)?, limit)
}

/// `text` as a JSON value (what serde_yaml reads), when it is at most `limit` bytes and
/// passes the guard.
pub fn value(text: &str, limit: u64) -> Result<Value, YamlError> {
    check_size(text.len(), limit)?;
    if let Some(value) = crate::yaml_subset::parse(text) {
        return Ok(value);
    }
    guard(text)?;
    Ok(serde_yaml::from_str(text)?)
}

/// [`value`] of bytes that must be UTF-8.
pub fn value_from_slice(bytes: &[u8], limit: u64) -> Result<Value, YamlError> {
    check_size(bytes.len(), limit)?;
    value(std::str::from_utf8(bytes)?, limit)
}

/// The size and the guard, for callers that parse by other means.
pub fn check(text: &str, limit: u64) -> Result<(), YamlError> {
    check_size(text.len(), limit)?;
    guard(text)
}

fn check_size(size: usize, limit: u64) -> Result<(), YamlError> {
    let size = size as u64;
    if size > limit {
        return Err(YamlError::TooLarge { size, limit });
    }
    Ok(())
}

fn guard(text: &str) -> Result<(), YamlError> {
    yaml_guard::check(text).map_err(YamlError::Refused)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_within_the_limits_and_refuses_beyond_them() {
        let v = value("a: [1, {b: c}]\n", 100).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, {"b": "c"}]}));
        let typed: std::collections::BTreeMap<String, u32> = from_str("x: 1\n", 100).unwrap();
        assert_eq!(typed["x"], 1);

        let big = value("a: 1\n", 4).unwrap_err();
        assert_eq!(
            big.to_string(),
            "it is 5 bytes, more than the limit of 4 bytes"
        );
        let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let refused = value(&deep, 1 << 20).unwrap_err();
        assert!(matches!(refused, YamlError::Refused(_)), "{refused}");
        assert!(
            refused.to_string().starts_with(
                "the YAML nests deeper than 64 levels, the limit for hubdr's inputs (line 1 column 67); flatten"
            ),
            "{refused}"
        );
        let tagged = from_str::<Value>("a: !!python/object:os.system x\n", 100).unwrap_err();
        assert!(
            tagged
                .to_string()
                .starts_with("the YAML tag !!python/object:os.system is not accepted"),
            "{tagged}"
        );
        assert!(matches!(
            value_from_slice(b"a: \xff\n", 100),
            Err(YamlError::NotUtf8(_))
        ));
        assert!(matches!(value("a: [\n", 100), Err(YamlError::Syntax(_))));
    }
}
