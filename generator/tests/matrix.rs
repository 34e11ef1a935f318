//! The site matrix: `tests/data/matrix/*.yaml` together use every site option. Each site is
//! rendered in memory, checked against the domain rules (domain.md), validated against the
//! upstream CRDs (`../shared/tools/validate-manifests`), snapshotted, and rendered again to
//! prove determinism, in memory and through the CLI into a git repository.

mod agent_rules;
mod hosted_rules;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hubdr::gates::Gate;
use hubdr::gitrepo::Tree;
use hubdr::site::hosted::HostedMethod;
use hubdr::site::{Hub, HubRole, LoadedSite, Method, Replication, Site};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use agent_rules::{documents, git_credential_keys};
use support::Sandbox;

macro_rules! matrix {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check_site($file);
            }
        )*
        const MATRIX: &[&str] = &[$($file),*];
    };
}

matrix! {
    minimal => "minimal",
    full_storage => "full-storage",
    disconnected_failover => "disconnected-failover",
    volsync_rsync => "volsync-rsync",
    volsync_restic_rclone => "volsync-restic-rclone",
    patches => "patches",
    hosted_clusters => "hosted-clusters",
    oadp_1_2_restic => "oadp-1-2-restic",
    oadp_1_3_node_agent => "oadp-1-3-node-agent",
}

fn site_path(name: &str) -> PathBuf {
    support::data("matrix").join(format!("{name}.yaml"))
}

fn load(name: &str) -> LoadedSite {
    hubdr::site::load_file(&site_path(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

/// Everything checked for one matrix site.
fn check_site(name: &str) {
    let (loaded, rendered) = support::render_file(&site_path(name));

    // Determinism: a second render in memory is byte-identical.
    let (_, again) = support::render_file(&site_path(name));
    assert_eq!(
        rendered.tree, again.tree,
        "{name}: two renders of the same site differ"
    );

    domain_rules(&loaded, &rendered.tree);

    let text = support::tree_text(&rendered.tree);
    let text = redact_tool_version(&text);
    support::snapshots().bind(|| insta::assert_snapshot!(name, text));

    if !support::shared_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    support::write_tree(dir.path(), &rendered.tree);
    let run = support::validate_manifests(dir.path());
    run.expect_code(0);
    let summary = run.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" 0 failed"),
        "{name}: validate-manifests summary is {summary:?}\n{run}"
    );
    let passed: usize = summary
        .split(" passed")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let custom_resources = rendered
        .objects
        .iter()
        .filter(|o| o.id.api_version != "v1")
        .count();
    assert_eq!(
        passed, custom_resources,
        "{name}: every custom resource must be checked against a CRD, not skipped\n{run}"
    );
}

fn redact_tool_version(text: &str) -> String {
    let version = format!("toolVersion: {}\n", hubdr::render::TOOL_VERSION);
    text.replace(&version, "toolVersion: '[version]'\n")
}

#[test]
fn every_matrix_file_has_a_test() {
    let on_disk = support::yaml_stems(&support::data("matrix"));
    let mut listed: Vec<String> = MATRIX.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add the new matrix file to the matrix! macro"
    );
}

#[path = "matrix/view.rs"]
mod view;
#[allow(unused_imports)]
use view::*;
#[path = "matrix/rules.rs"]
mod rules;
#[allow(unused_imports)]
use rules::*;
#[path = "matrix/hubs.rs"]
mod hubs;
#[allow(unused_imports)]
use hubs::*;
#[path = "matrix/replications.rs"]
mod replications;
#[allow(unused_imports)]
use replications::*;
#[path = "matrix/coverage.rs"]
mod coverage;
#[allow(unused_imports)]
use coverage::*;
#[path = "matrix/sites.rs"]
mod sites;
#[allow(unused_imports)]
use sites::*;
#[path = "matrix/determinism.rs"]
mod determinism;
#[allow(unused_imports)]
use determinism::*;
