//! The desired state of one cluster: its directory of the fetched commit, verified file by
//! file against `.hubdr/index.yaml` before anything is parsed.
//!
//! Any disagreement between the tree and the index (a changed file, a file the index does
//! not list, a listed file that is missing) fails the whole read, so nothing is applied
//! from a tampered or half-edited repository. So does anything over the size limits
//! (checked from the git objects' headers before a blob is loaded), a file that is no single
//! object or nests too deep, two files for one object, or a wave that is no number.

use std::collections::BTreeSet;

use hubdr_core::index::{RenderIndex, INDEX_PATH};
use hubdr_core::limits::{self, bytes_text, size_text};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::desired_set::{self, SetError};
use crate::git::{Fetched, GitError, Oid};

/// The file in a cluster directory that lists resources for kustomize; not an object.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// What the repository wants on one cluster, at one commit.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredState {
    pub commit: Oid,
    pub generation: u64,
    pub index: RenderIndex,
    /// Sorted by path.
    pub objects: Vec<DesiredObject>,
}

/// One Kubernetes object and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Repo-relative, e.g. `clusters/hub-a/backupschedule-...yaml`.
    pub path: String,
    pub value: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    #[error("cannot read commit {commit}")]
    Read {
        commit: Oid,
        #[source]
        source: GitError,
    },

    #[error(
        "commit {commit} has no {INDEX_PATH}; point the agent at a repository written by \
         `hubdr render`"
    )]
    MissingIndex { commit: Oid },

    #[error(
        "{INDEX_PATH} at commit {commit} cannot be read: {message}; re-render with `hubdr render`"
    )]
    Index { commit: Oid, message: String },

    #[error(
        "cluster {cluster} is not in the rendered repository at commit {commit} (it has: {}); \
         check --cluster, or add the cluster to site.yaml and re-render",
        if known.is_empty() { "no clusters".to_string() } else { known.join(", ") }
    )]
    UnknownCluster {
        cluster: String,
        commit: Oid,
        known: Vec<String>,
    },

    #[error(
        "{path} does not match its digest in {INDEX_PATH} (expected sha256 {expected}, found \
         {actual}); the file was edited after rendering: re-render with `hubdr render`. \
         Nothing was applied"
    )]
    Verify {
        path: String,
        expected: String,
        actual: String,
    },

    #[error(
        "{path} is not listed in {INDEX_PATH}; files in a cluster directory must come from \
         `hubdr render`: remove it or re-render. Nothing was applied"
    )]
    Unindexed { path: String },

    #[error(
        "{path} is listed in {INDEX_PATH} but missing from the commit; re-render and push the \
         whole output. Nothing was applied"
    )]
    Missing { path: String },

    #[error("{path} is not a single Kubernetes object: {message}; re-render with `hubdr render`")]
    Parse { path: String, message: String },

    #[error(
        "{path} is {}, more than the limit of {} for {what} (hubdr render writes no larger \
         one); remove the file or re-render with `hubdr render`",
        size_text(*size),
        bytes_text(*limit)
    )]
    TooLarge {
        path: String,
        what: &'static str,
        size: u64,
        limit: u64,
    },

    #[error(
        "{dir} holds {} in its files, more than the limit of {} for one cluster's directory; \
         remove the files that do not come from `hubdr render`, or re-render",
        size_text(*total),
        bytes_text(*limit)
    )]
    DirectoryTooLarge { dir: String, total: u64, limit: u64 },

    #[error("{0}")]
    Set(#[from] SetError),
}

/// The size limits of a read (the defaults are `hubdr_core::limits`'; tests make them small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    pub index: u64,
    pub file: u64,
    pub directory: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            index: limits::INDEX_MAX_BYTES,
            file: limits::REPO_FILE_MAX_BYTES,
            directory: limits::CLUSTER_DIR_MAX_BYTES,
        }
    }
}

/// Read and verify `clusters/<cluster>/` of the fetched commit.
pub fn read_cluster(fetched: &Fetched, cluster: &str) -> Result<DesiredState, DesiredError> {
    read_cluster_with(fetched, cluster, &ReadLimits::default())
}

/// [`read_cluster`] with other size limits.
pub fn read_cluster_with(
    fetched: &Fetched,
    cluster: &str,
    limits: &ReadLimits,
) -> Result<DesiredState, DesiredError> {
    let commit = fetched.commit();
    let read_error = |source| DesiredError::Read { commit, source };
    let index_file = fetched
        .entry(INDEX_PATH)
        .map_err(read_error)?
        .ok_or(DesiredError::MissingIndex { commit })?;
    if index_file.size > limits.index {
        return Err(DesiredError::TooLarge {
            path: INDEX_PATH.into(),
            what: "the render index",
            size: index_file.size,
            limit: limits.index,
        });
    }
    let text = fetched.load(&index_file).map_err(read_error)?;
    let text = String::from_utf8(text).map_err(|e| DesiredError::Index {
        commit,
        message: e.to_string(),
    })?;
    let index =
        RenderIndex::parse(&text).map_err(|message| DesiredError::Index { commit, message })?;
    if !index.clusters.contains_key(cluster) {
        return Err(DesiredError::UnknownCluster {
            cluster: cluster.to_string(),
            commit,
            known: index.clusters.keys().cloned().collect(),
        });
    }

    let dir = format!("clusters/{cluster}/");
    let entries = fetched.entries_under(&dir).map_err(read_error)?;
    let mut total = 0u64;
    for entry in &entries {
        if entry.size > limits.file {
            return Err(DesiredError::TooLarge {
                path: entry.path.clone(),
                what: "a file of a cluster directory",
                size: entry.size,
                limit: limits.file,
            });
        }
        total += entry.size;
    }
    if total > limits.directory {
        return Err(DesiredError::DirectoryTooLarge {
            dir,
            total,
            limit: limits.directory,
        });
    }
    let files = entries
        .iter()
        .map(|entry| Ok((entry.path.clone(), fetched.load(entry).map_err(read_error)?)))
        .collect::<Result<std::collections::BTreeMap<String, Vec<u8>>, DesiredError>>()?;
    for (path, bytes) in &files {
        let Some(expected) = index.files.get(path) else {
            return Err(DesiredError::Unindexed { path: path.clone() });
        };
        let actual = format!("{:x}", Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(DesiredError::Verify {
                path: path.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    let present: BTreeSet<&String> = files.keys().collect();
    if let Some(path) = index
        .files
        .keys()
        .filter(|p| p.starts_with(&dir))
        .find(|p| !present.contains(p))
    {
        return Err(DesiredError::Missing { path: path.clone() });
    }

    let objects: Vec<DesiredObject> = files
        .iter()
        .filter(|(path, _)| !path.ends_with(&format!("/{KUSTOMIZATION}")))
        .map(|(path, bytes)| parse_object(path, bytes))
        .collect::<Result<_, _>>()?;
    check_set(&objects)?;
    Ok(DesiredState {
        commit,
        generation: index.generation,
        index,
        objects,
    })
}

fn parse_object(path: &str, bytes: &[u8]) -> Result<DesiredObject, DesiredError> {
    let value = parse_value(bytes).map_err(|message| DesiredError::Parse {
        path: path.to_string(),
        message,
    })?;
    Ok(DesiredObject {
        path: path.to_string(),
        value,
    })
}

/// Every wave readable and no object in two files (see `desired_set`).
pub fn check_set(objects: &[DesiredObject]) -> Result<(), SetError> {
    desired_set::check(objects.iter().map(|o| (o.path.as_str(), &o.value)))
}

/// One object file as JSON, which must at least name its apiVersion and kind. Read as
/// untrusted YAML: at most a repository file's size, nesting and tags checked first.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, String> {
    let value = hubdr_core::untrusted_yaml::value_from_slice(bytes, limits::REPO_FILE_MAX_BYTES)
        .map_err(|e| e.to_string())?;
    let has = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !value.is_object() || !has("apiVersion") || !has("kind") {
        return Err("it needs apiVersion and kind".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_need_api_version_and_kind() {
        let ok = parse_object(
            "clusters/a/x.yaml",
            b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        );
        assert_eq!(ok.unwrap().value["kind"], "Namespace");
        for bad in [
            &b""[..],
            b"- a\n- b\n",
            b"kind: Namespace\n",
            b"a: 1\n---\nb: 2\n",
            b"{",
        ] {
            assert!(
                parse_object("p", bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
