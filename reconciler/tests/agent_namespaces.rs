//! Namespaces are part of the agent's boundary. Objects in a namespace outside the agent's own
//! configuration (`--allow-namespace`, as `agents/<cluster>.yaml` gives it; without one, the
//! protected `kube-*`, `openshift-*` and `default`), and Namespaces of such names, are refused
//! with a per-object status entry and without a single API write; allowed namespaces still
//! apply, and what was applied before in a namespace the agent may no longer use is not pruned.

mod support;

use std::collections::BTreeMap;

use hubdr::index::{RenderIndex, INDEX_PATH};
use hubdr_agent::changeset::Action;
use hubdr_agent::config::Allowlist;
use hubdr_agent::reconcile::PassReport;
use kubefake::{FakeApiServer, WriteVerb};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::*;

/// east-1's rendered objects (Namespaces catalog and media, ReplicationSources in catalog,
/// media and shop), with the namespaces they need.
async fn east_1() -> (FakeApiServer, Vec<Value>) {
    let server = fake().await;
    let objects = cluster_objects(&render(EXAMPLE_SITE), "east-1");
    ensure_prerequisite_namespaces(&server, &objects);
    (server, objects)
}

/// A copy of east-1's `orders-db` ReplicationSource moved into `namespace` (which exists in
/// the fake cluster, so that applying it would succeed).
fn source_in(server: &FakeApiServer, objects: &[Value], namespace: &str) -> Value {
    server.ensure_namespace(namespace);
    let mut rs = objects
        .iter()
        .find(|o| o["kind"] == "ReplicationSource" && o["metadata"]["name"] == "orders-db")
        .unwrap()
        .clone();
    rs["metadata"]["namespace"] = namespace.into();
    rs
}

/// A copy of east-1's rendered Namespace `catalog`, named `name`.
fn namespace_named(objects: &[Value], name: &str) -> Value {
    let mut ns = objects
        .iter()
        .find(|o| o["kind"] == "Namespace")
        .unwrap()
        .clone();
    ns["metadata"]["name"] = name.into();
    ns
}

fn refusal<'a>(report: &'a PassReport, object: &str) -> &'a str {
    match action(&report.changes, object) {
        Action::Failed(message) if message.starts_with("refused: ") => message,
        other => panic!(
            "{object} should be refused, got {other:?}:\n{}",
            describe(&report.changes)
        ),
    }
}

/// No write call of any kind (apply, dry run, delete) touched `namespace`, nor the Namespace of
/// that name.
fn untouched(server: &FakeApiServer, namespace: &str) {
    let writes: Vec<_> = server
        .writes()
        .into_iter()
        .filter(|w| {
            w.namespace.as_deref() == Some(namespace)
                || (w.plural == "namespaces" && w.name == namespace)
        })
        .collect();
    assert!(writes.is_empty(), "writes in {namespace}: {writes:#?}");
}

#[tokio::test]
async fn namespaces_outside_the_agents_list_are_refused_without_a_write() {
    let (server, mut objects) = east_1().await;
    let rendered = objects.clone();
    objects.push(source_in(&server, &rendered, "kube-system"));
    objects.push(source_in(&server, &rendered, "openshift-config"));
    objects.push(source_in(&server, &rendered, "elsewhere"));
    objects.push(namespace_named(&rendered, "kube-public"));
    let mut config = pass_config("east-1");
    config.allowlist = Allowlist::default_kinds()
        .with_namespaces(&[
            "catalog".into(),
            "media".into(),
            "shop".into(),
            "hubdr-etcd-backup".into(),
        ])
        .unwrap();

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    for ns in ["kube-system", "openshift-config", "elsewhere"] {
        let message = refusal(&report, &format!("ReplicationSource {ns}/orders-db"));
        assert_eq!(
            message,
            format!("refused: namespace {ns} is outside this agent's namespaces (its own --allow-namespace / config file; the repository cannot extend them)")
        );
        untouched(&server, ns);
        assert!(server
            .get(
                &gvk_of("volsync.backube/v1alpha1", "ReplicationSource"),
                Some(ns),
                "orders-db"
            )
            .is_none());
    }
    let message = refusal(&report, "Namespace kube-public");
    assert!(
        message.contains("namespace kube-public is outside"),
        "{message}"
    );
    untouched(&server, "kube-public");
    // The allowed namespaces still apply, and only they are owned.
    for allowed in [
        "Namespace catalog",
        "Namespace media",
        "ReplicationSource catalog/catalog-files",
        "ReplicationSource media/media-fanout",
        "ReplicationSource shop/orders-db",
    ] {
        assert_eq!(
            action(&report.changes, allowed),
            &Action::Created,
            "{allowed}"
        );
    }
    assert_eq!(report.changes.count("created"), rendered.len());
    let inventory = stored_inventory(&server, &config);
    assert!(
        inventory
            .iter()
            .all(|o| !o.contains("kube-") && !o.contains("openshift-") && !o.contains("elsewhere")),
        "{inventory:?}"
    );
}

#[tokio::test]
async fn without_a_list_the_protected_namespaces_are_refused() {
    let (server, mut objects) = east_1().await;
    let rendered = objects.clone();
    objects.push(source_in(&server, &rendered, "kube-system"));
    objects.push(source_in(&server, &rendered, "openshift-config"));
    objects.push(source_in(&server, &rendered, "default"));
    objects.push(namespace_named(&rendered, "kube-public"));
    let config = pass_config("east-1");

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    for (object, ns) in [
        ("ReplicationSource kube-system/orders-db", "kube-system"),
        (
            "ReplicationSource openshift-config/orders-db",
            "openshift-config",
        ),
        ("ReplicationSource default/orders-db", "default"),
        ("Namespace kube-public", "kube-public"),
    ] {
        let message = refusal(&report, object);
        assert!(
            message.contains(&format!("namespace {ns} is protected"))
                && message.contains("--allow-namespace"),
            "{message}"
        );
        untouched(&server, ns);
    }
    assert_eq!(
        action(&report.changes, "ReplicationSource shop/orders-db"),
        &Action::Created
    );
    assert_eq!(report.changes.count("created"), rendered.len());
}

/// A namespace listed explicitly is used even when protected (the site renders into it).
#[tokio::test]
async fn a_listed_protected_namespace_is_used() {
    let (server, objects) = east_1().await;
    let objects = vec![source_in(&server, &objects, "openshift-adp")];
    let mut config = pass_config("east-1");
    config.allowlist = Allowlist::default_kinds()
        .with_namespaces(&["openshift-adp".into()])
        .unwrap();

    let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

    assert_eq!(
        action(&report.changes, "ReplicationSource openshift-adp/orders-db"),
        &Action::Created
    );
}

/// What the agent applied in a namespace it may no longer use stays, owned, and is reported.
#[tokio::test]
async fn a_namespace_dropped_from_the_list_is_not_pruned() {
    let (server, objects) = east_1().await;
    let config = pass_config("east-1");
    run_pass(&mut cluster_api(&server), &config, &objects).await;
    server.clear_writes();
    let mut narrow = config.clone();
    narrow.allowlist = Allowlist::default_kinds()
        .with_namespaces(&["catalog".into(), "shop".into()])
        .unwrap();
    // media is gone from the repository too, while the agent may no longer use it.
    let without_media: Vec<Value> = objects
        .iter()
        .filter(|o| o["metadata"]["namespace"] != "media" && o["metadata"]["name"] != "media")
        .cloned()
        .collect();

    let report = run_pass(&mut cluster_api(&server), &narrow, &without_media).await;

    for object in ["ReplicationSource media/media-fanout", "Namespace media"] {
        let Action::Skipped(message) = action(&report.changes, object) else {
            panic!("{}", describe(&report.changes))
        };
        assert!(
            message.starts_with("not pruned: namespace media is outside this agent's namespaces"),
            "{message}"
        );
    }
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete),
        "{:#?}",
        server.writes()
    );
    assert!(stored_inventory(&server, &narrow).contains("ReplicationSource media/media-fanout"));
}

/// Through the whole loop: a repository (verified, indexed) holding an object in kube-system
/// gets it refused in the status file on the status branch, with no write to kube-system.
#[tokio::test]
async fn the_status_file_reports_each_refused_object() {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    let objects = cluster_objects(&rendered, "east-1");
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &objects);
    let rs = source_in(&server, &objects, "kube-system");
    let mut tree: BTreeMap<String, Vec<u8>> = rendered.tree.clone().into_iter().collect();
    let path = "clusters/east-1/replicationsource.kube-system.orders-db.yaml".to_string();
    let bytes = serde_yaml::to_string(&rs).unwrap().into_bytes();
    let mut index = RenderIndex::parse(std::str::from_utf8(&tree[INDEX_PATH]).unwrap()).unwrap();
    index
        .files
        .insert(path.clone(), format!("{:x}", Sha256::digest(&bytes)));
    tree.insert(path, bytes);
    tree.insert(INDEX_PATH.into(), index.to_yaml().into_bytes());
    remote.commit(&tree, "an object in kube-system");
    let mut config = pass_config("east-1");
    config.allowlist = Allowlist::default_kinds()
        .with_namespaces(&["catalog".into(), "media".into(), "shop".into()])
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent_with(config, &server, cache.path());

    let status = agent.pass_once().await;

    let published = remote.status_file("east-1").expect("a status file");
    assert_eq!(published, status);
    let entry = published
        .objects
        .iter()
        .find(|o| o.object == "ReplicationSource kube-system/orders-db")
        .unwrap_or_else(|| panic!("{:#?}", published.objects));
    assert_eq!(entry.result, "failed");
    assert!(
        entry
            .message
            .starts_with("refused: namespace kube-system is outside"),
        "{}",
        entry.message
    );
    untouched(&server, "kube-system");
    // The rest still applies (orders-db waits for its destination's address).
    assert!(
        published
            .objects
            .iter()
            .any(|o| o.object == "ReplicationSource catalog/catalog-files" && o.result == "created"),
        "{:#?}",
        published.objects
    );
}
