//! The second source of desired state, for disconnected sites: a directory ("inbox") of
//! signed offline bundles made by `hubdr bundle create`, one directory per cluster.
//!
//! Each pass lists the inbox, verifies every new or changed bundle file (streaming, under the
//! bundle limits: the signature, every digest, the cluster), and takes the newest valid one: highest generation, then newest
//! creation time. It refuses, naming the file and the reason, and applies nothing, when
//! - the file that arrived last (modification time) fails verification: unsigned, tampered,
//!   truncated, signed by another key, made for another cluster; or
//! - the newest valid bundle is older than the one applied before (a replayed bundle).
//!
//! The bundle applied last is remembered in a state file in the cache directory (keep it on
//! a persistent volume), written before anything is applied, so a bundle older than one the
//! cluster has started to apply is never applied again, also after a restart. The agent also
//! keeps the highest bundle generation applied in the cluster (`memory.rs`) and passes it
//! here as a floor, so a bundle of a lower generation is refused even when the cache
//! directory was lost. Valid older bundles next to a newer one are simply superseded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hubdr_core::bundle::{self, Applied, BundleError, Expect, Limits, PublicKey, Verified};
use serde::{Deserialize, Serialize};

use crate::desired::{DesiredObject, DesiredState, KUSTOMIZATION};
use crate::git::Oid;
use crate::report::Reason;

/// Bundle files in the inbox end with this; names starting with `.` are ignored (copy to a
/// hidden name, then rename, so a half-copied file is never looked at).
pub const BUNDLE_SUFFIX: &str = ".tar.zst";

/// A directory of bundles and the key they must be signed with.
#[derive(Debug, Clone)]
pub struct Inbox {
    dir: PathBuf,
    key: PublicKey,
    state_path: PathBuf,
    limits: Limits,
    /// Verification results by file (path, length, modification time), so unchanged files
    /// are not read again on every pass.
    seen: Arc<Mutex<HashMap<FileStamp, Checked>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileStamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

#[derive(Debug, Clone)]
enum Checked {
    Valid {
        generation: u64,
        created: jiff::Timestamp,
    },
    /// Kept whole: a refused file is not verified again while it stays unchanged.
    Refused(BundleError),
}

/// Why the inbox gave no desired state.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("cannot read the inbox {dir}: {source}; keeping the last applied state")]
    Unreadable {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no bundle in the inbox {dir} yet (files named *{BUNDLE_SUFFIX}); copy one made with `hubdr bundle create --cluster {cluster}`")]
    Empty { dir: PathBuf, cluster: String },
    #[error("bundle {file} refused: {error}; nothing was applied")]
    Refused { file: String, error: BundleError },
    #[error("bundle {file} refused: {path} is not a single Kubernetes object ({message}); nothing was applied")]
    Parse {
        file: String,
        path: String,
        message: String,
    },
    #[error("bundle {file} refused: {error}; nothing was applied")]
    Set {
        file: String,
        error: crate::desired_set::SetError,
    },
    #[error("the inbox state file {path} cannot be {action}: {message}; nothing was applied (it guards against replayed bundles: fix it rather than delete it)")]
    State {
        path: PathBuf,
        action: &'static str,
        message: String,
    },
}

impl InboxError {
    /// The pass reason: refusals are `VerifyFailed`, an empty or unreadable inbox `FetchFailed`.
    pub fn reason(&self) -> Reason {
        match self {
            InboxError::Refused { .. } | InboxError::Parse { .. } | InboxError::Set { .. } => {
                Reason::VerifyFailed
            }
            InboxError::Unreadable { .. } | InboxError::Empty { .. } | InboxError::State { .. } => {
                Reason::FetchFailed
            }
        }
    }
}

/// The bundle applied last, as the state file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedBundle {
    pub cluster: String,
    pub generation: u64,
    pub created_at: String,
    pub bundle: String,
    pub manifest_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
}

impl Inbox {
    /// `state_path`: where the applied bundle is remembered (e.g. `<cache-dir>/inbox-state.yaml`).
    pub fn new(dir: impl Into<PathBuf>, key: PublicKey, state_path: impl Into<PathBuf>) -> Self {
        Inbox {
            dir: dir.into(),
            key,
            state_path: state_path.into(),
            limits: Limits::default(),
            seen: Arc::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The desired state for the runner: like the git source's, with the reasons it uses.
    /// `floor`: the highest bundle generation the cluster applied (kept in the cluster).
    pub fn read_desired(
        &self,
        cluster: &str,
        floor: Option<u64>,
    ) -> Result<DesiredState, (Reason, String, bool)> {
        self.desired_above(cluster, floor)
            .map_err(|e| (e.reason(), e.to_string(), false))
    }

    /// Choose, verify and record the bundle to apply, and return its desired state.
    pub fn desired(&self, cluster: &str) -> Result<DesiredState, InboxError> {
        self.desired_above(cluster, None)
    }

    /// [`Inbox::desired`], refusing bundles whose generation is below `floor`.
    pub fn desired_above(
        &self,
        cluster: &str,
        floor: Option<u64>,
    ) -> Result<DesiredState, InboxError> {
        let files = self.list()?;
        if files.is_empty() {
            return Err(InboxError::Empty {
                dir: self.dir.clone(),
                cluster: cluster.into(),
            });
        }
        let checked: Vec<(FileStamp, Checked)> = files
            .into_iter()
            .map(|f| (f.clone(), self.check(&f, cluster)))
            .collect();
        // Forget files that left the inbox.
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|stamp, _| checked.iter().any(|(f, _)| f == stamp));

        // The file that arrived last must be acceptable: a bad new bundle stops the pass.
        let latest = checked
            .iter()
            .max_by(|a, b| (a.0.modified, &a.0.path).cmp(&(b.0.modified, &b.0.path)))
            .expect("not empty");
        if let Checked::Refused(error) = &latest.1 {
            return Err(InboxError::Refused {
                file: name(&latest.0.path),
                error: error.clone(),
            });
        }
        let best = checked
            .iter()
            .filter_map(|(f, c)| match c {
                Checked::Valid {
                    generation,
                    created,
                } => Some(((*generation, *created, f.path.clone()), f)),
                Checked::Refused(_) => None,
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, f)| f.clone())
            .expect("the latest file is valid");

        let generation_floor = floor;
        let applied = self.applied()?;
        let floor = applied.as_ref().map(|a| Applied {
            generation: a.generation,
            created_at: a.created_at.parse().unwrap_or(jiff::Timestamp::MIN),
        });
        let file = name(&best.path);
        let mut expected = expect(cluster, floor);
        expected.min_generation = generation_floor;
        let verified = bundle::verify_file(&best.path, &self.key, &expected, &self.limits)
            .map_err(|error| InboxError::Refused {
                file: file.clone(),
                error,
            })?;
        let state = desired_state(&verified, &file)?;
        let record = AppliedBundle {
            cluster: cluster.into(),
            generation: verified.manifest.generation,
            created_at: verified.manifest.created_at.clone(),
            bundle: file,
            manifest_sha256: verified.manifest_sha256.clone(),
            source_commit: verified.manifest.source_commit.clone(),
        };
        if applied.as_ref() != Some(&record) {
            self.record(&record)?;
        }
        Ok(state)
    }

    /// The bundle applied last, if any.
    pub fn applied(&self) -> Result<Option<AppliedBundle>, InboxError> {
        match std::fs::read_to_string(&self.state_path) {
            Ok(text) => serde_yaml::from_str(&text)
                .map(Some)
                .map_err(|e| InboxError::State {
                    path: self.state_path.clone(),
                    action: "read",
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(InboxError::State {
                path: self.state_path.clone(),
                action: "read",
                message: e.to_string(),
            }),
        }
    }

    fn record(&self, record: &AppliedBundle) -> Result<(), InboxError> {
        let text = format!(
            "# hubdr-agent: the offline bundle applied last; older bundles are refused. Do not edit.\n{}",
            serde_yaml::to_string(record).expect("serializes")
        );
        let error = |e: std::io::Error| InboxError::State {
            path: self.state_path.clone(),
            action: "written",
            message: e.to_string(),
        };
        if let Some(parent) = self.state_path.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        hubdr_core::fsutil::write_atomic(&self.state_path, text.as_bytes()).map_err(error)
    }

    /// Bundle files in the inbox (not hidden, named `*.tar.zst`, regular files).
    fn list(&self) -> Result<Vec<FileStamp>, InboxError> {
        let unreadable = |source| InboxError::Unreadable {
            dir: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with('.') || !file_name.ends_with(BUNDLE_SUFFIX) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(entry.path()) else {
                continue;
            };
            if meta.is_file() {
                out.push(FileStamp {
                    path: entry.path(),
                    len: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(out)
    }

    fn check(&self, file: &FileStamp, cluster: &str) -> Checked {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(checked) = seen.get(file) {
            return checked.clone();
        }
        let checked = match bundle::verify_file(
            &file.path,
            &self.key,
            &expect(cluster, None),
            &self.limits,
        ) {
            Ok(v) => Checked::Valid {
                generation: v.manifest.generation,
                created: v.created(),
            },
            Err(e) => Checked::Refused(e),
        };
        seen.retain(|k, _| k.path != file.path);
        seen.insert(file.clone(), checked.clone());
        checked
    }
}

fn expect(cluster: &str, floor: Option<Applied>) -> Expect {
    Expect {
        cluster: Some(cluster.into()),
        min_generation: None,
        not_older_than: floor,
    }
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The runner's input from a verified bundle. The commit is the bundle's source commit (zero
/// for bundles made from a `--no-git` directory).
fn desired_state(verified: &Verified, file: &str) -> Result<DesiredState, InboxError> {
    let commit = verified
        .manifest
        .source_commit
        .as_deref()
        .and_then(|c| Oid::from_str(c).ok())
        .unwrap_or_else(Oid::zero);
    let objects = verified
        .files
        .iter()
        .filter(|(path, _)| !path.ends_with(&format!("/{KUSTOMIZATION}")))
        .map(|(path, bytes)| {
            crate::desired::parse_value(bytes)
                .map(|value| DesiredObject {
                    path: path.clone(),
                    value,
                })
                .map_err(|message| InboxError::Parse {
                    file: file.into(),
                    path: path.clone(),
                    message,
                })
        })
        .collect::<Result<Vec<DesiredObject>, _>>()?;
    crate::desired::check_set(&objects).map_err(|error| InboxError::Set {
        file: file.into(),
        error,
    })?;
    Ok(DesiredState {
        commit,
        generation: verified.manifest.generation,
        index: verified.index.clone(),
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubdr_core::bundle::{create, CreateInput, SecretKey};
    use hubdr_core::index::{ClusterEntry, RenderIndex};
    use std::collections::BTreeMap;

    fn bundle(key: &SecretKey, cluster: &str, generation: u64, created: &str) -> Vec<u8> {
        let mut files = hubdr_core::tree::Tree::new();
        files.insert(
            format!("clusters/{cluster}/namespace.x.yaml"),
            b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n".to_vec(),
        );
        files.insert(
            format!("clusters/{cluster}/kustomization.yaml"),
            b"resources: [namespace.x.yaml]\n".to_vec(),
        );
        let index = RenderIndex {
            api_version: "hubdr.io/v1alpha1".into(),
            kind: "RenderIndex".into(),
            site: "s".into(),
            site_hash: "sha256:0".into(),
            generation,
            tool_version: "0".into(),
            templates: "embedded".into(),
            status_keys: BTreeMap::new(),
            clusters: BTreeMap::from([(
                cluster.to_string(),
                ClusterEntry {
                    kind: "managed".into(),
                    role: None,
                    prerequisites: vec![],
                },
            )]),
            files: files
                .iter()
                .map(|(p, b)| (p.clone(), bundle::sha256_hex(b)))
                .collect(),
        };
        let input = CreateInput {
            index: &index,
            files: &files,
            cluster,
            source_commit: Some("ab".repeat(20)),
            created_at: created.parse().unwrap(),
        };
        create(&input, key).unwrap().0
    }

    fn setup() -> (tempfile::TempDir, SecretKey, Inbox) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        let key = SecretKey::from_seed([3; 32]);
        let inbox = Inbox::new(
            dir.path().join("inbox"),
            key.public(),
            dir.path().join("cache/inbox-state.yaml"),
        );
        (dir, key, inbox)
    }

    /// Write a file with a distinct, increasing modification time.
    fn drop_file(inbox: &Inbox, name: &str, bytes: &[u8], age_secs: u64) {
        let path = inbox.dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        let time = SystemTime::now() - std::time::Duration::from_secs(age_secs);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    #[test]
    fn takes_the_highest_generation_then_the_newest_and_remembers_it() {
        let (_d, key, inbox) = setup();
        assert!(matches!(inbox.desired("c"), Err(InboxError::Empty { .. })));
        drop_file(
            &inbox,
            "a.tar.zst",
            &bundle(&key, "c", 2, "2025-01-01T00:00:00Z"),
            30,
        );
        drop_file(
            &inbox,
            "b.tar.zst",
            &bundle(&key, "c", 2, "2025-01-02T00:00:00Z"),
            20,
        );
        drop_file(
            &inbox,
            "old.tar.zst",
            &bundle(&key, "c", 1, "2025-01-03T00:00:00Z"),
            10,
        );
        drop_file(&inbox, "notes.txt", b"ignored", 0);
        let state = inbox.desired("c").unwrap();
        assert_eq!(state.generation, 2);
        assert_eq!(state.commit.to_string(), "ab".repeat(20));
        assert_eq!(
            state.objects.len(),
            1,
            "kustomization.yaml is not an object"
        );
        let applied = inbox.applied().unwrap().unwrap();
        assert_eq!(
            (applied.bundle.as_str(), applied.generation),
            ("b.tar.zst", 2)
        );
    }

    #[test]
    fn a_bad_new_arrival_stops_the_pass_and_names_the_file() {
        let (_d, key, inbox) = setup();
        drop_file(
            &inbox,
            "good.tar.zst",
            &bundle(&key, "c", 1, "2025-01-01T00:00:00Z"),
            20,
        );
        inbox.desired("c").unwrap();
        drop_file(
            &inbox,
            "other.tar.zst",
            &bundle(&key, "d", 1, "2025-01-02T00:00:00Z"),
            10,
        );
        let e = inbox.desired("c").unwrap_err();
        assert_eq!(e.reason(), Reason::VerifyFailed);
        assert!(
            e.to_string().starts_with(
                "bundle other.tar.zst refused: the bundle is for cluster d, not for c"
            ),
            "{e}"
        );
        std::fs::remove_file(inbox.dir().join("other.tar.zst")).unwrap();
        assert!(inbox.desired("c").is_ok());
    }

    #[test]
    fn a_replayed_older_bundle_is_refused_after_a_newer_one_was_applied() {
        let (_d, key, inbox) = setup();
        drop_file(
            &inbox,
            "g2.tar.zst",
            &bundle(&key, "c", 2, "2025-01-02T00:00:00Z"),
            20,
        );
        inbox.desired("c").unwrap();
        std::fs::remove_file(inbox.dir().join("g2.tar.zst")).unwrap();
        drop_file(
            &inbox,
            "g1.tar.zst",
            &bundle(&key, "c", 1, "2025-01-03T00:00:00Z"),
            10,
        );
        let e = inbox.desired("c").unwrap_err();
        assert!(
            matches!(&e, InboxError::Refused { error: BundleError::OlderGeneration { .. }, file } if file == "g1.tar.zst"),
            "{e}"
        );
        // Also after a restart: the state is on disk.
        let restarted = Inbox::new(inbox.dir(), key.public(), inbox.state_path());
        assert!(restarted.desired("c").is_err());
    }
}
