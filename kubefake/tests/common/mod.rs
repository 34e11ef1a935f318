//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery};
use kubefake::FakeApiServer;
use serde_json::Value;

/// `shared/crds` beside the workspace.
pub fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds")
}

/// The text of one shared CRD file, e.g. `operator.open-cluster-management.io/multiclusterhubs.yaml`.
pub fn crd_file(rel: &str) -> String {
    std::fs::read_to_string(crds_dir().join(rel)).expect("shared CRD file")
}

pub fn gvk(group: &str, version: &str, kind: &str) -> GroupVersionKind {
    GroupVersionKind::gvk(group, version, kind)
}

pub fn mch_gvk() -> GroupVersionKind {
    gvk(
        "operator.open-cluster-management.io",
        "v1",
        "MultiClusterHub",
    )
}

pub fn backup_schedule_gvk() -> GroupVersionKind {
    gvk(
        "cluster.open-cluster-management.io",
        "v1beta1",
        "BackupSchedule",
    )
}

pub fn restore_gvk() -> GroupVersionKind {
    gvk("cluster.open-cluster-management.io", "v1beta1", "Restore")
}

/// A server with the MultiClusterHub, BackupSchedule and Restore CRDs and namespace `ns`.
pub async fn server_with_acm_crds() -> FakeApiServer {
    let server = FakeApiServer::start().await.expect("server starts");
    for f in [
        "operator.open-cluster-management.io/multiclusterhubs.yaml",
        "cluster.open-cluster-management.io/backupschedules.yaml",
        "cluster.open-cluster-management.io/restores.yaml",
    ] {
        server.register_crd(&crd_file(f)).expect("CRD registers");
    }
    server.ensure_namespace("ns");
    server
}

/// A dynamic namespaced API resolved through real discovery.
pub async fn dyn_api(
    server: &FakeApiServer,
    gvk: &GroupVersionKind,
    ns: &str,
) -> (Api<DynamicObject>, ApiResource) {
    let client = server.client();
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (ar, _caps) = discovery.resolve_gvk(gvk).expect("kind is discoverable");
    (Api::namespaced_with(client, ns, &ar), ar)
}

/// A `DynamicObject` from JSON.
pub fn dyn_obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("valid object")
}

/// The `Status` inside a kube API error.
pub fn api_status(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}
