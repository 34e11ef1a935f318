//! One attempt at moving a branch, as both ways of moving one (`remote.rs` pushing,
//! `local.rs` compare-and-swap on a local repository) report it.

use git2::{ErrorCode, Oid};

/// One attempt at moving a branch to a commit built on its current tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// `build` found nothing to change at this tip.
    Unchanged(Oid),
    /// The branch now points at this commit.
    Landed(Oid),
    /// Another writer moved the branch first: try again on the new tip.
    Lost(String),
}

/// Errors that mean "another writer got there first".
pub(crate) fn is_lost_race(e: &git2::Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::NotFastForward | ErrorCode::Modified | ErrorCode::Locked | ErrorCode::Exists
    )
}
