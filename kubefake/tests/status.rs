//! The status subresource, fixture status writes and a fake operator on the change stream.

mod common;

use std::time::Duration;

use common::*;
use kube::api::{Patch, PatchParams, PostParams};
use kubefake::{ChangeKind, FIXTURE_MANAGER};
use serde_json::{json, Value};

fn restore(name: &str) -> Value {
    json!({"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"cleanupBeforeRestore": "CleanupRestored", "veleroCredentialsBackupName": "latest",
                 "veleroManagedClustersBackupName": "skip", "veleroResourcesBackupName": "latest"},
        "status": {"phase": "Finished"}})
}

#[tokio::test]
async fn main_resource_writes_ignore_status_and_status_writes_touch_only_status() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &restore_gvk(), "ns").await;

    let created = api
        .create(&PostParams::default(), &dyn_obj(restore("r1")))
        .await
        .unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status dropped on create"
    );
    let applied = api
        .patch(
            "r1",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&dyn_obj(restore("r1"))),
        )
        .await
        .unwrap();
    assert!(
        applied.data.get("status").is_none(),
        "status ignored by apply to the main resource"
    );

    let mut status_body = restore("r1");
    status_body["spec"]["veleroManagedClustersBackupName"] = json!("latest");
    status_body["status"] = json!({"phase": "Started"});
    let after = api
        .patch_status(
            "r1",
            &PatchParams::apply("operator"),
            &Patch::Apply(&dyn_obj(status_body)),
        )
        .await
        .unwrap();
    assert_eq!(after.data["status"]["phase"], "Started");
    assert_eq!(
        after.data["spec"]["veleroManagedClustersBackupName"], "skip",
        "spec untouched via /status"
    );
    assert_eq!(
        after.metadata.generation, applied.metadata.generation,
        "status changes keep generation"
    );
    let status_entry = after
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some("operator"))
        .unwrap();
    assert_eq!(status_entry.subresource.as_deref(), Some("status"));

    let merged = api
        .patch_status(
            "r1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Finished"}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data["status"]["phase"], "Finished");
    let fetched = api.get_status("r1").await.unwrap();
    assert_eq!(fetched.data["status"]["phase"], "Finished");

    // A merge patch to the main resource cannot change status either.
    let main = api
        .patch(
            "r1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Nope"}})),
        )
        .await
        .unwrap();
    assert_eq!(main.data["status"]["phase"], "Finished");
}

#[tokio::test]
async fn status_endpoints_do_not_exist_for_kinds_without_the_subresource() {
    let server = kubefake::FakeApiServer::start().await.unwrap();
    server.ensure_namespace("ns");
    let (api, _) = dyn_api(&server, &gvk("", "v1", "ConfigMap"), "ns").await;
    let cm = dyn_obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
    api.create(&PostParams::default(), &cm).await.unwrap();
    let err = api_status(api.get_status("c").await.unwrap_err());
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn set_status_and_put_object_serve_as_fixtures() {
    let server = server_with_acm_crds().await;
    let stored = server.put_object(restore("r1")).unwrap();
    assert_eq!(stored["status"]["phase"], "Finished");
    let rv_before = stored["metadata"]["resourceVersion"].clone();

    let updated = server
        .set_status(
            &restore_gvk(),
            Some("ns"),
            "r1",
            json!({"phase": "Enabled"}),
        )
        .unwrap();
    assert_eq!(updated["status"]["phase"], "Enabled");
    assert_ne!(updated["metadata"]["resourceVersion"], rv_before);
    assert_eq!(
        updated["metadata"]["managedFields"][1]["manager"],
        FIXTURE_MANAGER
    );
    assert!(
        server.writes().is_empty(),
        "fixtures are not API write calls"
    );

    let (api, _) = dyn_api(&server, &restore_gvk(), "ns").await;
    assert_eq!(
        api.get("r1").await.unwrap().data["status"]["phase"],
        "Enabled"
    );
}

#[tokio::test]
async fn a_fake_operator_moves_restore_phases_from_the_change_stream() {
    let server = server_with_acm_crds().await;
    let operator = server.on_change(|handle, ev| {
        if ev.object_kind == "Restore" && ev.kind == ChangeKind::Added {
            let gvk = restore_gvk();
            handle
                .set_status(
                    &gvk,
                    ev.namespace.as_deref(),
                    &ev.name,
                    json!({"phase": "Finished"}),
                )
                .unwrap();
        }
    });
    let (api, _) = dyn_api(&server, &restore_gvk(), "ns").await;
    api.patch(
        "restore-acm-g4",
        &PatchParams::apply("hubdr"),
        &Patch::Apply(&dyn_obj(restore("restore-acm-g4"))),
    )
    .await
    .unwrap();

    let finished = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let r = api.get("restore-acm-g4").await.unwrap();
            if r.data["status"]["phase"] == "Finished" {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("operator finished the restore");
    assert_eq!(finished.data["spec"]["veleroResourcesBackupName"], "latest");
    operator.abort();
}
