//! Failures only a faithful API server shows (issue 18): a value the CRD's OpenAPI schema
//! refuses (pattern), an immutable field changed after creation, and a namespace that is
//! being deleted (Terminating). Each ends in one clear entry naming the object and the
//! reason, after a single call: nothing is retried.

mod support;

use std::time::Duration;

use hubdr_agent::changeset::Action;
use kube::core::GroupVersionKind;
use serde_json::{json, Value};
use support::*;

fn find<'a>(objects: &'a mut [Value], kind: &str, ns: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| {
            o["kind"] == kind && o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name
        })
        .unwrap_or_else(|| panic!("west-1 renders {kind} {ns}/{name}"))
}

async fn west() -> (kubefake::FakeApiServer, Vec<Value>) {
    let rendered = render(EXAMPLE_SITE);
    let server = fake().await;
    let objects = cluster_objects(&rendered, "west-1");
    ensure_prerequisite_namespaces(&server, &objects);
    (server, objects)
}

#[tokio::test]
async fn a_pattern_violation_is_reported_with_the_field_and_not_retried() {
    let (server, mut objects) = west().await;
    let rd = find(&mut objects, "ReplicationDestination", "shop", "orders-db");
    rd["spec"]["rsyncTLS"]["capacity"] = json!("20 gigs");
    let mut api = cluster_api(&server);
    let report = run_pass(&mut api, &pass_config("west-1"), &objects).await;
    let message = match action(&report.changes, "ReplicationDestination shop/orders-db") {
        Action::Failed(m) => m.clone(),
        other => panic!("expected a failure, got {other:?}"),
    };
    assert!(
        message.contains("rejected by the API server")
            && message.contains("spec.rsyncTLS.capacity: Invalid value: \"20 gigs\"")
            && message.contains("should match"),
        "{message}"
    );
    assert_eq!(
        writes_to(&server, "replicationdestinations", "orders-db").len(),
        1,
        "one call, no retries: {message}"
    );
}

#[tokio::test]
async fn an_immutable_field_change_says_to_recreate_the_object() {
    let (server, mut objects) = west().await;
    let mut api = cluster_api(&server);
    let first = run_pass(&mut api, &pass_config("west-1"), &objects).await;
    assert!(
        matches!(
            action(
                &first.changes,
                "PersistentVolumeClaim shop/orders-db-replica"
            ),
            Action::Created
        ),
        "{}",
        describe(&first.changes)
    );
    find(
        &mut objects,
        "PersistentVolumeClaim",
        "shop",
        "orders-db-replica",
    )["spec"]["storageClassName"] = json!("io2-csi");
    server.clear_writes();
    let second = run_pass(&mut api, &pass_config("west-1"), &objects).await;
    let message = match action(
        &second.changes,
        "PersistentVolumeClaim shop/orders-db-replica",
    ) {
        Action::Failed(m) => m.clone(),
        other => panic!("expected a failure, got {other:?}"),
    };
    assert!(
        message.contains("refuses to change an immutable field")
            && message.contains("spec is immutable after creation")
            && message.contains("storageClassName"),
        "{message}"
    );
    assert_eq!(
        writes_to(&server, "persistentvolumeclaims", "orders-db-replica").len(),
        1,
        "{message}"
    );
}

#[tokio::test]
async fn objects_in_a_terminating_namespace_wait_without_a_retry_storm() {
    let (server, objects) = west().await;
    let mut api = cluster_api(&server);
    run_pass(&mut api, &pass_config("west-1"), &objects).await;
    // Someone deletes the namespace; an object with a finalizer keeps it Terminating.
    server
        .put_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "namespace": "media", "finalizers": ["example.io/hold"]}}))
        .unwrap();
    server.set_namespace_finalize_delay(Duration::from_secs(60));
    server
        .delete_object(&GroupVersionKind::gvk("", "v1", "Namespace"), None, "media")
        .unwrap();
    server.clear_writes();

    let report = run_pass(&mut api, &pass_config("west-1"), &objects).await;
    let message = match action(&report.changes, "ReplicationDestination media/media-fanout") {
        Action::Waiting(m) => m.clone(),
        other => panic!(
            "expected to wait for the namespace, got {other:?}\n{}",
            describe(&report.changes)
        ),
    };
    assert!(
        message.contains("namespace is being deleted (Terminating)")
            && message.contains("unable to create new content in namespace media"),
        "{message}"
    );
    assert_eq!(
        writes_to(&server, "replicationdestinations", "media-fanout").len(),
        1,
        "one refused call, no retries: {message}"
    );
    assert!(
        matches!(
            action(
                &report.changes,
                "ReplicationDestination catalog/catalog-files"
            ),
            Action::Unchanged
        ),
        "other namespaces carry on:\n{}",
        describe(&report.changes)
    );
}
