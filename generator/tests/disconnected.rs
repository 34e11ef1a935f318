//! Disconnected hubs: the OADP subscription annotation travels in the same MultiClusterHub
//! object that enables cluster-backup (so the operator never sees the enablement without it),
//! and the CatalogSource is a prerequisite in the index and in `hubdr plan`.

mod support;

use hubdr::cli::{Command, SiteArgs};
use serde_json::{json, Value};

const ANNOTATION: &str = "installer.open-cluster-management.io/oadp-subscription-spec";
const SITE: &str = "disconnected-failover";

fn rendered() -> (hubdr::site::LoadedSite, hubdr::render::Rendered) {
    support::render_file(&support::data("matrix").join(format!("{SITE}.yaml")))
}

/// The parsed objects in `clusters/<hub>/`, by file.
fn objects(rendered: &hubdr::render::Rendered, hub: &str) -> Vec<(String, Value)> {
    let dir = format!("clusters/{hub}/");
    rendered
        .tree
        .iter()
        .filter(|(p, _)| p.starts_with(&dir) && !p.ends_with("/kustomization.yaml"))
        .map(|(p, b)| (p.clone(), serde_yaml::from_slice(b).unwrap()))
        .collect()
}

fn enables_cluster_backup(object: &Value) -> bool {
    object
        .pointer("/spec/overrides/components")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["name"] == "cluster-backup" && c["enabled"] == true)
        })
}

fn mentions_cluster_backup(object: &Value) -> bool {
    object.to_string().contains("cluster-backup")
}

#[test]
fn the_oadp_annotation_is_in_the_object_that_enables_cluster_backup() {
    let (_, rendered) = rendered();
    for hub in ["hub-a", "hub-b", "hub-c"] {
        let objects = objects(&rendered, hub);
        let annotated: Vec<&(String, Value)> = objects
            .iter()
            .filter(|(_, o)| {
                o.pointer("/metadata/annotations")
                    .and_then(|a| a.get(ANNOTATION))
                    .is_some()
            })
            .collect();
        assert_eq!(
            annotated.len(),
            1,
            "{hub}: exactly one object carries the annotation: {annotated:?}"
        );
        let (path, mch) = annotated[0];
        assert_eq!(mch["kind"], "MultiClusterHub", "{hub}: {path}");
        assert!(
            enables_cluster_backup(mch),
            "{hub}: {path} enables cluster-backup in the same object"
        );
        let spec: Value =
            serde_json::from_str(mch["metadata"]["annotations"][ANNOTATION].as_str().unwrap())
                .unwrap();
        assert_eq!(
            spec,
            json!({"source": "redhat-operator-index", "sourceNamespace": "openshift-marketplace-mirror"}),
            "{hub}"
        );
        let others: Vec<&String> = objects
            .iter()
            .filter(|(p, o)| p != path && mentions_cluster_backup(o))
            .map(|(p, _)| p)
            .collect();
        assert!(others.is_empty(), "{hub}: nothing else touches cluster-backup (it could be applied without the annotation): {others:?}");
    }
    // hub-d opts out of `spec.disconnected`: the enablement without the annotation.
    let objects = objects(&rendered, "hub-d");
    let (_, mch) = objects
        .iter()
        .find(|(_, o)| o["kind"] == "MultiClusterHub")
        .expect("hub-d has a MultiClusterHub");
    assert!(enables_cluster_backup(mch));
    assert!(mch
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
        .is_none());
}

#[test]
fn the_catalog_source_is_a_prerequisite_of_every_disconnected_hub() {
    let (_, rendered) = rendered();
    let is_catalog = |p: &hubdr::index::Prerequisite| {
        p.kind == "CatalogSource"
            && p.namespace == "openshift-marketplace-mirror"
            && p.name == "redhat-operator-index"
    };
    for (cluster, expected) in [
        ("hub-a", true),
        ("hub-b", true),
        ("hub-c", true),
        ("hub-d", false),
        ("plant-1", false),
    ] {
        let entry = &rendered.index.clusters[cluster];
        assert_eq!(
            entry.prerequisites.iter().any(is_catalog),
            expected,
            "{cluster}: {:#?}",
            entry.prerequisites
        );
    }

    // And `hubdr plan` shows it in each disconnected hub's section.
    let dir = tempfile::tempdir().unwrap();
    let command = Command::Plan {
        site: SiteArgs {
            site: support::data("matrix").join(format!("{SITE}.yaml")),
            templates: None,
        },
        out: dir.path().join("no-repo-yet"),
        markdown: false,
        exit_code: false,
        filter: Default::default(),
        output: Default::default(),
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    hubdr::commands::run(&command, &mut out, &mut err).unwrap();
    let plan = String::from_utf8(out).unwrap();
    for (hub, expected) in [
        ("hub-a", true),
        ("hub-b", true),
        ("hub-c", true),
        ("hub-d", false),
    ] {
        let start = plan
            .find(&format!("\n{hub} (hub"))
            .unwrap_or_else(|| panic!("{hub} in\n{plan}"));
        let section = &plan[start + 1..];
        let section = &section[..section.find("\n\n").unwrap_or(section.len())];
        assert_eq!(
            section.contains("CatalogSource openshift-marketplace-mirror/redhat-operator-index"),
            expected,
            "{hub}:\n{section}"
        );
    }
}
