//! A rendered Kubernetes object: identity, wave and content.

use serde_json::{Map, Value};

pub use hubdr_core::labels::{
    ANNOTATION_ARGO_WAVE, ANNOTATION_PRUNE, ANNOTATION_WAVE, LABEL_CLUSTER, LABEL_MANAGED_BY,
    LABEL_SITE,
};
pub use hubdr_core::object::ObjectId;

/// An object while it is rendered: where it goes, and its content.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub cluster: String,
    pub id: ObjectId,
    pub wave: i32,
    pub value: Value,
}

/// An object once rendered: where it went (its content is its file in the rendered tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedObject {
    pub cluster: String,
    pub id: ObjectId,
    pub wave: i32,
}

impl RenderedObject {
    /// `clusters/<cluster>/<file>`.
    pub fn path(&self) -> String {
        object_path(&self.cluster, &self.id)
    }
}

/// The file of object `id` of `cluster`: `clusters/<cluster>/<file>`.
fn object_path(cluster: &str, id: &ObjectId) -> String {
    format!("clusters/{cluster}/{}", id.file_name())
}

impl Manifest {
    /// `clusters/<cluster>/<file>`.
    pub fn path(&self) -> String {
        object_path(&self.cluster, &self.id)
    }

    /// What stays of the object once its file is written.
    pub fn into_rendered(self) -> RenderedObject {
        RenderedObject {
            cluster: self.cluster,
            id: self.id,
            wave: self.wave,
        }
    }

    /// Add hubdr's labels and annotations (ownership, wave) to the object's metadata.
    pub fn stamp(&mut self, site: &str, extra_annotations: &[(String, String)]) {
        let wave = self.wave.to_string();
        let Some(metadata) = self
            .value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        let labels = object_entry(metadata, "labels");
        labels.insert(LABEL_MANAGED_BY.into(), "hubdr".into());
        labels.insert(LABEL_SITE.into(), site.into());
        labels.insert(LABEL_CLUSTER.into(), self.cluster.clone().into());
        let annotations = object_entry(metadata, "annotations");
        annotations.insert(ANNOTATION_WAVE.into(), wave.clone().into());
        annotations.insert(ANNOTATION_ARGO_WAVE.into(), wave.into());
        for (k, v) in extra_annotations {
            annotations.insert(k.clone(), v.clone().into());
        }
    }

    pub fn to_yaml(&self) -> String {
        let mut out = String::from(
            "# Rendered by hubdr. Do not edit: change the site file and run `hubdr render`.\n",
        );
        crate::yaml::write(&mut out, &self.value);
        out
    }
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_display_and_name_files() {
        let id = ObjectId::of(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        assert_eq!(id.to_string(), "Namespace shop");
        assert_eq!(id.file_name(), "namespace.shop.yaml");
        let id = ObjectId::of(&json!({"apiVersion": "a/v1", "kind": "Restore", "metadata": {"name": "r", "namespace": "b"}})).unwrap();
        assert_eq!(id.to_string(), "Restore b/r");
        assert_eq!(id.file_name(), "restore.b.r.yaml");
        assert!(ObjectId::of(&json!({"kind": "X"}))
            .unwrap_err()
            .contains("apiVersion"));
    }
}
