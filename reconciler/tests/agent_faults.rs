//! What a pass does when the API server or the agent's configuration says no: a foreign
//! field manager, a kind that is not served, transient 5xx, 422 validation errors, and kinds
//! outside the allowlist. One object's trouble never stops the others.

mod support;

use hubdr_agent::changeset::Action;
use hubdr_agent::config::{default_allowed, Allowlist};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kubefake::{FakeApiServer, Fault, Verb, WriteOutcome, WriteVerb};
use serde_json::{json, Value};
use support::*;

const CATALOG: &str = "ReplicationSource catalog/catalog-files";
const MEDIA: &str = "ReplicationSource media/media-fanout";
const ORDERS: &str = "ReplicationSource shop/orders-db";
const RS: &str = "volsync.backube/v1alpha1";

async fn east_1() -> (FakeApiServer, Vec<Value>) {
    let server = fake().await;
    let objects = cluster_objects(&render(EXAMPLE_SITE), "east-1");
    ensure_prerequisite_namespaces(&server, &objects);
    (server, objects)
}

/// An error `code` with `message` on every server-side apply of ReplicationSource `name`.
fn applying_source(code: u16, message: &str, name: &str) -> Fault {
    Fault::error(code, message)
        .verb(Verb::Apply)
        .resource("replicationsources")
        .name(name)
}

/// One pass of east-1's agent over a fresh cluster with `fault` injected: the cluster, the
/// objects applied and the pass.
async fn east_1_pass_with(
    fault: Fault,
) -> (
    FakeApiServer,
    Vec<Value>,
    hubdr_agent::reconcile::PassReport,
) {
    let (server, objects) = east_1().await;
    server.inject(fault);
    let report = run_pass(&mut cluster_api(&server), &pass_config("east-1"), &objects).await;
    (server, objects, report)
}

fn failed_message<'a>(report: &'a hubdr_agent::reconcile::PassReport, object: &str) -> &'a str {
    match action(&report.changes, object) {
        Action::Failed(message) => message,
        other => panic!(
            "{object} should have failed, got {other:?}:\n{}",
            describe(&report.changes)
        ),
    }
}

/// Only `object` failed in the pass, with a message holding every one of `needles`; every other
/// object of `objects` was created.
fn assert_only_failure(
    report: &hubdr_agent::reconcile::PassReport,
    objects: &[Value],
    object: &str,
    needles: &[&str],
) {
    let message = failed_message(report, object);
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    assert_eq!(
        report.changes.count("created"),
        objects.len() - 1,
        "{}",
        describe(&report.changes)
    );
}

fn schedule_of(server: &FakeApiServer, ns: &str, name: &str) -> String {
    let live = server
        .get(&gvk_of(RS, "ReplicationSource"), Some(ns), name)
        .unwrap();
    live["spec"]["trigger"]["schedule"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_field_owned_by_another_manager_fails_that_object_until_forced() {
    let (server, objects) = east_1().await;
    let config = pass_config("east-1");
    run_pass(&mut cluster_api(&server), &config, &objects).await;
    // Someone edits the schedule by hand (an update, as `kubectl edit` does).
    let resource =
        ApiResource::from_gvk_with_plural(&gvk_of(RS, "ReplicationSource"), "replicationsources");
    let api: Api<DynamicObject> = Api::namespaced_with(server.client(), "catalog", &resource);
    let edit_params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    api.patch(
        "catalog-files",
        &edit_params,
        &Patch::Merge(json!({"spec": {"trigger": {"schedule": "15 * * * *"}}})),
    )
    .await
    .unwrap();
    // And the repository changes another object in the same pass.
    let site = edit(
        EXAMPLE_SITE,
        "destPath: acm-media/fanout",
        "destPath: acm-media/fanout-v2",
    );
    let objects = cluster_objects(&render(&site), "east-1");
    server.clear_writes();

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    let message = failed_message(&report, CATALOG);
    assert!(
        message.contains("conflict") && message.contains("kubectl-edit"),
        "{message}"
    );
    assert!(
        message.contains("--force-conflicts"),
        "the message names the fix: {message}"
    );
    assert_eq!(
        action(&report.changes, MEDIA),
        &Action::Configured,
        "the others are still applied"
    );
    assert_eq!(action(&report.changes, ORDERS), &Action::Unchanged);
    assert_eq!(
        schedule_of(&server, "catalog", "catalog-files"),
        "15 * * * *",
        "the other writer's value stays"
    );
    let media = server
        .get(
            &gvk_of(RS, "ReplicationSource"),
            Some("media"),
            "media-fanout",
        )
        .unwrap();
    assert_eq!(
        media["spec"]["rclone"]["rcloneDestPath"],
        "acm-media/fanout-v2"
    );
    assert_eq!(
        writes_to(&server, "replicationsources", "catalog-files").len(),
        1,
        "a conflict is not retried"
    );

    let mut forced = config.clone();
    forced.apply.force_conflicts = true;
    server.clear_writes();
    let report = run_pass(&mut cluster_api(&server), &forced, &objects).await;
    assert_eq!(action(&report.changes, CATALOG), &Action::Configured);
    assert_eq!(report.changes.failed(), 0, "{}", describe(&report.changes));
    assert_eq!(
        schedule_of(&server, "catalog", "catalog-files"),
        "0 * * * *"
    );
    let writes = writes_to(&server, "replicationsources", "catalog-files");
    assert!(
        writes
            .iter()
            .all(|w| w.force && w.field_manager.as_deref() == Some("hubdr")),
        "{writes:#?}"
    );
    let live = server
        .get(
            &gvk_of(RS, "ReplicationSource"),
            Some("catalog"),
            "catalog-files",
        )
        .unwrap();
    let hubdr = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "hubdr")
        .unwrap();
    assert!(
        hubdr
            .pointer("/fieldsV1/f:spec/f:trigger/f:schedule")
            .is_some(),
        "hubdr owns the schedule again: {hubdr}"
    );

    // Back to the default: no conflict left, nothing to write.
    server.clear_writes();
    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;
    assert_eq!(
        report.changes.count("unchanged"),
        objects.len(),
        "{}",
        describe(&report.changes)
    );
    assert!(server.mutations().is_empty());
}

#[tokio::test]
async fn objects_of_a_kind_that_is_not_served_wait_and_are_created_once_it_is() {
    let (server, objects) = east_1().await;
    let config = pass_config("east-1");
    server.set_missing("volsync.backube", "ReplicationSource", true);

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    for rs in [CATALOG, MEDIA, ORDERS] {
        let Action::Waiting(message) = action(&report.changes, rs) else {
            panic!("{rs} waits:\n{}", describe(&report.changes))
        };
        assert!(
            message.contains("ReplicationSource") && message.contains("CRD"),
            "{message}"
        );
    }
    assert_eq!(
        action(&report.changes, "Namespace catalog"),
        &Action::Created,
        "the rest is applied"
    );
    assert_eq!(action(&report.changes, "Namespace media"), &Action::Created);
    assert!(
        server
            .writes()
            .iter()
            .all(|w| w.plural != "replicationsources"),
        "nothing of that kind is sent"
    );
    assert!(report.problems.is_empty());
    assert_eq!(
        stored_inventory(&server, &config),
        ids(&objects),
        "waiting objects are still owned"
    );

    // The whole group gone works the same (west-1: destinations and a source).
    let west = fake().await;
    let west_objects = cluster_objects(&render(EXAMPLE_SITE), "west-1");
    ensure_prerequisite_namespaces(&west, &west_objects);
    west.set_missing("volsync.backube", "ReplicationSource", true);
    west.set_missing("volsync.backube", "ReplicationDestination", true);
    let west_report = run_pass(
        &mut cluster_api(&west),
        &pass_config("west-1"),
        &west_objects,
    )
    .await;
    assert_eq!(
        west_report.changes.waiting(),
        4,
        "{}",
        describe(&west_report.changes)
    );
    assert_eq!(
        west_report.changes.count("created"),
        west_objects.len() - 4,
        "{}",
        describe(&west_report.changes)
    );

    // The CRD is installed: the next pass creates them.
    server.set_missing("volsync.backube", "ReplicationSource", false);
    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;
    for rs in [CATALOG, MEDIA, ORDERS] {
        assert_eq!(action(&report.changes, rs), &Action::Created);
    }
    assert_eq!(
        action(&report.changes, "Namespace catalog"),
        &Action::Unchanged
    );
}

#[tokio::test]
async fn transient_server_errors_are_retried_and_persistent_ones_fail_only_that_object() {
    let fault = applying_source(500, "etcdserver: leader changed", "catalog-files").times(2);
    let (server, objects, report) = east_1_pass_with(fault).await;

    assert_eq!(
        report.changes.count("created"),
        objects.len(),
        "{}",
        describe(&report.changes)
    );
    let outcomes: Vec<(bool, WriteOutcome)> =
        writes_to(&server, "replicationsources", "catalog-files")
            .into_iter()
            .map(|w| (w.dry_run, w.outcome))
            .collect();
    let failed = WriteOutcome::Failed {
        code: 500,
        reason: "InternalError".into(),
    };
    assert_eq!(
        outcomes,
        [
            (true, failed.clone()),
            (true, failed),
            (true, WriteOutcome::Created),
            (false, WriteOutcome::Created)
        ]
    );

    let fault = applying_source(500, "etcdserver: leader changed", "catalog-files");
    let (server, objects, report) = east_1_pass_with(fault).await;
    assert_only_failure(
        &report,
        &objects,
        CATALOG,
        &["leader changed", "gave up after 3 attempts"],
    );
    assert_eq!(
        writes_to(&server, "replicationsources", "catalog-files").len(),
        3
    );
    assert!(server
        .get(
            &gvk_of(RS, "ReplicationSource"),
            Some("catalog"),
            "catalog-files"
        )
        .is_none());
}

#[tokio::test]
async fn an_invalid_object_fails_without_retries() {
    // An injected 422.
    let fault = applying_source(422, "spec.trigger.schedule: Invalid value", "media-fanout");
    let (server, objects, report) = east_1_pass_with(fault).await;
    let needles = ["rejected by the API server", "Invalid value"];
    assert_only_failure(&report, &objects, MEDIA, &needles);
    assert_eq!(
        writes_to(&server, "replicationsources", "media-fanout").len(),
        1,
        "not retried"
    );

    // A Restore the CRD schema refuses (a required field is missing).
    let server = fake().await;
    let mut objects = cluster_objects(&render(EXAMPLE_SITE), "hub-b");
    ensure_prerequisite_namespaces(&server, &objects);
    let restore = objects.iter_mut().find(|o| o["kind"] == "Restore").unwrap();
    let name = restore["metadata"]["name"].as_str().unwrap().to_string();
    restore["spec"]
        .as_object_mut()
        .unwrap()
        .remove("cleanupBeforeRestore");
    let report = run_pass(&mut cluster_api(&server), &pass_config("hub-b"), &objects).await;
    let message = failed_message(
        &report,
        &format!("Restore open-cluster-management-backup/{name}"),
    );
    assert!(
        message.contains("rejected by the API server") && message.contains("cleanupBeforeRestore"),
        "{message}"
    );
    let writes = writes_to(&server, "restores", &name);
    assert_eq!(writes.len(), 1, "not retried: {writes:#?}");
    assert!(matches!(
        writes[0].outcome,
        WriteOutcome::Failed { code: 422, .. }
    ));
    assert_eq!(
        report.changes.count("created"),
        objects.len() - 1,
        "{}",
        describe(&report.changes)
    );
}

fn allowlist_without(kind: &str) -> Allowlist {
    let all = default_allowed();
    let kinds: Vec<String> = all.iter().filter(|k| *k != kind).cloned().collect();
    assert_eq!(kinds.len(), all.len() - 1);
    Allowlist::new(&kinds).unwrap()
}

#[tokio::test]
async fn kinds_outside_the_allowlist_are_refused_and_the_rest_applied() {
    let (server, objects) = east_1().await;
    for ns in ["catalog", "media"] {
        server.ensure_namespace(ns);
    }
    let mut config = pass_config("east-1");
    config.allowlist = allowlist_without("core/Namespace");

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    for ns in ["Namespace catalog", "Namespace media"] {
        let message = failed_message(&report, ns);
        assert!(
            message.contains("core/Namespace") && message.contains("allowlist"),
            "{message}"
        );
    }
    for rs in [CATALOG, MEDIA, ORDERS] {
        assert_eq!(action(&report.changes, rs), &Action::Created);
    }
    assert!(
        server.writes().iter().all(|w| w.plural != "namespaces"),
        "nothing of a refused kind is sent"
    );
    let live = server
        .get(&gvk_of("v1", "Namespace"), None, "catalog")
        .unwrap();
    assert!(
        live["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("hubdr.io/cluster").is_none()),
        "{live}"
    );
    assert!(!stored_inventory(&server, &config).contains("Namespace catalog"));
}

#[tokio::test]
async fn narrowing_the_allowlist_does_not_prune_what_it_now_refuses() {
    let (server, objects) = east_1().await;
    let config = pass_config("east-1");
    run_pass(&mut cluster_api(&server), &config, &objects).await;
    server.clear_writes();
    let mut narrow = config.clone();
    narrow.allowlist = allowlist_without("volsync.backube/ReplicationSource");
    // While the agent may not manage ReplicationSources, one is also removed from the repository.
    let site = without_replication(EXAMPLE_SITE, "media-fanout");
    let smaller = cluster_objects(&render(&site), "east-1");

    let report = run_pass(&mut cluster_api(&server), &narrow, &smaller).await;

    for rs in [CATALOG, ORDERS] {
        assert!(failed_message(&report, rs).contains("allowlist"));
    }
    let Action::Skipped(message) = action(&report.changes, MEDIA) else {
        panic!("{}", describe(&report.changes))
    };
    assert!(
        message.contains("not pruned") && message.contains("allowlist"),
        "{message}"
    );
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete),
        "{:#?}",
        server.writes()
    );
    for (ns, name) in [
        ("catalog", "catalog-files"),
        ("media", "media-fanout"),
        ("shop", "orders-db"),
    ] {
        assert!(
            server
                .get(&gvk_of(RS, "ReplicationSource"), Some(ns), name)
                .is_some(),
            "{name} is left in place"
        );
    }
    // Still owned, so it is pruned once the agent may again (the prune-disabled Namespace
    // media is let go).
    let mut owned = ids(&objects);
    owned.remove("Namespace media");
    assert_eq!(stored_inventory(&server, &config), owned);

    // Widened again: now the removed one is pruned.
    let report = run_pass(&mut cluster_api(&server), &config, &smaller).await;
    assert_eq!(action(&report.changes, MEDIA), &Action::Pruned);
    assert_eq!(
        report.changes.count("unchanged"),
        smaller.len(),
        "{}",
        describe(&report.changes)
    );
}

#[tokio::test]
async fn an_object_in_a_missing_namespace_fails_with_a_message_naming_it() {
    // `shop` is neither rendered nor created beforehand.
    let server = fake().await;
    let objects = cluster_objects(&render(EXAMPLE_SITE), "east-1");

    let report = run_pass(&mut cluster_api(&server), &pass_config("east-1"), &objects).await;

    assert_only_failure(&report, &objects, ORDERS, &["namespace", "shop"]);
    assert_eq!(
        writes_to(&server, "replicationsources", "orders-db").len(),
        1,
        "not retried"
    );
}
