//! Git, as a few nouns: the [`GitSource`] the agent applies from, and the [`StatusWriter`]
//! it reports through. Both keep a bare cache repository per remote under the agent's cache
//! directory (no working tree is ever checked out) and fetch one branch with an explicit
//! refspec through an anonymous remote (status readers add one glob refspec for every
//! cluster's status ref).
//!
//! Files: `cache.rs` (the local database, crash-safe init, re-init once when corrupt),
//! `remote.rs` (fetch and push), `local.rs` (compare-and-swap for local remotes), `attempt.rs`
//! (what one attempt at moving a branch came to),
//! `commit.rs` (one file replaced in a commit), `credentials.rs` and `known_hosts.rs`
//! (authentication), `lock.rs` (cache lock), `source.rs`, `status_branch.rs`; `daemon.rs` (a
//! `git daemon` for tests and benchmarks).

mod attempt;
mod cache;
mod commit;
mod credentials;
#[doc(hidden)]
pub mod daemon;
mod error;
mod known_hosts;
mod local;
mod lock;
mod remote;
pub mod source;
pub mod status_branch;

pub use credentials::{Credentials, KnownHosts, Secret};
pub use error::GitError;
pub use git2::Oid;
pub use source::{BlobEntry, Fetched, GitSource, StatusFiles};
pub use status_branch::{Identity, Pin, Publish, RetryPolicy, SignedPublish, StatusWriter};
