//! The fixed operations of a hub's failover steps, granted in every hub's install file beside
//! what [`super::super::access`] computes from the site. They are not rendered objects (the
//! agent's `--allow-kind` / `--allow-namespace` boundary is about those): they are the few
//! calls the fence, the takeover's verification and the preflight make on objects hubdr does
//! not own, always on these names, with these verbs, and nothing else:
//!
//! - ManagedClusters (cluster-scoped): read, and patch the
//!   `import.open-cluster-management.io/disable-auto-import` annotation (fence, abort);
//! - MultiClusterObservability, MultiClusterEngine and Hive ClusterDeployments: read only
//!   (whether observability is installed; the MCE version and unpreserved ClusterDeployments
//!   for the preflight);
//! - in `open-cluster-management-observability`: the StatefulSet
//!   `observability-thanos-compact` (its replicas, fence and abort) and the Deployment
//!   `observability-observatorium-api` (restarted after an activation), by name: get, patch;
//! - in `multicluster-engine`: the ConfigMap `import-controller-config` (its
//!   `autoImportStrategy`, ACM 2.14+, set to ImportAndSync during a takeover and put back), by
//!   name: get, patch; and create ConfigMaps there, as it is absent until someone sets a
//!   strategy (Kubernetes cannot limit create to a name). Only when `spec.acmVersion` is 2.14
//!   or later: older import controllers do not read it.
//!
//! The same whatever role the hub has, so a failover needs no new permissions; but for one:
//! a decommissioned hub's agent may also delete ManagedClusters ([`detach_rule`]), to detach
//! them (`hubdr decommission`). No other hub's install file grants it.

use serde_json::{json, Value};

/// The namespace ACM's observability runs in (fixed by ACM).
pub const OBSERVABILITY_NAMESPACE: &str = "open-cluster-management-observability";

/// Cluster-wide: (API group, resource, verbs).
pub const CLUSTER_RULES: [(&str, &str, &[&str]); 4] = [
    (
        "cluster.open-cluster-management.io",
        "managedclusters",
        &["get", "list", "patch"],
    ),
    (
        "observability.open-cluster-management.io",
        "multiclusterobservabilities",
        &["get", "list"],
    ),
    (
        "multicluster.openshift.io",
        "multiclusterengines",
        &["get", "list"],
    ),
    ("hive.openshift.io", "clusterdeployments", &["get", "list"]),
];

/// By name in one namespace: (namespace, API group, resource, name, verbs).
pub const NAMED_RULES: [(&str, &str, &str, &str, &[&str]); 3] = [
    (
        OBSERVABILITY_NAMESPACE,
        "apps",
        "statefulsets",
        "observability-thanos-compact",
        &["get", "patch"],
    ),
    (
        OBSERVABILITY_NAMESPACE,
        "apps",
        "deployments",
        "observability-observatorium-api",
        &["get", "patch"],
    ),
    (
        MCE_NAMESPACE,
        "",
        "configmaps",
        "import-controller-config",
        &["get", "patch"],
    ),
];

/// The namespace of the import controller's configuration (fixed by the multicluster engine).
pub const MCE_NAMESPACE: &str = "multicluster-engine";

/// Whether `cluster` is a decommissioned hub of the site.
pub fn decommissioned(site: &crate::site::Site, cluster: &str) -> bool {
    site.spec
        .hubs
        .iter()
        .any(|h| h.name == cluster && h.role == crate::site::HubRole::Decommissioned)
}

/// A decommissioned hub's extra rule: delete ManagedClusters (its agent detaches the managed
/// clusters the active hub now holds; never `local-cluster`).
pub fn detach_rule() -> Value {
    json!({"apiGroups": ["cluster.open-cluster-management.io"], "resources": ["managedclusters"], "verbs": ["delete"]})
}

/// The cluster-wide rules of a hub.
pub fn cluster_rules() -> Vec<Value> {
    CLUSTER_RULES
        .iter()
        .map(|(group, resource, verbs)| {
            json!({"apiGroups": [group], "resources": [resource], "verbs": verbs})
        })
        .collect()
}

/// The named rules of a hub, by namespace (in order of first appearance). The import
/// controller's ConfigMap is granted only where the site's ACM reads it (2.14+): least privilege.
pub fn named_rules(
    acm: crate::site::failover_rules::AcmVersion,
) -> Vec<(&'static str, Vec<Value>)> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let rules = NAMED_RULES
        .into_iter()
        .filter(|(ns, ..)| *ns != MCE_NAMESPACE || acm.has_auto_import_strategy());
    for (ns, group, resource, name, verbs) in rules {
        let rule = json!({"apiGroups": [group], "resources": [resource], "resourceNames": [name], "verbs": verbs});
        match out.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, rules)) => rules.push(rule),
            None => out.push((ns, vec![rule])),
        }
    }
    if let Some((_, rules)) = out.iter_mut().find(|(n, _)| *n == MCE_NAMESPACE) {
        rules.push(json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}));
    }
    out
}
