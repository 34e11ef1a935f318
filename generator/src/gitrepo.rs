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
//!
//! Against concurrent and killed renders:
//!
//! * [`RenderLock`] (`lock`): every command that writes an output repository holds its render
//!   lock, an OS file lock that a killed process cannot leave behind, from before it looks at
//!   the repository until it is done; a second one waits a bounded time, then fails naming the
//!   holder.
//! * The render journal (`journal`), written before [`OutputRepo::commit`] or
//!   [`OutputRepo::discard_edits`] changes anything and deleted when it is done, and
//!   [`OutputRepo::recover`] (`recover`, where the protocol is described), which the next
//!   lock holder calls first: it rolls an interrupted render back, or completes it when the
//!   branch had moved, and leaves content the render did not write (hand edits) alone.
//! * `test_hook`: the test-only `HUBDR_TEST_PAUSE_AT`, which stops a render at a chosen step so
//!   that tests can kill it there.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryInitOptions};
use rayon::prelude::*;

mod checkout;
mod commit;
mod commit_object;
mod delta;
mod discard;
mod error;
mod fsync;
mod index_file;
mod journal;
pub mod lock;
mod pack;
mod paths;
mod recover;
mod test_hook;
mod trees;
mod undo;
mod worktree;

pub use commit::PACK_MIN_FILES;
pub use error::GitRepoError;
pub use lock::RenderLock;
use paths::{check_desired, desired_dirs, entry_path, Prefixes};
pub use recover::{Recovery, RecoveryKind};

pub use hubdr_core::tree::Tree;

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
        Self::open_or_init_on(dir, "main")
    }

    /// [`open_or_init`](Self::open_or_init) with `branch` as the initial branch of a new
    /// repository (the site's `spec.git.branch`, which the agents pull).
    pub fn open_or_init_on(dir: &Path, branch: &str) -> Result<Self, GitRepoError> {
        match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|source| GitRepoError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
                return Self::init(dir, branch);
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
        // Empty, or holding only the render lock of a new repository (see `lock`).
        let fresh = lock::is_fresh(dir).map_err(|source| GitRepoError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        if fresh {
            return Self::init(dir, branch);
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

    fn init(dir: &Path, branch: &str) -> Result<Self, GitRepoError> {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head(branch)
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
}
