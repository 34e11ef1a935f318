//! Small filesystem helpers: atomic writes and file modes.

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
