//! CustomResourceDefinitions: turning them into served kinds, loading them from disk,
//! and the status a real API server gives them once established.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::Error;
use crate::resources::{ResourceInfo, VersionInfo};

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the served kind out of an `apiextensions.k8s.io/v1` CRD.
pub fn resource_info(crd: &Value) -> Result<ResourceInfo, Error> {
    let name = str_at(crd, "/metadata/name")
        .unwrap_or("<unnamed>")
        .to_string();
    let bad = |what: &str| Error::Crd {
        name: name.clone(),
        reason: what.to_string(),
    };
    if str_at(crd, "/kind") != Some("CustomResourceDefinition") {
        return Err(bad("kind is not CustomResourceDefinition"));
    }
    let group = str_at(crd, "/spec/group").ok_or_else(|| bad("spec.group is missing"))?;
    let kind = str_at(crd, "/spec/names/kind").ok_or_else(|| bad("spec.names.kind is missing"))?;
    let plural =
        str_at(crd, "/spec/names/plural").ok_or_else(|| bad("spec.names.plural is missing"))?;
    let singular = str_at(crd, "/spec/names/singular")
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = match str_at(crd, "/spec/scope") {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        _ => return Err(bad("spec.scope must be Namespaced or Cluster")),
    };
    let mut versions = Vec::new();
    for v in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("spec.versions is missing"))?
    {
        if !v.get("served").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let schema = v.pointer("/schema/openAPIV3Schema").cloned();
        versions.push(VersionInfo {
            name: str_at(v, "/name")
                .ok_or_else(|| bad("a version has no name"))?
                .to_string(),
            storage: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
            status_subresource: v.pointer("/subresources/status").is_some(),
            structure: schema.clone(),
            schema,
        });
    }
    if versions.is_empty() {
        return Err(bad("no served versions"));
    }
    Ok(ResourceInfo {
        group: group.to_string(),
        versions,
        kind: kind.to_string(),
        plural: plural.to_string(),
        singular,
        namespaced,
        short_names: strings(crd.pointer("/spec/names/shortNames")),
        categories: strings(crd.pointer("/spec/names/categories")),
    })
}

/// The `status` a real API server reports for an accepted, established CRD.
pub fn established_status(crd: &Value, info: &ResourceInfo, now: &str) -> Value {
    let names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let condition = |t: &str, reason: &str, message: &str| {
        json!({"type": t, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": now})
    };
    json!({
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": [info.storage_version().name],
    })
}

/// Parses every YAML document in `text` (JSON works too), skipping empty ones.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(doc)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Every CustomResourceDefinition in the YAML/JSON files under `dir` (recursively, in path
/// order). Documents of other kinds are skipped.
pub fn load_dir(dir: &Path) -> Result<Vec<Value>, Error> {
    let mut files = Vec::new();
    yaml_files(dir, &mut files)?;
    let mut crds = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let docs = parse_documents(&text).map_err(|source| Error::Yaml {
            path: path.clone(),
            source,
        })?;
        crds.extend(
            docs.into_iter().filter(|d| {
                d.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
            }),
        );
    }
    Ok(crds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRD: &str = r#"
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.io}
spec:
  group: example.io
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: false
    storage: false
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object}
"#;

    #[test]
    fn reads_names_scope_and_served_versions() {
        let docs = parse_documents(CRD).unwrap();
        let info = resource_info(&docs[0]).unwrap();
        assert_eq!(
            (
                info.group.as_str(),
                info.kind.as_str(),
                info.plural.as_str()
            ),
            ("example.io", "Widget", "widgets")
        );
        assert!(info.namespaced);
        assert_eq!(info.versions.len(), 1, "unserved versions are skipped");
        assert!(info.versions[0].status_subresource);
        assert_eq!(info.short_names, vec!["wd"]);
        let status = established_status(&docs[0], &info, "t");
        assert_eq!(status["conditions"][1]["type"], "Established");
    }

    #[test]
    fn rejects_documents_that_are_not_crds() {
        let err =
            resource_info(&json!({"kind": "ConfigMap", "metadata": {"name": "x"}})).unwrap_err();
        assert!(err.to_string().contains("not CustomResourceDefinition"));
    }
}
