//! Server-side apply through `Api::patch(.., &PatchParams::apply(..), &Patch::Apply(..))`.

mod common;

use common::*;
use kube::api::{Patch, PatchParams};
use kubefake::{WriteOutcome, WriteVerb};
use serde_json::{json, Value};

fn schedule(spec: Value) -> Value {
    json!({"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
           "metadata": {"name": "schedule-acm", "namespace": "ns"}, "spec": spec})
}

fn managers(obj: &kube::api::DynamicObject) -> Vec<(String, String)> {
    obj.metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_creates_the_object_and_records_ownership() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    let obj = dyn_obj(schedule(
        json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}),
    ));
    let created = api
        .patch(
            "schedule-acm",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    assert_eq!(created.data["spec"]["veleroSchedule"], "0 */2 * * *");
    assert_eq!(
        managers(&created),
        vec![("hubdr".to_string(), "Apply".to_string())]
    );
    let fields = created.metadata.managed_fields.unwrap()[0]
        .fields_v1
        .clone()
        .unwrap()
        .0;
    assert!(
        fields["f:spec"].get("f:veleroSchedule").is_some(),
        "{fields}"
    );
    let w = &server.writes()[0];
    assert_eq!(
        (w.verb, &w.outcome, w.field_manager.as_deref()),
        (WriteVerb::Apply, &WriteOutcome::Created, Some("hubdr"))
    );
}

#[tokio::test]
async fn identical_apply_changes_nothing_and_is_not_a_mutation() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    let obj = dyn_obj(schedule(
        json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}),
    ));
    let pp = PatchParams::apply("hubdr");
    let first = api
        .patch("schedule-acm", &pp, &Patch::Apply(&obj))
        .await
        .unwrap();
    server.clear_writes();

    let second = api
        .patch("schedule-acm", &pp, &Patch::Apply(&obj))
        .await
        .unwrap();
    assert_eq!(
        second.metadata.resource_version,
        first.metadata.resource_version
    );
    assert_eq!(second.metadata.generation, Some(1));
    assert!(server.mutations().is_empty(), "{:?}", server.writes());
    assert_eq!(server.writes()[0].outcome, WriteOutcome::Unchanged);

    let changed = dyn_obj(schedule(
        json!({"veleroSchedule": "0 */4 * * *", "veleroTtl": "120h"}),
    ));
    let third = api
        .patch("schedule-acm", &pp, &Patch::Apply(&changed))
        .await
        .unwrap();
    assert_ne!(
        third.metadata.resource_version,
        first.metadata.resource_version
    );
    assert_eq!(third.metadata.generation, Some(2));
    assert_eq!(server.mutations().len(), 1);
}

#[tokio::test]
async fn two_managers_conflict_and_force_takes_ownership() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    api.patch(
        "schedule-acm",
        &PatchParams::apply("hubdr"),
        &Patch::Apply(&dyn_obj(schedule(
            json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}),
        ))),
    )
    .await
    .unwrap();

    let theirs = dyn_obj(schedule(json!({"veleroSchedule": "0 1 * * *"})));
    let err = api_status(
        api.patch(
            "schedule-acm",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&theirs),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains("conflict with \"hubdr\""),
        "{}",
        err.message
    );
    let causes = err.details.unwrap().causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, ".spec.veleroSchedule");
    assert_eq!(causes[0].reason, "FieldManagerConflict");

    // Same value: shared ownership, no conflict.
    api.patch(
        "schedule-acm",
        &PatchParams::apply("someone-else"),
        &Patch::Apply(&dyn_obj(schedule(json!({"veleroTtl": "120h"})))),
    )
    .await
    .unwrap();

    let forced = api
        .patch(
            "schedule-acm",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&theirs),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["veleroSchedule"], "0 1 * * *");
    // hubdr lost the field: its next apply conflicts the other way.
    let back = api
        .patch(
            "schedule-acm",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&dyn_obj(schedule(
                json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}),
            ))),
        )
        .await
        .unwrap_err();
    assert!(api_status(back).message.contains("someone-else"));
}

#[tokio::test]
async fn fields_dropped_from_the_applied_config_are_removed() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    let pp = PatchParams::apply("hubdr");
    let mut full = schedule(json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h",
                                   "useManagedServiceAccount": true}));
    full["metadata"]["labels"] = json!({"hubdr.io/owned": "true", "drop-me": "x"});
    api.patch("schedule-acm", &pp, &Patch::Apply(&dyn_obj(full)))
        .await
        .unwrap();

    let mut slim = schedule(json!({"veleroSchedule": "0 */2 * * *"}));
    slim["metadata"]["labels"] = json!({"hubdr.io/owned": "true"});
    let after = api
        .patch("schedule-acm", &pp, &Patch::Apply(&dyn_obj(slim)))
        .await
        .unwrap();
    assert!(
        after.data["spec"].get("veleroTtl").is_none(),
        "{}",
        after.data
    );
    assert!(after.data["spec"].get("useManagedServiceAccount").is_none());
    let labels = after.metadata.labels.unwrap();
    assert!(labels.contains_key("hubdr.io/owned") && !labels.contains_key("drop-me"));
}

#[tokio::test]
async fn multiclusterhub_override_components_merge_by_name_across_managers() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &mch_gvk(), "ns").await;
    let mch = |components: Value| {
        dyn_obj(
            json!({"apiVersion": "operator.open-cluster-management.io/v1", "kind": "MultiClusterHub",
            "metadata": {"name": "multiclusterhub", "namespace": "ns"},
            "spec": {"overrides": {"components": components}}}),
        )
    };
    api.patch(
        "multiclusterhub",
        &PatchParams::apply("hubdr"),
        &Patch::Apply(&mch(json!([{"name": "cluster-backup", "enabled": true}]))),
    )
    .await
    .unwrap();
    let both = api
        .patch(
            "multiclusterhub",
            &PatchParams::apply("console-admin"),
            &Patch::Apply(&mch(json!([{"name": "console", "enabled": false}]))),
        )
        .await
        .unwrap();
    let names: Vec<&str> = both.data["spec"]["overrides"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cluster-backup", "console"]);

    // Flipping another manager's entry conflicts on that entry only.
    let err = api_status(
        api.patch(
            "multiclusterhub",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&mch(json!([{"name": "cluster-backup", "enabled": true},
                                      {"name": "console", "enabled": true}]))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        err.details.unwrap().causes[0].field,
        ".spec.overrides.components[name=\"console\"].enabled"
    );

    // hubdr dropping its entry leaves console-admin's in place.
    let after = api
        .patch(
            "multiclusterhub",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&mch(json!([]))),
        )
        .await
        .unwrap();
    assert_eq!(
        after.data["spec"]["overrides"]["components"],
        json!([{"name": "console", "enabled": false}])
    );
}

#[tokio::test]
async fn dry_run_apply_returns_the_result_without_storing_it() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    let obj = dyn_obj(schedule(
        json!({"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}),
    ));
    let preview = api
        .patch(
            "schedule-acm",
            &PatchParams::apply("hubdr").dry_run(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    assert_eq!(preview.data["spec"]["veleroTtl"], "120h");
    assert!(server
        .get(&backup_schedule_gvk(), Some("ns"), "schedule-acm")
        .is_none());
    let w = server.writes();
    assert!(w[0].dry_run && w[0].outcome == WriteOutcome::Created);
    assert!(server.mutations().is_empty(), "dry runs are not mutations");
}

#[tokio::test]
async fn apply_rejects_undeclared_fields_and_wrong_types_like_the_engine() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &mch_gvk(), "ns").await;
    let mch = |spec: Value| {
        dyn_obj(
            json!({"apiVersion": "operator.open-cluster-management.io/v1", "kind": "MultiClusterHub",
            "metadata": {"name": "multiclusterhub", "namespace": "ns"}, "spec": spec}),
        )
    };
    // kube-apiserver's typed conversion fails (500), it does not prune an applied field.
    let err = api_status(
        api.patch(
            "multiclusterhub",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&mch(json!({"bogus": 1}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 500);
    assert!(
        err.message
            .contains(".spec.bogus: field not declared in schema"),
        "{}",
        err.message
    );

    let strict = PatchParams::apply("hubdr").validation_strict();
    let err = api_status(
        api.patch(
            "multiclusterhub",
            &strict,
            &Patch::Apply(&mch(json!({"bogus": 1}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    assert!(
        err.message
            .contains("strict decoding error: unknown field \"spec.bogus\""),
        "{}",
        err.message
    );

    let err = api_status(
        api.patch(
            "multiclusterhub",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&mch(json!({"disableHubSelfManagement": "yes"}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 500);
    assert!(
        err.message
            .contains(".spec.disableHubSelfManagement: expected boolean, got \"yes\""),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn missing_required_fields_are_invalid_with_one_cause_each() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &restore_gvk(), "ns").await;
    let restore = dyn_obj(
        json!({"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
        "metadata": {"name": "restore-acm", "namespace": "ns"},
        "spec": {"cleanupBeforeRestore": "None", "veleroCredentialsBackupName": "latest"}}),
    );
    let err = api_status(
        api.patch(
            "restore-acm",
            &PatchParams::apply("hubdr"),
            &Patch::Apply(&restore),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let fields: Vec<String> = err
        .details
        .unwrap()
        .causes
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(
        fields,
        vec![
            "spec.veleroManagedClustersBackupName",
            "spec.veleroResourcesBackupName"
        ]
    );
    assert!(server
        .get(&restore_gvk(), Some("ns"), "restore-acm")
        .is_none());
}
