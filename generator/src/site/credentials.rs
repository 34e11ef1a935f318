//! The site's credential rules, checked before anything renders so that each problem points at
//! its field and line in the site file: key material anywhere in the file (any field, map key,
//! list item or patch), Secret payloads patched into an object, and a git URL over which the
//! agents would send their token in clear. Pure: site in, diagnostics out.

use serde_json::Value;

use crate::credentials::{self, detect, scan, What};

use super::diagnostic::Diagnostic;
use super::locate::Locator;
use super::model::Site;

/// A problem and the field path to locate it at (its shown path may hide a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub diagnostic: Diagnostic,
    /// The path as written in the file.
    pub at: String,
}

/// Every credential problem of `site`, one per field. `suspect` is the cheap first pass's
/// answer ([`scan::json_may_hold`] over the site's canonical JSON): without it the full search
/// for key material, which builds the site as a value, is skipped.
pub fn check(site: &Site, suspect: bool) -> Vec<Located> {
    let mut out: Vec<Located> = Vec::new();
    if suspect {
        let value = serde_json::to_value(site).expect("a site always serializes");
        for f in scan::find(&value, "") {
            out.push(key_material(&f.path, &f.shown, f.what));
        }
    }
    for (i, patch) in site.spec.patches.iter().enumerate() {
        secret_payload_patches(i, patch, &mut out);
    }
    if let Some(url) = &site.spec.git.url {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if scheme.as_deref() == Some("http") && !out.iter().any(|l| l.at == "spec.git.url") {
            out.push(Located {
                diagnostic: Diagnostic::error(
                    "spec.git.url",
                    "an http:// repository URL: every agent sends its git token (from \
                     spec.agent.gitCredentialsSecret) with each fetch and push, in clear",
                    "use an https:// URL (or ssh://, git@host:path)",
                ),
                at: "spec.git.url".into(),
            });
        }
    }
    // One problem per field: the first found.
    let mut seen = std::collections::HashSet::new();
    out.retain(|l| seen.insert(l.at.clone()));
    out
}

/// The problems of a site file that does not parse into a site: the key material in its YAML
/// (a key pasted under an unknown field name, or into a field of another type, is still found
/// and located), then the parse error unless it is about a field that holds key material, with
/// any key material it quotes hidden.
pub fn unparsed(text: &str, parse_error: Diagnostic, locator: &Locator) -> Vec<Diagnostic> {
    let value = crate::yaml_subset::parse(text)
        .or_else(|| serde_yaml::from_str::<Value>(text).ok())
        .unwrap_or(Value::Null);
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut at: Vec<String> = Vec::new();
    for f in scan::find(&value, "") {
        let mut d = key_material(&f.path, &f.shown, f.what).diagnostic;
        d.location = locator.find(&f.path);
        out.push(d);
        at.push(f.path);
    }
    if !at.contains(&parse_error.path) {
        let mut d = parse_error;
        d.path = hide_quoted(&d.path);
        d.message = hide_quoted(&d.message);
        out.push(d);
    }
    out
}

/// [`unparsed`] for several parse errors (every schema error of the file): each is shown with
/// its quoted parts hidden, unless key material was found at its path.
pub fn unparsed_all(text: &str, errors: Vec<Diagnostic>, locator: &Locator) -> Vec<Diagnostic> {
    let mut errors = errors.into_iter();
    let Some(first) = errors.next() else {
        return Vec::new();
    };
    let mut out = unparsed(text, first, locator);
    for mut d in errors {
        if !out.iter().any(|o| o.path == d.path) {
            d.path = hide_quoted(&d.path);
            d.message = hide_quoted(&d.message);
            out.push(d);
        }
    }
    out
}

/// `text` with every quoted part (`"..."` or `` `...` ``) and every path segment that is key
/// material replaced by `***`.
fn hide_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`', '.']) {
        let quote = rest.as_bytes()[open] as char;
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let close = match quote {
            '.' => rest.find(['.', '[', ':', ' ']).unwrap_or(rest.len()),
            _ => match rest.find(quote) {
                Some(close) => close,
                None => break,
            },
        };
        let inner = &rest[..close];
        out.push_str(if detect::in_text(inner).is_some() {
            "***"
        } else {
            inner
        });
        rest = &rest[close..];
        if quote != '.' {
            out.push(quote);
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

fn key_material(path: &str, shown: &str, what: What) -> Located {
    Located {
        diagnostic: Diagnostic::error(shown, what.message(), credentials::FIX),
        at: path.to_string(),
    }
}

/// A patch that would give an object a Secret's payload: a merge patch with a top-level `data`
/// or `stringData`, or a JSON patch operation on `/data`, `/stringData` or a `stringData` below.
/// (A `stringData` key anywhere is found by the search for key material.)
fn secret_payload_patches(i: usize, patch: &super::model::Patch, out: &mut Vec<Located>) {
    if let Some(Value::Object(merge)) = &patch.merge {
        for key in ["data", "stringData"] {
            if merge.contains_key(key) {
                let path = format!("spec.patches[{i}].merge.{key}");
                out.push(key_material(&path, &path, What::SecretPayload));
            }
        }
    }
    if let Some(Value::Array(ops)) = &patch.json {
        for (j, op) in ops.iter().enumerate() {
            let target = op.get("path").and_then(Value::as_str).unwrap_or_default();
            let mut segments = target.trim_start_matches('/').split('/');
            let first = segments.next();
            if matches!(first, Some("data" | "stringData")) || segments.any(|s| s == "stringData") {
                let path = format!("spec.patches[{i}].json[{j}].path");
                out.push(key_material(&path, &path, What::SecretPayload));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_key_material_is_hidden_in_messages() {
        let id = format!("AKIA{}", "IOSFODNN7EXAMPLE");
        assert_eq!(
            hide_quoted(&format!("invalid type: string \"{id}\", expected u64")),
            "invalid type: string \"***\", expected u64"
        );
        assert_eq!(
            hide_quoted(&format!("unknown field `{id}`, expected one of `provider`")),
            "unknown field `***`, expected one of `provider`"
        );
        assert_eq!(
            hide_quoted(&format!("spec.storage.{id}")),
            "spec.storage.***"
        );
        assert_eq!(
            hide_quoted("spec.hubs[1].role: unknown variant `primary`"),
            "spec.hubs[1].role: unknown variant `primary`"
        );
        assert_eq!(hide_quoted("an \"unclosed quote"), "an \"unclosed quote");
    }
}
