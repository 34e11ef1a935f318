//! The one error type of the git module, named after the phase that failed.

use std::io;
use std::path::PathBuf;

use git2::Oid;

/// What went wrong talking to git. [`GitError::Unreachable`] means "try again later": the
/// caller keeps its last applied state and backs off.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "cannot open or create the git cache at {path}; check that the directory is writable \
         (deleting it is safe: it is refetched)"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot prepare the git cache directory {path}; check the path and its permissions")]
    CacheDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot lock the git cache at {path}; check that the directory is writable")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot read the {what}; check that it exists and is readable by the agent")]
    Credentials {
        what: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "{url} is unreachable; the last applied state is kept and the agent retries later \
         (check the URL, the network and that the repository exists)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: git2::Error,
    },

    #[error("authentication to {url} failed; check the token or ssh key and that it may access the repository")]
    Auth {
        url: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "the server certificate or ssh host key of {url} was not accepted; check the CA bundle \
         or the known_hosts file the agent is configured with"
    )]
    Certificate {
        url: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "{url}: {what} would travel in clear over http://, readable by anyone on the path; \
         use an https:// URL"
    )]
    Cleartext { url: String, what: &'static str },

    #[error("{branch:?} is not a valid branch name; use a plain branch name such as `main`")]
    InvalidBranch { branch: String },

    #[error("branch {branch} does not exist on {url}; check the branch name, or render into the repository and push it first")]
    MissingBranch { url: String, branch: String },

    #[error("fetching {refname} from {url} failed; if this repeats, delete the cache at {cache} and retry")]
    Fetch {
        url: String,
        refname: String,
        cache: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("cannot read {path} at commit {commit}; the cache may be corrupt: delete {cache} to refetch")]
    ReadTree {
        commit: Oid,
        path: String,
        cache: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("{cluster:?} is not a valid cluster name for a status file; use a DNS-1123 label such as `hub-a`")]
    InvalidCluster { cluster: String },

    #[error("cannot write the status commit for cluster {cluster} in the cache; check disk space and permissions")]
    Commit {
        cluster: String,
        #[source]
        source: git2::Error,
    },

    #[error("pushing {refname} to {url} failed; check write access to the repository")]
    Push {
        url: String,
        refname: String,
        #[source]
        source: git2::Error,
    },

    #[error("{url} refused the update of {refname}: {reason}; check branch protection and server hooks for {refname}")]
    Rejected {
        url: String,
        refname: String,
        reason: String,
    },

    #[error(
        "gave up publishing the status of {cluster} to {url} after {attempts} attempts \
         (last: {last}); other agents kept moving the branch, or a `.lock` file left by a \
         crashed writer blocks it: retry later, raise the retry limit, or delete the stale lock"
    )]
    Contended {
        url: String,
        cluster: String,
        attempts: u32,
        last: String,
    },
}

impl GitError {
    /// True for failures that say nothing about the cache itself: retrying on a fresh cache
    /// would not help.
    pub(crate) fn is_remote_side(&self) -> bool {
        matches!(
            self,
            GitError::Unreachable { .. }
                | GitError::Auth { .. }
                | GitError::Certificate { .. }
                | GitError::Credentials { .. }
                | GitError::Cleartext { .. }
                | GitError::MissingBranch { .. }
                | GitError::InvalidBranch { .. }
                | GitError::InvalidCluster { .. }
                | GitError::Rejected { .. }
                | GitError::Contended { .. }
                | GitError::Lock { .. }
                | GitError::CacheDir { .. }
        )
    }
}

/// `url` as errors, logs and status show it: without its user and password
/// ([`hubdr_core::redact::redact_urls`]).
pub(crate) fn shown(url: &str) -> String {
    hubdr_core::redact::redact_urls(url).into_owned()
}
