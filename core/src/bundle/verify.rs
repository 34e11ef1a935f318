//! Checking a bundle as it streams, in this order: the file's size and its trailer, then the
//! entries: the manifest, the signature over it, then each listed file and its digest (all
//! under the limits, counted while decompressing), then the index against the manifest and
//! the caller's expectations (cluster, no rollback). The result is only returned when
//! everything holds; nothing is written anywhere.

use std::collections::BTreeMap;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use crate::index::{RenderIndex, INDEX_PATH};
use crate::tree::Tree;

use super::entries::{self, Entry};
use super::manifest::{BundleManifest, SignatureEntry, MANIFEST_ENTRY, SIGNATURE_ENTRY};
use super::{sha256_hex, BundleError, Limits, PublicKey};

/// What the verifier requires beyond a valid signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The bundle must be for this cluster.
    pub cluster: Option<String>,
    /// The bundle's generation must be at least this.
    pub min_generation: Option<u64>,
    /// The bundle must not be older than the one already applied.
    pub not_older_than: Option<Applied>,
}

/// The bundle a cluster applied last: what a newer bundle is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub generation: u64,
    pub created_at: jiff::Timestamp,
}

/// A bundle that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub manifest: BundleManifest,
    /// The index cut down to the bundle's cluster.
    pub index: RenderIndex,
    /// `clusters/<cluster>/...` -> bytes.
    pub files: Tree,
    /// The key id that signed it.
    pub key_id: String,
    /// sha256 of the manifest: identifies the bundle.
    pub manifest_sha256: String,
}

impl Verified {
    pub fn created(&self) -> jiff::Timestamp {
        self.manifest.created().expect("checked while verifying")
    }

    /// The ordering of bundles: higher generation first, then newer creation time.
    pub fn order_key(&self) -> (u64, jiff::Timestamp) {
        (self.manifest.generation, self.created())
    }
}

/// Verify a bundle's bytes against `key` and `expect`.
pub fn verify(
    bytes: &[u8],
    key: &PublicKey,
    expect: &Expect,
    limits: &Limits,
) -> Result<Verified, BundleError> {
    verify_stream(Cursor::new(bytes), bytes.len() as u64, key, expect, limits)
}

/// Verify a bundle file, streaming it: a file over the size limit is refused before it is
/// read, and at no time is more of it in memory than the manifest and the files it lists.
pub fn verify_file(
    path: &Path,
    key: &PublicKey,
    expect: &Expect,
    limits: &Limits,
) -> Result<Verified, BundleError> {
    let read_error = |source| BundleError::Read {
        path: path.display().to_string(),
        source: std::sync::Arc::new(source),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    verify_stream(BufReader::new(file), len, key, expect, limits)
}

/// Verify the `len` bytes of `source`: see the module documentation for the order.
pub fn verify_stream<R: Read + Seek>(
    source: R,
    len: u64,
    key: &PublicKey,
    expect: &Expect,
    limits: &Limits,
) -> Result<Verified, BundleError> {
    let mut reading = Reading {
        key,
        limits,
        manifest_bytes: None,
        signed: None,
        files: Tree::new(),
    };
    entries::read(source, len, limits, |entry| reading.entry(entry))?;
    let Some((manifest, key_id)) = reading.signed else {
        return Err(match reading.manifest_bytes {
            None => BundleError::Malformed {
                detail: format!("it has no {MANIFEST_ENTRY}"),
            },
            Some(_) => BundleError::Unsigned,
        });
    };
    let manifest_bytes = reading.manifest_bytes.expect("read before the signature");
    let mut entries = reading.files;
    if let Some(path) = manifest.files.keys().find(|p| !entries.contains_key(*p)) {
        return Err(BundleError::MissingFile { path: path.clone() });
    }

    let index_bytes = entries
        .remove(INDEX_PATH)
        .ok_or_else(|| BundleError::Malformed {
            detail: format!("it has no {INDEX_PATH}"),
        })?;
    let index = std::str::from_utf8(&index_bytes)
        .map_err(|e| e.to_string())
        .and_then(RenderIndex::parse)
        .map_err(|detail| BundleError::Malformed { detail })?;
    check_consistent(&manifest, &index, &entries)?;
    check_expectations(&manifest, expect)?;

    Ok(Verified {
        manifest_sha256: sha256_hex(&manifest_bytes),
        manifest,
        index,
        files: entries,
        key_id,
    })
}

/// The entries as they stream: the manifest, its signature (checked at once), then only files
/// the signed manifest lists, each matching its digest.
struct Reading<'a> {
    key: &'a PublicKey,
    limits: &'a Limits,
    manifest_bytes: Option<Vec<u8>>,
    /// The manifest and the key id, once the signature holds.
    signed: Option<(BundleManifest, String)>,
    files: Tree,
}

/// The most a signature entry takes (it is about 200 bytes).
const MAX_SIGNATURE_BYTES: u64 = 4096;

impl Reading<'_> {
    fn entry(&mut self, entry: &mut Entry<'_>) -> Result<(), BundleError> {
        if let Some((manifest, _)) = &self.signed {
            entry.check()?;
            let path = entry.path().to_string();
            let Some(expected) = manifest.files.get(&path) else {
                return Err(BundleError::Unlisted { path });
            };
            let (bytes, actual) = entry.read(self.limits.max_file_bytes)?;
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(BundleError::DigestMismatch {
                    path,
                    expected: expected.clone(),
                    actual,
                });
            }
            self.files.insert(path, bytes);
            return Ok(());
        }
        let Some(manifest_bytes) = &self.manifest_bytes else {
            if entry.path() != MANIFEST_ENTRY {
                return Err(BundleError::Malformed {
                    detail: format!(
                        "its first entry is {}, not {MANIFEST_ENTRY}; it was not made by \
                         `hubdr bundle create`",
                        entry.path()
                    ),
                });
            }
            self.manifest_bytes = Some(entry.read(self.limits.max_manifest_bytes)?.0);
            return Ok(());
        };
        // The signature first: nothing in the manifest is trusted, and nothing else is read,
        // before it holds.
        if entry.path() != SIGNATURE_ENTRY {
            return Err(BundleError::Unsigned);
        }
        let signature = SignatureEntry::parse(&entry.read(MAX_SIGNATURE_BYTES)?.0)?;
        if signature.key_id != self.key.id() {
            return Err(BundleError::WrongKey {
                signed_by: signature.key_id,
                trusted: self.key.id(),
            });
        }
        if !self.key.verify(manifest_bytes, &signature.bytes()?) {
            return Err(BundleError::BadSignature {
                key_id: self.key.id(),
            });
        }
        let manifest = BundleManifest::parse(manifest_bytes)?;
        self.signed = Some((manifest, signature.key_id));
        Ok(())
    }
}

/// The signed manifest and the index inside must describe the same cluster and files.
fn check_consistent(
    manifest: &BundleManifest,
    index: &RenderIndex,
    files: &Tree,
) -> Result<(), BundleError> {
    let inconsistent = |detail: String| BundleError::Malformed {
        detail: format!("{INDEX_PATH} disagrees with {MANIFEST_ENTRY}: {detail}"),
    };
    if index.site != manifest.site || index.generation != manifest.generation {
        return Err(inconsistent("site or generation".into()));
    }
    if index.clusters.keys().collect::<Vec<_>>() != [&manifest.cluster] {
        return Err(inconsistent(format!(
            "it must list exactly cluster {}",
            manifest.cluster
        )));
    }
    let dir = format!("clusters/{}/", manifest.cluster);
    if let Some(path) = files.keys().find(|p| !p.starts_with(&dir)) {
        return Err(inconsistent(format!("{path} is outside {dir}")));
    }
    let indexed: BTreeMap<&String, &String> = index.files.iter().collect();
    let held: BTreeMap<&String, &String> = manifest
        .files
        .iter()
        .filter(|(p, _)| p.as_str() != INDEX_PATH)
        .collect();
    if indexed != held {
        return Err(inconsistent("the file digests differ".into()));
    }
    Ok(())
}

fn check_expectations(manifest: &BundleManifest, expect: &Expect) -> Result<(), BundleError> {
    if let Some(cluster) = &expect.cluster {
        if &manifest.cluster != cluster {
            return Err(BundleError::OtherCluster {
                bundle: manifest.cluster.clone(),
                expected: cluster.clone(),
            });
        }
    }
    if let Some(minimum) = expect.min_generation {
        if manifest.generation < minimum {
            return Err(BundleError::OlderGeneration {
                generation: manifest.generation,
                minimum,
            });
        }
    }
    if let Some(applied) = &expect.not_older_than {
        if manifest.generation < applied.generation {
            return Err(BundleError::OlderGeneration {
                generation: manifest.generation,
                minimum: applied.generation,
            });
        }
        let created = manifest.created()?;
        if manifest.generation == applied.generation && created < applied.created_at {
            return Err(BundleError::OlderThanApplied {
                generation: manifest.generation,
                created: manifest.created_at.clone(),
                applied: super::manifest::timestamp_text(applied.created_at),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::create::tests::{input, render};
    use crate::bundle::{archive, create, SecretKey};

    fn key() -> SecretKey {
        SecretKey::from_seed([1; 32])
    }

    fn bundle(generation: u64) -> Vec<u8> {
        let (index, files) = render(generation);
        create(&input(&index, &files, "hub-a"), &key()).unwrap().0
    }

    fn check(bytes: &[u8], expect: &Expect) -> Result<Verified, BundleError> {
        verify(bytes, &key().public(), expect, &Limits::default())
    }

    /// Unpack, change the entries, pack again (a forger who can write tar files).
    fn repack(bytes: &[u8], change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
        let mut entries = archive::unpack(bytes, &Limits::default()).unwrap();
        change(&mut entries);
        archive::pack(entries.iter().map(|(p, b)| (p.as_str(), b.as_slice()))).unwrap()
    }

    #[test]
    fn round_trip() {
        let verified = check(
            &bundle(3),
            &Expect {
                cluster: Some("hub-a".into()),
                min_generation: Some(3),
                not_older_than: None,
            },
        )
        .unwrap();
        assert_eq!(verified.manifest.cluster, "hub-a");
        assert_eq!(verified.manifest.generation, 3);
        assert_eq!(verified.key_id, key().public().id());
        let (_, files) = render(3);
        let expected: Tree = files
            .into_iter()
            .filter(|(p, _)| p.starts_with("clusters/hub-a/"))
            .collect();
        assert_eq!(verified.files, expected);
        assert_eq!(verified.index.clusters.len(), 1);
    }

    #[test]
    fn unsigned() {
        let bytes = repack(&bundle(1), |e| e.retain(|(p, _)| p != SIGNATURE_ENTRY));
        let e = check(&bytes, &Expect::default()).unwrap_err();
        assert!(matches!(e, BundleError::Unsigned), "{e}");
        assert!(e.to_string().contains("unsigned"));
    }

    #[test]
    fn wrong_key() {
        let e = verify(
            &bundle(1),
            &SecretKey::from_seed([2; 32]).public(),
            &Expect::default(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(e, BundleError::WrongKey { .. }), "{e}");
        assert!(e.to_string().contains("signed by another key"));
    }

    #[test]
    fn wrong_key_claiming_the_trusted_key_id_fails_the_signature() {
        let trusted = SecretKey::from_seed([2; 32]).public();
        let bytes = repack(&bundle(1), |e| {
            let sig = e.iter_mut().find(|(p, _)| p == SIGNATURE_ENTRY).unwrap();
            let mut entry = SignatureEntry::parse(&sig.1).unwrap();
            entry.key_id = trusted.id();
            sig.1 = entry.to_yaml().into_bytes();
        });
        let e = verify(&bytes, &trusted, &Expect::default(), &Limits::default()).unwrap_err();
        assert!(matches!(e, BundleError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn tampered_manifest() {
        let bytes = repack(&bundle(1), |e| {
            let m = e.iter_mut().find(|(p, _)| p == MANIFEST_ENTRY).unwrap();
            m.1 = String::from_utf8(m.1.clone())
                .unwrap()
                .replace("generation: 1", "generation: 9")
                .into_bytes();
        });
        let e = check(&bytes, &Expect::default()).unwrap_err();
        assert!(matches!(e, BundleError::BadSignature { .. }), "{e}");
        assert!(e.to_string().contains("tampered"));
    }

    #[test]
    fn tampered_file_content() {
        let bytes = repack(&bundle(1), |e| {
            let f = e
                .iter_mut()
                .find(|(p, _)| p.ends_with("kustomization.yaml"))
                .unwrap();
            f.1[0] ^= 0x20;
        });
        let e = check(&bytes, &Expect::default()).unwrap_err();
        assert!(
            matches!(&e, BundleError::DigestMismatch { path, .. } if path == "clusters/hub-a/kustomization.yaml"),
            "{e}"
        );
        assert!(e.to_string().contains("tampered with after signing"));
    }

    #[test]
    fn tampered_index_or_added_or_removed_files() {
        let bytes = repack(&bundle(1), |e| {
            let f = e.iter_mut().find(|(p, _)| p == INDEX_PATH).unwrap();
            f.1.extend_from_slice(b"# edited\n");
        });
        assert!(matches!(
            check(&bytes, &Expect::default()),
            Err(BundleError::DigestMismatch { .. })
        ));
        let bytes = repack(&bundle(1), |e| {
            e.push(("clusters/hub-a/extra.yaml".into(), b"x".to_vec()))
        });
        assert!(matches!(
            check(&bytes, &Expect::default()),
            Err(BundleError::Unlisted { .. })
        ));
        let bytes = repack(&bundle(1), |e| {
            e.retain(|(p, _)| !p.ends_with("kustomization.yaml"))
        });
        assert!(matches!(
            check(&bytes, &Expect::default()),
            Err(BundleError::MissingFile { .. })
        ));
    }

    #[test]
    fn one_flipped_byte_anywhere_is_refused() {
        let bytes = bundle(1);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(
                check(&bad, &Expect::default()).is_err(),
                "flip at byte {i} of {} was accepted",
                bytes.len()
            );
        }
        // In the compressed body the zstd checksum catches it before the tar is read.
        let mut bad = bytes.clone();
        let middle = bytes.len() / 2;
        bad[middle] ^= 0x10;
        let e = check(&bad, &Expect::default()).unwrap_err();
        assert!(matches!(e, BundleError::Damaged { .. }), "{e}");
        assert!(e.to_string().contains("damaged or was altered"));
    }

    #[test]
    fn truncated() {
        let bytes = bundle(1);
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            let e = check(&bytes[..cut], &Expect::default()).unwrap_err();
            assert!(
                matches!(e, BundleError::Truncated { .. }),
                "cut at {cut}: {e}"
            );
            assert!(e.to_string().contains("truncated"));
        }
    }

    #[test]
    fn other_cluster() {
        let e = check(
            &bundle(1),
            &Expect {
                cluster: Some("hub-b".into()),
                ..Expect::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, BundleError::OtherCluster { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "the bundle is for cluster hub-a, not for hub-b; copy the bundle made for hub-b"
        );
    }

    #[test]
    fn older_generation_than_the_minimum() {
        let e = check(
            &bundle(2),
            &Expect {
                min_generation: Some(3),
                ..Expect::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                BundleError::OlderGeneration {
                    generation: 2,
                    minimum: 3
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("no rollback"));
        assert!(check(
            &bundle(3),
            &Expect {
                min_generation: Some(3),
                ..Expect::default()
            }
        )
        .is_ok());
    }

    #[test]
    fn older_than_applied() {
        let created: jiff::Timestamp = "2025-06-01T10:00:00Z".parse().unwrap();
        let later = Applied {
            generation: 1,
            created_at: created + jiff::SignedDuration::from_secs(60),
        };
        let e = check(
            &bundle(1),
            &Expect {
                not_older_than: Some(later),
                ..Expect::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, BundleError::OlderThanApplied { .. }), "{e}");
        let higher = Applied {
            generation: 2,
            created_at: created,
        };
        assert!(matches!(
            check(
                &bundle(1),
                &Expect {
                    not_older_than: Some(higher),
                    ..Expect::default()
                }
            ),
            Err(BundleError::OlderGeneration { .. })
        ));
        let same = Applied {
            generation: 1,
            created_at: created,
        };
        assert!(
            check(
                &bundle(1),
                &Expect {
                    not_older_than: Some(same),
                    ..Expect::default()
                }
            )
            .is_ok(),
            "re-applying the same bundle"
        );
    }

    #[test]
    fn files_over_the_limit_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar.zst");
        std::fs::write(&path, bundle(1)).unwrap();
        let small = Limits {
            max_archive_bytes: 100,
            ..Limits::default()
        };
        assert!(matches!(
            verify_file(&path, &key().public(), &Expect::default(), &small),
            Err(BundleError::TooLarge { .. })
        ));
        assert!(verify_file(
            &path,
            &key().public(),
            &Expect::default(),
            &Limits::default()
        )
        .is_ok());
    }
}
