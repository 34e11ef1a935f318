//! The ACM 2.14+ auto-import strategy step (issue 15 point 4): the new primary's agent sets
//! `autoImportStrategy: ImportAndSync` in `multicluster-engine/import-controller-config` before
//! the activation Restore, and puts back what was there once every managed cluster is Available
//! and Joined, before the BackupSchedule. The fake import controller joins restored managed
//! clusters on a 2.14+ hub only while ImportAndSync is set. Nothing of it before ACM 2.14.

use hubdr_e2e::Fleet;
use serde_json::{json, Value};

use super::*;

const IMPORT_CONFIG: &str = "import-controller-config";

fn strategy_of(object: &Value) -> Option<&str> {
    object
        .pointer("/data/autoImportStrategy")
        .and_then(Value::as_str)
}

fn config_map(fleet: &Fleet, hub: &str, namespace: &str, name: &str) -> Option<Value> {
    let kind = kube::core::GroupVersionKind::gvk("", "v1", "ConfigMap");
    fleet.member(hub).server.get(&kind, Some(namespace), name)
}

fn config(fleet: &Fleet, hub: &str) -> Option<Value> {
    config_map(fleet, hub, "multicluster-engine", IMPORT_CONFIG)
}

fn memory(fleet: &Fleet, hub: &str) -> Value {
    config_map(fleet, hub, "hubdr-agent", &format!("hubdr-inventory-{hub}")).unwrap()
}

/// ACM 2.14, with a strategy a person set (ImportOnly): ImportAndSync before the activation,
/// ImportOnly again after every managed cluster is back, then the BackupSchedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_acm_2_14_import_and_sync_is_set_for_the_activation_and_put_back_before_backups() {
    let Some(mut fleet) = steady_on_acm("2.14", "2.14.2").await else {
        return;
    };
    fleet
        .member("hub-b")
        .server
        .handle()
        .put_object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": IMPORT_CONFIG, "namespace": "multicluster-engine"},
            "data": {"autoImportStrategy": "ImportOnly", "other": "kept"},
        }))
        .unwrap();
    let merged = merge_failover_to_b(&mut fleet);
    until_b_backs_up(&mut fleet, 6, "hub-b backs up").await;
    let t = &fleet.timeline;
    let is_config = |o: &ObjectView<'_>| o.name == IMPORT_CONFIG;
    let set = t
        .first_object(merged, "hub-b", "ConfigMap", |o| {
            is_config(o) && strategy_of(o.object) == Some("ImportAndSync")
        })
        .unwrap_or_else(|| panic!("ImportAndSync never set\n{}", t.render()));
    let started = activation_started(&fleet, merged, "hub-b", PASSIVE_SYNC_G0).unwrap();
    assert!(
        set < started,
        "set at {set}, activation at {started}\n{}",
        t.render()
    );
    let back = t
        .first_object(set, "hub-b", "ConfigMap", |o| {
            is_config(o) && strategy_of(o.object) == Some("ImportOnly")
        })
        .unwrap_or_else(|| panic!("ImportOnly never put back\n{}", t.render()));
    let joined = t
        .first_object(merged, "hub-b", "ManagedCluster", |o| {
            o.object
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c["type"] == "ManagedClusterJoined"))
        })
        .unwrap_or_else(|| panic!("no managed cluster joined hub-b\n{}", t.render()));
    let created = assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert!(
        joined < back && back < created,
        "joined {joined}, put back {back}, BackupSchedule {created}\n{}",
        t.render()
    );
    assert_one_schedule_at_a_time(&fleet);
    let cm = config(&fleet, "hub-b").expect("the shared ConfigMap is never deleted");
    assert_eq!(strategy_of(&cm), Some("ImportOnly"), "{cm}");
    assert_eq!(cm["data"]["other"], "kept", "{cm}");
    let memory = memory(&fleet, "hub-b");
    assert_eq!(memory["data"]["autoImportPrior"], "ImportOnly", "{memory}");
    assert_eq!(memory["data"]["autoImportRestoredFor"], "2", "{memory}");
    assert!(
        config(&fleet, "hub-a").is_none(),
        "the old primary is left alone"
    );
}

/// ACM 2.12: no step (the import controller has no strategy), the order as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_acm_2_12_there_is_no_auto_import_step() {
    let Some(mut fleet) = steady_on_acm("2.12", "2.12.4").await else {
        return;
    };
    let merged = merge_failover_to_b(&mut fleet);
    until_b_backs_up(&mut fleet, 6, "hub-b backs up").await;
    assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert!(config(&fleet, "hub-b").is_none());
    for waits in rendered_wait_for(&fleet, "hub-b") {
        assert!(!waits.contains("auto-import"), "{waits}");
    }
}

/// An abort undoes the step: the key hubdr set on a hub that had none is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abort_puts_the_auto_import_strategy_back() {
    let Some(mut fleet) = reported_fleet(hubdr_e2e::SITE).await else {
        return;
    };
    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Ok(()), "{out}");
    fleet.pass("hub-b").await;
    let cm = config(&fleet, "hub-b").expect("created for the activation");
    assert_eq!(strategy_of(&cm), Some("ImportAndSync"), "{cm}");
    let (result, out) = fleet.hubdr(&["failover", "--abort"]);
    assert_eq!(result, Ok(()), "{out}");
    fleet.pass("hub-b").await;
    let cm = config(&fleet, "hub-b").expect("never deleted");
    assert_eq!(
        strategy_of(&cm),
        None,
        "released: back to the default\n{cm}"
    );
    let memory = memory(&fleet, "hub-b");
    assert_eq!(memory["data"]["autoImportRestoredFor"], "2", "{memory}");
}

/// The gate, not the order of calls in a pass, holds the activation: while ImportAndSync
/// cannot be set on the new primary (here its `multicluster-engine` namespace is gone, so the
/// write fails), the activation Restore is not applied and the status says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_activation_waits_while_import_and_sync_cannot_be_set() {
    let Some(mut fleet) = steady_on_acm("2.14", "2.14.2").await else {
        return;
    };
    let namespace = kube::core::GroupVersionKind::gvk("", "v1", "Namespace");
    fleet
        .member("hub-b")
        .server
        .handle()
        .delete_object(&namespace, None, "multicluster-engine")
        .unwrap();
    let merged = merge_failover_to_b(&mut fleet);
    fleet.rounds(&B_FIRST, 4).await;
    assert!(
        activation_started(&fleet, merged, "hub-b", PASSIVE_SYNC_G0).is_none(),
        "activated without ImportAndSync\n{}",
        fleet.timeline.render()
    );
    let b = fleet.status("hub-b").unwrap();
    assert!(
        waits_of(&b, RESTORE_G0).contains(&"auto-import-strategy:ImportAndSync".to_string()),
        "{}",
        b.to_yaml()
    );
    assert!(fleet.schedule("hub-b").is_none());
}
