//! A Kubernetes object's identity (apiVersion, kind, namespace, name), as the renderer, the
//! index and the agent name objects.

use std::fmt;

use serde_json::Value;

/// Identity of an object inside one cluster, as `kind` + `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl ObjectId {
    /// Read the identity from an object, or say which field is missing.
    pub fn of(value: &Value) -> Result<Self, String> {
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let api_version = text("/apiVersion").ok_or("the object has no apiVersion")?;
        let kind = text("/kind").ok_or("the object has no kind")?;
        let name = text("/metadata/name").ok_or("the object has no metadata.name")?;
        Ok(Self {
            api_version,
            kind,
            namespace: text("/metadata/namespace"),
            name,
        })
    }

    /// The object's file name inside its cluster directory.
    pub fn file_name(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        match &self.namespace {
            Some(ns) => format!("{kind}.{ns}.{}.yaml", self.name),
            None => format!("{kind}.{}.yaml", self.name),
        }
    }
}
