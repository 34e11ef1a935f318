//! A reference to a key of a Secret (read by `site::model` and `site::hosted`).

use serde::{Deserialize, Serialize};

/// A Secret referenced by name and key; its data never appears in git.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    #[serde(default = "default_cloud_key")]
    pub key: String,
}

fn default_cloud_key() -> String {
    "cloud".into()
}
