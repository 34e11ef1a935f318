//! The render lock: one hubdr command at a time writes an output repository (or a `--no-git`
//! directory).
//!
//! The lock is an advisory lock of the operating system (`flock` on Unix, `LockFileEx` on
//! Windows) on a lock file: `.git/hubdr-render.lock` in a repository's git directory, or
//! `.hubdr-render.lock` in a `--no-git` directory. The kernel releases it when the process ends,
//! however it ends, so a render killed with `kill -9` leaves no stale lock behind (a lock
//! taken by creating a file with `O_EXCL` would stay until someone deleted it). The holder
//! writes who it is into the file (command, pid, host, start time) for the error message of a
//! command that finds it taken; that command waits a bounded time ([`WAIT_VAR`], default
//! [`DEFAULT_WAIT`]), then fails naming the holder.
//!
//! On Unix the holder deletes the file when it is done, while it still holds the lock, so no
//! file is left behind. A process that was waiting for the lock then holds a lock on a file that
//! no longer has a name: it checks, after locking, that the file it locked is still the one at
//! the path, and otherwise starts again.
//!
//! A new repository needs its lock before `git init` makes its `.git` directory: the lock makes
//! that directory (and the output directory) first, and removes them again, when still empty,
//! if the command ends before initialising the repository. A directory that holds nothing but
//! such a `.git` counts as empty ([`is_fresh`]).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::Repository;

use super::{GitRepoError, OutputRepo};

/// The lock file in a git directory.
pub const LOCK_FILE: &str = "hubdr-render.lock";
/// The lock file in a `--no-git` output directory.
pub const DIR_LOCK_FILE: &str = ".hubdr-render.lock";
/// The environment variable with the number of seconds to wait for a held lock.
pub const WAIT_VAR: &str = "HUBDR_LOCK_WAIT";
/// How long a command waits for a held lock unless [`WAIT_VAR`] says otherwise: long enough
/// for a fleet-sized render on a slow disk.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(120);

/// The lock file's holder description is read up to this many bytes.
const HOLDER_MAX: u64 = 1024;

/// How long to wait for a held lock: [`WAIT_VAR`] in (fractional) seconds, else
/// [`DEFAULT_WAIT`]. An unreadable value is an error naming it.
pub fn wait_from_env() -> Result<Duration, String> {
    match std::env::var(WAIT_VAR) {
        Err(_) => Ok(DEFAULT_WAIT),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                format!(
                    "{WAIT_VAR}={text:?} is not a number of seconds; set it to e.g. 300, or 0 to fail at once when another render holds the lock"
                )
            }),
    }
}

/// `d` in seconds for a message: `120`, `0.5`.
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

/// An exclusive render lock, released when dropped.
#[derive(Debug)]
pub struct RenderLock {
    file: fs::File,
    path: PathBuf,
    /// Directories made to hold the lock file, deepest first; removed on release when empty.
    made: Vec<PathBuf>,
}

/// One attempt at the lock.
enum Attempt {
    Locked(RenderLock),
    /// The lock file, held by another process, which wrote this about itself.
    Held(PathBuf, String),
    /// The lock file or its directory vanished meanwhile (released by its holder): try again.
    Again,
}

impl RenderLock {
    /// Lock the output repository at `dir` (which may not exist yet) for `what` (e.g.
    /// `hubdr render`), waiting up to `wait` while another process holds it; `waiting` is
    /// called once, with the holder's description, when the lock is taken.
    ///
    /// Fails like [`OutputRepo::open_or_init`] when `dir` cannot become an output repository
    /// (a file, a non-empty directory that is not a repository, a bare repository), without
    /// touching it.
    pub fn for_repository(
        dir: &Path,
        what: &str,
        wait: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<RenderLock, GitRepoError> {
        acquire(dir, wait, waiting, &mut || {
            let (path, made) = repository_lock_path(dir)?;
            Ok(try_lock(&path, made, what))
        })
    }

    /// Lock the `--no-git` output directory `dir` (made when missing), as
    /// [`for_repository`](Self::for_repository).
    pub fn for_directory(
        dir: &Path,
        what: &str,
        wait: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<RenderLock, GitRepoError> {
        acquire(dir, wait, waiting, &mut || {
            let made = make_dirs(dir)?;
            if !dir.is_dir() {
                return Err(GitRepoError::NotADirectory {
                    path: dir.to_path_buf(),
                });
            }
            Ok(try_lock(&dir.join(DIR_LOCK_FILE), made, what))
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RenderLock {
    fn drop(&mut self) {
        // Deleted while still locked (see the module doc); elsewhere emptied instead.
        #[cfg(unix)]
        let _ = fs::remove_file(&self.path);
        #[cfg(not(unix))]
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        for dir in &self.made {
            // Fails, as meant, once the directory holds anything.
            let _ = fs::remove_dir(dir);
        }
    }
}

fn acquire(
    dir: &Path,
    wait: Duration,
    waiting: &mut dyn FnMut(&str),
    attempt: &mut dyn FnMut() -> Result<Result<Attempt, (PathBuf, io::Error)>, GitRepoError>,
) -> Result<RenderLock, GitRepoError> {
    let start = Instant::now();
    let mut told = false;
    let mut pause = Duration::from_millis(5);
    let mut again = 0;
    loop {
        let (path, holder) = match attempt()? {
            Ok(Attempt::Locked(lock)) => return Ok(lock),
            // Each time another process released the lock meanwhile: a bound against a file
            // system where a file's identity is not stable.
            Ok(Attempt::Again) if again < 1000 => {
                again += 1;
                continue;
            }
            Ok(Attempt::Again) => {
                return Err(GitRepoError::Lock {
                    path: dir.to_path_buf(),
                    source: io::Error::other("the lock file keeps changing while it is locked"),
                })
            }
            Ok(Attempt::Held(path, holder)) => (path, holder),
            Err((path, source)) => return Err(GitRepoError::Lock { path, source }),
        };
        let waited = start.elapsed();
        if waited >= wait {
            return Err(GitRepoError::Busy {
                dir: dir.to_path_buf(),
                path,
                holder,
                waited,
            });
        }
        if !told {
            waiting(&holder);
            told = true;
        }
        std::thread::sleep(pause.min(wait - waited));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// The lock file of the output repository `dir`, and the directories made for it: in the git
/// directory of an existing repository, in a new `.git` directory of a missing or empty one.
fn repository_lock_path(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), GitRepoError> {
    let mut made = make_dirs(dir)?;
    if !dir.is_dir() {
        return Err(GitRepoError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let dot_git = dir.join(".git");
    match fs::symlink_metadata(&dot_git) {
        Ok(md) if md.is_dir() => return Ok((dot_git.join(LOCK_FILE), made)),
        // A `.git` file (a linked worktree, a submodule) or symlink: ask git where it leads.
        Ok(_) => {
            let repo = Repository::open(dir).map_err(|source| GitRepoError::Open {
                path: dir.to_path_buf(),
                source,
            })?;
            return Ok((repo.path().join(LOCK_FILE), made));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(GitRepoError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    if is_fresh(dir).map_err(|source| GitRepoError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })? {
        match fs::create_dir(&dot_git) {
            Ok(()) => made.insert(0, dot_git.clone()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(GitRepoError::CreateDir {
                    path: dot_git,
                    source,
                })
            }
        }
        return Ok((dot_git.join(LOCK_FILE), made));
    }
    // Not empty, without `.git`: a repository only if git says so (it fails otherwise, without
    // touching the directory).
    let repo = OutputRepo::open_or_init(dir)?;
    Ok((repo.git_dir().join(LOCK_FILE), made))
}

/// Make `dir` and its missing parents; returns those made, deepest first.
fn make_dirs(dir: &Path) -> Result<Vec<PathBuf>, GitRepoError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    let mut made = Vec::new();
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => made.insert(0, d.clone()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                for d in &made {
                    let _ = fs::remove_dir(d);
                }
                return Err(GitRepoError::CreateDir {
                    path: d.clone(),
                    source,
                });
            }
        }
    }
    Ok(made)
}

/// `dir` holds nothing, or nothing but a `.git` directory that holds nothing but the render
/// lock file: a new repository's lock, taken before `git init` (or left by a killed render).
pub fn is_fresh(dir: &Path) -> io::Result<bool> {
    let mut entries = fs::read_dir(dir)?;
    let Some(first) = entries.next().transpose()? else {
        return Ok(true);
    };
    if entries.next().is_some() || first.file_name() != ".git" || !first.file_type()?.is_dir() {
        return Ok(false);
    }
    for entry in fs::read_dir(first.path())? {
        if entry?.file_name() != LOCK_FILE {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Try once to lock `path`, made as needed (with `made`, the directories made for it).
fn try_lock(path: &Path, made: Vec<PathBuf>, what: &str) -> Result<Attempt, (PathBuf, io::Error)> {
    let failed = |e| (path.to_path_buf(), e);
    let file = match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Ok(file) => file,
        // Its directory was removed by a holder releasing a new repository's lock.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Attempt::Again),
        Err(e) => return Err(failed(e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Ok(Attempt::Held(path.to_path_buf(), read_holder(path)))
        }
        Err(fs::TryLockError::Error(e)) => return Err(failed(e)),
    }
    if !same_file(&file, path) {
        // Released and deleted by its previous holder after this opened it.
        return Ok(Attempt::Again);
    }
    let mut lock = RenderLock {
        file,
        path: path.to_path_buf(),
        made,
    };
    // Who holds it, for the others' messages (best effort: the lock is what counts).
    let _ = lock.file.set_len(0);
    let _ = lock.file.write_all(holder_text(what).as_bytes());
    Ok(Attempt::Locked(lock))
}

/// Whether `file` is (still) the file at `path`.
#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether `file` is (still) the file at `path` (never deleted elsewhere: see `Drop`).
#[cfg(not(unix))]
fn same_file(_file: &fs::File, path: &Path) -> bool {
    path.exists()
}

/// What the holder writes into the lock file: `hubdr render (pid 4242 on build-1, since
/// 2026-12-07T04:27:00Z)`.
fn holder_text(what: &str) -> String {
    let since = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{what} (pid {} on {}, since {since})\n",
        std::process::id(),
        host_name()
    )
}

/// This machine's name, or `unknown host`.
fn host_name() -> String {
    let from_file = |p: &str| fs::read_to_string(p).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".to_string())
}

/// The holder's description from the lock file at `path`: one line of printable text, short
/// (the file may hold anything).
fn read_holder(path: &Path) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(HOLDER_MAX).read_to_end(&mut bytes));
    let text: String = String::from_utf8_lossy(&bytes)
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    match (read, text.trim()) {
        (Ok(_), t) if !t.is_empty() => t.to_string(),
        _ => "a process that has not said who it is yet".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(dir: &Path, what: &str, wait: Duration) -> Result<RenderLock, GitRepoError> {
        RenderLock::for_repository(dir, what, wait, &mut |_| {})
    }

    #[test]
    fn a_second_lock_fails_naming_the_holder_or_waits_for_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let first = lock(&dir, "hubdr first", Duration::ZERO).unwrap();
        assert_eq!(first.path(), dir.join(".git").join(LOCK_FILE));

        let err = lock(&dir, "hubdr second", Duration::from_millis(50)).unwrap_err();
        let GitRepoError::Busy { holder, path, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(path, first.path());
        let pid = std::process::id();
        assert!(
            holder.starts_with(&format!("hubdr first (pid {pid} on ")),
            "{holder}"
        );
        let text = err.to_string();
        assert!(text.contains("another hubdr command is writing"), "{text}");
        assert!(text.contains(WAIT_VAR), "{text}");

        // Released while the second waits: it gets the lock, after saying whom it waits for.
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let mut told = Vec::new();
        let second =
            RenderLock::for_repository(&dir, "hubdr second", Duration::from_secs(60), &mut |h| {
                told.push(h.to_string())
            })
            .unwrap();
        release.join().unwrap();
        assert_eq!(told.len(), 1);
        assert!(told[0].starts_with("hubdr first (pid"), "{told:?}");
        let content = fs::read_to_string(second.path()).unwrap();
        assert!(content.starts_with("hubdr second (pid"), "{content}");
    }

    #[test]
    fn the_lock_of_a_new_repository_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new/out");
        let held = lock(&dir, "hubdr render", Duration::ZERO).unwrap();
        assert!(is_fresh(&dir).unwrap());
        drop(held);
        assert!(!tmp.path().join("new").exists());

        // Initialised meanwhile: the repository stays, the lock file goes.
        let held = lock(&dir, "hubdr render", Duration::ZERO).unwrap();
        let repo = OutputRepo::open_or_init(&dir).unwrap();
        assert!(repo.head_commit().unwrap().is_none());
        drop(held);
        assert!(dir.join(".git/HEAD").is_file());
        assert!(!dir.join(".git").join(LOCK_FILE).exists());
        assert!(!is_fresh(&dir).unwrap());
    }

    #[test]
    fn a_lock_file_left_by_a_killed_holder_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        OutputRepo::open_or_init(&dir).unwrap();
        let path = dir.join(".git").join(LOCK_FILE);
        fs::write(
            &path,
            "hubdr render (pid 1 on gone, since 2020-01-01T00:00:00Z)\n",
        )
        .unwrap();
        let held = lock(&dir, "hubdr render", Duration::ZERO).unwrap();
        assert_eq!(held.path(), path);
        drop(held);
        assert!(!path.exists());
    }

    #[test]
    fn a_directory_that_cannot_be_a_repository_is_refused_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = lock(&dir, "hubdr render", Duration::ZERO).unwrap_err();
        assert!(
            matches!(err, GitRepoError::NotARepository { .. }),
            "{err:?}"
        );
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["notes.txt"]);
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        let err = lock(&file, "hubdr render", Duration::ZERO).unwrap_err();
        assert!(matches!(err, GitRepoError::NotADirectory { .. }), "{err:?}");
    }

    #[test]
    fn a_holder_description_is_one_short_printable_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lock");
        fs::write(
            &path,
            format!("a\u{1b}[31mb\nsecond line{}", "x".repeat(5000)),
        )
        .unwrap();
        assert_eq!(read_holder(&path), "a[31mb");
        fs::write(&path, "").unwrap();
        assert_eq!(
            read_holder(&path),
            "a process that has not said who it is yet"
        );
    }
}
