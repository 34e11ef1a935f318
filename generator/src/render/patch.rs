//! Site patches: JSON merge patches and JSON patches applied to targeted objects after rendering.

use crate::site::{Patch, PatchTarget};

use super::manifest::Manifest;

/// Apply every patch in order; each must match at least one object.
pub fn apply_all(patches: &[Patch], manifests: &mut [Manifest]) -> Result<(), String> {
    for (i, patch) in patches.iter().enumerate() {
        let mut matched = 0;
        for m in manifests.iter_mut().filter(|m| matches(&patch.target, m)) {
            matched += 1;
            apply(patch, &mut m.value).map_err(|e| {
                format!(
                    "spec.patches[{i}] on {} in cluster {}: {e}",
                    m.id, m.cluster
                )
            })?;
            m.id = super::manifest::ObjectId::of(&m.value).map_err(|e| {
                format!(
                    "spec.patches[{i}] broke {} in cluster {}: {e}",
                    m.id, m.cluster
                )
            })?;
        }
        if matched == 0 {
            return Err(format!(
                "spec.patches[{i}] matches no rendered object ({}); fix the target's cluster, kind, namespace or name",
                describe(&patch.target)
            ));
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
