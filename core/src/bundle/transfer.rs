//! Status travelling back from a disconnected site: `hubdr-agent export-status` packs the
//! status files of its local status branch with their signatures and pinned keys (tar + zstd,
//! with a list of digests that detects damage in transfer), and `hubdr status import` checks
//! every signature and merges them into the central status branch without ever replacing a
//! newer trusted status by an older one.

use std::collections::BTreeMap;
use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::status::ClusterStatus;
use crate::tree::Tree;

use super::{archive, entries, sha256_hex, BundleError, Limits};
use crate::status::trust::cluster_of;
use crate::status::{PIN_DIR, PIN_SUFFIX, SIGNATURE_SUFFIX, STATUS_DIR, STATUS_SUFFIX};

pub const EXPORT_ENTRY: &str = "status-export.yaml";
pub const EXPORT_KIND: &str = "StatusExport";

/// The first entry of an export: what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusExport {
    pub api_version: String,
    pub kind: String,
    pub exported_at: String,
    /// The commit of the local status branch that was exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_commit: Option<String>,
    /// `clusters/<name>.yaml`, `clusters/<name>.sig`, `keys/<name>.pub` -> sha256 hex.
    pub files: BTreeMap<String, String>,
}

/// Pack status files (`clusters/<name>.yaml`, their `clusters/<name>.sig` and the pinned
/// `keys/<name>.pub` -> bytes).
pub fn pack(
    files: &Tree,
    status_commit: Option<String>,
    exported_at: jiff::Timestamp,
) -> std::io::Result<Vec<u8>> {
    let header = StatusExport {
        api_version: crate::API_VERSION.into(),
        kind: EXPORT_KIND.into(),
        exported_at: super::manifest::timestamp_text(exported_at),
        status_commit,
        files: files
            .iter()
            .map(|(p, b)| (p.clone(), sha256_hex(b)))
            .collect(),
    };
    let header = serde_yaml::to_string(&header)
        .expect("serializes")
        .into_bytes();
    let mut entries: Vec<(&str, &[u8])> = vec![(EXPORT_ENTRY, &header)];
    entries.extend(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    archive::pack(entries)
}

/// An unpacked export: its header and every status, checked for damage (not yet for trust:
/// see `hubdr::status::trust`).
#[derive(Debug, Clone, PartialEq)]
pub struct Unpacked {
    pub header: StatusExport,
    /// path -> (bytes, parsed status).
    pub statuses: BTreeMap<String, (Vec<u8>, ClusterStatus)>,
    /// cluster -> its signature file.
    pub signatures: BTreeMap<String, Vec<u8>>,
    /// cluster -> its pin file, as the disconnected site's status branch holds it.
    pub pins: BTreeMap<String, Vec<u8>>,
}

/// Unpack and check an export as it streams: the header first, then only files it lists
/// (checked on their tar header, before reading them), each matching its digest, with paths
/// `clusters/<name>.yaml`, `clusters/<name>.sig` and `keys/<name>.pub`, and each status a
/// status of the cluster its path names.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Unpacked, BundleError> {
    let malformed = |detail: String| BundleError::Malformed { detail };
    let mut header: Option<StatusExport> = None;
    let mut statuses = BTreeMap::new();
    let (mut signatures, mut pins) = (BTreeMap::new(), BTreeMap::new());
    entries::read(Cursor::new(bytes), bytes.len() as u64, limits, |entry| {
        let Some(header) = &header else {
            if entry.path() != EXPORT_ENTRY {
                return Err(malformed(format!(
                    "not a status export: it does not start with {EXPORT_ENTRY}"
                )));
            }
            let (text, _) = entry.read(limits.max_manifest_bytes)?;
            let parsed: StatusExport =
                crate::untrusted_yaml::from_slice(&text, crate::limits::INDEX_MAX_BYTES)
                    .map_err(|e| malformed(format!("{EXPORT_ENTRY}: {e}")))?;
            if parsed.kind != EXPORT_KIND {
                return Err(malformed(format!(
                    "{EXPORT_ENTRY} has kind {}, expected {EXPORT_KIND}",
                    parsed.kind
                )));
            }
            header = Some(parsed);
            return Ok(());
        };
        entry.check()?;
        let path = entry.path().to_string();
        let Some(expected) = header.files.get(&path) else {
            return Err(BundleError::Unlisted { path });
        };
        let named = |dir: &str, suffix: &str| {
            cluster_of(&path, dir, suffix)
                .filter(|c| crate::units::check_dns1123_label(c).is_ok())
                .map(str::to_string)
        };
        let signature = named(STATUS_DIR, SIGNATURE_SUFFIX);
        let pin = named(PIN_DIR, PIN_SUFFIX);
        let status_of = named(STATUS_DIR, STATUS_SUFFIX);
        if signature.is_none() && pin.is_none() && status_of.is_none() {
            return Err(malformed(format!(
                "{path}: an export holds clusters/<cluster>.yaml, clusters/<cluster>.sig and keys/<cluster>.pub"
            )));
        }
        let (bytes, actual) = entry.read(limits.max_file_bytes)?;
        if &actual != expected {
            return Err(BundleError::DigestMismatch {
                path,
                expected: expected.clone(),
                actual,
            });
        }
        if let Some(cluster) = signature {
            signatures.insert(cluster, bytes);
            return Ok(());
        }
        if let Some(cluster) = pin {
            pins.insert(cluster, bytes);
            return Ok(());
        }
        let cluster = status_of.unwrap_or_default();
        let text = std::str::from_utf8(&bytes).map_err(|e| malformed(format!("{path}: {e}")))?;
        let status = ClusterStatus::parse(text).map_err(|e| malformed(format!("{path}: {e}")))?;
        if status.cluster != cluster {
            return Err(malformed(format!(
                "{path} holds the status of cluster {}",
                status.cluster
            )));
        }
        statuses.insert(path, (bytes, status));
        Ok(())
    })?;
    let header = header
        .ok_or_else(|| malformed(format!("not a status export: it has no {EXPORT_ENTRY}")))?;
    let present = |path: &String| {
        statuses.contains_key(path)
            || cluster_of(path, STATUS_DIR, SIGNATURE_SUFFIX)
                .is_some_and(|c| signatures.contains_key(c))
            || cluster_of(path, PIN_DIR, PIN_SUFFIX).is_some_and(|c| pins.contains_key(c))
    };
    if let Some(path) = header.files.keys().find(|p| !present(p)) {
        return Err(BundleError::MissingFile { path: path.clone() });
    }
    Ok(Unpacked {
        header,
        statuses,
        signatures,
        pins,
    })
}

/// The status the central branch holds for a cluster, as its signature check found it.
#[derive(Debug, Clone, Copy)]
pub enum Central<'a> {
    /// None yet.
    Absent,
    /// Signed by the cluster's key, not from the future.
    Trusted {
        bytes: &'a [u8],
        status: &'a ClusterStatus,
    },
    /// Present but not believed (unsigned, wrongly signed, from the future): why.
    Untrusted(&'a str),
}

/// What importing one (trusted) status file does to the central branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// The central branch has no status for the cluster.
    Add,
    /// The imported status is newer (`updatedAt`).
    Replace,
    /// The central status is not trusted (why): the imported one replaces it.
    ReplaceUntrusted(String),
    /// Byte-identical: nothing to do.
    Same,
    /// The central status is newer or as new: it stays.
    KeepCentral { central: String, imported: String },
}

impl Merge {
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Merge::Add | Merge::Replace | Merge::ReplaceUntrusted(_)
        )
    }
}

/// Decide for one file whose signature was checked; `central` is what the central branch holds.
pub fn merge(central: Central<'_>, imported_bytes: &[u8], imported: &ClusterStatus) -> Merge {
    let (central_bytes, central_time) = match central {
        Central::Absent => return Merge::Add,
        Central::Untrusted(why) => return Merge::ReplaceUntrusted(why.to_string()),
        Central::Trusted { bytes, status } => (bytes, status.updated_at.clone()),
    };
    if central_bytes == imported_bytes {
        return Merge::Same;
    }
    if is_newer(&imported.updated_at, &central_time) {
        Merge::Replace
    } else {
        Merge::KeepCentral {
            central: central_time,
            imported: imported.updated_at.clone(),
        }
    }
}

/// `a` is strictly later than `b` (RFC 3339; text order when either does not parse).
fn is_newer(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(cluster: &str, updated_at: &str, message: &str) -> Vec<u8> {
        let text = format!(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {cluster}\nagentVersion: 0.1.0\nupdatedAt: {updated_at}\n\
             source: {{commit: abc, generation: 1}}\npass: {{outcome: Succeeded, reason: Applied, message: {message}}}\n"
        );
        text.into_bytes()
    }

    fn parsed(bytes: &[u8]) -> ClusterStatus {
        ClusterStatus::parse(std::str::from_utf8(bytes).unwrap()).unwrap()
    }

    #[test]
    fn export_round_trip() {
        let files = Tree::from([(
            "clusters/hub-a.yaml".to_string(),
            status("hub-a", "2025-06-01T10:00:00Z", "ok"),
        )]);
        let bytes = pack(
            &files,
            Some("abc".into()),
            "2025-06-01T11:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let unpacked = unpack(&bytes, &Limits::default()).unwrap();
        assert_eq!(unpacked.header.status_commit.as_deref(), Some("abc"));
        assert_eq!(
            unpacked.statuses["clusters/hub-a.yaml"].0,
            files["clusters/hub-a.yaml"]
        );
    }

    #[test]
    fn bad_exports_are_refused() {
        let good = status("hub-a", "2025-06-01T10:00:00Z", "ok");
        for (path, bytes) in [
            ("clusters/hub-b.yaml", good.clone()),
            ("../x.yaml", good.clone()),
            ("clusters/hub-a.yaml", b"not: status\n".to_vec()),
        ] {
            let files = Tree::from([(path.to_string(), bytes)]);
            let Ok(packed) = pack(&files, None, jiff::Timestamp::UNIX_EPOCH) else {
                continue;
            };
            assert!(unpack(&packed, &Limits::default()).is_err(), "{path}");
        }
        let packed = archive::pack([("clusters/hub-a.yaml", good.as_slice())]).unwrap();
        assert!(matches!(
            unpack(&packed, &Limits::default()),
            Err(BundleError::Malformed { .. })
        ));
    }

    #[test]
    fn newer_wins_and_equal_is_a_no_op() {
        let old = status("hub-a", "2025-06-01T10:00:00Z", "old");
        let new = status("hub-a", "2025-06-01T10:05:00Z", "new");
        let (old_s, new_s) = (parsed(&old), parsed(&new));
        let trusted = |bytes, status| Central::Trusted { bytes, status };
        assert_eq!(merge(Central::Absent, &old, &old_s), Merge::Add);
        assert_eq!(merge(trusted(&old, &old_s), &new, &new_s), Merge::Replace);
        assert_eq!(merge(trusted(&new, &new_s), &new, &new_s), Merge::Same);
        assert!(matches!(
            merge(trusted(&new, &new_s), &old, &old_s),
            Merge::KeepCentral { .. }
        ));
        // Same time, different content: the central one stays (no flip-flop between imports).
        let other = status("hub-a", "2025-06-01T10:05:00Z", "other");
        assert!(matches!(
            merge(trusted(&new, &new_s), &other, &parsed(&other)),
            Merge::KeepCentral { .. }
        ));
        // Offsets compare as instants, not as text.
        let offset = status("hub-a", "2025-06-01T12:06:00+02:00", "offset");
        assert_eq!(
            merge(trusted(&new, &new_s), &offset, &parsed(&offset)),
            Merge::Replace
        );
        // A central status that is not believed (say from 2099) does not hold the place.
        assert_eq!(
            merge(Central::Untrusted("from the future"), &old, &old_s),
            Merge::ReplaceUntrusted("from the future".into())
        );
    }

    #[test]
    fn signatures_and_pins_travel_with_the_statuses() {
        let good = status("hub-a", "2025-06-01T10:00:00Z", "ok");
        let files = Tree::from([
            ("clusters/hub-a.yaml".to_string(), good),
            ("clusters/hub-a.sig".to_string(), b"sig".to_vec()),
            ("keys/hub-a.pub".to_string(), b"pin".to_vec()),
        ]);
        let packed = pack(&files, None, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let unpacked = unpack(&packed, &Limits::default()).unwrap();
        assert_eq!(unpacked.signatures["hub-a"], b"sig");
        assert_eq!(unpacked.pins["hub-a"], b"pin");
        assert_eq!(unpacked.statuses.len(), 1);
        let stray = Tree::from([("keys/hub-a.txt".to_string(), b"x".to_vec())]);
        let packed = pack(&stray, None, jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert!(matches!(
            unpack(&packed, &Limits::default()),
            Err(BundleError::Malformed { .. })
        ));
    }
}
