//! Discovery through kube's `Discovery::run()`, CRDs loaded from disk and created via the API.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::discovery::{verbs, Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kubefake::FakeApiServer;
use serde_json::json;

#[tokio::test]
async fn discovery_lists_builtins_and_a_loaded_crd() {
    let server = FakeApiServer::start().await.unwrap();
    let infos = server
        .register_crd(&crd_file(
            "cluster.open-cluster-management.io/backupschedules.yaml",
        ))
        .unwrap();
    assert_eq!(infos[0].kind, "BackupSchedule");

    let discovery = Discovery::new(server.client()).run().await.unwrap();
    for (g, v, k, scope) in [
        ("", "v1", "Namespace", Scope::Cluster),
        ("", "v1", "ConfigMap", Scope::Namespaced),
        ("", "v1", "Secret", Scope::Namespaced),
        ("", "v1", "PersistentVolumeClaim", Scope::Namespaced),
        ("", "v1", "ServiceAccount", Scope::Namespaced),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            Scope::Cluster,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            Scope::Cluster,
        ),
        ("rbac.authorization.k8s.io", "v1", "Role", Scope::Namespaced),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            Scope::Namespaced,
        ),
        ("apps", "v1", "Deployment", Scope::Namespaced),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            Scope::Cluster,
        ),
    ] {
        let (ar, caps) = discovery
            .resolve_gvk(&gvk(g, v, k))
            .unwrap_or_else(|| panic!("{k} is discoverable"));
        assert_eq!(caps.scope, scope, "{k}");
        assert!(caps.supports_operation(verbs::PATCH), "{k} supports patch");
        assert_eq!(ar.kind, k);
    }
    let (ar, caps) = discovery.resolve_gvk(&backup_schedule_gvk()).unwrap();
    assert_eq!(ar.plural, "backupschedules");
    assert_eq!(caps.scope, Scope::Namespaced);
    let subs: Vec<&str> = caps
        .subresources
        .iter()
        .map(|(r, _)| r.plural.as_str())
        .collect();
    assert_eq!(subs, vec!["status"]);
}

#[tokio::test]
async fn every_shared_crd_loads_and_discovery_still_runs() {
    let server = FakeApiServer::start().await.unwrap();
    let infos = server.load_crds_from_dir(crds_dir()).unwrap();
    assert!(infos.len() >= 16, "loaded {} CRDs", infos.len());
    let discovery = Discovery::new(server.client()).run().await.unwrap();
    assert!(discovery.has_group("velero.io"));
    assert!(discovery.has_group("volsync.backube"));
    // Same kind name in two groups stays apart.
    assert!(discovery
        .resolve_gvk(&gvk("velero.io", "v1", "Restore"))
        .is_some());
    assert!(discovery.resolve_gvk(&restore_gvk()).is_some());
}

#[tokio::test]
async fn a_missing_crd_answers_404_in_discovery_and_requests() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &restore_gvk(), "ns").await;
    server.set_missing("cluster.open-cluster-management.io", "Restore", true);

    let discovery = Discovery::new(server.client()).run().await.unwrap();
    assert!(discovery.resolve_gvk(&restore_gvk()).is_none());
    assert!(
        discovery.resolve_gvk(&backup_schedule_gvk()).is_some(),
        "only Restore is gone"
    );

    let status = api_status(api.get("x").await.unwrap_err());
    assert!(status.is_not_found());
    assert_eq!(status.code, 404);

    server.set_missing("cluster.open-cluster-management.io", "Restore", false);
    let err = api_status(api.get("x").await.unwrap_err());
    assert_eq!(
        err.message,
        "restores.cluster.open-cluster-management.io \"x\" not found"
    );
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io"},
        "spec": {
            "group": "example.io",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn a_crd_created_through_the_api_becomes_established_and_discoverable() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    server.set_crd_establish_delay(Duration::from_millis(300));
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .unwrap();

    let widget = gvk("example.io", "v1", "Widget");
    let before = Discovery::new(server.client()).run().await.unwrap();
    assert!(
        before.resolve_gvk(&widget).is_none(),
        "not served before Established"
    );

    let established = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(
            crds.clone(),
            "widgets.example.io",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established in time")
    .unwrap()
    .expect("CRD exists");
    let conds = established.status.unwrap().conditions.unwrap();
    assert!(conds
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True"));

    let (api, _) = dyn_api(&server, &widget, "ns").await;
    let obj = dyn_obj(json!({"apiVersion": "example.io/v1", "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"size": 3}}));
    api.create(&PostParams::default(), &obj).await.unwrap();

    // Deleting the CRD stops serving the kind and removes its objects.
    crds.delete("widgets.example.io", &Default::default())
        .await
        .unwrap();
    let after = Discovery::new(server.client()).run().await.unwrap();
    assert!(after.resolve_gvk(&widget).is_none());
    assert!(server.list(&widget, None).is_empty());
}
