//! Watches: replay from a resourceVersion, then live events, filtered by selectors.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use kubefake::FakeApiServer;
use serde_json::json;

fn cm(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": app}}}))
    .unwrap()
}

#[tokio::test]
async fn watch_replays_from_a_resource_version_and_follows_live_changes() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let first = api
        .create(&PostParams::default(), &cm("a", "x"))
        .await
        .unwrap();
    let since = first.metadata.resource_version.unwrap();
    api.create(&PostParams::default(), &cm("b", "x"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("other", "y"))
        .await
        .unwrap();

    let wp = WatchParams::default().labels("app=x").timeout(5);
    let mut stream = api.watch(&wp, &since).await.unwrap().boxed();
    match next(&mut stream).await {
        WatchEvent::Added(c) => assert_eq!(c.metadata.name.as_deref(), Some("b")),
        other => panic!("expected ADDED b, got {other:?}"),
    }
    api.delete("a", &DeleteParams::default()).await.unwrap();
    match next(&mut stream).await {
        WatchEvent::Deleted(c) => assert_eq!(c.metadata.name.as_deref(), Some("a")),
        other => panic!("expected DELETED a, got {other:?}"),
    }
}

async fn next(
    s: &mut BoxStream<'static, kube::Result<WatchEvent<ConfigMap>>>,
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(3), s.try_next())
        .await
        .expect("event in time")
        .expect("no stream error")
        .expect("stream still open")
}
