//! The errors of [`OutputRepo`](super::OutputRepo), named after the phase that failed.

use std::io;
use std::path::PathBuf;

/// Errors of [`OutputRepo`], named after the phase that failed.
#[derive(Debug, thiserror::Error)]
pub enum GitRepoError {
    #[error("cannot create the output directory {path}; check the path and its permissions")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot read the output directory {path}; check the path and its permissions")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "{path} exists, is not empty and is not a git repository; \
         point the output at a new or empty directory, or run `git init` in it first"
    )]
    NotARepository { path: PathBuf },

    #[error("{path} is not a directory; point the output at a directory")]
    NotADirectory { path: PathBuf },

    #[error(
        "{path} is a bare git repository; the output needs a repository with a working tree \
         (clone it with `git clone` and point the output at the clone)"
    )]
    Bare { path: PathBuf },

    #[error("cannot open the git repository at {path}; check that it is a valid, readable git repository")]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot initialise a git repository in {path}; check the directory's permissions")]
    Init {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot read HEAD of the output repository; check it with `git log -1`")]
    ReadHead {
        #[source]
        source: git2::Error,
    },

    #[error("cannot read {what} from the output repository; check it with `git fsck`")]
    ReadObject {
        what: String,
        #[source]
        source: git2::Error,
    },

    #[error("invalid rendered path {path:?}: {reason} (this is a bug in the renderer)")]
    InvalidPath { path: String, reason: &'static str },

    #[error(
        "rendered path {path:?} is outside the managed directories {prefixes:?} \
         (this is a bug in the renderer)"
    )]
    OutsidePrefixes { path: String, prefixes: Vec<String> },

    #[error(
        "the changes do not match the desired tree at {path:?}: {reason}; \
         compute them with OutputRepo::diff for the same tree (this is a bug)"
    )]
    InconsistentChanges { path: String, reason: &'static str },

    #[error("cannot compute the git status of the output repository; check it with `git status`")]
    Status {
        #[source]
        source: git2::Error,
    },

    #[error(
        "{} managed file(s) have uncommitted changes: {}; commit them, or discard them with \
         `git checkout HEAD -- <path>` / `git clean`, before rendering again",
        paths.len(), summarize(paths)
    )]
    Dirty { paths: Vec<String> },

    #[error(
        "the git index of the output repository has staged changes that are not committed: {}; \
         commit them, or unstage them with `git reset`, otherwise they would be committed \
         together with the rendered files",
        summarize(paths)
    )]
    StagedChanges { paths: Vec<String> },

    #[error("cannot read the git index of the output repository; check it with `git status`")]
    Index {
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot make a commit of the git index of the output repository: {0}; \
         check it with `git status` and resolve it"
    )]
    IndexTrees(String),

    #[error("cannot store the new git objects in {dir}; check disk space and permissions of .git")]
    WritePack {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot store {path} in the git object database; check disk space and permissions of .git"
    )]
    WriteObject {
        path: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot write {path} in the output working tree; check disk space, permissions, and that \
         nothing else (a directory, a symlink) is in the way. The working tree was restored"
    )]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot remove {path} from the output working tree; check permissions. \
         The working tree was restored"
    )]
    Remove {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot update the git index of the output repository; check that no other git command \
         is running (.git/index.lock) and that .git is writable. The working tree was restored"
    )]
    UpdateIndex {
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot write the git index {path}; check that no other git command is running \
         (.git/index.lock) and that .git is writable. The working tree was restored"
    )]
    WriteIndex {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("invalid commit author {name:?} <{email}>; give a plain name and e-mail address")]
    Signature {
        name: String,
        email: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot create the commit in the output repository; check that no other git command is \
         running (*.lock files in .git) and that .git is writable. The working tree was restored"
    )]
    Commit {
        #[source]
        source: git2::Error,
    },

    #[error(
        "cannot take the render lock {path}; check that its directory is writable and that the \
         file system supports file locks"
    )]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "another hubdr command is writing {dir}: {holder} holds the lock {path}. Waited {} s for \
         it; run this again when it has finished, or set {}=SECONDS to wait longer",
        super::lock::seconds(*waited), super::lock::WAIT_VAR
    )]
    Busy {
        dir: PathBuf,
        path: PathBuf,
        holder: String,
        waited: std::time::Duration,
    },

    #[error(
        "cannot write the journal {path} that lets an interrupted render be recovered; check disk \
         space and permissions of .git. Nothing was changed"
    )]
    WriteJournal {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "the journal of an interrupted render {path} is not valid: {reason}. Inspect the managed \
         files with `git status`, restore them with `git checkout HEAD -- <path>` or `git clean`, \
         then delete {path}"
    )]
    Journal { path: PathBuf, reason: String },

    #[error(
        "an interrupted render left its journal {path}: recover it first (`hubdr render` does)"
    )]
    Interrupted { path: PathBuf },

    #[error(
        "recovering the interrupted render recorded in {path} did not fully succeed ({}); inspect \
         the working tree with `git status`; the journal was kept, so the next render tries again",
        failures.join("; ")
    )]
    Recover {
        path: PathBuf,
        failures: Vec<String>,
    },

    #[error(
        "restoring the output repository after a failure did not fully succeed ({}); inspect it \
         with `git status` and restore it with `git reset --hard HEAD` if needed",
        failures.join("; ")
    )]
    Rollback {
        failures: Vec<String>,
        #[source]
        source: Box<GitRepoError>,
    },
}

fn summarize(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}
