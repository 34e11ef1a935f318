//! Watching a local repository for new commits, so the agent syncs within a second of one.

use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};

/// Watch the refs of the repository at `path` (bare or not); each change sends `()`.
pub fn watch_commits(
    path: &Path,
    tx: tokio::sync::mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    let git_dir = if path.join(".git").is_dir() {
        path.join(".git")
    } else {
        path.to_path_buf()
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.try_send(());
        }
    })?;
    // Branch updates rewrite refs/heads/* or packed-refs, both inside the git dir.
    watcher.watch(&git_dir, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// The local path of a repository URL, if it is one (`file://` or a plain path).
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    let is_remote = url.contains("://") || (url.contains('@') && url.contains(':'));
    (!is_remote).then(|| PathBuf::from(url))
}
