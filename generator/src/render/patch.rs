//! Site patches: JSON merge patches and JSON patches applied to targeted objects after rendering.

use crate::site::{Patch, PatchTarget};

use super::manifest::Manifest;

/// A patch that failed: the site field to blame, what went wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PatchError {
    /// Field path in the site file, e.g. `spec.patches[0].target`.
    pub path: String,
    pub message: String,
    pub fix: String,
}

/// Apply every patch in order; each must match at least one object.
pub fn apply_all(patches: &[Patch], manifests: &mut [Manifest]) -> Result<(), PatchError> {
    for (i, patch) in patches.iter().enumerate() {
        let mut matched = 0;
        for m in manifests.iter_mut().filter(|m| matches(&patch.target, m)) {
            matched += 1;
            apply(patch, &mut m.value).map_err(|e| PatchError {
                path: format!(
                    "spec.patches[{i}].{}",
                    if patch.json.is_some() { "json" } else { "merge" }
                ),
                message: format!("cannot patch {} in cluster {}: {e}", m.id, m.cluster),
                fix: "check the patch against the rendered object (`hubdr plan` and the repo show it); JSON patch paths must exist unless the op adds them".into(),
            })?;
            m.id = super::manifest::ObjectId::of(&m.value).map_err(|e| PatchError {
                path: format!("spec.patches[{i}]"),
                message: format!("the patch broke {} in cluster {}: {e}", m.id, m.cluster),
                fix: "keep apiVersion, kind and metadata.name in the patched object".into(),
            })?;
        }
        if matched == 0 {
            return Err(PatchError {
                path: format!("spec.patches[{i}].target"),
                message: format!(
                    "matches no rendered object ({})",
                    describe(&patch.target)
                ),
                fix: "correct the target's cluster, kind, namespace or name (each is an exact name or a * glob)".into(),
            });
        }
    }
    Ok(())
}

fn apply(patch: &Patch, value: &mut serde_json::Value) -> Result<(), String> {
    if let Some(merge) = &patch.merge {
        json_patch::merge(value, merge);
    }
    if let Some(ops) = &patch.json {
        let ops: json_patch::Patch =
            serde_json::from_value(ops.clone()).map_err(|e| e.to_string())?;
        json_patch::patch(value, &ops).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn matches(t: &PatchTarget, m: &Manifest) -> bool {
    let field = |pattern: &Option<String>, value: Option<&str>| match pattern {
        None => true,
        Some(p) => value.is_some_and(|v| glob(p, v)),
    };
    field(&t.cluster, Some(&m.cluster))
        && field(&t.kind, Some(&m.id.kind))
        && field(&t.name, Some(&m.id.name))
        && field(&t.namespace, m.id.namespace.as_deref())
}

fn describe(t: &PatchTarget) -> String {
    let parts: Vec<String> = [
        ("cluster", &t.cluster),
        ("kind", &t.kind),
        ("namespace", &t.namespace),
        ("name", &t.name),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    parts.join(", ")
}

/// `*` matches any run of characters; everything else is literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("hub-*", "hub-a"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXc"));
        assert!(!glob("hub-*", "east-1"));
        assert!(glob("exact", "exact"));
        assert!(!glob("ab*ba", "aba"));
    }
}
