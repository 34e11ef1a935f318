//! Auto-import (seeds §1.1.6.1): with `useManagedServiceAccount`, every hub's
//! MultiClusterEngine gets the managed-service-account component enabled, under the name of
//! the declared ACM version (`managedserviceaccount-preview` in 2.8).

use std::path::Path;

use serde_json::Value;

const EXAMPLE: &str = include_str!("../../repos-example/site.yaml");

/// The MultiClusterEngine files of `site`, by path, parsed.
fn engines(site: &str) -> Vec<(String, Value)> {
    let loaded = hubdr::site::load_str(site, Path::new("site.yaml")).expect("a valid site");
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
        .expect("the site renders");
    rendered
        .tree
        .iter()
        .filter(|(path, _)| path.contains("/multiclusterengine."))
        .map(|(path, bytes)| (path.clone(), serde_yaml::from_slice(bytes).unwrap()))
        .collect()
}

fn components(engine: &Value) -> &Value {
    &engine["spec"]["overrides"]["components"]
}

#[test]
fn every_hub_enables_the_managed_service_account_component() {
    assert!(EXAMPLE.contains("    useManagedServiceAccount: true\n"));
    let found = engines(EXAMPLE);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "clusters/hub-a/multiclusterengine.multiclusterengine.yaml",
            "clusters/hub-b/multiclusterengine.multiclusterengine.yaml"
        ]
    );
    for (path, engine) in &found {
        assert_eq!(engine["metadata"]["name"], "multiclusterengine", "{path}");
        assert!(engine["metadata"].get("namespace").is_none(), "{path}");
        assert_eq!(
            components(engine),
            &serde_json::json!([{"name": "managedserviceaccount", "enabled": true}]),
            "{path}: the newest ACM's name, one entry of the map-list"
        );
    }
}

#[test]
fn acm_2_8_names_the_component_managedserviceaccount_preview() {
    let site = EXAMPLE.replacen("spec:\n", "spec:\n  acmVersion: \"2.8\"\n", 1);
    assert_ne!(site, EXAMPLE);
    for (path, engine) in engines(&site) {
        assert_eq!(
            components(&engine)[0]["name"],
            "managedserviceaccount-preview",
            "{path}"
        );
    }
    let site = EXAMPLE.replacen("spec:\n", "spec:\n  acmVersion: \"2.9\"\n", 1);
    for (path, engine) in engines(&site) {
        assert_eq!(
            components(&engine)[0]["name"],
            "managedserviceaccount",
            "{path}"
        );
    }
}

#[test]
fn the_engine_name_is_the_sites_and_nothing_is_rendered_without_auto_import() {
    let site = EXAMPLE.replacen(
        "spec:\n",
        "spec:\n  multiClusterEngine: {name: engine}\n",
        1,
    );
    let found = engines(&site);
    assert_eq!(found.len(), 2);
    assert!(found
        .iter()
        .all(|(p, e)| p.ends_with("/multiclusterengine.engine.yaml")
            && e["metadata"]["name"] == "engine"));
    let site = EXAMPLE.replacen(
        "    useManagedServiceAccount: true\n",
        "    useManagedServiceAccount: false\n",
        1,
    );
    assert!(engines(&site).is_empty());
}
