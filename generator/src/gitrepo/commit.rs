//! [`OutputRepo::commit`]: write the changed files, store the new objects, move the branch,
//! update the index; and undo all of it when a step fails.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::Path;

use git2::{IndexEntry, ObjectType, Oid, Repository, Signature};
use rayon::prelude::*;

use super::fsync::sync_dir;
use super::paths::validate_path;
use super::undo::{prune_empty_dirs, Undo};
use super::{
    checkout, commit_object, index_file, journal, pack, test_hook, trees, Changes, FileChange,
    GitRepoError, OutputRepo, Tree, MODE_FILE,
};

impl OutputRepo {
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
    /// Before it changes anything it writes the render journal, and it deletes the journal when
    /// it is done, so that a process killed in between is recovered by the next render (see
    /// [`recover`](Self::recover)). Refuses ([`GitRepoError::Interrupted`]) while a journal of an
    /// interrupted render is there. Call it holding the render lock ([`super::RenderLock`]).
    ///
    /// On failure, every touched path is restored to its `HEAD` content (or deleted when it was
    /// added), the index and `HEAD` are left as they were, a pack stored for the commit is
    /// removed, and the error is returned (the journal stays if that did not fully succeed).
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
        // An interrupted render's journal says what to recover: it must not be overwritten.
        let journal_path = journal::path(self.repo.path());
        if journal_path.exists() {
            return Err(GitRepoError::Interrupted { path: journal_path });
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

        let mut undo = Undo::default();
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
            &mut undo,
        );
        match result {
            Ok(id) => Ok(Some(id)),
            Err(err) => {
                let failures = self.rollback(&mut index, head_tree.as_ref(), &undo);
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

    /// Change the working tree, the index and `HEAD`, recording in `undo` what to undo.
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
        undo: &mut Undo,
    ) -> Result<Oid, GitRepoError> {
        // 1. The trees of the next commit, computed in memory from the index as it will be
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

        // 2. The journal: what is about to change, written durably before anything changes, so
        //    that a render killed from here on is recovered by the next (see `recover`).
        let entries = writes
            .iter()
            .zip(blob_ids)
            .map(|((path, bytes), id)| journal::Entry {
                path: path.to_string(),
                new: Some((*id, bytes.len() as u64)),
            })
            .chain(removes.iter().map(|path| journal::Entry {
                path: path.to_string(),
                new: None,
            }))
            .collect();
        let record = journal::Journal {
            base: commit.head.map(|c| c.id()),
            tree: Some(tree_id),
            entries,
        };
        journal::write(self.repo.path(), &record).map_err(|source| GitRepoError::WriteJournal {
            path: journal::path(self.repo.path()),
            source,
        })?;
        undo.journal = true;

        // 3. Remove files.
        for path in removes {
            match fs::remove_file(self.workdir.join(path)) {
                Ok(()) => undo.touched.push(path.to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(GitRepoError::Remove {
                        path: path.to_string(),
                        source,
                    })
                }
            }
        }

        // 4. Prune directories emptied by the removals (before the writes: a directory may have
        //    to make room for a file of the same name).
        let parents: BTreeSet<&str> = removes
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
            .collect();
        for dir in parents.iter().rev() {
            prune_empty_dirs(&self.workdir, &self.workdir.join(dir));
        }

        // 5. Create the directories and write the files (see `checkout`). A packed commit's
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
                undo.stored_pack = files.clone();
            }
            (placement, Some((commit_id, stored)))
        } else {
            (checkout::place_files(&self.workdir, writes), None)
        };
        undo.created_dirs.extend(placement.created_dirs);
        let mut stats = Vec::with_capacity(writes.len());
        let mut errors: Vec<(usize, io::Error)> = placement.dir_errors;
        for (i, ((path, _), placed)) in writes.iter().zip(placement.files).enumerate() {
            match placed {
                Some(Ok(md)) => {
                    undo.touched.push(path.to_string());
                    stats.push(md);
                }
                Some(Err(checkout::FileError { changed, source })) => {
                    if changed {
                        undo.touched.push(path.to_string());
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

        // 6. The index entries of the written files. For a packed commit, the bytes of the
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

        // 7. Otherwise update the index entries of the changed paths only (their blobs are
        //    stored now: the index checks that).
        let update_index = |source| GitRepoError::UpdateIndex { source };
        if index_bytes.is_none() {
            undo.index_modified = true;
            for path in removes {
                index.remove_path(Path::new(path)).map_err(update_index)?;
            }
            for entry in &written {
                index.add(entry).map_err(update_index)?;
            }
        }

        // 8. Move the branch (only if it still points where it did), then save the index.
        //    From here on the commit may be named by a reflog entry, which a rollback does not
        //    undo: its pack stays.
        undo.stored_pack.clear();
        test_hook::step("before-ref");
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
        undo.moved_ref = Some((commit.head_ref.to_string(), old));
        sync_file(&self.repo.path().join(commit.head_ref)).map_err(|source| {
            GitRepoError::Write {
                path: format!(".git/{}", commit.head_ref),
                source,
            }
        })?;
        test_hook::step("after-ref");

        match index_bytes {
            Some((path, bytes)) => index_file::write(&path, &bytes)
                .map_err(|source| GitRepoError::WriteIndex { path, source })?,
            None => index.write().map_err(update_index)?,
        }
        // Done. Should the journal stay (it cannot be deleted), the next render finds `HEAD` on
        // this commit with the index and files matching it, and only deletes it.
        let _ = journal::remove(self.repo.path());
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

/// The index entry of the file `path` from its blob id and stat data, so that `git status`
/// sees the file as clean without re-reading it.
#[cfg(unix)]
pub(super) fn index_entry(path: &str, id: Oid, md: &fs::Metadata) -> IndexEntry {
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
pub(super) fn index_entry(path: &str, id: Oid, md: &fs::Metadata) -> IndexEntry {
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

#[cfg(test)]
mod tests {
    use super::*;

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
