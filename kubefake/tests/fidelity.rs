//! What kube-apiserver does around the apply engine, which the differential oracle does not
//! model (issue 18, points 3 and 7, PVC immutability): CRD value validation and CEL rules
//! (422 Invalid with the real field paths and messages), namespace termination (403 for new
//! content), and the immutable spec of a PersistentVolumeClaim.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kubefake::FakeApiServer;
use serde_json::{json, Value};

const SOURCES: &str = "volsync.backube/replicationsources.yaml";

fn source(spec: Value) -> DynamicObject {
    dyn_obj(
        json!({"apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "db"}, "spec": spec}),
    )
}

fn causes(s: &kube::core::Status) -> Vec<(String, String, String)> {
    s.details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.reason.clone(), c.field.clone(), c.message.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// kube-apiserver checks `pattern`, `minimum`/`maximum` and `minItems` of the ReplicationSource
/// CRD and answers 422 with one cause per violation (`spec.rsyncTLS.capacity: Invalid value:
/// "ten gigs": spec.rsyncTLS.capacity in body should match '…'`).
#[tokio::test]
async fn crd_value_validation_answers_422_with_the_servers_causes() {
    let server = FakeApiServer::start().await.unwrap();
    server.register_crd(&crd_file(SOURCES)).unwrap();
    server.ensure_namespace("ns");
    let gvk = gvk("volsync.backube", "v1alpha1", "ReplicationSource");
    let (api, _) = dyn_api(&server, &gvk, "ns").await;
    let pp = PatchParams::apply("hubdr-agent");

    let bad = source(json!({"sourcePVC": "data", "rsyncTLS": {
        "capacity": "ten gigs", "port": 70000, "accessModes": []}}));
    let err = api_status(api.patch("db", &pp, &Patch::Apply(&bad)).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let c = causes(&err);
    let pattern = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";
    assert!(
        c.contains(&(
            "FieldValueInvalid".into(),
            "spec.rsyncTLS.capacity".into(),
            format!("Invalid value: \"ten gigs\": spec.rsyncTLS.capacity in body should match '{pattern}'")
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&(
            "FieldValueInvalid".into(),
            "spec.rsyncTLS.port".into(),
            "Invalid value: 70000: spec.rsyncTLS.port in body should be less than or equal to 65535"
                .into()
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&(
            "FieldValueInvalid".into(),
            "spec.rsyncTLS.accessModes".into(),
            "Invalid value: []: spec.rsyncTLS.accessModes in body should have at least 1 items"
                .into()
        )),
        "{c:?}"
    );
    assert!(
        err.message
            .starts_with("ReplicationSource.volsync.backube \"db\" is invalid: ["),
        "{}",
        err.message
    );
    assert!(
        server.get(&gvk, Some("ns"), "db").is_none(),
        "nothing stored"
    );

    let good = source(json!({"sourcePVC": "data", "rsyncTLS": {
        "capacity": "10Gi", "port": 8000, "accessModes": ["ReadWriteOnce"]}}));
    api.patch("db", &pp, &Patch::Apply(&good)).await.unwrap();
}

const WIDGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.io}
spec:
  group: example.io
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.mode == 'A' ? has(self.size) : true"
              message: size is required in mode A
            properties:
              mode: {type: string, default: B}
              size: {type: integer, minimum: 1}
              clusterID:
                type: string
                format: uuid
                x-kubernetes-validations:
                - {rule: self == oldSelf, message: clusterID is immutable}
              endpoint:
                type: string
                x-kubernetes-validations:
                - {rule: isURL(self), message: endpoint must be a URL}
              hosts:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
"#;

fn widget(spec: Value) -> DynamicObject {
    dyn_obj(json!({"apiVersion": "example.io/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": spec}))
}

/// CEL rules run like on the real server: a failed rule is a 422 cause with the rule's
/// message, `self == oldSelf` only on updates; a rule kubefake cannot evaluate is reported
/// (a warning and `unevaluated_rules`), never taken as passing. Nulls of non-nullable fields
/// are dropped and defaulted; a duplicate set item on an update is `Duplicate value`.
#[tokio::test]
async fn cel_rules_transition_rules_nulls_and_duplicates() {
    let server = FakeApiServer::start().await.unwrap();
    server.register_crd(WIDGETS).unwrap();
    server.ensure_namespace("ns");
    let gvk = gvk("example.io", "v1", "Widget");
    let (api, _) = dyn_api(&server, &gvk, "ns").await;
    let pp = PatchParams::apply("hubdr-agent");
    let id = "123e4567-e89b-12d3-a456-426614174000";

    let err = api_status(
        api.patch("w", &pp, &Patch::Apply(&widget(json!({"mode": "A"}))))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        causes(&err),
        vec![(
            "FieldValueInvalid".into(),
            "spec".into(),
            "Invalid value: \"object\": size is required in mode A".into()
        )]
    );

    let created = api
        .patch(
            "w",
            &pp,
            &Patch::Apply(&widget(json!({"clusterID": id, "mode": null}))),
        )
        .await
        .unwrap();
    assert_eq!(
        created.data["spec"]["mode"], "B",
        "null dropped, then defaulted"
    );

    let changed = widget(json!({"clusterID": "00000000-0000-0000-0000-000000000000"}));
    let err = api_status(
        api.patch("w", &pp, &Patch::Apply(&changed))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        causes(&err),
        vec![(
            "FieldValueInvalid".into(),
            "spec.clusterID".into(),
            "Invalid value: \"string\": clusterID is immutable".into()
        )]
    );
    let err = api_status(
        api.patch(
            "w",
            &pp,
            &Patch::Apply(&widget(json!({"clusterID": "nope"}))),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        causes(&err).iter().any(|c| c.2
            == "Invalid value: \"nope\": spec.clusterID in body must be of type uuid: \"nope\""),
        "{err:?}"
    );

    assert!(server.unevaluated_rules().is_empty());
    api.patch(
        "w",
        &pp,
        &Patch::Apply(&widget(json!({"clusterID": id, "endpoint": "https://x"}))),
    )
    .await
    .unwrap();
    let unevaluated = server.unevaluated_rules();
    assert_eq!(unevaluated.len(), 1, "{unevaluated:?}");
    assert!(
        unevaluated[0].contains("spec.endpoint: isURL(self)"),
        "{unevaluated:?}"
    );

    let merge = json!({"spec": {"hosts": ["a", "a"]}});
    let err = api_status(
        api.patch("w", &PatchParams::default(), &Patch::Merge(&merge))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        causes(&err),
        vec![(
            "FieldValueDuplicate".into(),
            "spec.hosts[1]".into(),
            "Duplicate value: \"a\"".into()
        )]
    );
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"k": "v"}}))
    .unwrap()
}

/// Deleting a Namespace: it goes Terminating (deletionTimestamp, `status.phase`), its
/// content is deleted, new content is refused with 403 like the NamespaceLifecycle
/// admission plugin, and it disappears once empty and finalized.
#[tokio::test]
async fn a_deleted_namespace_terminates_refuses_new_content_then_goes() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("apps");
    server.set_namespace_finalize_delay(Duration::from_millis(300));
    let namespaces: Api<Namespace> = Api::all(server.client());
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "apps");
    cms.create(&PostParams::default(), &cm("old"))
        .await
        .unwrap();
    let mut held = cm("held");
    held.metadata.finalizers = Some(vec!["example.io/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();

    namespaces
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap();
    let ns = namespaces.get("apps").await.unwrap();
    assert!(ns.metadata.deletion_timestamp.is_some());
    assert_eq!(
        ns.status.unwrap().phase.as_deref(),
        Some("Terminating"),
        "a deleted namespace is Terminating, not gone"
    );
    assert!(
        cms.get("old").await.is_err(),
        "content without finalizers is deleted"
    );
    assert!(cms
        .get("held")
        .await
        .unwrap()
        .metadata
        .deletion_timestamp
        .is_some());

    let err = api_status(
        cms.create(&PostParams::default(), &cm("new"))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        err.message,
        "configmaps \"new\" is forbidden: unable to create new content in namespace apps because it is being terminated"
    );
    let apply = cms
        .patch(
            "new",
            &PatchParams::apply("hubdr-agent"),
            &Patch::Apply(&cm("new")),
        )
        .await
        .unwrap_err();
    assert_eq!(api_status(apply).code, 403, "apply creating an object too");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        namespaces.get("apps").await.is_ok(),
        "still Terminating: an object with a finalizer is left"
    );
    let clear = json!({"metadata": {"finalizers": null}});
    cms.patch("held", &PatchParams::default(), &Patch::Merge(&clear))
        .await
        .unwrap();
    assert!(
        api_status(namespaces.get("apps").await.unwrap_err()).is_not_found(),
        "empty and finalized: gone"
    );
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "apps"}})).unwrap(),
        )
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("new"))
        .await
        .unwrap();
}

fn claim(size: &str, class: &str) -> PersistentVolumeClaim {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                 "resources": {"requests": {"storage": size}}}}))
    .unwrap()
}

/// A PersistentVolumeClaim's spec is immutable after creation except a bound claim's
/// storage request (growing only) and volumeAttributesClassName: 422 with the real message.
#[tokio::test]
async fn a_claims_spec_is_immutable_except_a_bound_claims_size() {
    let server = FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let api: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "ns");
    let pp = PatchParams::apply("hubdr-agent");
    api.patch("data", &pp, &Patch::Apply(&claim("10Gi", "fast")))
        .await
        .unwrap();
    let err = api_status(
        api.patch("data", &pp, &Patch::Apply(&claim("10Gi", "slow")))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.starts_with(
            "PersistentVolumeClaim \"data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
        ),
        "{}",
        err.message
    );
    let pvc_gvk = gvk("", "v1", "PersistentVolumeClaim");
    server
        .set_status(
            &pvc_gvk,
            Some("ns"),
            "data",
            json!({"phase": "Bound", "capacity": {"storage": "10Gi"}}),
        )
        .unwrap();
    api.patch("data", &pp, &Patch::Apply(&claim("20Gi", "fast")))
        .await
        .expect("a bound claim grows");
    let err = api_status(
        api.patch("data", &pp, &Patch::Apply(&claim("5Gi", "fast")))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        causes(&err)[0].1,
        "spec.resources.requests.storage",
        "{err:?}"
    );
}
