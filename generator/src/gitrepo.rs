//! Writing a rendered file tree into a git repository, atomically and incrementally.
//!
//! The output repository holds *managed* paths (everything under a set of path prefixes such
//! as `clusters/`, `argocd/`, `.hubdr/`) and unmanaged files (`README.md`, `site.yaml`, ...).
//! Only managed paths are ever compared, written or removed.
//!
//! * [`OutputRepo::diff`] compares the desired tree with `HEAD` without touching the working
//!   tree. It hashes the desired files into git blob and tree ids in memory and only reads the
//!   `HEAD` trees whose ids differ, so an unchanged render costs little more than hashing the
//!   rendered bytes.
//! * [`OutputRepo::commit`] writes only the changed files (a changed file through a temp file
//!   and a rename, a new one in place), updates only the changed index entries (from the known
//!   blob ids and the files' stat data, so nothing is read back), computes the trees from the
//!   index in memory and commits. From [`PACK_MIN_FILES`] files on, the new objects go into
//!   one pack file, written here while the files are written, instead of one loose object file
//!   each. The new objects are fsynced before the branch moves to them, and the branch after;
//!   the working tree is not (it is a copy of the commit, as after `git checkout`). It refuses
//!   to run when the index has staged changes, so nothing but the rendered files is ever
//!   committed. On failure every touched path is restored to its `HEAD` content, the index and
//!   `HEAD` are left as they were, and a pack stored for the commit is removed.
//! * [`OutputRepo::uncommitted_changes`] finds hand edits under the managed prefixes, so that a
//!   render can refuse to overwrite them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, IndexEntry, ObjectType, Oid, Repository, RepositoryInitOptions, Signature};
use rayon::prelude::*;

mod checkout;
mod commit_object;
mod delta;
mod index_file;
mod pack;
mod trees;
mod worktree;

/// A rendered tree: repo-relative path (forward slashes, e.g. `clusters/hub-a/restore.yaml`)
/// -> file bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Git file mode of a regular, non-executable file. All rendered files get this mode.
const MODE_FILE: i32 = 0o100644;
#[cfg_attr(not(unix), allow(dead_code))]
const MODE_EXECUTABLE: i32 = 0o100755;
#[cfg_attr(not(unix), allow(dead_code))]
const MODE_SYMLINK: i32 = 0o120000;

/// One managed file that differs between the desired tree and `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// In the desired tree, not in `HEAD`.
    Added(String),
    /// In both, with different content (or a different file mode in `HEAD`).
    Modified(String),
    /// In `HEAD`, not in the desired tree.
    Removed(String),
}

impl FileChange {
    /// The repo-relative path of the changed file.
    pub fn path(&self) -> &str {
        match self {
            FileChange::Added(p) | FileChange::Modified(p) | FileChange::Removed(p) => p,
        }
    }
}

impl fmt::Display for FileChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileChange::Added(p) => write!(f, "A {p}"),
            FileChange::Modified(p) => write!(f, "M {p}"),
            FileChange::Removed(p) => write!(f, "D {p}"),
        }
    }
}

/// The result of [`OutputRepo::diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Sorted by path.
    pub changes: Vec<FileChange>,
}

impl Changes {
    /// True when the desired tree equals `HEAD` under the managed prefixes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Number of changed files.
    pub fn len(&self) -> usize {
        self.changes.len()
    }
}

/// Errors of [`OutputRepo`], named after the phase that failed.
#[derive(Debug, thiserror::Error)]
pub enum GitRepoError {
    #[error("cannot create the output directory {path}; check the path and its permissions")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot read the output directory {path}; check the path and its permissions")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "{path} exists, is not empty and is not a git repository; \
         point the output at a new or empty directory, or run `git init` in it first"
    )]
    NotARepository { path: PathBuf },

    #[error("{path} is not a directory; point the output at a directory")]
    NotADirectory { path: PathBuf },

    #[error(
        "{path} is a bare git repository; the output needs a repository with a working tree \
         (clone it with `git clone` and point the output at the clone)"
    )]
    Bare { path: PathBuf },

    #[error("cannot open the git repository at {path}; check that it is a valid, readable git repository")]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot initialise a git repository in {path}; check the directory's permissions")]
    Init {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot read HEAD of the output repository; check it with `git log -1`")]
    ReadHead {
        #[source]
        source: git2::Error,
    },

    #[error("cannot read {what} from the output repository; check it with `git fsck`")]
    ReadObject {
        what: String,
        #[source]
        source: git2::Error,
    },

    #[error("invalid rendered path {path:?}: {reason} (this is a bug in the renderer)")]
    InvalidPath { path: String, reason: &'static str },

    #[error(
        "rendered path {path:?} is outside the managed directories {prefixes:?} \
         (this is a bug in the renderer)"
    )]
    OutsidePrefixes { path: String, prefixes: Vec<String> },

    #[error(
        "the changes do not match the desired tree at {path:?}: {reason}; \
         compute them with OutputRepo::diff for the same tree (this is a bug)"
    )]
    InconsistentChanges { path: String, reason: &'static str },

    #[error("cannot compute the git status of the output repository; check it with `git status`")]
    Status {
        #[source]
        source: git2::Error,
    },

    #[error(
        "{} managed file(s) have uncommitted changes: {}; commit them, or discard them with \
         `git checkout HEAD -- <path>` / `git clean`, before rendering again",
        paths.len(), summarize(paths)
    )]
    Dirty { paths: Vec<String> },

    #[error(
        "the git index of the output repository has staged changes that are not committed: {}; \
         commit them, or unstage them with `git reset`, otherwise they would be committed \
         together with the rendered files",
        summarize(paths)
    )]
    StagedChanges { paths: Vec<String> },

    #[error("cannot read the git index of the output repository; check it with `git status`")]
    Index {
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot make a commit of the git index of the output repository: {0}; \
         check it with `git status` and resolve it"
    )]
    IndexTrees(String),

    #[error("cannot store the new git objects in {dir}; check disk space and permissions of .git")]
    WritePack {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot store {path} in the git object database; check disk space and permissions of .git"
    )]
    WriteObject {
        path: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot write {path} in the output working tree; check disk space, permissions, and that \
         nothing else (a directory, a symlink) is in the way. The working tree was restored"
    )]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot remove {path} from the output working tree; check permissions. \
         The working tree was restored"
    )]
    Remove {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot update the git index of the output repository; check that no other git command \
         is running (.git/index.lock) and that .git is writable. The working tree was restored"
    )]
    UpdateIndex {
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot write the git index {path}; check that no other git command is running \
         (.git/index.lock) and that .git is writable. The working tree was restored"
    )]
    WriteIndex {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("invalid commit author {name:?} <{email}>; give a plain name and e-mail address")]
    Signature {
        name: String,
        email: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot create the commit in the output repository; check that no other git command is \
         running (*.lock files in .git) and that .git is writable. The working tree was restored"
    )]
    Commit {
        #[source]
        source: git2::Error,
    },

    #[error(
        "restoring the output repository after a failure did not fully succeed ({}); inspect it \
         with `git status` and restore it with `git reset --hard HEAD` if needed",
        failures.join("; ")
    )]
    Rollback {
        failures: Vec<String>,
        #[source]
        source: Box<GitRepoError>,
    },
}

fn summarize(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}

/// A git repository with a working tree that receives rendered files.
pub struct OutputRepo {
    repo: Repository,
    workdir: PathBuf,
}

impl fmt::Debug for OutputRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputRepo")
            .field("workdir", &self.workdir)
            .finish()
    }
}

impl OutputRepo {
    /// Open the git repository at `dir`; create the directory and `git init` it (initial branch
    /// `main`) when missing or empty. If `dir` exists, is non-empty and is not a git repository,
    /// fail without touching it.
    pub fn open_or_init(dir: &Path) -> Result<Self, GitRepoError> {
        match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|source| GitRepoError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
                return Self::init(dir);
            }
            Err(source) => {
                return Err(GitRepoError::ReadDir {
                    path: dir.to_path_buf(),
                    source,
                })
            }
            Ok(_) => {}
        }
        // Follow a symlink to a directory, like git does.
        if !dir.is_dir() {
            return Err(GitRepoError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let mut entries = fs::read_dir(dir).map_err(|source| GitRepoError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        if entries.next().is_none() {
            return Self::init(dir);
        }
        match Repository::open(dir) {
            Ok(repo) => Self::from_repo(repo, dir),
            Err(e) if e.code() == ErrorCode::NotFound => Err(GitRepoError::NotARepository {
                path: dir.to_path_buf(),
            }),
            Err(source) => Err(GitRepoError::Open {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }

    /// Open an existing repository only (error if `dir` is not a git repository). Does not search
    /// parent directories.
    pub fn open(dir: &Path) -> Result<Self, GitRepoError> {
        let repo = Repository::open(dir).map_err(|source| GitRepoError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        Self::from_repo(repo, dir)
    }

    fn init(dir: &Path) -> Result<Self, GitRepoError> {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main")
            .no_reinit(true)
            .mkdir(false)
            // Do not copy hook samples etc. from the user's template directory.
            .external_template(false);
        let repo = Repository::init_opts(dir, &opts).map_err(|source| GitRepoError::Init {
            path: dir.to_path_buf(),
            source,
        })?;
        Self::from_repo(repo, dir)
    }

    fn from_repo(repo: Repository, dir: &Path) -> Result<Self, GitRepoError> {
        let workdir = match repo.workdir() {
            Some(w) => w.to_path_buf(),
            None => {
                return Err(GitRepoError::Bare {
                    path: dir.to_path_buf(),
                })
            }
        };
        Ok(OutputRepo { repo, workdir })
    }

    /// The working tree of the repository.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The underlying git2 repository (for read-only inspection).
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The commit `HEAD` points to; `None` before the first commit.
    pub fn head_commit(&self) -> Result<Option<Oid>, GitRepoError> {
        Ok(self.head_commit_obj()?.map(|c| c.id()))
    }

    fn head_commit_obj(&self) -> Result<Option<git2::Commit<'_>>, GitRepoError> {
        match self.repo.head() {
            Ok(head) => head
                .peel_to_commit()
                .map(Some)
                .map_err(|source| GitRepoError::ReadHead { source }),
            Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
                Ok(None)
            }
            Err(source) => Err(GitRepoError::ReadHead { source }),
        }
    }

    fn head_tree(&self) -> Result<Option<git2::Tree<'_>>, GitRepoError> {
        match self.head_commit_obj()? {
            Some(c) => c
                .tree()
                .map(Some)
                .map_err(|source| GitRepoError::ReadHead { source }),
            None => Ok(None),
        }
    }

    fn find_tree(&self, id: Oid, dir: &str) -> Result<git2::Tree<'_>, GitRepoError> {
        self.repo
            .find_tree(id)
            .map_err(|source| GitRepoError::ReadObject {
                what: format!("tree {id} ({dir})"),
                source,
            })
    }

    /// The files committed at `HEAD` under the given managed prefixes, path -> bytes. Empty when
    /// there is no commit yet. Submodule entries are skipped.
    pub fn head_files(&self, prefixes: &[&str]) -> Result<Tree, GitRepoError> {
        let mut out = Tree::new();
        if let Some(tree) = self.head_tree()? {
            self.collect_head_files(&tree, "", &Prefixes::new(prefixes), &mut out)?;
        }
        Ok(out)
    }

    fn collect_head_files(
        &self,
        tree: &git2::Tree<'_>,
        dir: &str,
        prefixes: &Prefixes<'_>,
        out: &mut Tree,
    ) -> Result<(), GitRepoError> {
        for entry in tree.iter() {
            let Some(path) = entry_path(dir, &entry, prefixes)? else {
                continue;
            };
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let sub_dir = format!("{path}/");
                    if prefixes.dir_relevant(&sub_dir) {
                        let sub = self.find_tree(entry.id(), &sub_dir)?;
                        self.collect_head_files(&sub, &sub_dir, prefixes, out)?;
                    }
                }
                Some(ObjectType::Blob) if prefixes.matches(&path) => {
                    let blob = self.repo.find_blob(entry.id()).map_err(|source| {
                        GitRepoError::ReadObject {
                            what: format!("blob {} ({path})", entry.id()),
                            source,
                        }
                    })?;
                    out.insert(path, blob.content().to_vec());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The tree id at `HEAD` of each prefix that names a top-level directory (`clusters/`),
    /// `None` for one `HEAD` does not have; `Ok(None)` when a prefix is anything else.
    #[allow(clippy::type_complexity)]
    pub fn managed_tree_ids(
        &self,
        prefixes: &[&str],
    ) -> Result<Option<Vec<(String, Option<Oid>)>>, GitRepoError> {
        let head = self.head_tree()?;
        let mut out = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            let Some(name) = prefix
                .strip_suffix('/')
                .filter(|n| !n.is_empty() && !n.contains('/'))
            else {
                return Ok(None);
            };
            let id = head
                .as_ref()
                .and_then(|t| t.get_name(name))
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .map(|e| e.id());
            out.push((prefix.to_string(), id));
        }
        Ok(Some(out))
    }

    /// The repository's git directory (`.git`).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// Paths under the managed prefixes whose working-tree (or index) content differs from
    /// `HEAD`: modified, deleted, staged, or untracked new files (ignored files are not reported).
    /// Sorted.
    pub fn uncommitted_changes(&self, prefixes: &[&str]) -> Result<Vec<String>, GitRepoError> {
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        match self.scan_uncommitted_changes(prefixes)? {
            Some(paths) => Ok(paths),
            None => self.uncommitted_changes_by_libgit2(prefixes),
        }
    }

    /// [`uncommitted_changes`](Self::uncommitted_changes) by a parallel scan with git's rules
    /// (see `gitrepo/worktree.rs`); `None` when the index holds what the scan does not model
    /// (conflicts, symlinks, submodules under the prefixes).
    pub fn scan_uncommitted_changes(
        &self,
        prefixes: &[&str],
    ) -> Result<Option<Vec<String>>, GitRepoError> {
        worktree::changed_paths(&self.repo, &self.workdir, &Prefixes::new(prefixes))
            .map_err(|source| GitRepoError::Status { source })
    }

    /// [`uncommitted_changes`](Self::uncommitted_changes) by libgit2's status: slower, but it
    /// handles everything an index can hold.
    pub fn uncommitted_changes_by_libgit2(
        &self,
        prefixes: &[&str],
    ) -> Result<Vec<String>, GitRepoError> {
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .include_unmodified(false)
            .exclude_submodules(true)
            .renames_head_to_index(false)
            .renames_index_to_workdir(false);
        // Pathspecs narrow the scan; they must match at least the managed paths, which they do
        // for plain directory prefixes. Otherwise scan everything and filter.
        let plain_dirs = prefixes.iter().all(|p| {
            p.len() > 1 && p.ends_with('/') && !p.contains(['*', '?', '[', '\\', ':', '!'])
        });
        if plain_dirs {
            for p in prefixes {
                opts.pathspec(*p);
            }
        }
        let managed = Prefixes::new(prefixes);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|source| GitRepoError::Status { source })?;
        let mut paths: Vec<String> = statuses
            .iter()
            .filter(|e| {
                let s = e.status();
                !s.is_empty() && !s.contains(git2::Status::IGNORED)
            })
            .map(|e| String::from_utf8_lossy(e.path_bytes()).into_owned())
            .filter(|p| managed.matches(p))
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// [`uncommitted_changes`](Self::uncommitted_changes) as a check: `Err(Dirty)` listing the
    /// paths when there are any.
    pub fn ensure_clean(&self, prefixes: &[&str]) -> Result<(), GitRepoError> {
        let paths = self.uncommitted_changes(prefixes)?;
        if paths.is_empty() {
            Ok(())
        } else {
            Err(GitRepoError::Dirty { paths })
        }
    }

    /// Compare `desired` with `HEAD` restricted to the managed prefixes. Every desired path must be
    /// under one of the prefixes. Does not look at the working tree.
    ///
    /// The desired files are hashed into git blob ids (in parallel) and then into tree ids, so
    /// only the `HEAD` trees whose ids differ from the desired ones are read.
    pub fn diff(&self, desired: &Tree, prefixes: &[&str]) -> Result<Changes, GitRepoError> {
        let prefixes = &Prefixes::new(prefixes);
        let head = self.head_tree()?;
        let Some(head) = head else {
            // Nothing to compare with: every file is added.
            check_desired(desired, prefixes)?;
            let paths: Vec<&String> = desired.keys().collect();
            let changes = paths
                .par_iter()
                .map(|path| FileChange::Added((*path).clone()))
                .collect();
            return Ok(Changes { changes });
        };
        let root = desired_dirs(desired, prefixes)?;
        let mut out = Vec::new();
        self.diff_dir("", Some(&root), Some(&head), prefixes, &mut out)?;
        out.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(Changes { changes: out })
    }

    fn diff_dir(
        &self,
        dir: &str,
        node: Option<&trees::DirNode<'_>>,
        head: Option<&git2::Tree<'_>>,
        prefixes: &Prefixes<'_>,
        out: &mut Vec<FileChange>,
    ) -> Result<(), GitRepoError> {
        if let (Some(n), Some(h)) = (node, head) {
            if n.oid == Some(h.id()) {
                return Ok(());
            }
        }
        if let Some(h) = head {
            for entry in h.iter() {
                let Some(path) = entry_path(dir, &entry, prefixes)? else {
                    continue;
                };
                let name = &path[dir.len()..];
                if entry.kind() == Some(ObjectType::Tree) {
                    let sub_dir = format!("{path}/");
                    if prefixes.dir_relevant(&sub_dir) {
                        let sub_tree = self.find_tree(entry.id(), &sub_dir)?;
                        let sub_node = node.and_then(|n| n.dirs.get(name.as_bytes()));
                        self.diff_dir(&sub_dir, sub_node, Some(&sub_tree), prefixes, out)?;
                    }
                } else if prefixes.matches(&path) {
                    match node.and_then(|n| n.files.get(name.as_bytes())) {
                        Some((_, oid)) if *oid == entry.id() && entry.filemode() == MODE_FILE => {}
                        Some(_) => out.push(FileChange::Modified(path)),
                        None => out.push(FileChange::Removed(path)),
                    }
                }
            }
        }
        if let Some(n) = node {
            // The desired tree's names are the components of `Tree` keys: UTF-8.
            let text = |name: &[u8]| String::from_utf8_lossy(name).into_owned();
            for name in n.files.keys() {
                let in_head = head
                    .and_then(|h| h.get_name_bytes(name))
                    .is_some_and(|e| e.kind() != Some(ObjectType::Tree));
                if !in_head {
                    out.push(FileChange::Added(format!("{dir}{}", text(name))));
                }
            }
            for (name, sub) in &n.dirs {
                let in_head = head
                    .and_then(|h| h.get_name_bytes(name))
                    .is_some_and(|e| e.kind() == Some(ObjectType::Tree));
                if !in_head {
                    let sub_dir = format!("{dir}{}/", text(name));
                    self.diff_dir(&sub_dir, Some(sub), None, prefixes, out)?;
                }
            }
        }
        Ok(())
    }

    /// Apply `changes` (computed by [`diff`](Self::diff) for the same `desired`) to the working
    /// tree and commit them on `HEAD` with `message`; `author` (name, email) is used as author
    /// and committer, with the current time.
    ///
    /// Only the changed files are written (a new file in place, a replaced one through a temp
    /// file in the same directory and a rename; see `checkout`) or removed (empty parent
    /// directories are removed too); only their index entries are updated. Returns `Ok(None)`
    /// without committing when `changes` is empty.
    ///
    /// Refuses ([`GitRepoError::StagedChanges`]) when the index differs from `HEAD` before
    /// starting, so that nothing the user staged is committed by accident.
    ///
    /// With [`PACK_MIN_FILES`] or more files to write, the new objects are collected in memory
    /// and stored as one pack file instead of one loose object file each (like `git` keeps a
    /// large push as a pack), while the files are written.
    ///
    /// On failure, every touched path is restored to its `HEAD` content (or deleted when it was
    /// added), the index and `HEAD` are left as they were, a pack stored for the commit is
    /// removed, and the error is returned.
    pub fn commit(
        &self,
        desired: &Tree,
        changes: &Changes,
        message: &str,
        author: (&str, &str),
    ) -> Result<Option<Oid>, GitRepoError> {
        if changes.is_empty() {
            return Ok(None);
        }

        // Validate everything before touching anything (the paths in parallel; the first bad
        // one in order is reported).
        let bad_path = changes
            .changes
            .par_iter()
            .with_min_len(256)
            .map(|change| validate_path(change.path()))
            .find_first(Result::is_err);
        if let Some(Err(err)) = bad_path {
            return Err(err);
        }
        let mut seen = HashSet::with_capacity(changes.len());
        let mut writes: Vec<(&str, &[u8])> = Vec::new();
        let mut removes: Vec<&str> = Vec::new();
        for change in &changes.changes {
            let path = change.path();
            if !seen.insert(path) {
                return Err(GitRepoError::InconsistentChanges {
                    path: path.to_string(),
                    reason: "listed more than once",
                });
            }
            match change {
                FileChange::Added(_) | FileChange::Modified(_) => match desired.get(path) {
                    Some(bytes) => writes.push((path, bytes)),
                    None => {
                        return Err(GitRepoError::InconsistentChanges {
                            path: path.to_string(),
                            reason: "added or modified but not in the desired tree",
                        })
                    }
                },
                FileChange::Removed(_) => {
                    if desired.contains_key(path) {
                        return Err(GitRepoError::InconsistentChanges {
                            path: path.to_string(),
                            reason: "removed but still in the desired tree",
                        });
                    }
                    removes.push(path);
                }
            }
        }

        let signature =
            Signature::now(author.0, author.1).map_err(|source| GitRepoError::Signature {
                name: author.0.to_string(),
                email: author.1.to_string(),
                source,
            })?;
        let head = self.head_commit_obj()?;
        let head_tree = match &head {
            Some(c) => Some(
                c.tree()
                    .map_err(|source| GitRepoError::ReadHead { source })?,
            ),
            None => None,
        };
        let head_ref = self.head_ref_name()?;

        let mut index = self
            .repo
            .index()
            .map_err(|source| GitRepoError::Index { source })?;
        index
            .read(false)
            .map_err(|source| GitRepoError::Index { source })?;
        let entries = trees::index_entries(&index);
        let index_tree = trees::from_index(&entries)
            .map_err(|e| GitRepoError::IndexTrees(e.to_string()))?
            .compute(false);
        let head_tree_id = match &head_tree {
            Some(t) => t.id(),
            None => trees::object_id(ObjectType::Tree, b""),
        };
        if index_tree != head_tree_id {
            return Err(GitRepoError::StagedChanges {
                paths: staged_paths(&self.repo, head_tree_id, &index, head_tree.is_some()),
            });
        }

        // Many new objects: stored as one pack while the files are written (see `apply`), so
        // the blobs are only hashed here; otherwise each is written as a loose object file now
        // (unreferenced objects are harmless if anything fails later).
        let packed = writes.len() >= PACK_MIN_FILES;
        let blob_ids: Vec<Oid> = if packed {
            writes
                .par_iter()
                .with_max_len(crate::par::PIECE)
                .map(|(_, bytes)| trees::object_id(ObjectType::Blob, bytes))
                .collect()
        } else {
            let mut ids = Vec::with_capacity(writes.len());
            for (path, bytes) in &writes {
                let id = self
                    .repo
                    .blob(bytes)
                    .map_err(|source| GitRepoError::WriteObject {
                        path: path.to_string(),
                        source,
                    })?;
                ids.push(id);
            }
            ids
        };

        let mut journal = Journal::default();
        let result = self.apply(
            packed,
            &writes,
            &blob_ids,
            &removes,
            &mut index,
            entries,
            Commit {
                signature: &signature,
                message,
                head: head.as_ref(),
                head_ref: &head_ref,
            },
            &mut journal,
        );
        match result {
            Ok(id) => Ok(Some(id)),
            Err(err) => {
                let failures = self.rollback(&mut index, head_tree.as_ref(), &journal);
                if failures.is_empty() {
                    Err(err)
                } else {
                    Err(GitRepoError::Rollback {
                        failures,
                        source: Box::new(err),
                    })
                }
            }
        }
    }

    /// Change the working tree, the index and `HEAD`, recording in `journal` what to undo.
    /// With `packed`, the blobs are not stored yet: all new objects go into one pack.
    /// `index_entries` are the entries of `index` as read (it is changed only after the commit).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        packed: bool,
        writes: &[(&str, &[u8])],
        blob_ids: &[Oid],
        removes: &[&str],
        index: &mut git2::Index,
        mut index_entries: Vec<IndexEntry>,
        commit: Commit<'_>,
        journal: &mut Journal,
    ) -> Result<Oid, GitRepoError> {
        // 1. Remove files.
        for path in removes {
            match fs::remove_file(self.workdir.join(path)) {
                Ok(()) => journal.touched.push(path.to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(GitRepoError::Remove {
                        path: path.to_string(),
                        source,
                    })
                }
            }
        }

        // 2. Prune directories emptied by the removals (before the writes: a directory may have
        //    to make room for a file of the same name).
        let parents: BTreeSet<&str> = removes
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
            .collect();
        for dir in parents.iter().rev() {
            prune_empty_dirs(&self.workdir, &self.workdir.join(dir));
        }

        // 3. The trees of the next commit, computed in memory from the index as it will be
        //    (the entries of the changed paths replaced). They do not depend on the files'
        //    stat data: every written file is a regular file (`MODE_FILE`).
        if !index_entries.is_empty() {
            let changed: HashSet<&[u8]> = removes
                .iter()
                .map(|p| p.as_bytes())
                .chain(writes.iter().map(|(p, _)| p.as_bytes()))
                .collect();
            index_entries.retain(|e| !changed.contains(e.path.as_slice()));
        }
        let index_trees = |e: trees::IndexTreeError| GitRepoError::IndexTrees(e.to_string());
        let mut root = trees::from_index(&index_entries).map_err(index_trees)?;
        for ((path, _), id) in writes.iter().zip(blob_ids) {
            root.add(path.as_bytes(), MODE_FILE as u32, *id)
                .map_err(index_trees)?;
        }
        let tree_id = root.compute(true);
        let commit_error = |source| GitRepoError::Commit { source };
        let head_tree = commit
            .head
            .map(|c| c.tree())
            .transpose()
            .map_err(commit_error)?;
        let mut new_trees = Vec::new();
        trees::new_trees(&root, head_tree.as_ref(), &self.repo, &mut new_trees)
            .map_err(commit_error)?;

        // 4. Create the directories and write the files (see `checkout`). A packed commit's
        //    objects are stored meanwhile, as one pack made durable before any reference
        //    points at them (libgit2 does not fsync by default): writing thousands of files
        //    and compressing and syncing the pack keep both threads busy. Then record what was
        //    created or replaced, and fail on the first error.
        let (placement, packed_commit) = if packed {
            let parents: Vec<Oid> = commit.head.iter().map(|c| c.id()).collect();
            let content =
                commit_object::encode(tree_id, &parents, commit.signature, commit.message);
            let commit_id = trees::object_id(ObjectType::Commit, &content);
            let (workdir, git_dir) = (self.workdir.as_path(), self.repo.path());
            let (placement, stored) = rayon::join(
                || checkout::place_files(workdir, writes),
                || Self::write_pack(git_dir, writes, blob_ids, &new_trees, (commit_id, &content)),
            );
            if let Ok(pack::Stored {
                files, new: true, ..
            }) = &stored
            {
                journal.stored_pack = files.clone();
            }
            (placement, Some((commit_id, stored)))
        } else {
            (checkout::place_files(&self.workdir, writes), None)
        };
        journal.created_dirs.extend(placement.created_dirs);
        let mut stats = Vec::with_capacity(writes.len());
        let mut errors: Vec<(usize, io::Error)> = placement.dir_errors;
        for (i, ((path, _), placed)) in writes.iter().zip(placement.files).enumerate() {
            match placed {
                Some(Ok(md)) => {
                    journal.touched.push(path.to_string());
                    stats.push(md);
                }
                Some(Err(checkout::FileError { changed, source })) => {
                    if changed {
                        journal.touched.push(path.to_string());
                    }
                    errors.push((i, source));
                }
                None => {}
            }
        }
        // The error of the first file in `writes` that failed or was not tried because its
        // directory failed (after a failed directory that holds directories, nothing else
        // was tried).
        if let Some((i, source)) = errors.into_iter().min_by_key(|(i, _)| *i) {
            return Err(GitRepoError::Write {
                path: writes[i].0.to_string(),
                source,
            });
        }
        // Without errors every file was written: `stats` lines up with `writes`.
        debug_assert_eq!(stats.len(), writes.len());

        // 5. The index entries of the written files. For a packed commit, the bytes of the
        //    next index (see `index_file`), unless the index holds more than entries and
        //    caches; otherwise create the commit with loose objects and make them durable.
        let written: Vec<IndexEntry> = writes
            .iter()
            .zip(blob_ids)
            .zip(&stats)
            .map(|(((path, _), id), md)| index_entry(path, *id, md))
            .collect();
        let mut index_bytes = None;
        let commit_id = match packed_commit {
            Some((commit_id, stored)) => {
                stored?;
                index_bytes = index.path().map(Path::to_path_buf).and_then(|path| {
                    next_index(&path, &index_entries, &written).map(|bytes| (path, bytes))
                });
                commit_id
            }
            None => self
                .commit_loose(&commit, &new_trees, tree_id)
                .map_err(commit_error)
                .and_then(|commit_id| {
                    let mut loose: Vec<Oid> = blob_ids.to_vec();
                    loose.extend(new_trees.iter().map(|(id, _)| *id));
                    loose.push(commit_id);
                    sync_loose_objects(self.repo.path(), &loose)
                        .map(|()| commit_id)
                        .map_err(|source| GitRepoError::Write {
                            path: ".git/objects".to_string(),
                            source,
                        })
                })?,
        };

        // 6. Otherwise update the index entries of the changed paths only (their blobs are
        //    stored now: the index checks that).
        let update_index = |source| GitRepoError::UpdateIndex { source };
        if index_bytes.is_none() {
            journal.index_modified = true;
            for path in removes {
                index.remove_path(Path::new(path)).map_err(update_index)?;
            }
            for entry in &written {
                index.add(entry).map_err(update_index)?;
            }
        }

        // 7. Move the branch (only if it still points where it did), then save the index.
        //    From here on the commit may be named by a reflog entry, which a rollback does not
        //    undo: its pack stays.
        journal.stored_pack.clear();
        let old = commit.head.map(|c| c.id());
        let summary = commit.message.lines().next().unwrap_or("");
        let reflog = match old {
            Some(_) => format!("commit: {summary}"),
            None => format!("commit (initial): {summary}"),
        };
        let moved = match old {
            Some(_) if commit.head_ref == "HEAD" => self.repo.set_head_detached(commit_id),
            Some(old) => self
                .repo
                .reference_matching(commit.head_ref, commit_id, true, old, &reflog)
                .map(|_| ()),
            None => self
                .repo
                .reference(commit.head_ref, commit_id, false, &reflog)
                .map(|_| ()),
        };
        moved.map_err(commit_error)?;
        journal.moved_ref = Some((commit.head_ref.to_string(), old));
        sync_file(&self.repo.path().join(commit.head_ref)).map_err(|source| {
            GitRepoError::Write {
                path: format!(".git/{}", commit.head_ref),
                source,
            }
        })?;

        match index_bytes {
            Some((path, bytes)) => index_file::write(&path, &bytes)
                .map_err(|source| GitRepoError::WriteIndex { path, source })?,
            None => index.write().map_err(update_index)?,
        }
        Ok(commit_id)
    }

    /// Create the commit object with loose objects: the new `trees` (the blobs are stored
    /// already), then the commit.
    fn commit_loose(
        &self,
        commit: &Commit<'_>,
        trees: &[(Oid, &[u8])],
        tree_id: Oid,
    ) -> Result<Oid, git2::Error> {
        let odb = self.repo.odb()?;
        for (_, encoded) in trees {
            odb.write(ObjectType::Tree, encoded)?;
        }
        let tree = self.repo.find_tree(tree_id)?;
        let parents: Vec<&git2::Commit<'_>> = commit.head.into_iter().collect();
        commit.create(&self.repo, &tree, &parents)
    }

    /// Store the new objects of a commit as one pack file with its index: the blobs (from the
    /// rendered bytes), the new `trees` and the commit.
    ///
    /// The pack is built here (see `pack`): files of one kind are stored as deltas against a few
    /// whole files of that kind (`delta_group`), in parallel, and the index is written from the
    /// ids, offsets and CRCs known while building. libgit2's pack builder spends most of a large
    /// first render searching for deltas, and its indexer inflates and hashes every object a
    /// second time.
    fn write_pack(
        git_dir: &Path,
        writes: &[(&str, &[u8])],
        blobs: &[Oid],
        trees: &[(Oid, &[u8])],
        commit: (Oid, &[u8]),
    ) -> Result<pack::Stored, GitRepoError> {
        // In a deterministic order: blobs, new trees, the commit (`pack::store` drops repeats).
        let object = |id, kind, data, delta_group| pack::Object {
            id,
            kind,
            data,
            delta_group,
        };
        let objects: Vec<pack::Object<'_>> = writes
            .iter()
            .zip(blobs)
            .map(|((path, bytes), id)| {
                object(*id, ObjectType::Blob, *bytes, Some(delta_group(path)))
            })
            .chain(
                trees
                    .iter()
                    .map(|(id, encoded)| object(*id, ObjectType::Tree, *encoded, None)),
            )
            .chain([object(commit.0, ObjectType::Commit, commit.1, None)])
            .collect();
        let dir = git_dir.join("objects").join("pack");
        pack::store(&dir, &objects).map_err(|source| GitRepoError::WritePack { dir, source })
    }

    /// The reference `HEAD` resolves to (`refs/heads/main`), or `HEAD` when detached.
    fn head_ref_name(&self) -> Result<String, GitRepoError> {
        let head = self
            .repo
            .find_reference("HEAD")
            .map_err(|source| GitRepoError::ReadHead { source })?;
        Ok(match head.symbolic_target() {
            Some(target) => target.to_string(),
            None => "HEAD".to_string(),
        })
    }

    /// Undo what `apply` did, as far as `journal` says it got. Returns what could not be undone.
    fn rollback(
        &self,
        index: &mut git2::Index,
        head_tree: Option<&git2::Tree<'_>>,
        journal: &Journal,
    ) -> Vec<String> {
        let mut failures = Vec::new();

        if let Some((name, old)) = &journal.moved_ref {
            let res = match old {
                Some(old) if name == "HEAD" => self.repo.set_head_detached(*old),
                Some(old) => self
                    .repo
                    .reference(name, *old, true, "hubdr: roll back failed render")
                    .map(|_| ()),
                None => self.repo.find_reference(name).and_then(|mut r| r.delete()),
            };
            if let Err(e) = res {
                failures.push(format!("resetting {name}: {e}"));
            }
        }
        if journal.index_modified {
            // The on-disk index was not replaced (or the failure was writing it): reload it.
            if let Err(e) = index.read(true) {
                failures.push(format!("reloading the index: {e}"));
            }
        }

        for path in journal.touched.iter().rev() {
            if let Err(e) = self.restore_path(head_tree, path) {
                failures.push(format!("restoring {path}: {e}"));
            }
        }
        for dir in journal.created_dirs.iter().rev() {
            // Fails (and is meant to) when the directory is not empty.
            let _ = fs::remove_dir(dir);
        }
        // Its objects are referenced by nothing now: the index goes first (git finds packs by
        // their index).
        for file in journal.stored_pack.iter().rev() {
            match fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failures.push(format!("removing {}: {e}", file.display())),
            }
        }
        failures
    }

    /// Put `path` back to its `HEAD` content, or delete it when `HEAD` does not have it.
    fn restore_path(&self, head_tree: Option<&git2::Tree<'_>>, path: &str) -> io::Result<()> {
        let target = self.workdir.join(path);
        let entry = head_tree.and_then(|t| t.get_path(Path::new(path)).ok());
        let entry = entry.filter(|e| e.kind() == Some(ObjectType::Blob));
        let Some(entry) = entry else {
            match fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if let Some(parent) = target.parent() {
                prune_empty_dirs(&self.workdir, parent);
            }
            return Ok(());
        };
        let blob = self.repo.find_blob(entry.id()).map_err(io::Error::other)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        match entry.filemode() {
            #[cfg(unix)]
            MODE_SYMLINK => {
                use std::os::unix::ffi::OsStrExt;
                let link = std::ffi::OsStr::from_bytes(blob.content());
                match fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                std::os::unix::fs::symlink(link, &target)
            }
            mode => {
                checkout::write_atomic(&target, blob.content())?;
                #[cfg(unix)]
                if mode == MODE_EXECUTABLE {
                    use std::os::unix::fs::PermissionsExt;
                    let mut perms = fs::metadata(&target)?.permissions();
                    perms.set_mode(perms.mode() | ((perms.mode() & 0o444) >> 2));
                    fs::set_permissions(&target, perms)?;
                }
                #[cfg(not(unix))]
                let _ = mode;
                Ok(())
            }
        }
    }
}

/// The paths whose index entries differ from `HEAD` (for an error message: best effort).
fn staged_paths(
    repo: &Repository,
    head_tree: Oid,
    index: &git2::Index,
    has_head: bool,
) -> Vec<String> {
    let tree = if has_head {
        match repo.find_tree(head_tree) {
            Ok(tree) => Some(tree),
            Err(_) => return Vec::new(),
        }
    } else {
        None
    };
    match repo.diff_tree_to_index(tree.as_ref(), Some(index), None) {
        Ok(diff) => diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// What `apply` needs to create the commit.
struct Commit<'a> {
    signature: &'a Signature<'a>,
    message: &'a str,
    head: Option<&'a git2::Commit<'a>>,
    /// The reference to move: `refs/heads/...`, or `HEAD` when detached.
    head_ref: &'a str,
}

impl Commit<'_> {
    /// Create the commit object of `tree` in `repo`, with `signature` as author and committer,
    /// without moving any reference.
    fn create(
        &self,
        repo: &Repository,
        tree: &git2::Tree<'_>,
        parents: &[&git2::Commit<'_>],
    ) -> Result<Oid, git2::Error> {
        repo.commit(
            None,
            self.signature,
            self.signature,
            self.message,
            tree,
            parents,
        )
    }
}

/// What `apply` changed so far, for `rollback`.
#[derive(Default)]
struct Journal {
    /// Paths whose working-tree file was replaced or removed, in order.
    touched: Vec<String>,
    /// Directories created, parents first.
    created_dirs: Vec<PathBuf>,
    /// The in-memory index has been modified.
    index_modified: bool,
    /// The reference the commit moved and its previous target.
    moved_ref: Option<(String, Option<Oid>)>,
    /// The files of a pack stored by this commit (not there before), pack first, while no
    /// reference or reflog can name its objects.
    stored_pack: Vec<PathBuf>,
}

/// The bytes of the index after a commit: the `unchanged` entries and the `written` ones, when
/// the index file at `index_path` holds nothing that `index_file` would drop but caches. `None`: update
/// it through libgit2 instead.
fn next_index(
    index_path: &Path,
    unchanged: &[IndexEntry],
    written: &[IndexEntry],
) -> Option<Vec<u8>> {
    if !index_file::replaceable(index_path) {
        return None;
    }
    let mut entries: Vec<&IndexEntry> = unchanged.iter().chain(written).collect();
    entries.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    index_file::encode(&entries)
}

/// The delta group of a rendered file (see `pack::Object`): files at the same depth under the
/// same top directory whose names start alike are alike. `clusters/<cluster>/<kind>.<name>.yaml`
/// groups by kind (every cluster's ReplicationSources together), and `agents/<cluster>.yaml`
/// files form one group.
fn delta_group(path: &str) -> pack::DeltaGroup<'_> {
    let top = path.split('/').next().unwrap_or(path);
    let depth = path.matches('/').count();
    let kind = match path.rsplit_once('/') {
        Some((_, name)) if depth >= 2 => name.split('.').next().unwrap_or(name),
        _ => "",
    };
    (top, kind)
}

/// From this many files to write on, `commit` stores the new objects as one pack file instead of
/// loose objects (git's `transfer.unpackLimit` default is 100 too).
pub const PACK_MIN_FILES: usize = 100;
/// fsync the loose object files of `ids` and their fan-out directories.
fn sync_loose_objects(git_dir: &Path, ids: &[Oid]) -> io::Result<()> {
    let objects = git_dir.join("objects");
    let mut dirs = BTreeSet::new();
    for id in ids {
        let hex = id.to_string();
        let (fan_out, rest) = hex.split_at(2);
        match sync_file(&objects.join(fan_out).join(rest)) {
            // Already stored in a pack.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            other => other?,
        }
        dirs.insert(fan_out.to_string());
    }
    for dir in dirs {
        sync_dir(&objects.join(dir))?;
    }
    Ok(())
}

fn sync_file(path: &Path) -> io::Result<()> {
    fs::File::open(path)?.sync_all()
}

fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Remove `dir` and its parents while they are empty, stopping at `root`.
fn prune_empty_dirs(root: &Path, dir: &Path) {
    let mut dir = dir;
    while dir != root && dir.starts_with(root) {
        if fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}

/// The index entry of the file `path` from its blob id and stat data, so that `git status`
/// sees the file as clean without re-reading it.
#[cfg(unix)]
fn index_entry(path: &str, id: Oid, md: &fs::Metadata) -> IndexEntry {
    use std::os::unix::fs::MetadataExt;
    // Truncations as in git's index format (32-bit fields).
    IndexEntry {
        ctime: git2::IndexTime::new(md.ctime() as i32, md.ctime_nsec() as u32),
        mtime: git2::IndexTime::new(md.mtime() as i32, md.mtime_nsec() as u32),
        dev: md.dev() as u32,
        ino: md.ino() as u32,
        mode: MODE_FILE as u32,
        uid: md.uid(),
        gid: md.gid(),
        file_size: md.size() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// The index entry of the file `path` without stat data (git re-reads the file to compare).
#[cfg(not(unix))]
fn index_entry(path: &str, id: Oid, md: &fs::Metadata) -> IndexEntry {
    let zero = git2::IndexTime::new(0, 0);
    IndexEntry {
        ctime: zero,
        mtime: zero,
        dev: 0,
        ino: 0,
        mode: MODE_FILE as u32,
        uid: 0,
        gid: 0,
        file_size: md.len() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// The repo-relative path of a `HEAD` tree entry in `dir`. `None` for a name that is not UTF-8
/// outside the managed paths (ignored, like everything unmanaged); an error inside them.
fn entry_path(
    dir: &str,
    entry: &git2::TreeEntry<'_>,
    prefixes: &Prefixes<'_>,
) -> Result<Option<String>, GitRepoError> {
    if let Some(name) = entry.name() {
        return Ok(Some(format!("{dir}{name}")));
    }
    let lossy = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
    let managed = if entry.kind() == Some(ObjectType::Tree) {
        prefixes.dir_relevant(&format!("{lossy}/"))
    } else {
        prefixes.matches(&lossy)
    };
    if managed {
        Err(GitRepoError::InvalidPath {
            path: lossy,
            reason: "a file name in HEAD is not valid UTF-8",
        })
    } else {
        Ok(None)
    }
}

/// A set of managed path prefixes, with O(log n) lookups (callers may pass thousands, e.g. the
/// paths of removed files).
struct Prefixes<'a> {
    /// Sorted, and prefix-free: a prefix covered by a shorter one is dropped.
    sorted: Vec<&'a str>,
}

impl<'a> Prefixes<'a> {
    fn new(prefixes: &[&'a str]) -> Self {
        let mut all = prefixes.to_vec();
        all.sort_unstable();
        all.dedup();
        let mut sorted: Vec<&'a str> = Vec::with_capacity(all.len());
        for p in all {
            // In sorted order a covering prefix comes right before what it covers.
            if !sorted.last().is_some_and(|last| p.starts_with(last)) {
                sorted.push(p);
            }
        }
        Prefixes { sorted }
    }

    /// Whether the file `path` is under one of the prefixes. In a sorted prefix-free set only
    /// the greatest prefix not above `path` can be a prefix of it.
    fn matches(&self, path: &str) -> bool {
        let i = self.sorted.partition_point(|p| *p <= path);
        i > 0 && path.starts_with(self.sorted[i - 1])
    }

    /// Whether the directory `dir` (with a trailing slash) can contain managed paths: it is under
    /// a prefix, or a prefix is under it.
    fn dir_relevant(&self, dir: &str) -> bool {
        if self.matches(dir) {
            return true;
        }
        let i = self.sorted.partition_point(|p| *p < dir);
        self.sorted.get(i).is_some_and(|p| p.starts_with(dir))
    }

    fn to_strings(&self) -> Vec<String> {
        self.sorted.iter().map(|p| p.to_string()).collect()
    }
}

fn validate_path(path: &str) -> Result<(), GitRepoError> {
    let invalid = |reason| {
        Err(GitRepoError::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return invalid("it is empty");
    }
    if path.contains('\0') {
        return invalid("it contains a NUL byte");
    }
    if path.contains('\\') {
        return invalid("it contains a backslash (use forward slashes)");
    }
    for component in path.split('/') {
        match component {
            "" => return invalid("it is absolute, ends with a slash or contains '//'"),
            "." | ".." => return invalid("it contains a '.' or '..' component"),
            c if c.eq_ignore_ascii_case(".git") => return invalid("it contains a .git component"),
            _ => {}
        }
    }
    Ok(())
}

/// The desired tree as directories, with every blob and tree id computed in memory.
/// With `hash` false, only the directory structure (the ids are left zero).
/// Check the desired paths as [`desired_dirs`] does, without building the tree: the first bad
/// path in order, then the first path below a path that is a file.
fn check_desired(desired: &Tree, prefixes: &Prefixes<'_>) -> Result<(), GitRepoError> {
    let entries: Vec<&String> = desired.keys().collect();
    check_paths(&entries, prefixes)?;
    // In path order a file comes before the paths below it, so inserting them one by one
    // would fail first at the least of those paths.
    let below_a_file = entries
        .par_iter()
        .with_min_len(256)
        .filter_map(|path| {
            let dir = format!("{path}/");
            desired
                .range::<str, _>((Bound::Included(dir.as_str()), Bound::Unbounded))
                .next()
                .filter(|(below, _)| below.starts_with(&dir))
                .map(|(below, _)| below)
        })
        .min();
    match below_a_file {
        Some(path) => Err(file_and_directory(path)),
        None => Ok(()),
    }
}

/// The first path in order that is not a valid rendered path or not under `prefixes`.
fn check_paths(paths: &[&String], prefixes: &Prefixes<'_>) -> Result<(), GitRepoError> {
    let bad = paths
        .par_iter()
        .with_min_len(256)
        .map(|path| {
            validate_path(path)?;
            if prefixes.matches(path) {
                Ok(())
            } else {
                Err(GitRepoError::OutsidePrefixes {
                    path: path.to_string(),
                    prefixes: prefixes.to_strings(),
                })
            }
        })
        .find_first(Result::is_err);
    match bad {
        Some(Err(err)) => Err(err),
        _ => Ok(()),
    }
}

fn file_and_directory(path: &str) -> GitRepoError {
    GitRepoError::InvalidPath {
        path: path.to_string(),
        reason: "a path is used both as a file and as a directory",
    }
}

/// The desired tree with each file's blob id and each directory's tree id, after checking
/// every path.
fn desired_dirs<'a>(
    desired: &'a Tree,
    prefixes: &Prefixes<'_>,
) -> Result<trees::DirNode<'a>, GitRepoError> {
    let entries: Vec<(&String, &Vec<u8>)> = desired.iter().collect();
    let paths: Vec<&String> = desired.keys().collect();
    check_paths(&paths, prefixes)?;
    let ids: Vec<Oid> = entries
        .par_iter()
        .with_min_len(64)
        .map(|(_, bytes)| trees::object_id(ObjectType::Blob, bytes))
        .collect();
    let mut root = trees::DirNode::default();
    for ((path, _), id) in entries.into_iter().zip(ids) {
        root.insert(path.as_bytes(), MODE_FILE as u32, id)
            .map_err(|_| file_and_directory(path))?;
    }
    root.compute(false);
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trees to fsync after a small commit: exactly those the commit created.
    #[test]
    fn prefix_set_agrees_with_the_plain_definition() {
        let sets: &[&[&str]] = &[
            &["clusters/", "argocd/", ".hubdr/"],
            &["a/", "a/b0", "a/b/c", "b"],
            &["a/b/c/d.yaml", "a/b/c/e.yaml", "a/bc/x", "ab"],
            &[""],
            &[],
        ];
        let paths = [
            "a",
            "a/",
            "a/b",
            "a/b/",
            "a/b0",
            "a/b0/x",
            "a/b/c",
            "a/b/c/",
            "a/b/c/d.yaml",
            "a/b/c/e.yaml",
            "a/c",
            "a/c/",
            "ab",
            "ab/",
            "abc",
            "b",
            "b/",
            "ba/",
            "clusters/",
            "clusters/x",
            "clusters-old/",
            ".hubdr/",
            "argocd/x/y",
            "z/",
        ];
        for set in sets {
            let prefixes = Prefixes::new(set);
            for path in paths {
                let matches = set.iter().any(|p| path.starts_with(p));
                assert_eq!(prefixes.matches(path), matches, "{set:?} matches {path:?}");
                if path.ends_with('/') {
                    let relevant = set
                        .iter()
                        .any(|p| path.starts_with(p) || p.starts_with(path));
                    assert_eq!(
                        prefixes.dir_relevant(path),
                        relevant,
                        "{set:?} dir_relevant {path:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn path_validation() {
        for bad in [
            "", "/a", "a/", "a//b", "a/../b", "./a", ".git/x", "a/.GIT/b", "a\\b",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            "clusters/hub-a/restore.yaml",
            ".hubdr/state.json",
            "a/.gitkeep",
        ] {
            assert!(validate_path(good).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn files_of_one_kind_share_a_delta_group() {
        let group = |path| delta_group(path);
        assert_eq!(
            group("clusters/c-1/replicationsource.app.vol.yaml"),
            group("clusters/c-2/replicationsource.other.x.yaml")
        );
        assert_ne!(
            group("clusters/c-1/replicationsource.app.vol.yaml"),
            group("clusters/c-1/replicationdestination.app.vol.yaml")
        );
        assert_eq!(group("agents/c-1.yaml"), group("agents/hub-2.yaml"));
        assert_eq!(group("agents/c-1.yaml"), ("agents", ""));
        assert_eq!(group(".hubdr/index.yaml"), (".hubdr", ""));
        assert_eq!(group("top.yaml"), ("top.yaml", ""));
    }
}
