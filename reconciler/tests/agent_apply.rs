//! Applying a rendered cluster directory through the production pass: first apply, an
//! update that changes one object, and a pass over an unchanged cluster that writes nothing.

mod support;

use hubdr::render::ObjectId;
use hubdr_agent::changeset::Action;
use kubefake::{WriteOutcome, WriteVerb};
use serde_json::Value;
use support::*;

/// Whether every field of `want` is in `have` with the same value (the server may add defaults).
fn contained(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contained(v, hv))),
        _ => want == have,
    }
}

fn wave(object: &Value) -> i32 {
    object["metadata"]["annotations"]["hubdr.io/wave"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_first_pass_creates_every_object_as_field_manager_hubdr() {
    let rendered = render(EXAMPLE_SITE);
    for cluster in ["east-1", "west-1", "hub-a", "hub-b"] {
        let server = fake().await;
        let objects = cluster_objects(&rendered, cluster);
        assert!(objects.len() >= 3, "{cluster} has objects");
        ensure_prerequisite_namespaces(&server, &objects);
        let config = pass_config(cluster);
        let mut api = cluster_api(&server);

        let report = run_pass(&mut api, &config, &objects).await;

        assert!(
            report.problems.is_empty(),
            "{cluster}: {:?}",
            report.problems
        );
        assert_eq!(
            report.changes.changes.len(),
            objects.len(),
            "{cluster}:\n{}",
            describe(&report.changes)
        );
        assert_eq!(
            report.changes.count("created"),
            objects.len(),
            "{cluster}:\n{}",
            describe(&report.changes)
        );
        for object in &objects {
            let id = ObjectId::of(object).unwrap();
            let live = live(&server, object).unwrap_or_else(|| panic!("{cluster}: {id} exists"));
            // Labels, annotations and spec as rendered (defaults may be added).
            assert!(
                contained(&object["metadata"]["labels"], &live["metadata"]["labels"]),
                "{cluster}: {id} labels: {}",
                live["metadata"]
            );
            assert!(
                contained(
                    &object["metadata"]["annotations"],
                    &live["metadata"]["annotations"]
                ),
                "{cluster}: {id} annotations: {}",
                live["metadata"]
            );
            if object.get("spec").is_some() {
                assert!(
                    contained(&object["spec"], &live["spec"]),
                    "{cluster}: {id} spec: {}",
                    live["spec"]
                );
            }
            let managers: Vec<(&str, &str)> = live["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["manager"].as_str().unwrap(),
                        m["operation"].as_str().unwrap(),
                    )
                })
                .collect();
            assert!(
                managers.contains(&("hubdr", "Apply")),
                "{cluster}: {id} managers {managers:?}"
            );
        }
        // One real apply per object, by hubdr, in wave order; plus the inventory.
        let applies: Vec<_> = server
            .mutations()
            .into_iter()
            .filter(|w| w.verb == WriteVerb::Apply && w.plural != "configmaps")
            .collect();
        assert_eq!(applies.len(), objects.len(), "{cluster}");
        assert!(applies
            .iter()
            .all(|w| w.field_manager.as_deref() == Some("hubdr")
                && w.outcome == WriteOutcome::Created
                && !w.force));
        let waves: Vec<i32> = applies
            .iter()
            .map(|w| {
                let object = objects
                    .iter()
                    .find(|o| {
                        o["metadata"]["name"] == w.name.as_str() && o["kind"] == w.kind.as_str()
                    })
                    .unwrap();
                wave(object)
            })
            .collect();
        assert!(
            waves.windows(2).all(|p| p[0] <= p[1]),
            "{cluster}: applied in wave order: {waves:?}"
        );
        assert_eq!(
            stored_inventory(&server, &config),
            ids(&objects),
            "{cluster}"
        );
        let inventory: std::collections::BTreeSet<String> = report
            .inventory
            .entries()
            .map(|e| e.id().to_string())
            .collect();
        assert_eq!(inventory, ids(&objects), "{cluster}");
    }
}

#[tokio::test]
async fn a_changed_schedule_configures_exactly_that_object() {
    for (cluster, from, to, changed) in [
        (
            "east-1",
            "schedule: \"0 * * * *\"",
            "schedule: \"30 * * * *\"",
            "ReplicationSource catalog/catalog-files",
        ),
        (
            "hub-a",
            "schedule: \"0 */2 * * *\"",
            "schedule: \"0 */4 * * *\"",
            "BackupSchedule open-cluster-management-backup/schedule-acm",
        ),
    ] {
        let server = fake().await;
        let config = pass_config(cluster);
        let before = cluster_objects(&render(EXAMPLE_SITE), cluster);
        ensure_prerequisite_namespaces(&server, &before);
        let first = run_pass(&mut cluster_api(&server), &config, &before).await;
        assert_eq!(first.changes.failed(), 0, "{}", describe(&first.changes));

        let after = cluster_objects(&render(&edit(EXAMPLE_SITE, from, to)), cluster);
        assert_eq!(ids(&before), ids(&after));
        server.clear_writes();
        let report = run_pass(&mut cluster_api(&server), &config, &after).await;

        for change in &report.changes.changes {
            let expected = if change.id.to_string() == changed {
                Action::Configured
            } else {
                Action::Unchanged
            };
            assert_eq!(change.action, expected, "{cluster}: {}", change.id);
        }
        assert_eq!(report.changes.changes.len(), after.len());
        let mutations = server.mutations();
        assert_eq!(
            mutations.len(),
            1,
            "{cluster}: only the changed object is written: {mutations:#?}"
        );
        assert_eq!(
            (mutations[0].verb, &mutations[0].outcome),
            (WriteVerb::Apply, &WriteOutcome::Changed)
        );
        let object = after
            .iter()
            .find(|o| ObjectId::of(o).unwrap().to_string() == changed)
            .unwrap();
        let live = live(&server, object).unwrap();
        let schedule = live
            .pointer("/spec/trigger/schedule")
            .or_else(|| live.pointer("/spec/veleroSchedule"));
        assert_eq!(
            schedule.and_then(Value::as_str),
            Some(to.trim_start_matches("schedule: ").trim_matches('"')),
            "{cluster}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_pass_makes_no_write_calls() {
    let rendered = render(EXAMPLE_SITE);
    for cluster in rendered.index.clusters.keys() {
        let server = fake().await;
        let objects = cluster_objects(&rendered, cluster);
        ensure_prerequisite_namespaces(&server, &objects);
        let config = pass_config(cluster);
        let first = run_pass(&mut cluster_api(&server), &config, &objects).await;
        assert_eq!(
            first.changes.count("created"),
            objects.len(),
            "{cluster}:\n{}",
            describe(&first.changes)
        );
        let inventory_version = server
            .get(
                &gvk_of("v1", "ConfigMap"),
                Some(AGENT_NAMESPACE),
                &config.inventory_name(),
            )
            .unwrap()["metadata"]["resourceVersion"]
            .clone();
        server.clear_writes();
        let version = server.resource_version();

        // A fresh ClusterApi, as after a restart: nothing cached helps.
        let report = run_pass(&mut cluster_api(&server), &config, &objects).await;

        assert_eq!(
            report.changes.count("unchanged"),
            objects.len(),
            "{cluster}:\n{}",
            describe(&report.changes)
        );
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(server.mutations(), vec![], "{cluster}: no mutating write");
        assert_eq!(real_writes(&server), vec![], "{cluster}: only dry runs");
        assert!(server
            .writes()
            .iter()
            .all(|w| w.dry_run && w.verb == WriteVerb::Apply && w.plural != "configmaps"));
        assert_eq!(
            server.writes().len(),
            objects.len(),
            "{cluster}: one dry run per object"
        );
        assert_eq!(
            server.resource_version(),
            version,
            "{cluster}: nothing stored changed"
        );
        let after = server
            .get(
                &gvk_of("v1", "ConfigMap"),
                Some(AGENT_NAMESPACE),
                &config.inventory_name(),
            )
            .unwrap();
        assert_eq!(
            after["metadata"]["resourceVersion"], inventory_version,
            "{cluster}: the inventory is not rewritten"
        );
    }
}
