//! The desired state of one cluster: its directory of the fetched commit, verified file by
//! file against `.hubdr/index.yaml` before anything is parsed.
//!
//! Any disagreement between the tree and the index (a changed file, a file the index does
//! not list, a listed file that is missing) fails the whole read, so nothing is applied
//! from a tampered or half-edited repository.

use std::collections::BTreeSet;

use hubdr::index::{RenderIndex, INDEX_PATH};
use serde_json::Value;
use sha2::{Digest, Sha256};

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
}

/// Read and verify `clusters/<cluster>/` of the fetched commit.
pub fn read_cluster(fetched: &Fetched, cluster: &str) -> Result<DesiredState, DesiredError> {
    let commit = fetched.commit();
    let read_error = |source| DesiredError::Read { commit, source };
    let text = fetched
        .read(INDEX_PATH)
        .map_err(read_error)?
        .ok_or(DesiredError::MissingIndex { commit })?;
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
    let files = fetched.files_under(&dir).map_err(read_error)?;
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

    let objects = files
        .iter()
        .filter(|(path, _)| !path.ends_with(&format!("/{KUSTOMIZATION}")))
        .map(|(path, bytes)| parse_object(path, bytes))
        .collect::<Result<_, _>>()?;
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

/// One object file as JSON, which must at least name its apiVersion and kind.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, String> {
    let value: Value = serde_yaml::from_slice(bytes).map_err(|e| e.to_string())?;
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
