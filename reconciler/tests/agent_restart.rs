//! An agent killed in the middle of a pass and restarted: the inventory it recorded before
//! touching anything lets the restarted agent prune what it created and what was removed
//! from the repository while it was down, so nothing is orphaned.

mod support;

use std::time::Duration;

use hubdr::render::ObjectId;
use hubdr_agent::changeset::Action;
use kubefake::{Fault, Verb, WriteVerb};
use support::*;

/// A replication whose destination is on west-1.
const ARCHIVE: &str = "      - name: archive
        method: rsync
        schedule: \"0 3 * * *\"
        sshKeysSecret: archive-ssh
        source: {cluster: east-1, namespace: archive, pvc: archive-data}
        destination:
          cluster: west-1
          namespace: archive
          capacity: 1Gi
          serviceType: ClusterIP
          address: archive.example.internal

";

#[tokio::test]
async fn a_pass_killed_midway_leaves_nothing_orphaned_after_a_restart() {
    let server = fake().await;
    server.ensure_namespace("archive");
    let config = pass_config("west-1");
    let v1 = cluster_objects(&render(EXAMPLE_SITE), "west-1");
    ensure_prerequisite_namespaces(&server, &v1);
    let first = run_pass(&mut cluster_api(&server), &config, &v1).await;
    assert_eq!(first.changes.count("created"), v1.len());

    // v2 adds `archive` and drops `catalog-files`; the agent dies while applying wave 2,
    // after the new ReplicationDestination was created and before anything was pruned.
    let v2_site = edit(
        &without_replication(EXAMPLE_SITE, "catalog-files"),
        "  argocd:",
        &format!("{ARCHIVE}  argocd:"),
    );
    let v2 = cluster_objects(&render(&v2_site), "west-1");
    assert!(ids(&v2).contains("ReplicationDestination archive/archive"));
    server.inject(
        Fault::delay(Duration::from_secs(30))
            .verb(Verb::Apply)
            .resource("persistentvolumeclaims"),
    );
    server.clear_writes();
    // Kill it (drop the pass future) once the new ReplicationDestination exists; the delayed
    // PVC apply keeps the pass from finishing first.
    let rd = gvk_of("volsync.backube/v1alpha1", "ReplicationDestination");
    let mut api = cluster_api(&server);
    let mut pass = Box::pin(run_pass(&mut api, &config, &v2));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    loop {
        tokio::select! {
            report = &mut pass => panic!("the pass finished before it was killed:\n{}", describe(&report.changes)),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if server.get(&rd, Some("archive"), "archive").is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new ReplicationDestination was never created"
        );
    }
    drop(pass);
    drop(api);
    server.clear_faults();
    assert!(
        server
            .get(
                &gvk_of("volsync.backube/v1alpha1", "ReplicationDestination"),
                Some("archive"),
                "archive"
            )
            .is_some(),
        "created before the kill"
    );
    assert!(
        server.writes().iter().all(|w| w.verb != WriteVerb::Delete),
        "killed before pruning"
    );
    let recorded = stored_inventory(&server, &config);
    for id in ids(&v1).union(&ids(&v2)) {
        assert!(
            recorded.contains(id),
            "{id} was recorded before it was touched: {recorded:?}"
        );
    }

    // While the agent is down, `archive` is removed again. The restarted agent (a fresh
    // ClusterApi, nothing in memory) applies v3 = v1 without `catalog-files`.
    let v3 = cluster_objects(
        &render(&without_replication(EXAMPLE_SITE, "catalog-files")),
        "west-1",
    );
    let report = run_pass(&mut cluster_api(&server), &config, &v3).await;

    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        action(&report.changes, "ReplicationDestination archive/archive"),
        &Action::Pruned
    );
    assert_eq!(
        action(
            &report.changes,
            "ReplicationDestination catalog/catalog-files"
        ),
        &Action::Pruned
    );
    assert!(
        matches!(
            action(&report.changes, "Namespace catalog"),
            Action::Skipped(_)
        ),
        "prune disabled"
    );
    assert_eq!(
        report.changes.failed() + report.changes.waiting(),
        0,
        "{}",
        describe(&report.changes)
    );
    assert_eq!(stored_inventory(&server, &config), ids(&v3));
    let desired = ids(&v3);
    for id in labelled(&server, "west-1") {
        let object = server
            .objects_snapshot()
            .into_iter()
            .find(|o| ObjectId::of(o).unwrap().to_string() == id)
            .unwrap();
        assert!(
            desired.contains(&id) || prune_disabled(&object),
            "{id} is orphaned"
        );
    }
    for object in &v3 {
        assert!(
            live(&server, object).is_some(),
            "{} exists",
            ObjectId::of(object).unwrap()
        );
    }

    // And the pass after that has nothing left to do.
    server.clear_writes();
    let again = run_pass(&mut cluster_api(&server), &config, &v3).await;
    assert_eq!(
        again.changes.count("unchanged"),
        v3.len(),
        "{}",
        describe(&again.changes)
    );
    assert!(server.mutations().is_empty(), "{:#?}", server.mutations());
}
