//! `.hubdr/index.yaml`: what a render produced, read back by `hubdr plan` and by the agents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const INDEX_PATH: &str = ".hubdr/index.yaml";
pub const INDEX_KIND: &str = "RenderIndex";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderIndex {
    pub api_version: String,
    pub kind: String,
    pub site: String,
    /// `sha256:<hex>` of the canonical site model.
    pub site_hash: String,
    pub generation: u64,
    pub tool_version: String,
    /// `embedded` or the digest of the templates used.
    pub templates: String,
    pub clusters: BTreeMap<String, ClusterEntry>,
    /// Every rendered file (outside `.hubdr/`) with its sha256 hex digest.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterEntry {
    /// `hub` or `managed`.
    pub kind: String,
    /// Hub role: active, passive or fenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
}

/// Something that must exist in a cluster before its objects work; never rendered by hubdr.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prerequisite {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Keys the Secret must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Who needs it.
    #[serde(rename = "for")]
    pub for_: String,
}

impl RenderIndex {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_yaml::from_str(text)
            .map_err(|e| format!("{INDEX_PATH} is not a hubdr render index: {e}"))
    }

    pub fn to_yaml(&self) -> String {
        let value = serde_json::to_value(self).expect("the index always serializes");
        let body = crate::yaml::to_string(&value);
        format!("# Written by hubdr render: digests of every rendered file. Do not edit.\n{body}")
    }
}
