//! The other YAML hubdr reads that someone else wrote: the render index (`hubdr status`,
//! `hubdr bundle create`, the agent), cluster status files (`hubdr status`, `status import`,
//! the agent), bundle manifests and signature entries, status exports. Each goes through
//! `hubdr::untrusted_yaml`: deep nesting and custom tags are refused before serde_yaml parses
//! them, in time linear in their size.

use hubdr::bundle::{transfer, BundleManifest, Limits, SignatureEntry};
use hubdr::gitrepo::Tree;
use hubdr::index::RenderIndex;
use hubdr::status::ClusterStatus;

const DEEP: &str = "the YAML nests deeper than 64 levels, the limit for hubdr's inputs";

/// A field nested 20,000 levels deep (libyaml alone takes seconds over it, growing with the
/// square of the depth).
fn deep_field() -> String {
    format!("extra: {}{}\n", "[".repeat(20_000), "]".repeat(20_000))
}

#[track_caller]
fn assert_refused(error: impl std::fmt::Display, expected: &str) {
    let message = error.to_string();
    assert!(
        message.contains(expected),
        "{expected:?} is not in:\n{message}"
    );
}

#[test]
fn a_deeply_nested_render_index_is_refused() {
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: RenderIndex\n{}",
        deep_field()
    );
    assert_refused(RenderIndex::parse(&text).unwrap_err(), DEEP);
    let tagged = "apiVersion: !x hubdr.io/v1alpha1\n";
    assert_refused(
        RenderIndex::parse(tagged).unwrap_err(),
        "the YAML tag !x is not accepted",
    );
}

#[test]
fn a_deeply_nested_status_file_is_refused() {
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\n{}",
        deep_field()
    );
    assert_refused(ClusterStatus::parse(&text).unwrap_err(), DEEP);
    let tagged = "apiVersion: hubdr.io/v1alpha1\ncluster: !!python/object:x a\n";
    assert_refused(
        ClusterStatus::parse(tagged).unwrap_err(),
        "the YAML tag !!python/object:x is not accepted",
    );
}

#[test]
fn deeply_nested_bundle_manifests_and_signatures_are_refused() {
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: Bundle\n{}",
        deep_field()
    );
    assert_refused(BundleManifest::parse(text.as_bytes()).unwrap_err(), DEEP);
    let text = format!("algorithm: ed25519\n{}", deep_field());
    assert_refused(SignatureEntry::parse(text.as_bytes()).unwrap_err(), DEEP);
}

/// `hubdr status import` of an export whose status file nests too deep.
#[test]
fn a_status_export_with_a_deeply_nested_status_is_refused() {
    let mut files = Tree::new();
    files.insert(
        "clusters/east-1.yaml".to_string(),
        format!(
            "apiVersion: hubdr.io/v1alpha1\ncluster: east-1\n{}",
            deep_field()
        )
        .into_bytes(),
    );
    let export = transfer::pack(&files, None, "2026-01-01T00:00:00Z".parse().unwrap()).unwrap();
    let error = transfer::unpack(&export, &Limits::default()).unwrap_err();
    assert_refused(&error, "clusters/east-1.yaml: not a hubdr cluster status: ");
    assert_refused(&error, DEEP);
}
