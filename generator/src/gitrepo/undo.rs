//! Undoing a failed commit in the same process: what `commit` changed so far goes back to how
//! it was (see [`OutputRepo::commit`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};

use super::{checkout, journal, OutputRepo};
#[cfg(unix)]
use super::{MODE_EXECUTABLE, MODE_SYMLINK};

/// What `apply` changed so far, for `rollback`.
#[derive(Default)]
pub(super) struct Undo {
    /// Paths whose working-tree file was replaced or removed, in order.
    pub touched: Vec<String>,
    /// Directories created, parents first.
    pub created_dirs: Vec<PathBuf>,
    /// The in-memory index has been modified.
    pub index_modified: bool,
    /// The reference the commit moved and its previous target.
    pub moved_ref: Option<(String, Option<Oid>)>,
    /// The files of a pack stored by this commit (not there before), pack first, while no
    /// reference or reflog can name its objects.
    pub stored_pack: Vec<PathBuf>,
    /// The render journal was written (and is removed when everything was undone).
    pub journal: bool,
}

impl OutputRepo {
    /// Undo what `apply` did, as far as `undo` says it got. Returns what could not be undone.
    pub(super) fn rollback(
        &self,
        index: &mut git2::Index,
        head_tree: Option<&git2::Tree<'_>>,
        undo: &Undo,
    ) -> Vec<String> {
        let mut failures = Vec::new();

        if let Some((name, old)) = &undo.moved_ref {
            let res = match old {
                Some(old) if name == "HEAD" => self.repo.set_head_detached(*old),
                Some(old) => self
                    .repo
                    .reference(name, *old, true, "hubdr: roll back failed render")
                    .map(|_| ()),
                None => self.repo.find_reference(name).and_then(|mut r| r.delete()),
            };
            if let Err(e) = res {
                failures.push(format!("resetting {name}: {e}"));
            }
        }
        if undo.index_modified {
            // The on-disk index was not replaced (or the failure was writing it): reload it.
            if let Err(e) = index.read(true) {
                failures.push(format!("reloading the index: {e}"));
            }
        }

        for path in undo.touched.iter().rev() {
            if let Err(e) = self.restore_path(head_tree, path) {
                failures.push(format!("restoring {path}: {e}"));
            }
        }
        for dir in undo.created_dirs.iter().rev() {
            // Fails (and is meant to) when the directory is not empty.
            let _ = fs::remove_dir(dir);
        }
        // Its objects are referenced by nothing now: the index goes first (git finds packs by
        // their index).
        for file in undo.stored_pack.iter().rev() {
            match fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failures.push(format!("removing {}: {e}", file.display())),
            }
        }
        // Everything is back: nothing is left to recover. (Otherwise the journal stays, and the
        // next render finishes the rollback.)
        if undo.journal && failures.is_empty() {
            if let Err(e) = journal::remove(self.repo.path()) {
                failures.push(format!("removing the journal: {e}"));
            }
        }
        failures
    }

    /// Put `path` back to its `HEAD` content, or delete it when `HEAD` does not have it.
    pub(super) fn restore_path(
        &self,
        head_tree: Option<&git2::Tree<'_>>,
        path: &str,
    ) -> io::Result<()> {
        let target = self.workdir.join(path);
        let entry = head_tree.and_then(|t| t.get_path(Path::new(path)).ok());
        let entry = entry.filter(|e| e.kind() == Some(ObjectType::Blob));
        let Some(entry) = entry else {
            match fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if let Some(parent) = target.parent() {
                prune_empty_dirs(&self.workdir, parent);
            }
            return Ok(());
        };
        let blob = self.repo.find_blob(entry.id()).map_err(io::Error::other)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        match entry.filemode() {
            #[cfg(unix)]
            MODE_SYMLINK => {
                use std::os::unix::ffi::OsStrExt;
                let link = std::ffi::OsStr::from_bytes(blob.content());
                match fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                std::os::unix::fs::symlink(link, &target)
            }
            mode => {
                checkout::write_atomic(&target, blob.content())?;
                #[cfg(unix)]
                if mode == MODE_EXECUTABLE {
                    use std::os::unix::fs::PermissionsExt;
                    let mut perms = fs::metadata(&target)?.permissions();
                    perms.set_mode(perms.mode() | ((perms.mode() & 0o444) >> 2));
                    fs::set_permissions(&target, perms)?;
                }
                #[cfg(not(unix))]
                let _ = mode;
                Ok(())
            }
        }
    }
}

/// Remove `dir` and its parents while they are empty, stopping at `root`.
pub(super) fn prune_empty_dirs(root: &Path, dir: &Path) {
    let mut dir = dir;
    while dir != root && dir.starts_with(root) {
        if fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}
