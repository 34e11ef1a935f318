//! Hostile sizes and shapes in what the agent reads: the repository (an attacker who can push
//! also rewrites `.hubdr/index.yaml` to match, so the digests do not stop these) and other
//! clusters' status files. Every repository case fails the pass before any call to the API
//! server (not even a dry run), with a reason that names the file, the limit and the fix.

mod support;

use std::collections::BTreeMap;

use hubdr::index::{RenderIndex, INDEX_PATH};
use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use hubdr_agent::git::{Credentials, Identity, StatusWriter};
use kubefake::FakeApiServer;
use support::*;

type Tree = BTreeMap<String, Vec<u8>>;

const ORDERS_RS: &str = "ReplicationSource shop/orders-db";
const CATALOG_RS: &str = "clusters/east-1/replicationsource.catalog.catalog-files.yaml";
const MEDIA_NS: &str = "clusters/east-1/namespace.media.yaml";

/// The example site rendered, and a fake cluster for east-1 with the namespaces it needs.
async fn east_1() -> (Tree, FakeApiServer) {
    let rendered = render(EXAMPLE_SITE);
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(&rendered, "east-1"));
    (rendered.tree, server)
}

/// `tree` with `files` replaced or added, and the index rewritten to list them with their
/// digests, as someone with push access would.
fn rewritten(tree: &Tree, files: &[(&str, Vec<u8>)]) -> Tree {
    let mut tree = tree.clone();
    let mut index = RenderIndex::parse(std::str::from_utf8(&tree[INDEX_PATH]).unwrap()).unwrap();
    for (path, bytes) in files {
        tree.insert(path.to_string(), bytes.clone());
        index
            .files
            .insert(path.to_string(), hubdr::bundle::sha256_hex(bytes));
    }
    tree.insert(INDEX_PATH.into(), index.to_yaml().into_bytes());
    tree
}

/// One east-1 pass over `tree`; asserts it failed verification with nothing sent to the API
/// server, and returns its message.
async fn refused_pass(tree: &Tree, server: &FakeApiServer) -> String {
    let remote = Remote::new();
    remote.commit(tree, "hostile");
    let cache = tempfile::tempdir().unwrap();
    let status = remote
        .agent("east-1", server, cache.path())
        .pass_once()
        .await;
    assert_eq!(
        writes_but_own_key(server),
        vec![],
        "nothing was applied, not even a dry run: {}",
        status.pass.message
    );
    assert!(labelled(server, "east-1").is_empty());
    assert_eq!(
        (status.pass.outcome.as_str(), status.pass.reason.as_str()),
        ("Failed", "VerifyFailed"),
        "{}",
        status.pass.message
    );
    assert!(
        status.pass.message.contains("Nothing was applied")
            || status.pass.message.ends_with("nothing was applied"),
        "{}",
        status.pass.message
    );
    assert_eq!(remote.status_file("east-1").unwrap(), status, "reported");
    status.pass.message
}

#[track_caller]
fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} is not in:\n{message}");
    }
}

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

#[tokio::test]
async fn a_deeply_nested_object_file_is_refused_before_it_is_parsed() {
    let (tree, server) = east_1().await;
    let hostile = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, namespace: shop}}\ndata: {{a: {}}}\n",
        nested(20_000)
    );
    let tree = rewritten(&tree, &[(CATALOG_RS, hostile.into_bytes())]);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[
            CATALOG_RS,
            "the YAML nests deeper than 64 levels, the limit for hubdr's inputs (line 4 column 73)",
            "flatten the document",
        ],
    );
}

#[tokio::test]
async fn a_custom_tag_in_an_object_file_is_refused() {
    let (tree, server) = east_1().await;
    let text = String::from_utf8(tree[CATALOG_RS].clone()).unwrap();
    let tagged = text.replacen("name: catalog-files", "name: !vault catalog-files", 1);
    assert_ne!(tagged, text);
    let tree = rewritten(&tree, &[(CATALOG_RS, tagged.into_bytes())]);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[
            CATALOG_RS,
            "the YAML tag !vault is not accepted",
            "remove the tag",
        ],
    );
}

#[tokio::test]
async fn a_deeply_nested_index_is_refused_before_it_is_parsed() {
    let (tree, server) = east_1().await;
    let mut tree = tree;
    let index = String::from_utf8(tree[INDEX_PATH].clone()).unwrap();
    tree.insert(
        INDEX_PATH.into(),
        format!("{index}extra: {}\n", nested(20_000)).into_bytes(),
    );
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[INDEX_PATH, "the YAML nests deeper than 64 levels"],
    );
}

/// 3 MiB in one file (a ConfigMap with one long value): refused from the blob's size.
#[tokio::test]
async fn an_object_file_over_the_size_limit_is_refused() {
    let (tree, server) = east_1().await;
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: shop}}\ndata: {{a: {}}}\n",
        "x".repeat(3 << 20)
    );
    let tree = rewritten(&tree, &[(CATALOG_RS, big.into_bytes())]);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[
            &format!("{CATALOG_RS} is 3 MiB (3145810 bytes), more than the limit of 2 MiB for a file of a cluster directory"),
            "remove the file or re-render with `hubdr render`",
        ],
    );
}

/// 18 files of 1.8 MiB (32.6 MiB together, each under the file limit): refused from the
/// blobs' sizes before any is loaded. (One content for all: git stores it once.)
#[tokio::test]
async fn a_cluster_directory_over_the_size_limit_is_refused() {
    let (tree, server) = east_1().await;
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: shop}}\ndata: {{a: {}}}\n",
        "x".repeat(1_900_000)
    );
    let paths: Vec<String> = (0..18)
        .map(|i| format!("clusters/east-1/configmap.shop.c{i:02}.yaml"))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = paths
        .iter()
        .map(|p| (p.as_str(), text.clone().into_bytes()))
        .collect();
    let tree = rewritten(&tree, &files);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[
            // The byte count depends on the rendered files beside the 18 added ones.
            "clusters/east-1/ holds 32.6 MiB (",
            " bytes) in its files",
            "more than the limit of 32 MiB for one cluster's directory",
        ],
    );
}

/// Two files for one object (the copy with another schedule): before, the later file won.
#[tokio::test]
async fn two_files_for_one_object_are_refused_naming_both() {
    let (tree, server) = east_1().await;
    let text = String::from_utf8(tree[CATALOG_RS].clone()).unwrap();
    let copy = text.replacen("schedule: 0 * * * *", "schedule: '*/1 * * * *'", 1);
    assert_ne!(copy, text);
    let second = "clusters/east-1/zz-replicationsource.yaml";
    let tree = rewritten(&tree, &[(second, copy.into_bytes())]);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[
            &format!("{CATALOG_RS} and {second} both describe ReplicationSource catalog/catalog-files (group volsync.backube)"),
            "remove one of them",
        ],
    );
}

/// A wave that is no number: before, it was silently wave 0.
#[tokio::test]
async fn an_unreadable_wave_is_refused_naming_the_file() {
    let (tree, server) = east_1().await;
    let text = String::from_utf8(tree[MEDIA_NS].clone()).unwrap();
    let edited = text.replacen("hubdr.io/wave: '0'", "hubdr.io/wave: first", 1);
    assert_ne!(edited, text);
    let tree = rewritten(&tree, &[(MEDIA_NS, edited.into_bytes())]);
    let message = refused_pass(&tree, &server).await;
    assert_contains(
        &message,
        &[&format!(
            "{MEDIA_NS}: annotation hubdr.io/wave is \"first\", not a whole number"
        )],
    );
}

/// A west-1 status file that would bind the orders-db address, with `extra` appended.
fn west_status_with(extra: &str) -> Vec<u8> {
    format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: west-1\nagentVersion: test\n\
         updatedAt: '2026-01-01T00:00:00Z'\nsource: {{}}\npass: {{outcome: Succeeded, reason: Applied}}\n\
         observed:\n  replicationDestinations:\n  - {{name: shop/orders-db, address: 10.9.9.9}}\n{extra}"
    )
    .into_bytes()
}

/// east-1's pass with `status` as west-1's status file: the late-bound address must not come
/// from it.
async fn status_ignored(status: Vec<u8>) {
    let (tree, server) = east_1().await;
    let remote = Remote::new();
    remote.commit(&tree, "render");
    let cache = tempfile::tempdir().unwrap();
    let writer = StatusWriter::new(
        remote.url(),
        STATUS_BRANCH,
        cache.path().join("west-writer"),
        Credentials::None,
        Identity::new("hubdr-agent west-1", "hubdr-agent+west-1@localhost"),
    );
    let _published = writer.publish("west-1", &status).unwrap();
    let status: ClusterStatus = remote
        .agent("east-1", &server, cache.path())
        .pass_once()
        .await;
    let found = status
        .objects
        .iter()
        .find(|o| o.object == ORDERS_RS)
        .unwrap();
    assert_eq!(found.result, "waiting", "{}", found.message);
    let rs = gvk_of("volsync.backube/v1alpha1", "ReplicationSource");
    assert!(server.get(&rs, Some("shop"), "orders-db").is_none());
    assert!(writes_to(&server, "replicationsources", "orders-db").is_empty());
}

/// A status file nested 100 levels deep (within serde_yaml's own limit of 128): ignored.
#[tokio::test]
async fn a_deeply_nested_status_file_of_another_cluster_is_ignored() {
    status_ignored(west_status_with(&format!("padding: {}\n", nested(100)))).await;
}

/// A 5 MiB status file: ignored from its blob's size.
#[tokio::test]
async fn an_oversized_status_file_of_another_cluster_is_ignored() {
    status_ignored(west_status_with(&format!(
        "padding: {}\n",
        "x".repeat(5 << 20)
    )))
    .await;
}
