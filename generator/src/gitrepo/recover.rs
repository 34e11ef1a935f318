//! Recovering an interrupted render from its journal.
//!
//! # The protocol
//!
//! Every command that writes an output repository holds its render lock (see `lock`) from
//! before it first looks at the working tree until it is done, so at most one render runs. A
//! render that changes the working tree ([`OutputRepo::commit`],
//! [`OutputRepo::discard_edits`]):
//!
//! 1. writes the journal (see `journal`) durably before it changes anything: the commit `HEAD`
//!    points to (the *base*), the tree of the commit it will make, and every path it will write
//!    (with the new content's blob id and size) or remove;
//! 2. writes the files: a new file in place, a replaced one through `.<name>.hubdr-tmp` and a
//!    rename; stores the objects; moves the branch to the new commit; writes the index;
//! 3. deletes the journal.
//!
//! A render killed anywhere in step 2 leaves the journal, and the next command that takes the
//! lock calls [`OutputRepo::recover`] before it looks at anything:
//!
//! * `HEAD` is still the base: the render is **rolled back**. Each journaled path that holds
//!   its base content is left alone; one that holds the new content, or is missing where it was
//!   removed, or holds a partly written new file (a file where the base had none, shorter than
//!   the new content: a file is created in place and written front to back) is put back to its
//!   base content or removed. The index was not written yet, so it still matches the base.
//! * `HEAD` is a commit of the journal's tree whose parent is the base: the branch moved, the
//!   render is **completed**. Each path is brought to the new content the same way, and the
//!   index entries of the journaled paths are set to the commit's.
//! * `HEAD` is anything else (someone reset or committed since): the journal no longer says
//!   what to do, and nothing but temp files is touched (**abandoned**).
//!
//! Any other content at a journaled path was not written by the render (it is a hand edit made
//! after the render was killed) and is left as it is, so the hand-edit check that follows
//! reports it instead of anything overwriting it. (One case cannot be told apart: a file made
//! by hand after the kill, at a path the render was creating, and shorter than the rendered
//! file, looks like a partial write and is removed.) Hand edits made *before* the render are not
//! in question: a render refuses to start over them (or, with `--force`, overwrites them on
//! purpose, journaled the same way). Temp files of journaled paths are removed in every case.
//! The journal is deleted when the recovery is complete; if any step fails, it stays and the
//! next render tries again.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

use git2::{IndexEntry, ObjectType, Oid};
use rayon::prelude::*;

use super::commit::index_entry;
use super::paths::{validate_path, Prefixes};
use super::{checkout, journal, trees, GitRepoError, OutputRepo};

/// What [`OutputRepo::recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub kind: RecoveryKind,
    /// Files put back to the base content (rolled back) or forward to the commit's.
    pub restored: usize,
    /// Temp files removed.
    pub temp_files: usize,
    /// Journaled paths left as they were: their content is neither the base's nor the
    /// render's (hand edits made after the render was interrupted).
    pub kept: Vec<String>,
}

/// How an interrupted render was recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryKind {
    /// `HEAD` had not moved: the working tree is back at `HEAD`.
    RolledBack,
    /// `HEAD` had moved to the render's commit: the working tree and index now match it.
    Completed { commit: Oid },
    /// `HEAD` had moved elsewhere since; only temp files were removed.
    Abandoned { head: Option<Oid> },
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RecoveryKind::RolledBack => write!(
                f,
                "an interrupted render was rolled back: {} file(s) put back to HEAD",
                self.restored
            )?,
            RecoveryKind::Completed { commit } => write!(
                f,
                "an interrupted render had committed {}: {} file(s) brought up to that commit and the index updated",
                &commit.to_string()[..12],
                self.restored
            )?,
            RecoveryKind::Abandoned { head } => write!(
                f,
                "an interrupted render was found, but HEAD has moved since (to {}): its files were left as they are",
                head.map_or("nothing".to_string(), |h| h.to_string()[..12].to_string())
            )?,
        }
        write!(f, ", {} temp file(s) removed", self.temp_files)?;
        if !self.kept.is_empty() {
            write!(
                f,
                "; {} file(s) changed since it was interrupted were left as they are",
                self.kept.len()
            )?;
        }
        Ok(())
    }
}

/// A blob id and file mode in a tree.
type State = Option<(Oid, i32)>;

/// A working-tree path as found: missing, or the blob id of its content (a symlink's target)
/// and its size; `None` for anything else (a directory).
type Found = Option<Option<(Oid, u64)>>;

/// What to do with one journaled path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// It holds what it should.
    Keep,
    /// The render's leftover: set it to the target state.
    Restore,
    /// Neither: changed since the render was interrupted.
    Foreign,
}

impl OutputRepo {
    /// Recover an interrupted render recorded in the journal (see the module doc), if there is
    /// one. Call it holding the render lock, before looking at the working tree. Journaled
    /// paths must be valid and under `prefixes`, or the journal is refused (and nothing done).
    pub fn recover(&self, prefixes: &[&str]) -> Result<Option<Recovery>, GitRepoError> {
        let git_dir = self.repo.path();
        let path = journal::path(git_dir);
        let refused = |reason: String| GitRepoError::Journal {
            path: path.clone(),
            reason,
        };
        let record = match journal::read(git_dir).map_err(refused)? {
            Some(record) => record,
            None => {
                // A journal whose write was interrupted is not there yet: only its temp file.
                let _ = journal::remove(git_dir);
                return Ok(None);
            }
        };
        let managed = Prefixes::new(prefixes);
        for entry in &record.entries {
            validate_path(&entry.path).map_err(|e| refused(e.to_string()))?;
            if !managed.matches(&entry.path) {
                return Err(refused(format!(
                    "{:?} is outside the managed directories {:?}",
                    entry.path,
                    managed.to_strings()
                )));
            }
        }

        let head = self.head_commit_obj()?;
        let read_base = |id: Oid| {
            self.repo
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(|source| GitRepoError::ReadObject {
                    what: format!("commit {id}, the base of the journal {}", path.display()),
                    source,
                })
        };
        let base_tree = record.base.map(read_base).transpose()?;
        let head_id = head.as_ref().map(|c| c.id());
        let kind = match &head {
            _ if head_id == record.base => RecoveryKind::RolledBack,
            Some(c)
                if record.tree == Some(c.tree_id())
                    && c.parent_ids().collect::<Vec<_>>()
                        == record.base.into_iter().collect::<Vec<_>>() =>
            {
                RecoveryKind::Completed { commit: c.id() }
            }
            _ => RecoveryKind::Abandoned { head: head_id },
        };
        let target_tree = match &kind {
            RecoveryKind::RolledBack => base_tree.clone(),
            RecoveryKind::Completed { .. } => Some(
                head.as_ref()
                    .expect("a completed render has a HEAD")
                    .tree()
                    .map_err(|source| GitRepoError::ReadHead { source })?,
            ),
            RecoveryKind::Abandoned { .. } => None,
        };

        // Temp files first, in every case.
        let mut failures = Vec::new();
        let workdir = self.workdir.as_path();
        let temps: Vec<io::Result<bool>> = record
            .entries
            .par_iter()
            .map(|e| remove_if_there(&checkout::temp_path(&workdir.join(&e.path))))
            .collect();
        let mut temp_files = 0;
        for (entry, removed) in record.entries.iter().zip(temps) {
            match removed {
                Ok(removed) => temp_files += usize::from(removed),
                Err(e) => failures.push(format!("removing the temp file of {}: {e}", entry.path)),
            }
        }
        let mut recovery = Recovery {
            kind: kind.clone(),
            restored: 0,
            temp_files,
            kept: Vec::new(),
        };
        if matches!(kind, RecoveryKind::Abandoned { .. }) {
            return self.finish(recovery, failures);
        }

        // The base and target state of each path (blob id and mode), then what each holds.
        let state = |tree: Option<&git2::Tree<'_>>, p: &str| {
            tree.and_then(|t| t.get_path(Path::new(p)).ok())
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .map(|e| (e.id(), e.filemode()))
        };
        let states: Vec<_> = record
            .entries
            .iter()
            .map(|e| {
                (
                    state(base_tree.as_ref(), &e.path),
                    state(target_tree.as_ref(), &e.path),
                )
            })
            .collect();
        let found: Vec<io::Result<Found>> = record
            .entries
            .par_iter()
            .map(|e| found(&workdir.join(&e.path)))
            .collect();
        let mut actions = Vec::with_capacity(record.entries.len());
        for ((entry, (base, target)), found) in record.entries.iter().zip(&states).zip(found) {
            let action = match found {
                Ok(found) => decide(found, *base, *target, entry.new),
                Err(e) => {
                    failures.push(format!("reading {}: {e}", entry.path));
                    Action::Foreign
                }
            };
            match action {
                Action::Restore => match self.restore_path(target_tree.as_ref(), &entry.path) {
                    Ok(()) => recovery.restored += 1,
                    Err(e) => failures.push(format!("restoring {}: {e}", entry.path)),
                },
                Action::Foreign => recovery.kept.push(entry.path.clone()),
                Action::Keep => {}
            }
            actions.push(action);
        }
        if let Err(e) = self.set_index_entries(&record.entries, &states, &actions) {
            failures.push(format!("updating the index: {e}"));
        }
        self.finish(recovery, failures)
    }

    /// Delete the journal when nothing failed; otherwise keep it and fail.
    fn finish(
        &self,
        recovery: Recovery,
        failures: Vec<String>,
    ) -> Result<Option<Recovery>, GitRepoError> {
        let path = journal::path(self.repo.path());
        let mut failures = failures;
        if failures.is_empty() {
            if let Err(e) = journal::remove(self.repo.path()) {
                failures.push(format!("removing the journal: {e}"));
            }
        }
        if failures.is_empty() {
            Ok(Some(recovery))
        } else {
            Err(GitRepoError::Recover { path, failures })
        }
    }

    /// Make the index entry of each journaled path the target state's: removed when the target
    /// has none; with the file's stat data when the file holds it (so git need not hash it
    /// again), else without (so a hand edit shows as modified, not staged). An entry that
    /// already has the target blob and mode is left as it is unless its file was restored.
    fn set_index_entries(
        &self,
        entries: &[journal::Entry],
        states: &[(State, State)],
        actions: &[Action],
    ) -> Result<(), git2::Error> {
        let mut index = self.repo.index()?;
        index.read(true)?;
        let mut changed = false;
        for ((entry, (_, target)), action) in entries.iter().zip(states).zip(actions) {
            let path = Path::new(&entry.path);
            let existing = index.get_path(path, 0);
            let Some((id, mode)) = *target else {
                if existing.is_some() {
                    index.remove_path(path)?;
                    changed = true;
                }
                continue;
            };
            let current = existing
                .as_ref()
                .is_some_and(|e| e.id == id && e.mode == mode as u32);
            if current && *action != Action::Restore {
                continue;
            }
            let md = fs::symlink_metadata(self.workdir.join(&entry.path));
            let mut new_entry = match (action, md) {
                (Action::Restore | Action::Keep, Ok(md)) => index_entry(&entry.path, id, &md),
                _ => unstatted_entry(&entry.path, id),
            };
            new_entry.mode = mode as u32;
            index.add(&new_entry)?;
            changed = true;
        }
        if changed {
            index.write()?;
        }
        Ok(())
    }
}

/// The index entry of `path` without stat data: git hashes the file to compare it.
fn unstatted_entry(path: &str, id: Oid) -> IndexEntry {
    let zero = git2::IndexTime::new(0, 0);
    IndexEntry {
        ctime: zero,
        mtime: zero,
        dev: 0,
        ino: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// What to do with a path found as `found`, whose base and target states are `base` and
/// `target`, and which the render was writing as `new` (see the module doc).
fn decide(found: Found, base: State, target: State, new: Option<(Oid, u64)>) -> Action {
    let Some(found) = found else {
        return Action::Foreign;
    };
    let holds = |state: Option<Oid>| found.map(|(id, _)| id) == state;
    if holds(target.map(|(id, _)| id)) {
        return Action::Keep;
    }
    let partial = match (base, new, found) {
        (None, Some((_, size)), Some((_, len))) => len < size,
        _ => false,
    };
    if holds(base.map(|(id, _)| id)) || holds(new.map(|(id, _)| id)) || partial {
        Action::Restore
    } else {
        Action::Foreign
    }
}

/// The working-tree path `full` as found (see [`Found`]).
fn found(full: &Path) -> io::Result<Found> {
    let md = match fs::symlink_metadata(full) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(None)),
        Err(e) => return Err(e),
    };
    let bytes = if md.file_type().is_symlink() {
        link_bytes(full)?
    } else if md.is_file() {
        let mut bytes = Vec::with_capacity(md.len() as usize);
        fs::File::open(full)?.read_to_end(&mut bytes)?;
        bytes
    } else {
        return Ok(None);
    };
    let len = bytes.len() as u64;
    Ok(Some(Some((
        trees::object_id(ObjectType::Blob, &bytes),
        len,
    ))))
}

#[cfg(unix)]
fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(fs::read_link(path)?.as_os_str().as_bytes().to_vec())
}

#[cfg(not(unix))]
fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    Ok(fs::read_link(path)?
        .to_string_lossy()
        .replace('\\', "/")
        .into_bytes())
}

/// Remove the file `path`: `Ok(true)` when it was there.
pub(super) fn remove_if_there(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    #[test]
    fn leftovers_are_restored_and_anything_else_is_kept() {
        let (b, n, x) = (oid(1), oid(2), oid(3));
        let file = |id, len| Some(Some((id, len)));
        let absent: Found = Some(None);
        let m = 0o100644;
        // Rolling back a modified file: base is the target.
        let (base, target, new) = (Some((b, m)), Some((b, m)), Some((n, 10)));
        assert_eq!(decide(file(b, 5), base, target, new), Action::Keep);
        assert_eq!(decide(file(n, 10), base, target, new), Action::Restore);
        assert_eq!(decide(file(x, 3), base, target, new), Action::Foreign);
        assert_eq!(decide(absent, base, target, new), Action::Foreign);
        // Rolling back an added file: a shorter file is a partial write, a longer one is not.
        let (base, target) = (None, None);
        assert_eq!(decide(absent, base, target, new), Action::Keep);
        assert_eq!(decide(file(n, 10), base, target, new), Action::Restore);
        assert_eq!(decide(file(x, 9), base, target, new), Action::Restore);
        assert_eq!(decide(file(x, 11), base, target, new), Action::Foreign);
        assert_eq!(decide(None, base, target, new), Action::Foreign);
        // Rolling back a removal.
        let (base, target, new) = (Some((b, m)), Some((b, m)), None);
        assert_eq!(decide(absent, base, target, new), Action::Restore);
        assert_eq!(decide(file(b, 5), base, target, new), Action::Keep);
        // Completing: the commit's content is the target.
        let (base, target, new) = (Some((b, m)), Some((n, m)), Some((n, 10)));
        assert_eq!(decide(file(n, 10), base, target, new), Action::Keep);
        assert_eq!(decide(file(b, 5), base, target, new), Action::Restore);
        assert_eq!(decide(file(x, 5), base, target, new), Action::Foreign);
    }
}

#[cfg(test)]
mod repository_tests {
    use super::super::Tree;
    use super::*;

    const PREFIXES: [&str; 2] = ["clusters/", "agents/"];

    fn tree(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    /// A repository with `files` committed, and a journal as a render of `next` writes it.
    fn interrupted(
        files: &[(&str, &str)],
        next: &[(&str, &str)],
    ) -> (tempfile::TempDir, OutputRepo) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = OutputRepo::open_or_init(&tmp.path().join("out")).unwrap();
        let base = tree(files);
        let changes = repo.diff(&base, &PREFIXES).unwrap();
        repo.commit(&base, &changes, "base", ("t", "t@example.com"))
            .unwrap();
        let next = tree(next);
        let changes = repo.diff(&next, &PREFIXES).unwrap();
        let entries = changes
            .changes
            .iter()
            .map(|c| journal::Entry {
                path: c.path().to_string(),
                new: next
                    .get(c.path())
                    .map(|b| (trees::object_id(ObjectType::Blob, b), b.len() as u64)),
            })
            .collect();
        let record = journal::Journal {
            base: repo.head_commit().unwrap(),
            tree: None,
            entries,
        };
        journal::write(repo.git_dir(), &record).unwrap();
        (tmp, repo)
    }

    #[test]
    fn leftovers_are_rolled_back_and_later_edits_kept() {
        let base = [
            ("clusters/a/m.yaml", "base m\n"),
            ("clusters/a/edited.yaml", "base e\n"),
            ("clusters/b/removed.yaml", "base r\n"),
            ("agents/same.yaml", "same\n"),
        ];
        let next = [
            ("clusters/a/m.yaml", "new m\n"),
            ("clusters/a/edited.yaml", "new e\n"),
            ("clusters/c/added.yaml", "a new file\n"),
            ("agents/same.yaml", "same\n"),
        ];
        let (_tmp, repo) = interrupted(&base, &next);
        let w = repo.workdir().to_path_buf();
        // What the killed render had done: `m` replaced, a temp file beside `edited`, `added`
        // half-written, `removed` removed; and then a hand edit of `edited`.
        fs::write(w.join("clusters/a/m.yaml"), "new m\n").unwrap();
        fs::write(w.join("clusters/a/.edited.yaml.hubdr-tmp"), "new").unwrap();
        fs::create_dir_all(w.join("clusters/c")).unwrap();
        fs::write(w.join("clusters/c/added.yaml"), "a ne").unwrap();
        fs::remove_file(w.join("clusters/b/removed.yaml")).unwrap();
        fs::write(w.join("clusters/a/edited.yaml"), "by hand\n").unwrap();

        let recovery = repo.recover(&PREFIXES).unwrap().unwrap();
        assert_eq!(
            recovery,
            Recovery {
                kind: RecoveryKind::RolledBack,
                restored: 3,
                temp_files: 1,
                kept: vec!["clusters/a/edited.yaml".to_string()],
            }
        );
        assert_eq!(
            fs::read_to_string(w.join("clusters/a/m.yaml")).unwrap(),
            "base m\n"
        );
        assert_eq!(
            fs::read_to_string(w.join("clusters/b/removed.yaml")).unwrap(),
            "base r\n"
        );
        assert!(!w.join("clusters/c").exists());
        assert!(!w.join("clusters/a/.edited.yaml.hubdr-tmp").exists());
        assert_eq!(
            fs::read_to_string(w.join("clusters/a/edited.yaml")).unwrap(),
            "by hand\n"
        );
        assert_eq!(
            repo.uncommitted_changes(&PREFIXES).unwrap(),
            ["clusters/a/edited.yaml"]
        );
        assert!(!journal::path(repo.git_dir()).exists());
        assert_eq!(repo.recover(&PREFIXES).unwrap(), None);
    }

    #[test]
    fn a_journal_naming_paths_outside_the_managed_ones_is_refused() {
        let (_tmp, repo) = interrupted(&[("clusters/a/x.yaml", "x\n")], &[]);
        fs::write(repo.workdir().join("README.md"), "mine\n").unwrap();
        for bad in ["README.md", "clusters/../README.md", "clusters//x"] {
            let record = journal::Journal {
                base: repo.head_commit().unwrap(),
                tree: None,
                entries: vec![journal::Entry {
                    path: bad.to_string(),
                    new: None,
                }],
            };
            journal::write(repo.git_dir(), &record).unwrap();
            let err = repo.recover(&PREFIXES).unwrap_err();
            assert!(
                matches!(err, GitRepoError::Journal { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("then delete"), "{err}");
        }
        assert_eq!(
            fs::read_to_string(repo.workdir().join("README.md")).unwrap(),
            "mine\n"
        );
        assert!(journal::path(repo.git_dir()).exists());
        // And a commit refuses to overwrite it.
        let next = tree(&[("clusters/a/x.yaml", "y\n")]);
        let changes = repo.diff(&next, &PREFIXES).unwrap();
        let err = repo
            .commit(&next, &changes, "next", ("t", "t@example.com"))
            .unwrap_err();
        assert!(matches!(err, GitRepoError::Interrupted { .. }), "{err:?}");
    }

    #[test]
    fn a_journal_of_another_history_only_loses_its_temp_files() {
        let (_tmp, repo) = interrupted(
            &[("clusters/a/x.yaml", "x\n")],
            &[("clusters/a/x.yaml", "y\n")],
        );
        let w = repo.workdir().to_path_buf();
        // Someone committed meanwhile (the journal set aside: a commit refuses to overwrite
        // it).
        let journal_bytes = fs::read(journal::path(repo.git_dir())).unwrap();
        journal::remove(repo.git_dir()).unwrap();
        let other = tree(&[("clusters/a/x.yaml", "z\n")]);
        let changes = repo.diff(&other, &PREFIXES).unwrap();
        let moved = repo
            .commit(&other, &changes, "by someone", ("t", "t@example.com"))
            .unwrap()
            .unwrap();
        fs::write(journal::path(repo.git_dir()), journal_bytes).unwrap();
        fs::write(w.join("clusters/a/.x.yaml.hubdr-tmp"), "y").unwrap();
        let recovery = repo.recover(&PREFIXES).unwrap().unwrap();
        assert_eq!(recovery.kind, RecoveryKind::Abandoned { head: Some(moved) });
        assert_eq!(recovery.restored, 0);
        assert!(!w.join("clusters/a/.x.yaml.hubdr-tmp").exists());
        assert_eq!(
            fs::read_to_string(w.join("clusters/a/x.yaml")).unwrap(),
            "z\n"
        );
        assert!(!journal::path(repo.git_dir()).exists());
    }
}
