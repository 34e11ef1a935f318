//! No mass deletion by accident: an empty desired set never prunes, and a pass that would
//! delete more than half of what the agent owns (or all of it) prunes nothing, reports
//! PruneGuard with the objects, and waits for `--allow-mass-prune`.

mod support;

use hubdr::index::{RenderIndex, INDEX_PATH};
use hubdr_agent::changeset::Action;
use hubdr_agent::reconcile::PassConfig;
use kubefake::{FakeApiServer, WriteVerb};
use serde_json::{json, Value};
use support::*;

/// A PVC on west-1, rendered like hubdr renders one.
fn pvc(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "shop",
                     "labels": {"hubdr.io/cluster": "west-1"},
                     "annotations": {"hubdr.io/wave": "2"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })
}

fn pvc_live(server: &FakeApiServer, name: &str) -> bool {
    server
        .get(&gvk_of("v1", "PersistentVolumeClaim"), Some("shop"), name)
        .is_some()
}

/// west-1 with four PVCs the agent created.
async fn four_pvcs() -> (FakeApiServer, Vec<Value>) {
    let server = fake().await;
    server.ensure_namespace("shop");
    let objects: Vec<Value> = ["data-1", "data-2", "data-3", "data-4"]
        .into_iter()
        .map(pvc)
        .collect();
    let report = run_pass(&mut cluster_api(&server), &pass_config("west-1"), &objects).await;
    assert_eq!(
        report.changes.count("created"),
        4,
        "{}",
        describe(&report.changes)
    );
    server.clear_writes();
    (server, objects)
}

fn allowing(mut config: PassConfig) -> PassConfig {
    config.prune.allow_mass_prune = true;
    config
}

#[tokio::test]
async fn removing_three_of_four_objects_prunes_nothing_until_allowed() {
    let (server, objects) = four_pvcs().await;
    let config = pass_config("west-1");
    let kept = vec![objects[0].clone()];

    let report = run_pass(&mut cluster_api(&server), &config, &kept).await;

    let held = report
        .prune_guard
        .as_deref()
        .expect("the prune guard holds");
    assert!(
        held.contains("3 of the 4") && held.contains("--allow-mass-prune"),
        "{held}"
    );
    for name in ["data-2", "data-3", "data-4"] {
        let object = format!("PersistentVolumeClaim shop/{name}");
        assert!(held.contains(&object), "{held}");
        let Action::Skipped(message) = action(&report.changes, &object) else {
            panic!("{}", describe(&report.changes))
        };
        assert!(message.contains("prune guard"), "{message}");
        assert!(pvc_live(&server, name));
    }
    assert!(server.mutations().is_empty(), "{:#?}", server.mutations());
    assert!(
        real_writes(&server).is_empty(),
        "{:#?}",
        real_writes(&server)
    );
    assert_eq!(
        stored_inventory(&server, &config),
        ids(&objects),
        "still owned"
    );

    // The operator means it: --allow-mass-prune.
    let report = run_pass(&mut cluster_api(&server), &allowing(config.clone()), &kept).await;
    assert!(report.prune_guard.is_none());
    for name in ["data-2", "data-3", "data-4"] {
        let object = format!("PersistentVolumeClaim shop/{name}");
        assert_eq!(action(&report.changes, &object), &Action::Pruned);
        assert!(!pvc_live(&server, name));
    }
    assert_eq!(stored_inventory(&server, &config), ids(&kept));
}

#[tokio::test]
async fn half_is_not_a_mass_deletion_and_the_share_is_configurable() {
    let (server, objects) = four_pvcs().await;
    let mut strict = pass_config("west-1");
    strict.prune.max_percent = 25;
    let kept = objects[..2].to_vec();

    let report = run_pass(&mut cluster_api(&server), &strict, &kept).await;
    assert!(report.prune_guard.is_some(), "2 of 4 is more than 25%");
    assert!(pvc_live(&server, "data-4"));

    let report = run_pass(&mut cluster_api(&server), &pass_config("west-1"), &kept).await;
    assert!(report.prune_guard.is_none(), "2 of 4 is not more than half");
    assert!(!pvc_live(&server, "data-3") && !pvc_live(&server, "data-4"));
}

#[tokio::test]
async fn an_empty_desired_set_never_prunes_even_when_allowed() {
    let (server, objects) = four_pvcs().await;
    let config = allowing(pass_config("west-1"));

    let report = run_pass(&mut cluster_api(&server), &config, &[]).await;

    let held = report
        .prune_guard
        .as_deref()
        .expect("the prune guard holds");
    assert!(held.contains("wants nothing"), "{held}");
    assert!(server.writes().is_empty(), "{:#?}", server.writes());
    assert_eq!(stored_inventory(&server, &config), ids(&objects));
    for object in &objects {
        assert!(live(&server, object).is_some());
    }
}

#[tokio::test]
async fn an_index_listing_nothing_for_the_cluster_is_reported_as_prune_guard() {
    let (remote, rendered, _) = example_remote();
    let server = cluster_for(&rendered, "west-1").await;
    let objects = cluster_objects(&rendered, "west-1");
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent("west-1", &server, cache.path());
    let first = agent.pass_once().await;
    assert_eq!(first.pass.reason, "Applied", "{}", first.pass.message);

    // A broken render: west-1 is still a cluster of the site, but nothing is listed for it.
    let mut tree = rendered.tree.clone();
    tree.retain(|path, _| !path.starts_with("clusters/west-1/"));
    let mut index = RenderIndex::parse(std::str::from_utf8(&tree[INDEX_PATH]).unwrap()).unwrap();
    index
        .files
        .retain(|path, _| !path.starts_with("clusters/west-1/"));
    tree.insert(INDEX_PATH.into(), index.to_yaml().into_bytes());
    remote.commit(&tree, "an empty west-1");
    server.clear_writes();

    let status = agent.pass_once().await;

    assert_eq!(
        (status.pass.outcome.as_str(), status.pass.reason.as_str()),
        ("Failed", "PruneGuard"),
        "{}",
        status.pass.message
    );
    assert!(
        status.pass.message.contains("wants nothing")
            && status
                .pass
                .message
                .contains("ReplicationDestination shop/orders-db (delete)")
            && status.pass.message.contains("Namespace media (release)"),
        "{}",
        status.pass.message
    );
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete) && server.writes().is_empty(),
        "{:#?}",
        server.writes()
    );
    for object in &objects {
        assert!(live(&server, object).is_some());
    }
}
