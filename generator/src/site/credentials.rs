//! The site's credential rules, checked before anything renders so that each problem points at
//! its field and line in the site file: key material anywhere in the file (any field, map key,
//! list item or patch), Secret payloads patched into an object, and a git URL over which the
//! agents would send their token in clear. Pure: site in, diagnostics out.

use serde_json::Value;

use crate::credentials::{self, scan, What};

use super::diagnostic::Diagnostic;
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
