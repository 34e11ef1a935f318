//! The source: the rendered repository's branch, fetched into the cache, read without a
//! working tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use hubdr_core::status::refs::{self as status_refs, STATUS_REFSPEC, STATUS_REF_PREFIX};

use super::cache::Cache;
use super::error::shown;
use super::remote::{self, Endpoint};
use super::{Credentials, GitError};

/// One branch of one remote, fetched into a bare cache under `cache_dir`.
#[derive(Clone)]
pub struct GitSource {
    url: String,
    branch: String,
    cache: Cache,
    credentials: Credentials,
}

/// A file of a fetched commit, not loaded yet: its path, blob and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// Repo-relative, e.g. `clusters/hub-a/x.yaml`.
    pub path: String,
    pub id: Oid,
    pub size: u64,
}

/// A fetched commit: its id, and read access to its tree.
pub struct Fetched {
    repo: Repository,
    commit: Oid,
    tree: Oid,
}

impl GitSource {
    /// `url`: `file:///path`, a plain local path, `https://...` or `ssh://...` / `git@host:path`.
    pub fn new(
        url: impl Into<String>,
        branch: impl Into<String>,
        cache_dir: impl Into<PathBuf>,
        credentials: Credentials,
    ) -> Self {
        let url = url.into();
        GitSource {
            cache: Cache::new(&cache_dir.into(), &url),
            url,
            branch: branch.into(),
            credentials,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The bare cache repository this source fetches into.
    pub fn cache_path(&self) -> &Path {
        self.cache.path()
    }

    /// Fetch `refs/heads/<branch>` and return its commit. A network failure is
    /// [`GitError::Unreachable`]: keep the last applied state and try again later.
    pub fn fetch(&self) -> Result<Fetched, GitError> {
        let local_ref = format!("refs/hubdr/source/{}", self.branch);
        let endpoint = Endpoint {
            url: &self.url,
            credentials: &self.credentials,
        };
        self.cache.with_repo(|repo| {
            let commit = remote::fetch_branch(&repo, endpoint, &self.branch, &local_ref)?
                .ok_or_else(|| GitError::MissingBranch {
                    url: shown(&self.url),
                    branch: self.branch.clone(),
                })?;
            let tree = repo
                .find_commit(commit)
                .and_then(|c| repo.find_tree(c.tree_id()).map(|t| t.id()))
                .map_err(|source| GitError::ReadTree {
                    commit,
                    path: "/".into(),
                    cache: self.cache.path().to_path_buf(),
                    source,
                })?;
            Ok(Fetched { repo, commit, tree })
        })
    }
}

/// Every cluster's status files, as `hubdr_core::status::refs::assemble` merges them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFiles {
    /// Path (as on the shared status branch: `clusters/<c>.yaml`, `.sig`, `keys/<c>.pub`) -> content.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Refs and files left out, with the reason.
    pub ignored: Vec<String>,
}

impl GitSource {
    /// Fetch the shared status branch (this source's branch) and, in the same round trip,
    /// every cluster's status ref with one glob refspec (`refs/hubdr/status/*`, pruned), and
    /// assemble the status files. The heartbeat refs are not fetched: what agents read of other
    /// clusters (gates, late binding, hosted-cluster snapshots) is never a volatile value
    /// (`ClusterStatus::without_volatile`), which only the heartbeats carry fresher, and
    /// fetching 5,000 heartbeat refs that moved costs a hub seconds per read
    /// (`status-day-bench`). `hubdr status --fetch` fetches them. Files above the status size limit are left out.
    pub fn fetch_statuses(&self) -> Result<StatusFiles, GitError> {
        let legacy = format!("refs/hubdr/source/{}", self.branch);
        let endpoint = Endpoint {
            url: &self.url,
            credentials: &self.credentials,
        };
        let remote_ref = remote::branch_ref(&self.branch)?;
        self.cache.with_repo(|repo| {
            remote::fetch_ref(&repo, endpoint, &remote_ref, &legacy, &[STATUS_REFSPEC])?;
            let error = |source| GitError::ReadTree {
                commit: Oid::zero(),
                path: STATUS_REF_PREFIX.into(),
                cache: self.cache.path().to_path_buf(),
                source,
            };
            let mut view = status_refs::read(&repo, &legacy).map_err(error)?;
            let files = view
                .load(&repo, hubdr_core::limits::STATUS_FILE_MAX_BYTES)
                .map_err(error)?;
            Ok(StatusFiles {
                files,
                ignored: view.ignored,
            })
        })
    }
}

impl std::fmt::Debug for GitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &shown(&self.url))
            .field("branch", &self.branch)
            .field("cache", &self.cache)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("commit", &self.commit)
            .field("cache", &self.repo.path())
            .finish()
    }
}

impl Fetched {
    /// The fetched commit.
    pub fn commit(&self) -> Oid {
        self.commit
    }

    /// The file at `path` (e.g. `.hubdr/index.yaml`), or `None` if there is none.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        match self.entry(path)? {
            Some(file) => self.load(&file).map(Some),
            None => Ok(None),
        }
    }

    /// The file at `path` with its size, from the object's header: nothing is loaded yet.
    /// `None` if there is no such file.
    pub fn entry(&self, path: &str) -> Result<Option<BlobEntry>, GitError> {
        let tree = self
            .repo
            .find_tree(self.tree)
            .map_err(|e| self.read_error(path, e))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.read_error(path, e)),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        self.sized(path.to_string(), entry.id()).map(Some)
    }

    /// Every file under the directory `dir` (recursively), keyed by repo-relative path
    /// (`clusters/hub-a/x.yaml`). Empty when the directory does not exist.
    pub fn files_under(&self, dir: &str) -> Result<BTreeMap<String, Vec<u8>>, GitError> {
        self.entries_under(dir)?
            .into_iter()
            .map(|file| Ok((file.path.clone(), self.load(&file)?)))
            .collect()
    }

    /// Every file under the directory `dir` (recursively) with its size, from the objects'
    /// headers: nothing is loaded yet, so sizes can be checked first. Sorted by path; empty
    /// when the directory does not exist.
    pub fn entries_under(&self, dir: &str) -> Result<Vec<BlobEntry>, GitError> {
        let dir = dir.trim_end_matches('/');
        let tree = self
            .repo
            .find_tree(self.tree)
            .map_err(|e| self.read_error(dir, e))?;
        let entry = match tree.get_path(Path::new(dir)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Tree) => entry,
            Ok(_) => return Ok(Vec::new()),
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.read_error(dir, e)),
        };
        let subtree = self
            .repo
            .find_tree(entry.id())
            .map_err(|e| self.read_error(dir, e))?;
        let mut blobs = Vec::new();
        subtree
            .walk(TreeWalkMode::PreOrder, |root, entry| {
                if entry.kind() == Some(ObjectType::Blob) {
                    let name = String::from_utf8_lossy(entry.name_bytes());
                    blobs.push((format!("{dir}/{root}{name}"), entry.id()));
                }
                TreeWalkResult::Ok
            })
            .map_err(|e| self.read_error(dir, e))?;
        let mut entries = blobs
            .into_iter()
            .map(|(path, id)| self.sized(path, id))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// The content of a file listed by [`Self::entry`] or [`Self::entries_under`].
    pub fn load(&self, file: &BlobEntry) -> Result<Vec<u8>, GitError> {
        let blob = self
            .repo
            .find_blob(file.id)
            .map_err(|e| self.read_error(&file.path, e))?;
        Ok(blob.content().to_vec())
    }

    fn sized(&self, path: String, id: Oid) -> Result<BlobEntry, GitError> {
        let (size, _) = self
            .repo
            .odb()
            .and_then(|odb| odb.read_header(id))
            .map_err(|e| self.read_error(&path, e))?;
        Ok(BlobEntry {
            path,
            id,
            size: size as u64,
        })
    }

    fn read_error(&self, path: &str, source: git2::Error) -> GitError {
        GitError::ReadTree {
            commit: self.commit,
            path: path.to_string(),
            cache: self.repo.path().to_path_buf(),
            source,
        }
    }
}
