//! Managed path prefixes and the checks every rendered path passes.

use std::ops::Bound;

use git2::{ObjectType, Oid};
use rayon::prelude::*;

use super::{trees, GitRepoError, Tree, MODE_FILE};

/// The repo-relative path of a `HEAD` tree entry in `dir`. `None` for a name that is not UTF-8
/// outside the managed paths (ignored, like everything unmanaged); an error inside them.
pub(super) fn entry_path(
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
pub(super) struct Prefixes<'a> {
    /// Sorted, and prefix-free: a prefix covered by a shorter one is dropped.
    sorted: Vec<&'a str>,
}

impl<'a> Prefixes<'a> {
    pub(super) fn new(prefixes: &[&'a str]) -> Self {
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
    pub(super) fn matches(&self, path: &str) -> bool {
        let i = self.sorted.partition_point(|p| *p <= path);
        i > 0 && path.starts_with(self.sorted[i - 1])
    }

    /// Whether the directory `dir` (with a trailing slash) can contain managed paths: it is under
    /// a prefix, or a prefix is under it.
    pub(super) fn dir_relevant(&self, dir: &str) -> bool {
        if self.matches(dir) {
            return true;
        }
        let i = self.sorted.partition_point(|p| *p < dir);
        self.sorted.get(i).is_some_and(|p| p.starts_with(dir))
    }

    pub(super) fn to_strings(&self) -> Vec<String> {
        self.sorted.iter().map(|p| p.to_string()).collect()
    }
}

pub(super) fn validate_path(path: &str) -> Result<(), GitRepoError> {
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
pub(super) fn check_desired(desired: &Tree, prefixes: &Prefixes<'_>) -> Result<(), GitRepoError> {
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
pub(super) fn check_paths(paths: &[&String], prefixes: &Prefixes<'_>) -> Result<(), GitRepoError> {
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

pub(super) fn file_and_directory(path: &str) -> GitRepoError {
    GitRepoError::InvalidPath {
        path: path.to_string(),
        reason: "a path is used both as a file and as a directory",
    }
}

/// The desired tree with each file's blob id and each directory's tree id, after checking
/// every path.
pub(super) fn desired_dirs<'a>(
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
}
