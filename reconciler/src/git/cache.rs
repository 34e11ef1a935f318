//! The local database: one bare repository per remote URL, under the agent's cache directory.
//!
//! Crash safety: a new cache is initialized in a temporary directory and renamed into place,
//! so a half-created cache is never opened. A cache that cannot be opened, or whose objects
//! turn out to be unreadable, is deleted and re-initialized once (it only holds fetched data).

use std::path::{Path, PathBuf};

use git2::{Repository, RepositoryInitOptions};
use sha2::{Digest, Sha256};

use super::{lock, GitError};

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    /// The bare repository.
    path: PathBuf,
    /// Its lock file, beside it.
    lock: PathBuf,
}

impl Cache {
    /// The cache of `url` inside `cache_dir`: `<cache_dir>/<name>-<hash of url>.git`, both
    /// taken from the URL without its credentials (which never reach the disk, and may rotate).
    pub(crate) fn new(cache_dir: &Path, url: &str) -> Self {
        let url = super::error::shown(url);
        let url = url.as_str();
        let digest = format!("{:x}", Sha256::digest(url.as_bytes()));
        let name: String = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(40)
            .collect();
        let name = match name.trim_start_matches('.') {
            "" => "repo".to_string(),
            n => n.to_string(),
        };
        let stem = format!("{name}-{}", &digest[..16]);
        Cache {
            path: cache_dir.join(format!("{stem}.git")),
            lock: cache_dir.join(format!("{stem}.lock")),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the cache repository under the cache lock. If `f` fails for a reason that
    /// may lie in the cache itself, the cache is re-initialized and `f` runs once more.
    pub(crate) fn with_repo<T>(
        &self,
        f: impl Fn(Repository) -> Result<T, GitError>,
    ) -> Result<T, GitError> {
        self.create_parent()?;
        lock::locked(&self.lock, || match self.open().and_then(&f) {
            Err(e) if !e.is_remote_side() => f(self.reset()?),
            other => other,
        })
    }

    fn create_parent(&self) -> Result<(), GitError> {
        let parent = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|source| GitError::CacheDir {
            path: parent.to_path_buf(),
            source,
        })
    }

    fn open(&self) -> Result<Repository, GitError> {
        if !self.path.exists() {
            return self.init();
        }
        Repository::open_bare(&self.path).map_err(|source| GitError::Open {
            path: self.path.clone(),
            source,
        })
    }

    fn reset(&self) -> Result<Repository, GitError> {
        let removed = if self.path.is_dir() {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::remove_file(&self.path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(GitError::CacheDir {
                    path: self.path.clone(),
                    source,
                })
            }
        }
        self.init()
    }

    fn init(&self) -> Result<Repository, GitError> {
        let parent = self.path.parent().unwrap_or(Path::new("."));
        let file_name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let tmp_prefix = format!(".{file_name}.tmp-");
        // Leftovers of a crash during an earlier init (we hold the lock, so none is in use).
        if let Ok(entries) = std::fs::read_dir(parent) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&tmp_prefix) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let tmp = parent.join(format!(
            "{tmp_prefix}{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let open_error = |source| GitError::Open {
            path: self.path.clone(),
            source,
        };
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).no_reinit(true).external_template(false);
        drop(Repository::init_opts(&tmp, &opts).map_err(open_error)?);
        std::fs::rename(&tmp, &self.path).map_err(|source| GitError::CacheDir {
            path: self.path.clone(),
            source,
        })?;
        Repository::open_bare(&self.path).map_err(open_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_readable_and_distinct() {
        let dir = Path::new("/cache");
        let a = Cache::new(dir, "https://git.example.com/platform/acm-dr.git");
        let b = Cache::new(dir, "file:///srv/git/acm-dr.git");
        let c = Cache::new(dir, "git@example.com:platform/acm-dr.git");
        for cache in [&a, &b, &c] {
            let name = cache
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                name.starts_with("acm-dr-") && name.ends_with(".git"),
                "{name}"
            );
        }
        assert_ne!(a.path(), b.path());
        assert_ne!(b.path(), c.path());
        let odd = Cache::new(dir, "/");
        assert!(odd.path().to_string_lossy().contains("/repo-"));
    }

    #[test]
    fn credentials_in_the_url_do_not_name_the_cache() {
        let dir = Path::new("/cache");
        let with_token = Cache::new(dir, "https://x-access-token:T0KEN@git.example.com");
        let rotated = Cache::new(dir, "https://x-access-token:OTHER@git.example.com");
        assert_eq!(
            with_token.path(),
            rotated.path(),
            "a rotated token keeps the cache"
        );
        assert!(!with_token.path().to_string_lossy().contains("T0KEN"));
    }

    #[test]
    fn unreadable_cache_is_reinitialized() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), "file:///nowhere/repo.git");
        let path = cache
            .with_repo(|repo| Ok(repo.path().to_path_buf()))
            .unwrap();
        assert!(path.join("HEAD").exists());
        // Break it: a file where the repository directory should be.
        std::fs::remove_dir_all(cache.path()).unwrap();
        std::fs::write(cache.path(), b"garbage").unwrap();
        let reopened = cache.with_repo(|repo| Ok(repo.is_bare())).unwrap();
        assert!(reopened);
    }
}
