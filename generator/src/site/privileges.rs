//! The site fields that name kinds, checked before any name reaches a file name or an RBAC
//! rule: `spec.agent.extraKinds` (a privilege grant) and the kinds of patch targets.

use std::collections::HashSet;

use crate::kinds;

use super::diagnostic::Diagnostic;
use super::model::{ExtraKind, Patch};

/// Problems with `spec.agent.extraKinds` and the patch targets' kinds.
pub fn validate(extra_kinds: &[ExtraKind], patches: &[Patch]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, extra) in extra_kinds.iter().enumerate() {
        let path = format!("spec.agent.extraKinds[{i}]");
        let before = out.len();
        if let Err(e) = kinds::check_group(&extra.group) {
            out.push(Diagnostic::error(
                format!("{path}.group"),
                e,
                "give the API group, e.g. networking.k8s.io, or core for the core group",
            ));
        }
        if extra.group.is_empty() {
            out.push(Diagnostic::error(
                format!("{path}.group"),
                "the group is empty",
                "write core for the core group (v1)",
            ));
        }
        if let Err(e) = kinds::check_kind_name(&extra.kind) {
            out.push(Diagnostic::error(
                format!("{path}.kind"),
                e,
                "name the kind exactly as its objects' `kind` field does",
            ));
        }
        if let Err(e) = kinds::check_resource(&extra.resource) {
            out.push(Diagnostic::error(
                format!("{path}.resource"),
                e,
                "give the resource (plural) RBAC rules use, e.g. networkpolicies (see `kubectl api-resources`)",
            ));
        }
        if out.len() > before {
            continue;
        }
        let group = extra.api_group();
        // The etcd backup's kinds are granted only in its namespace: an extra kind may widen them.
        if kinds::rendered(group, &extra.kind)
            .is_some_and(|k| k.agents != kinds::Agents::EtcdBackup)
        {
            out.push(Diagnostic::error(
                format!("{path}.kind"),
                format!(
                    "{} is a kind hubdr renders: its agents manage it already",
                    kinds::allow_kind(group, &extra.kind)
                ),
                "remove this entry",
            ));
        } else if group.is_empty() && extra.kind == "Secret" {
            out.push(Diagnostic::error(
                format!("{path}.kind"),
                "hubdr never renders Secrets, so no agent may manage them: credentials stay out of git",
                "remove this entry; create the Secret on the cluster and reference it by name",
            ));
        } else if group == "rbac.authorization.k8s.io" {
            out.push(Diagnostic::error(
                format!("{path}.group"),
                format!(
                    "{} would let the repository grant the agent (or anyone) more permissions",
                    kinds::allow_kind(group, &extra.kind)
                ),
                "remove this entry; RBAC objects are installed by hand, like agents/<cluster>.yaml",
            ));
        } else if !seen.insert((group, extra.kind.as_str())) {
            out.push(Diagnostic::error(
                format!("{path}.kind"),
                format!("{} is listed twice", kinds::allow_kind(group, &extra.kind)),
                "keep one entry per kind",
            ));
        }
    }
    for (i, patch) in patches.iter().enumerate() {
        if let Some(kind) = &patch.target.kind {
            if let Err(e) = kinds::check_kind_pattern(kind) {
                out.push(Diagnostic::error(
                    format!("spec.patches[{i}].target.kind"),
                    e,
                    "target a kind hubdr renders, spelled as in the rendered objects (e.g. ReplicationSource, or Replication* as a glob)",
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Scope;

    fn extra(group: &str, kind: &str, resource: &str) -> ExtraKind {
        ExtraKind {
            group: group.into(),
            kind: kind.into(),
            resource: resource.into(),
            scope: Scope::Namespaced,
        }
    }

    fn paths(d: &[Diagnostic]) -> Vec<String> {
        d.iter().map(|d| d.path.clone()).collect()
    }

    #[test]
    fn extra_kinds_are_checked() {
        let ok = [
            extra("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
            extra("core", "ConfigMap", "configmaps"),
        ];
        assert!(validate(&ok, &[]).is_empty());
        let bad = [
            extra("", "ConfigMap", "configmaps"),
            extra("apps", "deployment", "deployments"),
            extra("apps", "Deployment/x", "deployments"),
            extra("core", "Pod", "pods/exec"),
            extra("core", "Secret", "secrets"),
            extra("volsync.backube", "ReplicationSource", "replicationsources"),
            extra(
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                "clusterrolebindings",
            ),
            extra("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
            extra("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
        ];
        assert_eq!(
            paths(&validate(&bad, &[])),
            [
                "spec.agent.extraKinds[0].group",
                "spec.agent.extraKinds[1].kind",
                "spec.agent.extraKinds[2].kind",
                "spec.agent.extraKinds[3].resource",
                "spec.agent.extraKinds[4].kind",
                "spec.agent.extraKinds[5].kind",
                "spec.agent.extraKinds[6].group",
                "spec.agent.extraKinds[8].kind",
            ]
        );
    }

    #[test]
    fn patch_target_kinds_are_checked() {
        let patch = |kind: &str| Patch {
            target: crate::site::PatchTarget {
                kind: Some(kind.into()),
                ..Default::default()
            },
            merge: Some(serde_json::json!({})),
            json: None,
        };
        let patches = [patch("Replication*"), patch("secret"), patch("Pod/x")];
        assert_eq!(
            paths(&validate(&[], &patches)),
            ["spec.patches[1].target.kind", "spec.patches[2].target.kind"]
        );
    }
}
