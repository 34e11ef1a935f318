//! Create, get, list, replace, patch and delete through a real `kube::Client`.

mod common;

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kubefake::{FakeApiServer, WriteOutcome, WriteVerb};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}))
    .unwrap()
}

#[tokio::test]
async fn create_get_list_delete_with_not_found_and_already_exists() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");

    let created = api
        .create(&PostParams::default(), &cm("a", json!({"app": "x"})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, Some(1));
    let rv: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    let dup = api_status(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert!(dup.is_already_exists());

    let got = api.get("a").await.unwrap();
    assert_eq!(got.data.unwrap()["k"], "v");

    api.create(&PostParams::default(), &cm("b", json!({"app": "y"})))
        .await
        .unwrap();
    let second = api.get("b").await.unwrap();
    let rv_b: u64 = second.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv_b > rv, "resourceVersion is a growing global counter");
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        2
    );

    api.delete("a", &DeleteParams::default()).await.unwrap();
    let gone = api_status(api.get("a").await.unwrap_err());
    assert!(gone.is_not_found());
    assert_eq!(gone.message, "configmaps \"a\" not found");
    let again = api_status(api.delete("a", &DeleteParams::default()).await.unwrap_err());
    assert_eq!(again.code, 404);

    let verbs: Vec<(WriteVerb, WriteOutcome)> = server
        .writes()
        .into_iter()
        .map(|w| (w.verb, w.outcome))
        .collect();
    assert_eq!(verbs[0], (WriteVerb::Create, WriteOutcome::Created));
    assert!(matches!(
        verbs[1],
        (WriteVerb::Create, WriteOutcome::Failed { code: 409, .. })
    ));
    assert_eq!(verbs[3], (WriteVerb::Delete, WriteOutcome::Deleted));
    assert_eq!(server.mutations().len(), 3);
}

#[tokio::test]
async fn label_selectors_filter_lists() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    for (n, labels) in [
        ("a", json!({"app": "x", "tier": "db"})),
        ("b", json!({"app": "y"})),
        ("c", json!({})),
    ] {
        api.create(&PostParams::default(), &cm(n, labels))
            .await
            .unwrap();
    }
    let names = |sel: &'static str| {
        let api = api.clone();
        async move {
            let list = api.list(&ListParams::default().labels(sel)).await.unwrap();
            list.items
                .into_iter()
                .map(|c| c.metadata.name.unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("app=x").await, vec!["a"]);
    assert_eq!(names("app!=x").await, vec!["b", "c"]);
    assert_eq!(names("app in (x,y)").await, vec!["a", "b"]);
    assert_eq!(names("tier").await, vec!["a"]);
    assert_eq!(names("!app").await, vec!["c"]);
    let all: Api<ConfigMap> = Api::all(server.client());
    assert_eq!(
        all.list(&ListParams::default().labels("app"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
}

#[tokio::test]
async fn missing_namespace_is_404_unless_relaxed() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "nowhere");
    let err = api_status(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"nowhere\" not found");
    server.set_require_namespaces(false);
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
}

#[tokio::test]
async fn replace_with_a_stale_resource_version_conflicts() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let first = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();

    let mut edit = first.clone();
    edit.data = Some([("k".to_string(), "v2".to_string())].into());
    let updated = api
        .replace("a", &PostParams::default(), &edit)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        first.metadata.resource_version
    );

    let err = api_status(
        api.replace("a", &PostParams::default(), &edit)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(err.message.contains("the object has been modified"));
}

#[tokio::test]
async fn merge_and_json_patches_apply_and_track_the_manager() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();

    let pp = PatchParams {
        field_manager: Some("editor".into()),
        ..Default::default()
    };
    let merged = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"data": {"extra": "1", "k": null}})),
        )
        .await
        .unwrap();
    let data = merged.data.unwrap();
    assert_eq!(data.get("extra").map(String::as_str), Some("1"));
    assert!(
        !data.contains_key("k"),
        "null removes a key in a merge patch"
    );
    let managers: Vec<String> = merged
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"editor".to_string()), "{managers:?}");

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/labels", "value": {"l": "1"}},
        {"op": "replace", "path": "/data/extra", "value": "2"}
    ]))
    .unwrap();
    let patched = api
        .patch("a", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["extra"], "2");
    assert_eq!(patched.metadata.labels.unwrap()["l"], "1");

    let missing = api_status(
        api.patch("nope", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(missing.code, 404);
}

#[tokio::test]
async fn objects_with_finalizers_are_only_marked_until_the_finalizer_goes() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let mut obj = cm("a", json!({}));
    obj.metadata.finalizers = Some(vec!["example.io/hold".into()]);
    api.create(&PostParams::default(), &obj).await.unwrap();

    api.delete("a", &DeleteParams::default()).await.unwrap();
    let marked = api.get("a").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());

    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(
        api.get("a").await.is_err(),
        "deleted once the last finalizer is removed"
    );
}
