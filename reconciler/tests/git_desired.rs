//! read_cluster: a cluster's directory of a repository rendered by the real `hubdr`
//! library, verified against `.hubdr/index.yaml`.

mod git_common;

use std::collections::BTreeMap;
use std::path::Path;

use git_common::{bare, commit_files, file_url, rendered, sandbox};
use hubdr::render::ObjectId;
use hubdr_agent::desired::{read_cluster, DesiredError};
use hubdr_agent::git::{Credentials, Fetched, GitSource};

/// Commit `tree` to a fresh bare remote and fetch it.
fn fetch(dir: &Path, tree: &BTreeMap<String, Vec<u8>>) -> Fetched {
    let path = dir.join("remote.git");
    let remote = bare(&path);
    commit_files(&remote, "main", tree, "render");
    GitSource::new(
        file_url(&path),
        "main",
        dir.join("cache"),
        Credentials::None,
    )
    .fetch()
    .unwrap()
}

fn first_object_of(tree: &BTreeMap<String, Vec<u8>>, cluster: &str) -> String {
    tree.keys()
        .find(|p| {
            p.starts_with(&format!("clusters/{cluster}/")) && !p.ends_with("kustomization.yaml")
        })
        .unwrap()
        .clone()
}

#[test]
fn reads_every_object_of_a_rendered_cluster() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let rendered = rendered();
    let fetched = fetch(dir.path(), &rendered.tree);
    for cluster in rendered.index.clusters.keys() {
        let desired = read_cluster(&fetched, cluster).unwrap();
        assert_eq!(desired.commit, fetched.commit());
        assert_eq!(desired.generation, rendered.index.generation);
        assert_eq!(desired.index, rendered.index);
        let expected: Vec<&String> = rendered
            .tree
            .keys()
            .filter(|p| p.starts_with(&format!("clusters/{cluster}/")))
            .filter(|p| !p.ends_with("/kustomization.yaml"))
            .collect();
        let got: Vec<&String> = desired.objects.iter().map(|o| &o.path).collect();
        assert_eq!(got, expected, "cluster {cluster}");
        for object in &desired.objects {
            // Read back as the object the generator rendered for this cluster and file.
            let rendered_object = rendered
                .objects
                .iter()
                .find(|o| o.path() == object.path)
                .unwrap_or_else(|| panic!("{} is a rendered object", object.path));
            assert_eq!(&rendered_object.cluster, cluster);
            assert_eq!(
                ObjectId::of(&object.value).as_ref(),
                Ok(&rendered_object.id),
                "{}",
                object.path
            );
            assert_eq!(
                object.value["metadata"]["labels"]["hubdr.io/cluster"],
                serde_json::json!(cluster),
                "{}",
                object.path
            );
        }
    }
    assert!(read_cluster(&fetched, "hub-a").unwrap().objects.len() > 1);
}

#[test]
fn a_tampered_file_is_refused_by_name() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let mut tree = rendered().tree;
    let victim = first_object_of(&tree, "hub-a");
    tree.get_mut(&victim)
        .unwrap()
        .extend_from_slice(b"# sneaky\n");
    let fetched = fetch(dir.path(), &tree);
    let err = read_cluster(&fetched, "hub-a").unwrap_err();
    assert!(matches!(err, DesiredError::Verify { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&victim), "{message}");
    assert!(message.contains("Nothing was applied"), "{message}");
    // Other clusters are unaffected.
    read_cluster(&fetched, "hub-b").unwrap();
}

#[test]
fn an_unindexed_file_is_refused() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let mut tree = rendered().tree;
    let extra = "clusters/hub-a/extra-configmap.yaml".to_string();
    tree.insert(
        extra.clone(),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: default}\n".to_vec(),
    );
    let fetched = fetch(dir.path(), &tree);
    let err = read_cluster(&fetched, "hub-a").unwrap_err();
    assert!(matches!(err, DesiredError::Unindexed { .. }), "{err:?}");
    assert!(err.to_string().contains(&extra), "{err}");
}

#[test]
fn a_missing_indexed_file_is_refused() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let mut tree = rendered().tree;
    let gone = first_object_of(&tree, "hub-b");
    tree.remove(&gone);
    let fetched = fetch(dir.path(), &tree);
    let err = read_cluster(&fetched, "hub-b").unwrap_err();
    assert!(matches!(err, DesiredError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains(&gone), "{err}");
}

#[test]
fn an_unknown_cluster_names_the_known_ones() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let fetched = fetch(dir.path(), &rendered().tree);
    let err = read_cluster(&fetched, "hub-z").unwrap_err();
    assert!(
        matches!(err, DesiredError::UnknownCluster { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("hub-z") && message.contains("hub-a"),
        "{message}"
    );
    assert!(message.contains("--cluster"), "{message}");
}

#[test]
fn a_repository_without_an_index_is_refused() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let mut tree = rendered().tree;
    tree.remove(hubdr::index::INDEX_PATH);
    let fetched = fetch(dir.path(), &tree);
    let err = read_cluster(&fetched, "hub-a").unwrap_err();
    assert!(matches!(err, DesiredError::MissingIndex { .. }), "{err:?}");
    assert!(err.to_string().contains("hubdr render"), "{err}");
}
