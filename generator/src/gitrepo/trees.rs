//! Git tree objects computed in memory, from the desired files (for the diff) or from the index
//! (for a commit): ids, and the encoded trees to store, without asking libgit2 to write and read
//! back each one.
//!
//! A tree (gitformat-tree) is the concatenation of `<octal mode> <name>\0<20-byte id>` over its
//! entries, sorted by name, with a directory's name compared as if it ended with `/`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use git2::{ObjectType, Oid, Repository};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

/// Git file mode of a directory (tree) entry.
const MODE_TREE: u32 = 0o040000;
/// Mask of the stage bits of an index entry's flags (non-zero for a conflict).
const STAGE_MASK: u16 = 0x3000;

/// The git id of `data` as an object of type `kind`: the SHA-1 of `<type> <size>\0<data>`.
pub(super) fn object_id(kind: ObjectType, data: &[u8]) -> Oid {
    let mut hasher = Sha1::new();
    hasher.update(kind.str().as_bytes());
    hasher.update(b" ");
    hasher.update(data.len().to_string().as_bytes());
    hasher.update([0]);
    hasher.update(data);
    Oid::from_bytes(&hasher.finalize()).expect("a SHA-1 is 20 bytes")
}

/// A directory: its files (name -> mode and blob id) and subdirectories, and after
/// [`compute`](Self::compute) its tree id (and, when asked for, the encoded tree).
#[derive(Default)]
pub(super) struct DirNode<'a> {
    pub files: BTreeMap<&'a [u8], (u32, Oid)>,
    pub dirs: BTreeMap<&'a [u8], DirNode<'a>>,
    pub oid: Option<Oid>,
    pub encoded: Option<Vec<u8>>,
}

/// A path that is a file in one place and a directory in another.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FileDirectoryConflict;

impl<'a> DirNode<'a> {
    /// Add the file at `path` (`/`-separated, relative to this directory).
    pub fn insert(
        &mut self,
        path: &'a [u8],
        mode: u32,
        id: Oid,
    ) -> Result<(), FileDirectoryConflict> {
        let (dir, name) = match path.iter().rposition(|b| *b == b'/') {
            Some(slash) => (Some(&path[..slash]), &path[slash + 1..]),
            None => (None, path),
        };
        let mut node = self;
        if let Some(dir) = dir {
            for component in dir.split(|b| *b == b'/') {
                if node.files.contains_key(component) {
                    return Err(FileDirectoryConflict);
                }
                node = node.dirs.entry(component).or_default();
            }
        }
        if node.dirs.contains_key(name) {
            return Err(FileDirectoryConflict);
        }
        node.files.insert(name, (mode, id));
        Ok(())
    }

    /// [`insert`](Self::insert) for the next commit's trees: a conflict is an index error
    /// naming the path.
    pub fn add(&mut self, path: &'a [u8], mode: u32, id: Oid) -> Result<(), IndexTreeError> {
        self.insert(path, mode, id)
            .map_err(|FileDirectoryConflict| {
                IndexTreeError::FileDirectory(String::from_utf8_lossy(path).into_owned())
            })
    }

    /// Compute the tree ids of this directory and of all below, bottom-up; with `keep`, keep
    /// the encoded trees too (see [`new_trees`]).
    pub fn compute(&mut self, keep: bool) -> Oid {
        // The directories below in parallel when there are many (every cluster's directory).
        let sub_ids: Vec<Oid> = if self.dirs.len() >= PARALLEL_DIRS {
            self.dirs
                .par_iter_mut()
                .map(|(_, sub)| sub.compute(keep))
                .collect()
        } else {
            self.dirs
                .values_mut()
                .map(|sub| sub.compute(keep))
                .collect()
        };
        let mut entries: Vec<(&[u8], bool, u32, Oid)> =
            Vec::with_capacity(self.files.len() + self.dirs.len());
        for (name, id) in self.dirs.keys().zip(sub_ids) {
            entries.push((name, true, MODE_TREE, id));
        }
        for (name, (mode, id)) in &self.files {
            entries.push((name, false, *mode, *id));
        }
        entries.sort_by(|a, b| git_order(a.0, a.1, b.0, b.1));
        let mut encoded = Vec::with_capacity(entries.len() * 64);
        for (name, _, mode, id) in &entries {
            encoded.extend_from_slice(format!("{mode:o} ").as_bytes());
            encoded.extend_from_slice(name);
            encoded.push(0);
            encoded.extend_from_slice(id.as_bytes());
        }
        let id = object_id(ObjectType::Tree, &encoded);
        self.oid = Some(id);
        self.encoded = keep.then_some(encoded);
        id
    }
}

/// Directories with at least this many subdirectories compute them in parallel.
const PARALLEL_DIRS: usize = 64;

/// Git's order of tree entries: by name, a directory's name followed by `/`.
fn git_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let next = |name: &[u8], dir: bool| name.get(common).copied().or(dir.then_some(b'/'));
        next(a, a_dir).cmp(&next(b, b_dir))
    })
}

/// Why the index cannot be turned into trees.
#[derive(Debug, thiserror::Error)]
pub(super) enum IndexTreeError {
    #[error("the index has unresolved merge conflicts (at {0})")]
    Conflict(String),
    #[error("the index has {0} both as a file and as a directory")]
    FileDirectory(String),
}

/// The entries of `index`, to be borrowed by [`from_index`].
pub(super) fn index_entries(index: &git2::Index) -> Vec<git2::IndexEntry> {
    index.iter().collect()
}

/// The directory tree of the index entries (as the next commit would record it).
pub(super) fn from_index<'a>(
    entries: impl IntoIterator<Item = &'a git2::IndexEntry>,
) -> Result<DirNode<'a>, IndexTreeError> {
    let mut root = DirNode::default();
    for entry in entries {
        if entry.flags & STAGE_MASK != 0 {
            return Err(IndexTreeError::Conflict(
                String::from_utf8_lossy(&entry.path).into_owned(),
            ));
        }
        root.add(&entry.path, entry.mode, entry.id)?;
    }
    Ok(root)
}

/// The trees of `node` (computed with `keep`) that are not stored yet, as (id, encoded tree):
/// those whose id differs from the tree at the same path in `head`. Only the `head` trees along
/// changed paths are read from `repo`.
pub(super) fn new_trees<'n>(
    node: &'n DirNode<'_>,
    head: Option<&git2::Tree<'_>>,
    repo: &Repository,
    out: &mut Vec<(Oid, &'n [u8])>,
) -> Result<(), git2::Error> {
    let (Some(id), Some(encoded)) = (node.oid, node.encoded.as_deref()) else {
        return Err(git2::Error::from_str("tree not computed"));
    };
    if head.map(|h| h.id()) == Some(id) {
        return Ok(());
    }
    out.push((id, encoded));
    for (name, sub) in &node.dirs {
        let head_sub = match head.and_then(|h| h.get_name_bytes(name)) {
            Some(e) if e.kind() == Some(ObjectType::Tree) => Some(repo.find_tree(e.id())?),
            _ => None,
        };
        new_trees(sub, head_sub.as_ref(), repo, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_gits() {
        for (kind, data) in [
            (ObjectType::Blob, &b""[..]),
            (ObjectType::Blob, b"x\n"),
            (ObjectType::Tree, b""),
            (
                ObjectType::Commit,
                b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nm\n",
            ),
        ] {
            assert_eq!(object_id(kind, data), Oid::hash_object(kind, data).unwrap());
        }
    }

    #[test]
    fn tree_ids_and_bytes_match_git() {
        // a (dir), a.b and ab (files), an executable and a symlink: sorted the git way.
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = |text: &[u8]| repo.blob(text).unwrap();
        let mut root = DirNode::default();
        root.insert(b"a.b", 0o100644, blob(b"x\n")).unwrap();
        root.insert(b"a/c", 0o100644, blob(b"y\n")).unwrap();
        root.insert(b"ab", 0o100644, blob(b"z\n")).unwrap();
        root.insert(b"run", 0o100755, blob(b"#!/bin/sh\n")).unwrap();
        root.insert(b"link", 0o120000, blob(b"a.b")).unwrap();
        let id = root.compute(true);

        let mut sub = repo.treebuilder(None).unwrap();
        sub.insert("c", blob(b"y\n"), 0o100644).unwrap();
        let sub_id = sub.write().unwrap();
        let mut top = repo.treebuilder(None).unwrap();
        top.insert("a.b", blob(b"x\n"), 0o100644).unwrap();
        top.insert("ab", blob(b"z\n"), 0o100644).unwrap();
        top.insert("run", blob(b"#!/bin/sh\n"), 0o100755).unwrap();
        top.insert("link", blob(b"a.b"), 0o120000).unwrap();
        top.insert("a", sub_id, 0o040000).unwrap();
        let git_id = top.write().unwrap();
        assert_eq!(id, git_id);
        let git_bytes = repo.odb().unwrap().read(git_id).unwrap().data().to_vec();
        assert_eq!(root.encoded.as_deref(), Some(git_bytes.as_slice()));
        assert_eq!(root.dirs[&b"a"[..]].oid, Some(sub_id));
    }

    /// A directory with enough subdirectories to compute them in parallel gives libgit2's ids
    /// (the order of its entries included).
    #[test]
    fn many_subdirectories_give_gits_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut index = repo.index().unwrap();
        let mut root = DirNode::default();
        let paths: Vec<String> = (0..3 * PARALLEL_DIRS)
            .map(|i| format!("clusters/c-{}/f{}.yaml", i % (PARALLEL_DIRS + 7), i % 3))
            .chain(["clusters/c-1.yaml".to_string(), "top".to_string()])
            .collect();
        for path in &paths {
            let id = repo.blob(path.as_bytes()).unwrap();
            root.insert(path.as_bytes(), 0o100644, id).unwrap();
            index
                .add_frombuffer(
                    &git2::IndexEntry {
                        ctime: git2::IndexTime::new(0, 0),
                        mtime: git2::IndexTime::new(0, 0),
                        dev: 0,
                        ino: 0,
                        mode: 0o100644,
                        uid: 0,
                        gid: 0,
                        file_size: 0,
                        id,
                        flags: 0,
                        flags_extended: 0,
                        path: path.as_bytes().to_vec(),
                    },
                    path.as_bytes(),
                )
                .unwrap();
        }
        assert!(root.dirs[&b"clusters"[..]].dirs.len() >= PARALLEL_DIRS);
        assert_eq!(root.compute(false), index.write_tree().unwrap());
    }

    #[test]
    fn a_path_cannot_be_a_file_and_a_directory() {
        let id = Oid::zero();
        let mut root = DirNode::default();
        root.insert(b"a/b", 0o100644, id).unwrap();
        assert_eq!(root.insert(b"a", 0o100644, id), Err(FileDirectoryConflict));
        assert_eq!(
            root.insert(b"a/b/c", 0o100644, id),
            Err(FileDirectoryConflict)
        );
    }

    #[test]
    fn new_trees_are_the_changed_directories_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = |text: &[u8]| repo.blob(text).unwrap();
        let files = |changed: &[u8]| {
            vec![
                (&b"clusters/a/x.yaml"[..], blob(changed)),
                (b"clusters/b/y.yaml", blob(b"y")),
                (b"argocd/z.yaml", blob(b"z")),
            ]
        };
        let first_files = files(b"x");
        let mut first = DirNode::default();
        for (path, id) in &first_files {
            first.insert(path, 0o100644, *id).unwrap();
        }
        first.compute(true);
        // Store the first version's trees, as a commit would.
        let mut stored = Vec::new();
        new_trees(&first, None, &repo, &mut stored).unwrap();
        assert_eq!(stored.len(), 5, "without a head, every tree is new");
        for (id, encoded) in &stored {
            assert_eq!(
                repo.odb()
                    .unwrap()
                    .write(ObjectType::Tree, encoded)
                    .unwrap(),
                *id
            );
        }
        let head = repo.find_tree(first.oid.unwrap()).unwrap();

        let second_files = files(b"changed");
        let mut second = DirNode::default();
        for (path, id) in &second_files {
            second.insert(path, 0o100644, *id).unwrap();
        }
        second.compute(true);
        let mut found = Vec::new();
        new_trees(&second, Some(&head), &repo, &mut found).unwrap();
        let found: Vec<Oid> = found.iter().map(|(id, _)| *id).collect();
        let clusters = &second.dirs[&b"clusters"[..]];
        assert_eq!(
            found,
            vec![
                second.oid.unwrap(),
                clusters.oid.unwrap(),
                clusters.dirs[&b"a"[..]].oid.unwrap()
            ]
        );
        let mut none = Vec::new();
        new_trees(&first, Some(&head), &repo, &mut none).unwrap();
        assert!(none.is_empty());
    }
}
