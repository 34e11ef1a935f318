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

/// What the site's patches did to one object.
#[derive(Debug, Default)]
pub struct Applied {
    /// The patches that matched the object, in order.
    pub matched: Vec<usize>,
    /// The patch that failed on it, with the error (the later patches were not tried).
    pub failed: Option<(usize, PatchError)>,
}

/// Apply the patches, in order, to one object. Each patch sees the object as the earlier ones
/// left it, and is matched against its identity as they left it (a patch may rename it).
pub fn apply_to(patches: &[Patch], m: &mut Manifest) -> Applied {
    let mut applied = Applied::default();
    for (i, patch) in patches.iter().enumerate() {
        if !matches(&patch.target, m) {
            continue;
        }
        applied.matched.push(i);
        if let Err(e) = apply_one(i, patch, m) {
            applied.failed = Some((i, e));
            break;
        }
    }
    applied
}

fn apply_one(i: usize, patch: &Patch, m: &mut Manifest) -> Result<(), PatchError> {
    apply(patch, &mut m.value).map_err(|e| PatchError {
        path: format!(
            "spec.patches[{i}].{}",
            if patch.json.is_some() { "json" } else { "merge" }
        ),
        message: format!("cannot patch {} in cluster {}: {e}", m.id, m.cluster),
        fix: "check the patch against the rendered object (`hubdr plan` and the repo show it); JSON patch paths must exist unless the op adds them".into(),
    })?;
    let id = super::manifest::ObjectId::of(&m.value).map_err(|e| PatchError {
        path: format!("spec.patches[{i}]"),
        message: format!("the patch broke {} in cluster {}: {e}", m.id, m.cluster),
        fix: "keep apiVersion, kind and metadata.name in the patched object".into(),
    })?;
    if (&id.api_version, &id.kind) != (&m.id.api_version, &m.id.kind) {
        return Err(PatchError {
            path: format!("spec.patches[{i}]"),
            message: format!(
                "turns {} in cluster {} into {} {}: a patch may not change an object's apiVersion or kind",
                m.id, m.cluster, id.api_version, id.kind
            ),
            fix: "remove apiVersion and kind from the patch: what an agent may manage comes from the kinds hubdr renders and spec.agent.extraKinds, never from a patch".into(),
        });
    }
    if place(&id) != place(&m.id) {
        let (message, fix) = if is_namespace(&id) {
            (
                format!(
                    "renames {} in cluster {} to {}: a patch may not rename a Namespace (the agent may only use the namespaces the site renders into)",
                    m.id, m.cluster, id.name
                ),
                "remove metadata.name from the patch; namespaces come from the site fields that render into them",
            )
        } else {
            let to = match place(&id) {
                Some(ns) => format!("namespace {ns}"),
                None => "no namespace".into(),
            };
            (
                format!(
                    "moves {} in cluster {} to {to}: a patch may not change an object's namespace",
                    m.id, m.cluster
                ),
                "remove metadata.namespace from the patch; set the namespace in the site field that renders the object, which also lets that cluster's agent use it",
            )
        };
        return Err(PatchError {
            path: format!("spec.patches[{i}]"),
            message,
            fix: fix.into(),
        });
    }
    m.id = id;
    Ok(())
}

/// The namespace an object is in, or for a Namespace, the one it is: what an agent's namespace
/// boundary sees of it.
fn place(id: &super::manifest::ObjectId) -> Option<&str> {
    if is_namespace(id) {
        Some(&id.name)
    } else {
        id.namespace.as_deref()
    }
}

fn is_namespace(id: &super::manifest::ObjectId) -> bool {
    id.kind == "Namespace" && crate::kinds::group_of(&id.api_version).is_empty()
}

/// The first error of the patches, given what they did to each object (in render order): the
/// error met first when each patch in turn is applied to every object in order. That is the
/// first object's failure of the earliest patch that failed, unless an earlier patch matched
/// no object at all (each patch must match at least one).
pub fn first_error<'a>(
    patches: &[Patch],
    objects: impl IntoIterator<Item = &'a Applied>,
) -> Option<PatchError> {
    let mut matched = vec![false; patches.len()];
    let mut failed: Option<&(usize, PatchError)> = None;
    for applied in objects {
        for &i in &applied.matched {
            matched[i] = true;
        }
        if let Some(failure) = &applied.failed {
            if failed.is_none_or(|(first, _)| failure.0 < *first) {
                failed = Some(failure);
            }
        }
    }
    let unmatched = matched.iter().position(|m| !m);
    match (failed, unmatched) {
        (Some((i, e)), u) if u.is_none_or(|u| *i < u) => Some(e.clone()),
        (_, Some(u)) => Some(matches_nothing(u, &patches[u].target)),
        _ => None,
    }
}

fn matches_nothing(i: usize, target: &PatchTarget) -> PatchError {
    PatchError {
        path: format!("spec.patches[{i}].target"),
        message: format!("matches no rendered object ({})", describe(target)),
        fix: "correct the target's cluster, kind, namespace or name (each is an exact name or a * glob)".into(),
    }
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
    use serde_json::json;

    use super::super::manifest::ObjectId;
    use super::*;

    fn object(cluster: &str, kind: &str, name: &str) -> Manifest {
        let value = json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"size": 1},
        });
        Manifest {
            cluster: cluster.into(),
            id: ObjectId::of(&value).unwrap(),
            wave: 0,
            value,
        }
    }

    fn patch(
        target: serde_json::Value,
        merge: Option<serde_json::Value>,
        ops: Option<serde_json::Value>,
    ) -> Patch {
        Patch {
            target: serde_json::from_value(target).unwrap(),
            merge,
            json: ops,
        }
    }

    /// The patches as the site describes them: each in turn, over every object in order.
    fn apply_patch_by_patch(patches: &[Patch], objects: &mut [Manifest]) -> Result<(), PatchError> {
        for (i, p) in patches.iter().enumerate() {
            let mut matched = 0;
            for m in objects.iter_mut().filter(|m| matches(&p.target, m)) {
                matched += 1;
                apply_one(i, p, m)?;
            }
            if matched == 0 {
                return Err(matches_nothing(i, &p.target));
            }
        }
        Ok(())
    }

    fn apply_object_by_object(
        patches: &[Patch],
        objects: &mut [Manifest],
    ) -> Result<(), PatchError> {
        let applied: Vec<Applied> = objects.iter_mut().map(|m| apply_to(patches, m)).collect();
        first_error(patches, &applied).map_or(Ok(()), Err)
    }

    /// Every ordered choice of up to three patches from a pool that renames, fails, breaks
    /// identities and matches nothing, over four objects: applying them object by object gives
    /// the objects and the first error that applying them patch by patch gives.
    #[test]
    fn object_by_object_is_patch_by_patch() {
        let pool = [
            // rename a to b: a later patch aimed at b must see it
            patch(
                json!({"name": "a"}),
                Some(json!({"metadata": {"name": "b"}})),
                None,
            ),
            patch(
                json!({"name": "b"}),
                Some(json!({"spec": {"size": 2}})),
                None,
            ),
            // fails on objects without /spec/extra
            patch(
                json!({"kind": "K*"}),
                None,
                Some(json!([{"op": "remove", "path": "/spec/extra"}])),
            ),
            patch(
                json!({"cluster": "c2"}),
                None,
                Some(json!([{"op": "add", "path": "/spec/extra", "value": 1}])),
            ),
            // breaks the identity
            patch(json!({"cluster": "c3"}), Some(json!({"kind": null})), None),
            // matches nothing
            patch(json!({"kind": "Nothing"}), Some(json!({"x": 1})), None),
            patch(
                json!({"namespace": "ns", "kind": "Kb"}),
                Some(json!({"spec": {"size": null}})),
                None,
            ),
            // makes the failing remove above succeed on every object it reaches
            patch(
                json!({"kind": "K*"}),
                None,
                Some(json!([{"op": "add", "path": "/spec/extra", "value": 0}])),
            ),
            // a merge and a JSON patch at once, moving the object to another namespace
            patch(
                json!({"name": "x"}),
                Some(json!({"metadata": {"namespace": "other"}})),
                Some(json!([{"op": "add", "path": "/spec/more", "value": 2}])),
            ),
            patch(
                json!({"namespace": "other"}),
                None,
                Some(json!([{"op": "remove", "path": "/spec/more"}])),
            ),
        ];
        let objects = || {
            vec![
                object("c1", "Ka", "a"),
                object("c2", "Kb", "x"),
                object("c3", "Ka", "y"),
                object("c2", "Kb", "a"),
            ]
        };
        let mut tried = 0;
        let mut failed = 0;
        let n = pool.len();
        let mut choices: Vec<Vec<usize>> = (0..n).map(|a| vec![a]).collect();
        for a in 0..n {
            for b in 0..n {
                choices.push(vec![a, b]);
                for c in 0..n {
                    choices.push(vec![a, b, c]);
                }
            }
        }
        for choice in choices {
            let patches: Vec<Patch> = choice.iter().map(|&i| pool[i].clone()).collect();
            let (mut by_patch, mut by_object) = (objects(), objects());
            let expected = apply_patch_by_patch(&patches, &mut by_patch);
            let got = apply_object_by_object(&patches, &mut by_object);
            assert_eq!(got, expected, "patches {choice:?}");
            if expected.is_ok() {
                for (e, g) in by_patch.iter().zip(&by_object) {
                    assert_eq!((&g.id, &g.value), (&e.id, &e.value), "patches {choice:?}");
                }
            } else {
                failed += 1;
            }
            tried += 1;
        }
        assert!(failed > 0 && failed < tried, "{failed} of {tried} failed");
    }

    /// The error met first, patch by patch: a failure of an earlier patch comes before a patch
    /// that matches nothing, and a patch that matches nothing before a later failure.
    #[test]
    fn the_earlier_patch_of_a_failure_and_an_unmatched_patch_is_reported() {
        let failing = patch(
            json!({"kind": "Ka"}),
            None,
            Some(json!([{"op": "remove", "path": "/spec/extra"}])),
        );
        let unmatched = patch(json!({"kind": "Nothing"}), Some(json!({"x": 1})), None);
        let objects = || [object("c1", "Kb", "b"), object("c2", "Ka", "a")];

        let patches = [failing.clone(), unmatched.clone()];
        let err = apply_object_by_object(&patches, &mut objects()).unwrap_err();
        assert_eq!(err.path, "spec.patches[0].json");
        assert!(
            err.message
                .starts_with("cannot patch Ka ns/a in cluster c2:"),
            "{err}"
        );

        let err = apply_object_by_object(&[unmatched, failing], &mut objects()).unwrap_err();
        assert_eq!(err.path, "spec.patches[0].target");
        assert_eq!(err.message, "matches no rendered object (kind=Nothing)");
    }

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
