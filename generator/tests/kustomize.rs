//! What Argo CD builds: each `clusters/<name>/` of the rendered example through kustomize
//! (`kustomize build DIR` or `kubectl kustomize DIR`) gives exactly the objects of its files.
//! Skipped, and passing, when neither tool is on PATH.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

/// The command that builds a kustomization directory, if one is installed.
fn kustomize() -> Option<Vec<&'static str>> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works("kustomize", &["version"]) {
        return Some(vec!["kustomize", "build"]);
    }
    if works("kubectl", &["kustomize", "--help"]) {
        return Some(vec!["kubectl", "kustomize"]);
    }
    None
}

/// Every YAML document of `text`, skipping empty ones.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("a YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// A value with object keys sorted, as text: equal values give equal strings.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Multiset of canonical values.
fn counted(values: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for v in values {
        *out.entry(canonical(v)).or_insert(0) += 1;
    }
    out
}

/// The objects of the files `kustomization.yaml` lists, in its order.
fn listed_in_order(cluster_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(cluster_dir.join("kustomization.yaml")).unwrap();
    let kustomization: Value = serde_yaml::from_str(&text).unwrap();
    kustomization["resources"]
        .as_array()
        .expect("resources is a list")
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(cluster_dir.join(file.as_str().unwrap())).unwrap();
            documents(&text)
        })
        .map(|v| canonical(&v))
        .collect()
}

#[test]
fn kustomize_builds_every_cluster_directory_into_exactly_its_objects() {
    let Some(tool) = kustomize() else {
        println!("skipped: kustomize not available");
        return;
    };
    let site = support::manifest_dir().join("../repos-example/site.yaml");
    let (_, rendered) = support::render_file(&site);
    let dir = tempfile::tempdir().unwrap();
    support::write_tree(dir.path(), &rendered.tree);

    let clusters: Vec<String> = rendered.index.clusters.keys().cloned().collect();
    assert!(clusters.len() >= 2, "the example has several clusters");
    for cluster in &clusters {
        let cluster_dir = dir.path().join("clusters").join(cluster);
        let output = Command::new(tool[0])
            .args(&tool[1..])
            .arg(&cluster_dir)
            .output()
            .expect("kustomize runs");
        assert!(
            output.status.success(),
            "{} {} failed:\n{}",
            tool.join(" "),
            cluster_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let built = documents(&String::from_utf8(output.stdout).unwrap());
        let files = files_of(&cluster_dir);
        assert!(!files.is_empty(), "{cluster} has objects");
        assert_eq!(
            counted(&built),
            counted(&files),
            "{cluster}: kustomize output differs from the files' objects"
        );
        // And in the kustomization's order, which is the apply order (waves).
        let listed = listed_in_order(&cluster_dir);
        let built: Vec<String> = built.iter().map(canonical).collect();
        assert_eq!(
            built, listed,
            "{cluster}: kustomize does not emit the objects in the kustomization's (apply) order"
        );
    }
}

/// The objects of the files in a cluster directory (not the kustomization).
fn files_of(dir: &Path) -> Vec<Value> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .flat_map(|p| documents(&std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// The ApplicationSet as Argo CD reads it (operator-manual/applicationset): Go templates with
/// `missingkey=error`, parameters every list element has, string fields only, and
/// `preserveResourcesOnDeletion` so deleting it never deletes a hub's backup objects.
#[test]
fn the_applicationset_uses_go_templates_and_keeps_resources_on_deletion() {
    let (_, rendered) =
        support::render_file(&support::manifest_dir().join("../repos-example/site.yaml"));
    let a: Value = serde_yaml::from_slice(&rendered.tree["argocd/applicationset.yaml"]).unwrap();
    assert_eq!(a["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(a["spec"]["goTemplate"], true);
    assert_eq!(
        a["spec"]["goTemplateOptions"],
        serde_json::json!(["missingkey=error"])
    );
    assert_eq!(a["spec"]["syncPolicy"]["preserveResourcesOnDeletion"], true);
    let elements = a["spec"]["generators"][0]["list"]["elements"]
        .as_array()
        .unwrap();
    assert_eq!(
        elements.len(),
        rendered.index.clusters.len(),
        "one Application per cluster directory"
    );
    for element in elements {
        assert!(
            element["cluster"].is_string() && element["destination"].is_string(),
            "{element}"
        );
        let cluster = element["cluster"].as_str().unwrap();
        assert!(
            rendered
                .tree
                .contains_key(&format!("clusters/{cluster}/kustomization.yaml")),
            "{cluster}"
        );
    }
    let template = &a["spec"]["template"];
    // ACM backs up argoproj.io resources (issue 17.6): a passive hub must not restore hubdr's
    // ApplicationSet or its Applications.
    for labels in [&a["metadata"]["labels"], &template["metadata"]["labels"]] {
        assert_eq!(labels["velero.io/exclude-from-backup"], "true", "{a}");
    }
    assert_eq!(template["metadata"]["name"], "hubdr-{{ .cluster }}");
    assert_eq!(
        template["spec"]["source"]["path"],
        "clusters/{{ .cluster }}"
    );
    assert_eq!(
        template["spec"]["destination"]["name"],
        "{{ .destination }}"
    );
    assert!(
        template["spec"]["destination"].get("server").is_none(),
        "name and server are exclusive"
    );
    let options = template["spec"]["syncPolicy"]["syncOptions"]
        .as_array()
        .unwrap();
    assert!(options.contains(&Value::from("ServerSideApply=true")));
    // Go templates only fill string fields: booleans must be literal.
    let automated = &template["spec"]["syncPolicy"]["automated"];
    assert!(
        automated["prune"].is_boolean() && automated["selfHeal"].is_boolean(),
        "{automated}"
    );
}
