//! What exists on a fake hub before hubdr, beyond the backup namespace: ACM's own
//! ManagedClusters (`local-cluster`, and the managed clusters on the primary) and ACM
//! observability (a MultiClusterObservability and its compactor StatefulSet); and the built-in
//! kinds kubefake does not serve by default.

use kubefake::{FakeApiServer, ResourceInfo};
use serde_json::{json, Value};

pub const MANAGED_CLUSTER_API: &str = "cluster.open-cluster-management.io/v1";
pub const OBSERVABILITY_NS: &str = "open-cluster-management-observability";
pub const COMPACTOR: &str = "observability-thanos-compact";
pub const OBSERVATORIUM_API: &str = "observability-observatorium-api";
/// The versions a fake hub runs (the MultiClusterHub's is set by the fake operator).
pub const ACM_VERSION: &str = "2.15.0";
pub const MCE_VERSION: &str = "2.10.0";

/// A ManagedCluster with its `ManagedClusterJoined` and `ManagedClusterConditionAvailable`
/// conditions (`None`: the condition is absent, as before the klusterlet joined).
pub fn managed_cluster(name: &str, joined: Option<bool>, available: Option<bool>) -> Value {
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .expect("a time")
        .to_string();
    let condition = |kind: &str, status: Option<bool>, reason: &str| {
        status.map(|s| {
            json!({"type": kind, "status": if s { "True" } else { "Unknown" }, "reason": reason,
                   "message": reason, "lastTransitionTime": now})
        })
    };
    let conditions: Vec<Value> = [
        condition("ManagedClusterJoined", joined, "ManagedClusterJoined"),
        condition(
            "ManagedClusterConditionAvailable",
            available,
            "ManagedClusterAvailable",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut labels = json!({"name": name});
    if name == "local-cluster" {
        labels["local-cluster"] = json!("true");
    }
    json!({
        "apiVersion": MANAGED_CLUSTER_API, "kind": "ManagedCluster",
        "metadata": {"name": name, "labels": labels},
        // The registration agent reports the cluster's API server here; the site's apiServer
        // names the same URL (tests/fixtures/site.yaml), as the preflight checks.
        "spec": {
            "hubAcceptsClient": true,
            "managedClusterClientConfigs": [{"url": format!("https://api.{name}.example.com:6443")}],
        },
        "status": {"conditions": conditions},
    })
}

/// A hub's own cluster and, on the primary, its managed clusters, all joined and available;
/// ACM observability with its compactor running one pod.
pub fn hub(server: &FakeApiServer, managed: &[String]) {
    server.register_resource(statefulset_kind());
    for name in std::iter::once("local-cluster").chain(managed.iter().map(String::as_str)) {
        server
            .put_object(managed_cluster(name, Some(true), Some(true)))
            .expect("a ManagedCluster");
    }
    server
        .put_object(json!({
            "apiVersion": "multicluster.openshift.io/v1", "kind": "MultiClusterEngine",
            "metadata": {"name": "multiclusterengine"},
            "spec": {},
            "status": {"currentVersion": MCE_VERSION, "phase": "Available"},
        }))
        .expect("a MultiClusterEngine");
    server.ensure_namespace(OBSERVABILITY_NS);
    server
        .put_object(json!({
            "apiVersion": "observability.open-cluster-management.io/v1beta2",
            "kind": "MultiClusterObservability",
            "metadata": {"name": "observability"},
            "spec": {"observabilityAddonSpec": {}, "storageConfig": {"metricObjectStorage": {"name": "thanos-object-storage", "key": "thanos.yaml"}}},
        }))
        .expect("a MultiClusterObservability");
    server
        .put_object(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": COMPACTOR, "namespace": OBSERVABILITY_NS},
            "spec": {"replicas": 1, "serviceName": COMPACTOR,
                     "selector": {"matchLabels": {"app": COMPACTOR}}},
            "status": {"replicas": 1, "readyReplicas": 1},
        }))
        .expect("the compactor StatefulSet");
    server
        .put_object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": OBSERVATORIUM_API, "namespace": OBSERVABILITY_NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": OBSERVATORIUM_API}},
                     "template": {"metadata": {"labels": {"app": OBSERVATORIUM_API}},
                                  "spec": {"containers": [{"name": "api", "image": "observatorium"}]}}},
        }))
        .expect("the observability API Deployment");
}

/// `v1 Pod`, which kubefake does not serve by default (the agent's health checks list pods).
pub fn pod_kind() -> ResourceInfo {
    ResourceInfo::namespaced_v1("", "Pod", "pods")
}

/// `apps/v1 StatefulSet` (the observability compactor).
pub fn statefulset_kind() -> ResourceInfo {
    ResourceInfo::namespaced_v1("apps", "StatefulSet", "statefulsets")
}
