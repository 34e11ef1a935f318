//! RBAC rules from what an agent may do: one rule per API group and access level, listing its
//! resources; no wildcards, ever.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::render::access::{Access, ClusterAccess, Grants, NAMESPACE_VERBS};

/// The rules of `grants`, by API group, then access (read, apply, manage).
pub fn rules(grants: &Grants) -> Vec<Value> {
    let mut by_rule: BTreeMap<(&str, Access), Vec<&str>> = BTreeMap::new();
    for ((group, resource), access) in grants {
        by_rule.entry((group, *access)).or_default().push(resource);
    }
    by_rule
        .into_iter()
        .map(|((group, access), resources)| {
            json!({"apiGroups": [group], "resources": resources, "verbs": access.verbs()})
        })
        .collect()
}

/// The rules of the ClusterRole bound cluster-wide: the Namespaces the agent uses, by name
/// (`names`, the namespaces of `access` in order), then its cluster-wide grants.
pub fn cluster_rules(access: &ClusterAccess, names: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    // The Namespaces it applies: all of its namespaces, or only the etcd backup's.
    let names: Vec<&str> = if access.namespace_objects {
        names.to_vec()
    } else {
        access
            .namespaces
            .values()
            .zip(names)
            .filter(|(g, _)| g.etcd_backup)
            .map(|(_, n)| *n)
            .collect()
    };
    // An empty resourceNames would mean every name: no rule at all without namespaces.
    if !names.is_empty() {
        out.push(json!({
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": names,
            "verbs": NAMESPACE_VERBS,
        }));
    }
    out.extend(rules(&access.cluster));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_group_resources_by_group_and_access() {
        let mut grants = Grants::new();
        for (g, r, a) in [
            ("volsync.backube", "replicationsources", Access::Manage),
            ("", "pods", Access::Read),
            ("volsync.backube", "replicationdestinations", Access::Manage),
            ("", "persistentvolumeclaims", Access::Apply),
            ("velero.io", "backups", Access::Read),
        ] {
            grants.insert((g.into(), r.into()), a);
        }
        assert_eq!(
            Value::from(rules(&grants)),
            json!([
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "create", "patch"]},
                {"apiGroups": ["velero.io"], "resources": ["backups"], "verbs": ["get", "list"]},
                {"apiGroups": ["volsync.backube"], "resources": ["replicationdestinations", "replicationsources"], "verbs": ["get", "list", "create", "patch", "delete"]},
            ])
        );
    }
}
