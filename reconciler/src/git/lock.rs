//! An exclusive file lock, so several writers (threads or processes) can share one cache.

use std::fs::OpenOptions;
use std::path::Path;

use super::GitError;

/// Run `f` while holding an exclusive lock on the file at `path` (created if missing).
/// The lock is released when `f` returns, and by the kernel if the process dies.
pub(crate) fn locked<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, GitError>,
) -> Result<T, GitError> {
    let lock_error = |source| GitError::Lock {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(lock_error)?;
    let mut lock = fd_lock::RwLock::new(file);
    let _guard = lock.write().map_err(lock_error)?;
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn threads_are_serialized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, inside) = (path.clone(), inside.clone());
                std::thread::spawn(move || {
                    locked(&path, || {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
