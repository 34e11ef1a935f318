//! Small filesystem helpers.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, synced, renamed
/// over. Missing parent directories are created; the file is readable by all (mode 0644, like
/// a file a text editor writes), never left at the temporary file's 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = temp_beside(path)?;
    set_mode(tmp.path(), 0o644)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary file in `path`'s directory (made when missing), whose errors name that
/// directory rather than the temporary file's random name.
pub fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let in_dir = |e: std::io::Error| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create a file in {}: {}", dir.display(), e.kind()),
        )
    };
    std::fs::create_dir_all(dir).map_err(in_dir)?;
    tempfile::Builder::new()
        .prefix(".hubdr-tmp")
        .tempfile_in(dir)
        .map_err(in_dir)
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

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
