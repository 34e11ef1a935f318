//! Small filesystem helpers.

use std::path::Path;

pub use hubdr_core::fsutil::{set_mode, temp_beside, write_atomic};

/// Make the managed parts of `dir` equal `tree`: write new and changed files atomically, delete
/// managed files that are no longer rendered (and directories left empty). Returns the number of
/// files written and removed. Files outside `prefixes` are never touched.
pub fn sync_dir(
    dir: &Path,
    tree: &crate::gitrepo::Tree,
    prefixes: &[&str],
) -> std::io::Result<(usize, usize)> {
    let mut written = 0;
    for (path, bytes) in tree {
        let target = dir.join(path);
        if std::fs::read(&target).is_ok_and(|current| current == *bytes) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&target, bytes)?;
        written += 1;
    }
    let mut removed = 0;
    for prefix in prefixes {
        let root = dir.join(prefix.trim_end_matches('/'));
        if root.is_dir() {
            removed += remove_unlisted(dir, &root, tree)?;
        }
    }
    Ok((written, removed))
}

fn remove_unlisted(base: &Path, dir: &Path, tree: &crate::gitrepo::Tree) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            removed += remove_unlisted(base, &path, tree)?;
            if std::fs::read_dir(&path)?.next().is_none() {
                std::fs::remove_dir(&path)?;
            }
            continue;
        }
        let relative = path
            .strip_prefix(base)
            .expect("walked from base")
            .to_string_lossy()
            .replace('\\', "/");
        if !tree.contains_key(&relative) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}
