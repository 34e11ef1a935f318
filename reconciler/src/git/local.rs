//! Updating a ref of a repository on the local filesystem, as a true compare-and-swap.
//!
//! libgit2's local transport does not give push the semantics a git server has: after
//! checking fast-forward against the tip it read when connecting, it writes the remote ref
//! with `force` whenever the ref already exists (`local_push_update_remote_ref` in
//! `transports/local.c`). Two agents racing through it can therefore both "succeed", and
//! the later one silently drops the other's commit. For local remotes we do what
//! `git receive-pack` guarantees instead, as a compare-and-swap under the ref's lock: lock
//! the ref (a `git_transaction`, the same `<ref>.lock` file git uses), check that it still
//! points where we started (or is still absent), copy the missing objects into the remote's
//! object database, move the ref and unlock. (A plain non-forced create would not do: it
//! checks that the ref is absent before taking the lock.)
//!
//! No cache is needed for a repository on this machine: the tip is read from the remote's
//! ref and its objects from the remote's object database (a small tip is copied into memory
//! first, see [`scratch`]), and the new objects are kept in memory until the ref is locked, so
//! a publish that loses the race has written nothing anywhere. Unlike `git receive-pack`, no
//! hooks of the repository run.

use std::collections::HashSet;
use std::path::Path;

use git2::{ObjectType, Odb, OdbLookupFlags, Oid, Repository};

use super::attempt::{is_lost_race, Attempt};
use super::commit::{self, Built};
use super::error::shown;
use super::GitError;

/// One attempt: build on the tip of `refname` in the bare repository at `remote_path` (and,
/// when it has none, the tip of `seed`) and compare-and-swap the ref to the result. The new
/// objects are kept in memory until the ref is locked and still at the tip.
pub(crate) fn update_ref(
    remote_path: &Path,
    url: &str,
    refname: &str,
    seed: Option<&str>,
    build: impl Fn(&Repository, Option<Oid>, Option<Oid>) -> Result<Built, GitError>,
) -> Result<Attempt, GitError> {
    let remote = open_bare(remote_path, url, refname)?;
    let base = current_tip(&remote, refname).map_err(|e| push_error(url, refname, e))?;
    let seeded = match (base, seed) {
        (None, Some(seed)) => current_tip(&remote, seed).map_err(|e| push_error(url, seed, e))?,
        _ => None,
    };
    let scratch = scratch(&remote, base, seeded)?;
    let new = match build(&scratch, base, seeded)? {
        Built::Unchanged(commit) => return Ok(Attempt::Unchanged(commit)),
        Built::Commit(new) => new,
    };
    compare_and_swap(&scratch, &remote, url, refname, new, base)
}

/// Point `refname` at the commit `build` writes, whatever it pointed at (under its lock).
pub(crate) fn replace_ref(
    remote_path: &Path,
    url: &str,
    refname: &str,
    build: impl Fn(&Repository) -> Result<Oid, GitError>,
) -> Result<(), GitError> {
    let remote = open_bare(remote_path, url, refname)?;
    let scratch = scratch(&remote, None, None)?;
    let new = build(&scratch)?;
    let push_error = |source| push_error(url, refname, source);
    let mut tx = remote.transaction().map_err(push_error)?;
    tx.lock_ref(refname).map_err(push_error)?;
    copy_commit(&scratch, &remote, new).map_err(push_error)?;
    let committer = committer(&scratch, new).map_err(push_error)?;
    tx.set_target(refname, new, Some(&committer), "hubdr: heartbeat")
        .map_err(push_error)?;
    tx.commit().map_err(push_error)
}

/// A status ref's commit holds a handful of objects (its tree, two or three subtrees, three
/// blobs); above these it is read in place instead of copied into memory.
const IN_MEMORY_OBJECTS: usize = 64;
const IN_MEMORY_BYTES: usize = 1 << 20;

/// The repository a commit is built in. New objects stay in memory, so an attempt that loses
/// the race has written nothing anywhere.
///
/// When `base` is small and there is no `seed` to read, the scratch is memory only: `base`'s
/// commit and tree are copied in first, and building touches no file. Above all no lookup
/// misses on disk: libgit2 answers every miss by rescanning the pack directory (and writing an
/// object starts with a lookup, to freshen a copy it may have), several times per object,
/// which was a third of a publish's system calls. Otherwise (a large tree, or the legacy shared
/// branch to read a pin from) the remote's objects are read in place, as an alternate that is
/// never written.
fn scratch(
    remote: &Repository,
    base: Option<Oid>,
    seed: Option<Oid>,
) -> Result<Repository, GitError> {
    let open_error = |source| GitError::Open {
        path: remote.path().to_path_buf(),
        source,
    };
    let in_memory = || -> Result<Repository, git2::Error> {
        let scratch = Repository::from_odb(Odb::new()?)?;
        commit::keep_new_objects_in_memory(&scratch)?;
        Ok(scratch)
    };
    if seed.is_none() {
        let scratch = in_memory().map_err(open_error)?;
        // An object of the tree that cannot be read (a damaged repository, or one written by
        // someone else) is no reason to fail here: reading in place below touches only the
        // paths the commit is built on, as it always did.
        let copied = match base {
            None => true,
            Some(base) => copy_small_commit(remote, &scratch, base).unwrap_or(false),
        };
        if copied {
            return Ok(scratch);
        }
    }
    // An object database, not the repository opened a second time (its configuration files,
    // its directories): that saves about a sixth of a publish's CPU time.
    let odb = Odb::new().map_err(open_error)?;
    let objects = remote.path().join("objects");
    odb.add_disk_alternate(&objects.to_string_lossy())
        .map_err(open_error)?;
    let scratch = Repository::from_odb(odb).map_err(open_error)?;
    commit::keep_new_objects_in_memory(&scratch).map_err(open_error)?;
    Ok(scratch)
}

/// Copy `commit` and its whole tree from `from` into `to`, unless they are more than
/// [`IN_MEMORY_OBJECTS`] objects or [`IN_MEMORY_BYTES`]: then `false` (`to` may hold some of
/// them, which is harmless).
fn copy_small_commit(from: &Repository, to: &Repository, commit: Oid) -> Result<bool, git2::Error> {
    let (src, dst) = (from.odb()?, to.odb()?);
    let mut pending = vec![commit];
    let (mut objects, mut bytes) = (0, 0);
    while let Some(oid) = pending.pop() {
        // The size from the header first: the tree is the remote's, anyone with write access
        // may have put a huge blob in it, and it is not read unless it fits.
        let (size, _) = src.read_header(oid)?;
        objects += 1;
        bytes += size;
        if objects > IN_MEMORY_OBJECTS || bytes > IN_MEMORY_BYTES {
            return Ok(false);
        }
        let object = src.read(oid)?;
        dst.write(object.kind(), object.data())?;
        match object.kind() {
            ObjectType::Commit => pending.push(to.find_commit(oid)?.tree_id()),
            ObjectType::Tree => pending.extend(
                to.find_tree(oid)?
                    .iter()
                    .filter(|e| matches!(e.kind(), Some(ObjectType::Tree | ObjectType::Blob)))
                    .map(|e| e.id()),
            ),
            _ => {}
        }
    }
    Ok(true)
}

/// The committer of `commit` (the agent), for the ref's log when the repository keeps one:
/// without it libgit2 reads the git configuration of whoever runs the agent for a name.
fn committer(scratch: &Repository, commit: Oid) -> Result<git2::Signature<'static>, git2::Error> {
    Ok(scratch.find_commit(commit)?.committer().to_owned())
}

/// Move `refname` of `remote` from `expected` to `new`, copying `new`'s objects from
/// `scratch`, if and only if nobody moved it first.
fn compare_and_swap(
    scratch: &Repository,
    remote: &Repository,
    url: &str,
    refname: &str,
    new: Oid,
    expected: Option<Oid>,
) -> Result<Attempt, GitError> {
    let push_error = |source| push_error(url, refname, source);
    let lost = |current: Option<Oid>| {
        Attempt::Lost(format!(
            "{refname} moved to {}",
            current.map_or("nothing".into(), |c| c.to_string())
        ))
    };
    // Cheap early exit for the obvious losers, before creating any file.
    let current = current_tip(remote, refname).map_err(push_error)?;
    if current != expected {
        return Ok(lost(current));
    }
    // Take the ref's lock: while we hold it nobody can move the ref, so the compare below
    // stays true until our update, and a writer that lost has written no objects.
    let mut tx = remote.transaction().map_err(push_error)?;
    match tx.lock_ref(refname) {
        Ok(()) => {}
        Err(e) if is_lost_race(&e) => return Ok(Attempt::Lost(e.message().to_string())),
        Err(e) => return Err(push_error(e)),
    }
    let current = current_tip(remote, refname).map_err(push_error)?;
    if current != expected {
        return Ok(lost(current));
    }
    copy_commit(scratch, remote, new).map_err(push_error)?;
    let committer = committer(scratch, new).map_err(push_error)?;
    tx.set_target(refname, new, Some(&committer), "hubdr: status")
        .map_err(push_error)?;
    tx.commit().map_err(push_error)?;
    Ok(Attempt::Landed(new))
}

fn push_error(url: &str, refname: &str, source: git2::Error) -> GitError {
    GitError::Push {
        url: shown(url),
        refname: refname.to_string(),
        source,
    }
}

fn open_bare(path: &Path, url: &str, refname: &str) -> Result<Repository, GitError> {
    let remote = Repository::open(path).map_err(|source| GitError::Unreachable {
        url: shown(url),
        source,
    })?;
    if !remote.is_bare() {
        return Err(GitError::Rejected {
            url: shown(url),
            refname: refname.to_string(),
            reason: "it is not a bare repository (status is only pushed to bare repositories)"
                .into(),
        });
    }
    Ok(remote)
}

fn current_tip(remote: &Repository, refname: &str) -> Result<Option<Oid>, git2::Error> {
    match remote.refname_to_id(refname) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copy `commit` and the parts of its tree that `to` lacks. Parents are not copied: the
/// parent of our commit is the remote's tip, which it has.
fn copy_commit(from: &Repository, to: &Repository, commit: Oid) -> Result<(), git2::Error> {
    let (src, dst) = (from.odb()?, to.odb()?);
    let tree = from.find_commit(commit)?.tree_id();
    let mut seen = HashSet::new();
    copy_tree(from, &src, &dst, tree, &mut seen)?;
    copy_object(&src, &dst, commit)
}

/// Existence is checked without rescanning the pack directory on a miss: an object packed
/// since we opened the repository is only written again, loose. Each object is visited once,
/// however often the tree names it.
fn copy_tree(
    repo: &Repository,
    src: &Odb<'_>,
    dst: &Odb<'_>,
    tree: Oid,
    seen: &mut HashSet<Oid>,
) -> Result<(), git2::Error> {
    // Git never stores a tree without its contents.
    if !seen.insert(tree) || dst.exists_ext(tree, OdbLookupFlags::NO_REFRESH) {
        return Ok(());
    }
    for entry in repo.find_tree(tree)?.iter() {
        match entry.kind() {
            Some(ObjectType::Tree) => copy_tree(repo, src, dst, entry.id(), seen)?,
            Some(ObjectType::Blob) if seen.insert(entry.id()) => {
                copy_object(src, dst, entry.id())?;
            }
            _ => {} // seen, or a submodule link to a commit of another repository
        }
    }
    copy_object(src, dst, tree)
}

/// An object `dst` has is not read at all (the tree is the remote's: a blob someone put there
/// may be huge).
fn copy_object(src: &Odb<'_>, dst: &Odb<'_>, oid: Oid) -> Result<(), git2::Error> {
    if dst.exists_ext(oid, OdbLookupFlags::NO_REFRESH) {
        return Ok(());
    }
    let object = src.read(oid)?;
    dst.write(object.kind(), object.data())?;
    Ok(())
}
