//! Pruning by inventory through the production pass: reverse order, NotFound is success,
//! `hubdr.io/prune: disabled` and objects without our ownership label are left alone, a
//! failed delete stays in the inventory and is retried.

mod support;

use hubdr::render::ObjectId;
use hubdr_agent::changeset::Action;
use kubefake::{FakeApiServer, Fault, Verb, WriteVerb};
use serde_json::Value;
use support::*;

/// A server where `cluster` was applied from the example site.
async fn applied(cluster: &str) -> (FakeApiServer, Vec<Value>) {
    applied_objects(cluster, cluster_objects(&render(EXAMPLE_SITE), cluster)).await
}

/// As [`applied`], but the replica PVC is applied without its rendered
/// `hubdr.io/prune: disabled`, as an object of an older render would be: the
/// tests of prune order and prune failures need two prunable objects of
/// different waves, and the RD with its PVC is the example's only such pair.
async fn applied_with_prunable_replica(cluster: &str) -> (FakeApiServer, Vec<Value>) {
    let mut objects = cluster_objects(&render(EXAMPLE_SITE), cluster);
    for object in &mut objects {
        if object["kind"] == "PersistentVolumeClaim" {
            let annotations = object["metadata"]["annotations"].as_object_mut().unwrap();
            assert!(annotations.remove("hubdr.io/prune").is_some());
        }
    }
    applied_objects(cluster, objects).await
}

async fn applied_objects(cluster: &str, objects: Vec<Value>) -> (FakeApiServer, Vec<Value>) {
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &objects);
    let report = run_pass(&mut cluster_api(&server), &pass_config(cluster), &objects).await;
    assert_eq!(
        report.changes.count("created"),
        objects.len(),
        "{}",
        describe(&report.changes)
    );
    server.clear_writes();
    (server, objects)
}

fn deletes(server: &FakeApiServer) -> Vec<String> {
    server
        .writes()
        .into_iter()
        .filter(|w| w.verb == WriteVerb::Delete)
        .map(|w| format!("{} {}", w.kind, w.name))
        .collect()
}

/// west-1's objects once the example site no longer has the orders-db replication.
fn west_1_without_orders_db() -> Vec<Value> {
    cluster_objects(
        &render(&without_replication(EXAMPLE_SITE, "orders-db")),
        "west-1",
    )
}

const RD_ORDERS: &str = "ReplicationDestination shop/orders-db";
const PVC_ORDERS: &str = "PersistentVolumeClaim shop/orders-db-replica";

#[tokio::test]
async fn a_removed_replication_is_pruned_in_reverse_apply_order() {
    let (server, before) = applied_with_prunable_replica("west-1").await;
    let config = pass_config("west-1");
    let after = west_1_without_orders_db();
    let wanted = ids(&after);
    let gone: Vec<&Value> = before
        .iter()
        .filter(|o| !wanted.contains(&ObjectId::of(o).unwrap().to_string()))
        .collect();
    assert_eq!(gone.len(), 2, "the RD and its replica PVC leave west-1");

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    assert_eq!(action(&report.changes, PVC_ORDERS), &Action::Pruned);
    assert_eq!(
        report.changes.count("unchanged"),
        after.len(),
        "{}",
        describe(&report.changes)
    );
    // The PVC (wave 2) goes before the RD (wave 1) it is filled from.
    assert_eq!(
        deletes(&server),
        [
            "PersistentVolumeClaim orders-db-replica",
            "ReplicationDestination orders-db"
        ]
    );
    let pruned: Vec<String> = report
        .changes
        .changes
        .iter()
        .filter(|c| c.action == Action::Pruned)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(pruned, [PVC_ORDERS, RD_ORDERS]);
    for object in gone {
        assert!(
            live(&server, object).is_none(),
            "{} is deleted",
            object["metadata"]["name"]
        );
    }
    assert_eq!(stored_inventory(&server, &config), ids(&after));
    assert_eq!(
        server
            .mutations()
            .iter()
            .filter(|w| w.verb == WriteVerb::Delete)
            .count(),
        2
    );
}

#[tokio::test]
async fn an_object_already_gone_counts_as_pruned() {
    let (server, _) = applied_with_prunable_replica("west-1").await;
    let config = pass_config("west-1");
    server
        .delete_object(
            &gvk_of("volsync.backube/v1alpha1", "ReplicationDestination"),
            Some("shop"),
            "orders-db",
        )
        .unwrap();
    let after = west_1_without_orders_db();

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    assert_eq!(action(&report.changes, PVC_ORDERS), &Action::Pruned);
    assert_eq!(report.changes.failed(), 0);
    assert_eq!(
        deletes(&server),
        ["PersistentVolumeClaim orders-db-replica"]
    );
    assert!(!stored_inventory(&server, &config).contains(RD_ORDERS));

    // Also when the object vanishes between the read and the delete (NotFound on DELETE).
    let (server, _) = applied_with_prunable_replica("west-1").await;
    server.inject(
        Fault::error(
            404,
            "replicationdestinations.volsync.backube \"orders-db\" not found",
        )
        .verb(Verb::Delete)
        .resource("replicationdestinations"),
    );
    let report = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    assert!(!stored_inventory(&server, &config).contains(RD_ORDERS));
}

#[tokio::test]
async fn the_replica_pvc_holds_data_and_is_never_pruned() {
    let (server, _) = applied("west-1").await;
    let config = pass_config("west-1");
    let after = west_1_without_orders_db();

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    let Action::Skipped(message) = action(&report.changes, PVC_ORDERS) else {
        panic!("the replica PVC is skipped:\n{}", describe(&report.changes))
    };
    assert!(message.contains("hubdr.io/prune: disabled"), "{message}");
    assert_eq!(deletes(&server), ["ReplicationDestination orders-db"]);
    assert!(server
        .get(
            &gvk_of("v1", "PersistentVolumeClaim"),
            Some("shop"),
            "orders-db-replica"
        )
        .is_some());
    assert!(!stored_inventory(&server, &config).contains(PVC_ORDERS));
}

#[tokio::test]
async fn prune_disabled_and_unowned_objects_are_left_in_place() {
    let (server, before) = applied("east-1").await;
    let config = pass_config("east-1");
    // Someone takes catalog-files over: our ownership label is gone.
    let mut taken = live(
        &server,
        before
            .iter()
            .find(|o| o["metadata"]["name"] == "catalog-files")
            .unwrap(),
    )
    .unwrap();
    taken["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("hubdr.io/cluster");
    server.put_object(taken).unwrap();
    let site = without_replication(
        &without_replication(EXAMPLE_SITE, "catalog-files"),
        "media-fanout",
    );
    let after = cluster_objects(&render(&site), "east-1");
    // Besides orders-db, only the etcd backup's objects (spec.etcdBackup) stay.
    assert_eq!(
        ids(&after),
        [
            "ReplicationSource shop/orders-db",
            "Namespace hubdr-etcd-backup",
            "ServiceAccount hubdr-etcd-backup/hubdr-etcd-backup",
            "RoleBinding hubdr-etcd-backup/hubdr-etcd-backup-privileged",
            "CronJob hubdr-etcd-backup/etcd-backup",
        ]
        .map(String::from)
        .into()
    );

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(
        action(&report.changes, "ReplicationSource media/media-fanout"),
        &Action::Pruned
    );
    for ns in ["Namespace catalog", "Namespace media"] {
        let Action::Skipped(message) = action(&report.changes, ns) else {
            panic!("{ns} is skipped:\n{}", describe(&report.changes))
        };
        assert!(message.contains("hubdr.io/prune: disabled"), "{message}");
    }
    let Action::Skipped(message) =
        action(&report.changes, "ReplicationSource catalog/catalog-files")
    else {
        panic!("catalog-files is skipped:\n{}", describe(&report.changes))
    };
    assert!(message.contains("hubdr.io/cluster=east-1"), "{message}");
    assert_eq!(deletes(&server), ["ReplicationSource media-fanout"]);
    for (api_version, kind, ns, name) in [
        ("v1", "Namespace", None, "catalog"),
        ("v1", "Namespace", None, "media"),
        (
            "volsync.backube/v1alpha1",
            "ReplicationSource",
            Some("catalog"),
            "catalog-files",
        ),
    ] {
        assert!(
            server.get(&gvk_of(api_version, kind), ns, name).is_some(),
            "{kind} {name} is still there"
        );
    }
    // Left alone means no longer owned: the next pass does not touch them again.
    assert_eq!(stored_inventory(&server, &config), ids(&after));
    server.clear_writes();
    let again = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(
        again.changes.changes.len(),
        after.len(),
        "{}",
        describe(&again.changes)
    );
    assert!(server.mutations().is_empty());
}

#[tokio::test]
async fn a_failed_delete_stays_in_the_inventory_and_is_retried_next_pass() {
    let (server, _) = applied_with_prunable_replica("west-1").await;
    let config = pass_config("west-1");
    let after = west_1_without_orders_db();
    server.inject(
        Fault::error(500, "etcd is sad")
            .verb(Verb::Delete)
            .resource("replicationdestinations"),
    );

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    let Action::Failed(message) = action(&report.changes, RD_ORDERS) else {
        panic!("{}", describe(&report.changes))
    };
    assert!(
        message.contains("kept in the inventory") && message.contains("etcd is sad"),
        "{message}"
    );
    assert!(message.contains("3 attempts"), "{message}");
    assert_eq!(
        action(&report.changes, PVC_ORDERS),
        &Action::Pruned,
        "the other prune goes on"
    );
    assert_eq!(
        writes_to(&server, "replicationdestinations", "orders-db").len(),
        retry().attempts as usize,
        "retried, then given up"
    );
    assert!(server
        .get(
            &gvk_of("volsync.backube/v1alpha1", "ReplicationDestination"),
            Some("shop"),
            "orders-db"
        )
        .is_some());
    let inventory = stored_inventory(&server, &config);
    assert!(
        inventory.contains(RD_ORDERS) && !inventory.contains(PVC_ORDERS),
        "{inventory:?}"
    );
    assert!(report
        .inventory
        .entries()
        .any(|e| e.id().to_string() == RD_ORDERS));

    server.clear_faults();
    let report = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    assert!(server
        .get(
            &gvk_of("volsync.backube/v1alpha1", "ReplicationDestination"),
            Some("shop"),
            "orders-db"
        )
        .is_none());
    assert_eq!(stored_inventory(&server, &config), ids(&after));
}

#[tokio::test]
async fn a_failed_read_before_the_delete_keeps_the_entry_and_is_never_reported_pruned() {
    let (server, _) = applied_with_prunable_replica("west-1").await;
    let config = pass_config("west-1");
    let after = west_1_without_orders_db();
    server.inject(
        Fault::error(500, "etcd is sad")
            .verb(Verb::Get)
            .resource("replicationdestinations")
            .name("orders-db"),
    );

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    let Action::Failed(message) = action(&report.changes, RD_ORDERS) else {
        panic!("{}", describe(&report.changes))
    };
    assert!(
        message.contains("cannot read it") && message.contains("kept in the inventory"),
        "{message}"
    );
    assert!(deletes(&server)
        .iter()
        .all(|d| d != "ReplicationDestination orders-db"));
    assert!(stored_inventory(&server, &config).contains(RD_ORDERS));
    assert!(report
        .inventory
        .entries()
        .any(|e| e.id().to_string() == RD_ORDERS));
    assert_eq!(action(&report.changes, PVC_ORDERS), &Action::Pruned);

    // Readable again: pruned, and only then forgotten.
    server.clear_faults();
    let report = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(action(&report.changes, RD_ORDERS), &Action::Pruned);
    assert!(!stored_inventory(&server, &config).contains(RD_ORDERS));
}
