//! Injected errors and delays, seen through a real `kube::Client`.

mod common;

use std::time::Duration;

use common::*;
use kube::api::{Patch, PatchParams};
use kube::Client;
use kubefake::{Fault, Verb, WriteOutcome};
use serde_json::json;

fn schedule() -> kube::api::DynamicObject {
    dyn_obj(
        json!({"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
        "metadata": {"name": "schedule-acm", "namespace": "ns"},
        "spec": {"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"}}),
    )
}

#[tokio::test]
async fn an_injected_500_fails_once_then_the_call_succeeds() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    server.inject(
        Fault::error(500, "etcdserver: request timed out")
            .verb(Verb::Apply)
            .resource("backupschedules")
            .times(1),
    );
    let pp = PatchParams::apply("hubdr");
    let err = api_status(
        api.patch("schedule-acm", &pp, &Patch::Apply(&schedule()))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (500, "InternalError"));
    assert_eq!(err.message, "etcdserver: request timed out");
    assert!(server
        .get(&backup_schedule_gvk(), Some("ns"), "schedule-acm")
        .is_none());

    api.patch("schedule-acm", &pp, &Patch::Apply(&schedule()))
        .await
        .unwrap();
    let outcomes: Vec<WriteOutcome> = server.writes().into_iter().map(|w| w.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            WriteOutcome::Failed {
                code: 500,
                reason: "InternalError".into()
            },
            WriteOutcome::Created
        ]
    );
}

#[tokio::test]
async fn kube_retries_a_503_transparently_and_the_log_shows_every_attempt() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    server.inject(
        Fault::error(503, "apiserver is shutting down")
            .verb(Verb::Patch)
            .times(2),
    );
    api.patch(
        "schedule-acm",
        &PatchParams::apply("hubdr"),
        &Patch::Apply(&schedule()),
    )
    .await
    .unwrap();
    let writes = server.writes();
    assert_eq!(
        writes.len(),
        3,
        "two refused attempts and the successful retry"
    );
    assert!(matches!(
        writes[0].outcome,
        WriteOutcome::Failed { code: 503, .. }
    ));
    assert_eq!(writes[2].outcome, WriteOutcome::Created);
    assert_eq!(server.mutations().len(), 1);
}

#[tokio::test]
async fn without_client_retries_a_503_surfaces_as_service_unavailable() {
    let server = server_with_acm_crds().await;
    let mut config = server.config();
    config.default_retry = false;
    let client = Client::try_from(config).unwrap();
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let (ar, _) = discovery.resolve_gvk(&backup_schedule_gvk()).unwrap();
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(client, "ns", &ar);

    server.inject(Fault::error(503, "overloaded").name("schedule-*").always());
    let err = api_status(api.get("schedule-acm").await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (503, "ServiceUnavailable"));
    let again = api_status(api.get("schedule-acm").await.unwrap_err());
    assert_eq!(again.code, 503, "always keeps firing");
    server.clear_faults();
    assert!(api_status(api.get("schedule-acm").await.unwrap_err()).is_not_found());
}

#[tokio::test]
async fn faults_match_only_their_verb_resource_and_name() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    server.inject(
        Fault::error(409, "held")
            .verb(Verb::Delete)
            .resource("BackupSchedule")
            .name("schedule-*"),
    );
    server.inject(Fault::error(422, "nope").resource("restores"));
    api.patch(
        "schedule-acm",
        &PatchParams::apply("hubdr"),
        &Patch::Apply(&schedule()),
    )
    .await
    .unwrap();
    let err = api_status(
        api.delete("schedule-acm", &Default::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(server
        .get(&backup_schedule_gvk(), Some("ns"), "schedule-acm")
        .is_some());
}

#[tokio::test]
async fn an_injected_delay_trips_a_client_timeout() {
    let server = server_with_acm_crds().await;
    let (api, _) = dyn_api(&server, &backup_schedule_gvk(), "ns").await;
    server.inject(
        Fault::delay(Duration::from_secs(2))
            .verb(Verb::Get)
            .times(1),
    );
    let slow = tokio::time::timeout(Duration::from_millis(200), api.get_opt("schedule-acm")).await;
    assert!(slow.is_err(), "the delayed call did not finish in time");
    let fast = tokio::time::timeout(Duration::from_secs(2), api.get_opt("schedule-acm")).await;
    assert!(fast.expect("no delay left").unwrap().is_none());
}

#[tokio::test]
async fn discovery_faults_fail_discovery() {
    let server = server_with_acm_crds().await;
    let mut config = server.config();
    config.default_retry = false;
    let client = Client::try_from(config).unwrap();
    server.inject(
        Fault::error(503, "discovery down")
            .verb(Verb::Discovery)
            .times(1),
    );
    assert!(kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .is_err());
    assert!(kube::discovery::Discovery::new(client).run().await.is_ok());
}
