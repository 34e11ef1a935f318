//! The agent deletes only what it created. Objects that already existed when it first
//! applied them (adopted), and the shared singletons (MultiClusterHub, DataProtectionApplication,
//! Namespace) are released when they leave the repository: hubdr's fields are dropped by
//! server-side apply and the object stays.

mod support;

use hubdr_agent::changeset::Action;
use hubdr_agent::inventory::INVENTORY_KEY;
use kubefake::{FakeApiServer, Fault, Verb, WriteVerb};
use serde_json::{json, Value};
use support::*;

const PVC: &str = "PersistentVolumeClaim shop/orders-db-replica";
const NS_MEDIA: &str = "Namespace media";

/// The example site, with west-1's Namespaces and replica PVC rendered without
/// `hubdr.io/prune: disabled` (site patches), so only the adoption rule keeps them.
fn site_without_prune_annotations() -> String {
    edit(
        EXAMPLE_SITE,
        "  patches:\n",
        &format!("  patches:\n    - target: {{cluster: west-1, kind: Namespace}}\n      merge: {{metadata: {{annotations: {{hubdr.io/prune: null}}}}}}\n{PVC_PATCH}"),
    )
}

/// The patch that makes the replica PVC prunable; it must go with the PVC (a patch that
/// matches nothing is an error).
const PVC_PATCH: &str = "    - target: {cluster: west-1, kind: PersistentVolumeClaim}\n      merge: {metadata: {annotations: {hubdr.io/prune: null}}}\n";

/// `site` without the replication `name`, and without the PVC patch when that was the
/// replication that put the replica PVC on west-1.
fn without(site: &str, name: &str) -> String {
    let site = without_replication(site, name);
    if name == "orders-db" {
        site.replacen(PVC_PATCH, "", 1)
    } else {
        site
    }
}

/// west-1 where the application's Namespace `media` and the replica PVC existed before the
/// agent (a restored volume), and the agent applied the site once: both are adopted.
async fn adopted() -> (FakeApiServer, String) {
    let server = fake().await;
    let site = site_without_prune_annotations();
    let objects = cluster_objects(&render(&site), "west-1");
    assert!(objects
        .iter()
        .filter(|o| o["kind"] == "Namespace" || o["kind"] == "PersistentVolumeClaim")
        .all(|o| !prune_disabled(o)));
    ensure_prerequisite_namespaces(&server, &objects);
    server
        .put_object(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "media", "labels": {"team": "media"}}}))
        .unwrap();
    let mut pvc = objects
        .iter()
        .find(|o| o["kind"] == "PersistentVolumeClaim")
        .unwrap()
        .clone();
    let metadata = pvc["metadata"].as_object_mut().unwrap();
    metadata.remove("labels");
    metadata.remove("annotations");
    server.put_object(pvc).unwrap();

    let config = pass_config("west-1");
    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;
    assert_eq!(action(&report.changes, PVC), &Action::Configured);
    assert_eq!(action(&report.changes, NS_MEDIA), &Action::Configured);
    assert_eq!(report.changes.failed(), 0, "{}", describe(&report.changes));
    assert!(
        labelled(&server, "west-1").contains(PVC),
        "hubdr applied it"
    );
    server.clear_writes();
    (server, site)
}

/// The site without the replications that put the PVC and Namespace media on west-1.
fn smaller(site: &str) -> Vec<Value> {
    let site = without(&without(site, "orders-db"), "media-fanout");
    let objects = cluster_objects(&render(&site), "west-1");
    let wanted = ids(&objects);
    assert!(!wanted.contains(PVC) && !wanted.contains(NS_MEDIA));
    objects
}

fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|e| e["manager"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn pvc(server: &FakeApiServer) -> Option<Value> {
    server.get(
        &gvk_of("v1", "PersistentVolumeClaim"),
        Some("shop"),
        "orders-db-replica",
    )
}

#[tokio::test]
async fn adopted_objects_are_released_not_deleted() {
    let (server, site) = adopted().await;
    let config = pass_config("west-1");
    let after = smaller(&site);

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(action(&report.changes, PVC).name(), "released");
    assert_eq!(action(&report.changes, NS_MEDIA).name(), "released");
    // What the agent created itself is still deleted.
    assert_eq!(
        action(&report.changes, "ReplicationDestination shop/orders-db"),
        &Action::Pruned
    );
    assert!(
        server
            .mutations()
            .iter()
            .filter(|w| w.verb == WriteVerb::Delete)
            .all(|w| w.plural == "replicationdestinations"),
        "{:#?}",
        server.mutations()
    );
    let rendered = cluster_objects(&render(&site), "west-1");
    let rendered = rendered
        .iter()
        .find(|o| o["kind"] == "PersistentVolumeClaim");
    let pvc = pvc(&server).expect("the adopted PVC is still there");
    assert_eq!(
        pvc["spec"]["resources"],
        rendered.unwrap()["spec"]["resources"],
        "its spec (owned by its creator too) stays"
    );
    assert!(pvc["metadata"].get("labels").is_none(), "{pvc}");
    assert!(!managers(&pvc).contains(&"hubdr".to_string()), "{pvc}");
    let media = server
        .get(&gvk_of("v1", "Namespace"), None, "media")
        .expect("the adopted Namespace is still there");
    assert_eq!(media["metadata"]["labels"]["team"], "media", "{media}");
    assert!(
        media["metadata"]["labels"]
            .get("hubdr.io/cluster")
            .is_none(),
        "{media}"
    );
    assert_eq!(stored_inventory(&server, &config), ids(&after));

    // Released is done: the next pass does not touch them again.
    server.clear_writes();
    let again = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(again.changes.count("unchanged"), after.len());
    assert!(server.mutations().is_empty(), "{:#?}", server.mutations());
}

#[tokio::test]
async fn a_failed_release_keeps_the_entry_and_is_retried() {
    let (server, site) = adopted().await;
    let config = pass_config("west-1");
    let after = smaller(&site);
    server.inject(
        Fault::error(500, "etcd is sad")
            .verb(Verb::Apply)
            .resource("persistentvolumeclaims"),
    );

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    let Action::Failed(message) = action(&report.changes, PVC) else {
        panic!("{}", describe(&report.changes))
    };
    assert!(
        message.contains("release failed, kept in the inventory")
            && message.contains("etcd is sad"),
        "{message}"
    );
    assert!(stored_inventory(&server, &config).contains(PVC));
    assert!(managers(&pvc(&server).unwrap()).contains(&"hubdr".to_string()));

    server.clear_faults();
    let report = run_pass(&mut cluster_api(&server), &config, &after).await;
    assert_eq!(action(&report.changes, PVC).name(), "released");
    assert!(!stored_inventory(&server, &config).contains(PVC));
    assert!(pvc(&server).is_some());
}

#[tokio::test]
async fn an_inventory_written_before_created_was_recorded_only_releases() {
    // The agent created everything, but its inventory has the old format (no `created`).
    let server = fake().await;
    let config = pass_config("west-1");
    let site = site_without_prune_annotations();
    let objects = cluster_objects(&render(&site), "west-1");
    ensure_prerequisite_namespaces(&server, &objects);
    let first = run_pass(&mut cluster_api(&server), &config, &objects).await;
    assert_eq!(first.changes.count("created"), objects.len());
    let cm = gvk_of("v1", "ConfigMap");
    let mut stored = server
        .get(&cm, Some(AGENT_NAMESPACE), &config.inventory_name())
        .unwrap();
    let text = stored["data"][INVENTORY_KEY].as_str().unwrap().to_string();
    let old_format: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("created:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(old_format, text);
    stored["data"][INVENTORY_KEY] = Value::String(old_format);
    server.put_object(stored).unwrap();
    server.clear_writes();

    let after = cluster_objects(&render(&without(&site, "orders-db")), "west-1");
    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    assert_eq!(action(&report.changes, PVC).name(), "released");
    assert_eq!(
        action(&report.changes, "ReplicationDestination shop/orders-db").name(),
        "released"
    );
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete),
        "{:#?}",
        server.writes()
    );
    // A claim's spec is immutable, so hubdr cannot drop its fields: they are handed to
    // another manager and stay as they were.
    let claim = pvc(&server).unwrap();
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "20Gi");
    let owners = managers(&claim);
    assert!(
        !owners.contains(&"hubdr".to_string()) && owners.contains(&"hubdr-released".to_string()),
        "{owners:?}"
    );
}

#[tokio::test]
async fn a_renamed_multiclusterhub_releases_the_old_one_and_never_deletes_it() {
    let server = fake().await;
    let config = pass_config("hub-a");
    let objects = cluster_objects(&render(EXAMPLE_SITE), "hub-a");
    ensure_prerequisite_namespaces(&server, &objects);
    let first = run_pass(&mut cluster_api(&server), &config, &objects).await;
    assert_eq!(
        first.changes.count("created"),
        objects.len(),
        "{}",
        describe(&first.changes)
    );
    let renamed = edit(
        EXAMPLE_SITE,
        "  backupNamespace: open-cluster-management-backup\n",
        "  backupNamespace: open-cluster-management-backup\n  multiClusterHub: {name: acm-hub}\n",
    );
    let after = cluster_objects(&render(&renamed), "hub-a");
    server.clear_writes();

    let report = run_pass(&mut cluster_api(&server), &config, &after).await;

    let old = "MultiClusterHub open-cluster-management/multiclusterhub";
    assert_eq!(
        action(&report.changes, old).name(),
        "released",
        "{}",
        describe(&report.changes)
    );
    assert_eq!(
        action(
            &report.changes,
            "MultiClusterHub open-cluster-management/acm-hub"
        ),
        &Action::Created
    );
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete),
        "{:#?}",
        server.writes()
    );
    let mch = gvk_of("operator.open-cluster-management.io/v1", "MultiClusterHub");
    let live = server
        .get(&mch, Some("open-cluster-management"), "multiclusterhub")
        .expect("the old MultiClusterHub (ACM itself) is not uninstalled");
    assert!(!managers(&live).contains(&"hubdr".to_string()), "{live}");
    assert_eq!(stored_inventory(&server, &config), ids(&after));
}
