//! Writing one commit that replaces one file, without a working tree or an index.

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

/// A commit whose tree is `base`'s tree with only `path` set to `content`. When the file
/// already has that content, returns [`Built::Unchanged`] unless `always` is set (heartbeat).
pub(crate) fn replace_file(
    repo: &Repository,
    base: Option<Oid>,
    path: &str,
    content: &[u8],
    author: &Signature<'_>,
    message: &str,
    always: bool,
) -> Result<Built, git2::Error> {
    let blob = repo.blob(content)?;
    let parent = base.map(|oid| repo.find_commit(oid)).transpose()?;
    let baseline = match &parent {
        Some(commit) => commit.tree()?,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    if let (Some(base), false) = (base, always) {
        if let Ok(entry) = baseline.get_path(Path::new(path)) {
            if entry.id() == blob && entry.filemode() == i32::from(FileMode::Blob) {
                return Ok(Built::Unchanged(base));
            }
        }
    }
    let tree = TreeUpdateBuilder::new()
        .upsert(path, blob, FileMode::Blob)
        .create_updated(repo, &baseline)?;
    let tree = repo.find_tree(tree)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let commit = repo.commit(None, author, author, message, &tree, &parents)?;
    Ok(Built::Commit(commit))
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
}
