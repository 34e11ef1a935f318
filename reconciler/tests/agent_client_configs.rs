//! Auto-import's reach (issue 17.1): the hub agent reports, per ManagedCluster (real CRD, in the
//! fake API server), the `spec.managedClusterClientConfigs[].url` it sees, so that `hubdr
//! status` and the failover preflight can compare them with the site's `apiServer`. Nothing
//! else of a client config (its caBundle) and nothing that could be a credential (user info,
//! a query) reaches the status; what is read is bounded.

mod support;

use hubdr_agent::observe::observe;
use hubdr_core::status::ManagedClustersObservation;
use serde_json::{json, Value};
use support::*;

const CA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tU0VDUkVUQ0EtLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0t";

fn managed_cluster(name: &str, configs: Value) -> Value {
    json!({
        "apiVersion": "cluster.open-cluster-management.io/v1",
        "kind": "ManagedCluster",
        "metadata": {"name": name},
        "spec": {"hubAcceptsClient": true, "managedClusterClientConfigs": configs},
    })
}

#[tokio::test]
async fn the_hub_agent_reports_each_managed_clusters_client_config_urls_and_nothing_else() {
    let server = fake().await;
    server.ensure_namespace("open-cluster-management-backup");
    let many: Vec<Value> = (0..10)
        .map(|i| json!({"url": format!("https://api-{i}.many.example:6443"), "caBundle": CA}))
        .collect();
    for object in [
        managed_cluster(
            "east-1",
            json!([{"url": "https://api.east-1.example.com:6443", "caBundle": CA}]),
        ),
        managed_cluster("eks-1", json!([])),
        managed_cluster(
            "leaky",
            json!([{"url": "https://admin:s3cret@api.leaky.example:6443"},
                   {"url": "https://api.leaky.example:6443/?token=s3cret"}]),
        ),
        managed_cluster("many", json!(many)),
        json!({
            "apiVersion": "cluster.open-cluster-management.io/v1",
            "kind": "ManagedCluster",
            "metadata": {"name": "local-cluster", "labels": {"local-cluster": "true"}},
            "spec": {"hubAcceptsClient": true,
                     "managedClusterClientConfigs": [{"url": "https://api.hub.example:6443"}]},
        }),
    ] {
        server
            .put_object(object)
            .expect("a ManagedCluster the CRD accepts");
    }
    let mut api = cluster_api(&server);
    let o = observe(&mut api, "open-cluster-management-backup", true)
        .await
        .expect("the hub is observed");
    let seen = o.observed.managed_clusters.expect("remote ManagedClusters");
    let urls = &seen.client_configs;
    assert_eq!(
        urls.keys().map(String::as_str).collect::<Vec<_>>(),
        ["east-1", "eks-1", "leaky", "many"],
        "every ManagedCluster but the hub's own"
    );
    assert_eq!(urls["east-1"], ["https://api.east-1.example.com:6443"]);
    assert!(
        urls["eks-1"].is_empty(),
        "no client config: nothing to reach"
    );
    assert_eq!(
        urls["leaky"],
        [
            "(unusable: has user info (user:password@))",
            "(unusable: has a query or a fragment)"
        ]
    );
    assert_eq!(
        urls["many"].len(),
        ManagedClustersObservation::URLS_PER_CLUSTER,
        "bounded"
    );
    assert_eq!(seen.client_configs_omitted, 0);
    let written = serde_yaml::to_string(&seen).unwrap();
    assert!(
        !written.contains("s3cret") && !written.contains(CA) && !written.contains("caBundle"),
        "{written}"
    );
}
