//! Writing one commit that replaces a few files, without a working tree or an index.

use std::path::Path;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Signature};

/// Above the loose (1) and packed (2) backends, so new objects are written to memory.
const MEMPACK_PRIORITY: i32 = 1000;

/// From now on, objects written through `repo` (this handle only) stay in memory; objects
/// on disk remain readable. Used to build commits that may never be published.
pub(crate) fn keep_new_objects_in_memory(repo: &Repository) -> Result<(), git2::Error> {
    repo.odb()?.add_new_mempack_backend(MEMPACK_PRIORITY)?;
    Ok(())
}

/// What [`replace_file`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Built {
    /// The file already had this content at `base`; nothing was written.
    Unchanged(Oid),
    /// A new commit on top of `base` (or a root commit when there was no base).
    Commit(Oid),
}

/// One file to write in [`replace_files`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileWrite<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
    /// Write it only when the path is absent (a pin is never replaced).
    pub only_if_absent: bool,
}

/// A commit whose tree is `base`'s tree with only `path` set to `content`. When the file
/// already has that content, returns [`Built::Unchanged`] unless `always` is set (heartbeat).
#[cfg(test)]
pub(crate) fn replace_file(
    repo: &Repository,
    base: Option<Oid>,
    path: &str,
    content: &[u8],
    author: &Signature<'_>,
    message: &str,
    always: bool,
) -> Result<Built, git2::Error> {
    let file = FileWrite {
        path,
        content,
        only_if_absent: false,
    };
    replace_files(repo, base, &[file], author, message, always)
}

/// Like [`replace_file`] for several files at once, in one commit. Unchanged when every file
/// already has its content (or, for `only_if_absent`, exists at all).
pub(crate) fn replace_files(
    repo: &Repository,
    base: Option<Oid>,
    files: &[FileWrite<'_>],
    author: &Signature<'_>,
    message: &str,
    always: bool,
) -> Result<Built, git2::Error> {
    let parent = base.map(|oid| repo.find_commit(oid)).transpose()?;
    let baseline = match &parent {
        Some(commit) => commit.tree()?,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    let mut update = TreeUpdateBuilder::new();
    let mut changed = false;
    for file in files {
        let existing = baseline.get_path(Path::new(file.path)).ok();
        if file.only_if_absent && existing.is_some() {
            continue;
        }
        let blob = repo.blob(file.content)?;
        let same =
            existing.is_some_and(|e| e.id() == blob && e.filemode() == i32::from(FileMode::Blob));
        if !same {
            update.upsert(file.path, blob, FileMode::Blob);
            changed = true;
        }
    }
    if let (Some(base), false, false) = (base, always, changed) {
        return Ok(Built::Unchanged(base));
    }
    let tree = update.create_updated(repo, &baseline)?;
    let tree = repo.find_tree(tree)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let commit = repo.commit(None, author, author, message, &tree, &parents)?;
    Ok(Built::Commit(commit))
}

/// A commit with no parent holding only `files`: a heartbeat, which says "alive at this time"
/// (its committer time) with the agent's current status, and replaces the previous one, so
/// heartbeats add no history.
pub(crate) fn heartbeat(
    repo: &Repository,
    files: &[FileWrite<'_>],
    author: &Signature<'_>,
    message: &str,
) -> Result<Oid, git2::Error> {
    match replace_files(repo, None, files, author, message, true)? {
        Built::Commit(id) | Built::Unchanged(id) => Ok(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_one_file_and_detects_no_change() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let sig = Signature::now("t", "t@example.com").unwrap();
        let Built::Commit(first) =
            replace_file(&repo, None, "clusters/a.yaml", b"a1", &sig, "a", false).unwrap()
        else {
            panic!("expected a commit");
        };
        assert!(repo.find_commit(first).unwrap().parent_count() == 0);
        let Built::Commit(second) = replace_file(
            &repo,
            Some(first),
            "clusters/b.yaml",
            b"b1",
            &sig,
            "b",
            false,
        )
        .unwrap() else {
            panic!("expected a commit");
        };
        let tree = repo.find_commit(second).unwrap().tree().unwrap();
        assert!(tree.get_path(Path::new("clusters/a.yaml")).is_ok());
        assert!(tree.get_path(Path::new("clusters/b.yaml")).is_ok());
        assert_eq!(
            replace_file(
                &repo,
                Some(second),
                "clusters/a.yaml",
                b"a1",
                &sig,
                "a",
                false
            )
            .unwrap(),
            Built::Unchanged(second)
        );
        let Built::Commit(beat) = replace_file(
            &repo,
            Some(second),
            "clusters/a.yaml",
            b"a1",
            &sig,
            "hb",
            true,
        )
        .unwrap() else {
            panic!("a heartbeat always commits");
        };
        let beat = repo.find_commit(beat).unwrap();
        assert_eq!(beat.tree_id(), tree.id());
        assert_eq!(beat.parent_id(0).unwrap(), second);
    }

    #[test]
    fn writes_several_files_and_never_replaces_an_only_if_absent_one() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let sig = Signature::now("t", "t@example.com").unwrap();
        let write = |path, content, only_if_absent| FileWrite {
            path,
            content,
            only_if_absent,
        };
        let read = |commit: Oid, path: &str| {
            let tree = repo.find_commit(commit).unwrap().tree().unwrap();
            let entry = tree.get_path(Path::new(path)).unwrap();
            repo.find_blob(entry.id()).unwrap().content().to_vec()
        };
        let files = [
            write("clusters/a.yaml", &b"a1"[..], false),
            write("keys/a.pub", &b"k1"[..], true),
        ];
        let Built::Commit(first) = replace_files(&repo, None, &files, &sig, "a", false).unwrap()
        else {
            panic!("expected a commit");
        };
        assert_eq!(read(first, "keys/a.pub"), b"k1");
        // Another key is not written over the first; with nothing else new, nothing changes.
        let other = [
            write("clusters/a.yaml", &b"a1"[..], false),
            write("keys/a.pub", &b"k2"[..], true),
        ];
        assert_eq!(
            replace_files(&repo, Some(first), &other, &sig, "a", false).unwrap(),
            Built::Unchanged(first)
        );
        let newer = [
            write("clusters/a.yaml", &b"a2"[..], false),
            write("keys/a.pub", &b"k2"[..], true),
        ];
        let Built::Commit(second) =
            replace_files(&repo, Some(first), &newer, &sig, "a", false).unwrap()
        else {
            panic!("expected a commit");
        };
        assert_eq!(read(second, "clusters/a.yaml"), b"a2");
        assert_eq!(read(second, "keys/a.pub"), b"k1");
    }
}
