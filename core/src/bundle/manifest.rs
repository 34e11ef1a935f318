//! The bundle manifest (what the signature covers) and the signature entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::BundleError;
use crate::limits::INDEX_MAX_BYTES;
use crate::untrusted_yaml;

pub const MANIFEST_ENTRY: &str = "manifest.yaml";
pub const SIGNATURE_ENTRY: &str = "manifest.sig";
pub const MANIFEST_KIND: &str = "BundleManifest";
pub const SIGNATURE_ALGORITHM: &str = "ed25519";

/// Everything a bundle holds, signed as one document: the file list carries every file's
/// sha256, so the signature covers all content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleManifest {
    pub api_version: String,
    pub kind: String,
    pub site: String,
    pub cluster: String,
    /// `failover.generation` of the render.
    pub generation: u64,
    /// The commit of the rendered repository the bundle was made from (none for `--dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// RFC 3339 UTC, e.g. `2025-06-01T10:00:00.123Z`.
    pub created_at: String,
    pub site_hash: String,
    pub tool_version: String,
    /// Archive path -> sha256 hex, for every file except the manifest and its signature.
    pub files: BTreeMap<String, String>,
}

impl BundleManifest {
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("the manifest always serializes")
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        let manifest: Self = untrusted_yaml::from_slice(bytes, INDEX_MAX_BYTES).map_err(|e| {
            BundleError::Malformed {
                detail: format!("{MANIFEST_ENTRY}: {e}"),
            }
        })?;
        if manifest.kind != MANIFEST_KIND {
            return Err(BundleError::Malformed {
                detail: format!(
                    "{MANIFEST_ENTRY} has kind {}, expected {MANIFEST_KIND}",
                    manifest.kind
                ),
            });
        }
        manifest.created()?;
        Ok(manifest)
    }

    /// The creation time, parsed.
    pub fn created(&self) -> Result<jiff::Timestamp, BundleError> {
        self.created_at.parse().map_err(|e| BundleError::Malformed {
            detail: format!("{MANIFEST_ENTRY}: createdAt {:?}: {e}", self.created_at),
        })
    }
}

/// `manifest.sig`: which key signed the manifest, and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureEntry {
    pub algorithm: String,
    /// The first 16 hex digits of the sha256 of the public key.
    pub key_id: String,
    /// 128 hex digits.
    pub signature: String,
}

impl SignatureEntry {
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("the signature entry always serializes")
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        let entry: Self = untrusted_yaml::from_slice(bytes, INDEX_MAX_BYTES).map_err(|e| {
            BundleError::Malformed {
                detail: format!("{SIGNATURE_ENTRY}: {e}"),
            }
        })?;
        if entry.algorithm != SIGNATURE_ALGORITHM {
            return Err(BundleError::Malformed {
                detail: format!(
                    "{SIGNATURE_ENTRY}: algorithm {}, only {SIGNATURE_ALGORITHM} is accepted",
                    entry.algorithm
                ),
            });
        }
        Ok(entry)
    }

    /// The 64 signature bytes.
    pub fn bytes(&self) -> Result<[u8; 64], BundleError> {
        let bad = || BundleError::Malformed {
            detail: format!("{SIGNATURE_ENTRY}: the signature is not 128 hex digits"),
        };
        let bytes = super::keys::from_hex(&self.signature).ok_or_else(bad)?;
        bytes.try_into().map_err(|_| bad())
    }
}

/// A timestamp as manifests write it: UTC, to the millisecond.
pub fn timestamp_text(t: jiff::Timestamp) -> String {
    let rounded = t.round(jiff::Unit::Millisecond).unwrap_or(t);
    format!("{rounded:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> BundleManifest {
        BundleManifest {
            api_version: crate::API_VERSION.into(),
            kind: MANIFEST_KIND.into(),
            site: "s".into(),
            cluster: "hub-a".into(),
            generation: 2,
            source_commit: Some("abc".into()),
            created_at: timestamp_text("2025-06-01T10:00:00.1234Z".parse().unwrap()),
            site_hash: "sha256:00".into(),
            tool_version: "0.1.0".into(),
            files: BTreeMap::from([("clusters/hub-a/x.yaml".into(), "00".into())]),
        }
    }

    #[test]
    fn manifest_round_trips_and_times_are_millisecond_utc() {
        let m = manifest();
        assert_eq!(m.created_at, "2025-06-01T10:00:00.123Z");
        assert_eq!(BundleManifest::parse(m.to_yaml().as_bytes()).unwrap(), m);
    }

    #[test]
    fn unknown_fields_wrong_kind_and_bad_times_are_malformed() {
        let text = manifest().to_yaml();
        for bad in [
            format!("{text}extra: 1\n"),
            text.replace("kind: BundleManifest", "kind: Other"),
            text.replace("2025-06-01T10:00:00.123Z", "yesterday"),
        ] {
            assert!(
                matches!(
                    BundleManifest::parse(bad.as_bytes()),
                    Err(BundleError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn signature_entry_checks_algorithm_and_length() {
        let entry = SignatureEntry {
            algorithm: "ed25519".into(),
            key_id: "k".into(),
            signature: "00".repeat(64),
        };
        assert_eq!(
            SignatureEntry::parse(entry.to_yaml().as_bytes())
                .unwrap()
                .bytes()
                .unwrap(),
            [0u8; 64]
        );
        let short = SignatureEntry {
            signature: "00".into(),
            ..entry.clone()
        };
        assert!(short.bytes().is_err());
        let rsa = SignatureEntry {
            algorithm: "rsa".into(),
            ..entry
        };
        assert!(SignatureEntry::parse(rsa.to_yaml().as_bytes()).is_err());
    }
}
