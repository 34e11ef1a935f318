//! The DataProtectionApplication's node agent by ACM version (issue 17.8): OADP 1.3 renamed
//! `spec.configuration.restic` to `spec.configuration.nodeAgent` (with `uploaderType`). ACM 2.8
//! and 2.9 before 2.9.3 install OADP 1.1/1.2 (`restic`); 2.8.5+, 2.9.3+ and 2.10+ install OADP
//! 1.3 or later (`nodeAgent`): stolostron/cluster-backup-operator README's OADP table.

use std::path::Path;

use serde_json::{json, Value};

const SITE: &str = include_str!("data/matrix/oadp-1-2-restic.yaml");

/// The `spec.configuration` of every hub's DPA of `site`.
fn configurations(site: &str) -> Vec<(String, Value)> {
    let loaded = hubdr::site::load_str(site, Path::new("site.yaml")).expect("a valid site");
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
        .expect("the site renders");
    let found: Vec<(String, Value)> = rendered
        .tree
        .iter()
        .filter(|(path, _)| path.contains("/dataprotectionapplication."))
        .map(|(path, bytes)| {
            let dpa: Value = serde_yaml::from_slice(bytes).unwrap();
            (path.clone(), dpa["spec"]["configuration"].clone())
        })
        .collect();
    assert_eq!(found.len(), 2, "one DPA per hub");
    found
}

fn with_version(version: &str) -> String {
    assert!(SITE.contains("  acmVersion: \"2.9\"\n"));
    SITE.replacen(
        "acmVersion: \"2.9\"",
        &format!("acmVersion: {version:?}"),
        1,
    )
}

#[test]
fn oadp_1_1_and_1_2_get_restic() {
    for version in ["2.8", "2.8.4", "2.9", "2.9.2"] {
        for (path, configuration) in configurations(&with_version(version)) {
            assert_eq!(
                configuration["restic"],
                json!({"enable": true}),
                "{version}: {path}"
            );
            assert!(
                configuration.get("nodeAgent").is_none(),
                "{version}: {path}: the DPA of OADP 1.1/1.2 has no nodeAgent"
            );
        }
    }
}

#[test]
fn oadp_1_3_and_later_get_node_agent() {
    for version in ["2.8.5", "2.9.3", "2.10", "2.11", "2.15"] {
        for (path, configuration) in configurations(&with_version(version)) {
            assert_eq!(
                configuration["nodeAgent"],
                json!({"enable": true, "uploaderType": "restic"}),
                "{version}: {path}"
            );
            assert!(
                configuration.get("restic").is_none(),
                "{version}: {path}: OADP refuses restic beside nodeAgent"
            );
        }
    }
    let newest = SITE.replacen("  acmVersion: \"2.9\"\n", "", 1);
    assert_ne!(newest, SITE);
    for (path, configuration) in configurations(&newest) {
        assert!(configuration.get("nodeAgent").is_some(), "{path}");
    }
}
