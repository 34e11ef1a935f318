//! Publishing status: every agent owns one ref, `refs/hubdr/status/<cluster>` (see
//! `hubdr_core::status::refs`), whose commit holds its status file `clusters/<cluster>.yaml` and,
//! signed, the signature beside it (`clusters/<cluster>.sig`) and the agent's pinned key
//! (`keys/<cluster>.pub`; a pin is never replaced, see `hubdr_core::status::trust`). Only that
//! agent writes the ref, so a publish is one fast-forward push: it lands at the first attempt
//! unless the agent's own previous push is still in flight (or someone else wrote the ref),
//! in which case it refetches, rebuilds and retries after a jittered exponential backoff, up
//! to [`RetryPolicy::max_attempts`]. A commit is written only when the status changed, so the
//! ref's history is the cluster's timeline, one commit per change.
//!
//! Migration: the shared branch (`hubdr-status`, [`StatusWriter::branch`]) that older agents
//! wrote is never written again; the first publish of a cluster without a ref starts its ref
//! and carries over the pin the shared branch holds for it, and readers merge both.
//!
//! Heartbeats do not touch the status ref: they replace `refs/hubdr/heartbeat/<cluster>` with
//! one parentless commit (the only forced update hubdr makes, of a ref only this agent writes)
//! holding the agent's current status file and its signature, so they never grow any history.
//! The agent sends a heartbeat when nothing changed, and when only values that move on their
//! own changed (`ClusterStatus::same_timeline`): readers take the heartbeat's status when it is
//! newer than the status ref's (`hubdr_core::status::refs::overlay_heartbeats`).
//!
//! Over the network the remote's receive-pack does the compare-and-swap; for a bare
//! repository on this machine (`file://` or a path) we do it ourselves under the ref's
//! lock, see `local.rs`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{Oid, Repository, Signature};
use hubdr_core::status::refs::{heartbeat_ref, status_ref};
use hubdr_core::status::signature::{parse_pin, pin_text, AgentKey, StatusKey};
use hubdr_core::status::{pin_path, signature_path, status_path};

use super::cache::Cache;
use super::commit::{self, Built, FileWrite};
use super::error::shown;
use super::remote::{self, Attempt, Endpoint};
use super::{Credentials, GitError};

/// Publishes this agent's status file to its status ref.
#[derive(Clone)]
pub struct StatusWriter {
    url: String,
    branch: String,
    cache: Cache,
    credentials: Credentials,
    identity: Identity,
    retry: RetryPolicy,
}

impl std::fmt::Debug for StatusWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWriter")
            .field("url", &shown(&self.url))
            .field("branch", &self.branch)
            .field("cache", &self.cache)
            .field("credentials", &self.credentials)
            .field("identity", &self.identity)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Author and committer of status commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// How often and how patiently a push that lost a race is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay ceiling after the first lost race; doubles with every further one.
    pub base_delay: Duration,
    /// Upper bound of the delay ceiling.
    pub max_delay: Duration,
}

/// The result of a publish.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// The file already had this content on the agent's ref at `commit`; no status was pushed.
    Unchanged { commit: Oid },
    /// `commit` landed on the agent's ref; `attempts` - 1 races were lost on the way.
    Committed { commit: Oid, attempts: u32 },
}

/// The key pinned for the cluster on the status branch, compared with the agent's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The branch pins the agent's key (it may have been written by this publish).
    Ours,
    /// The branch pins another key (or a pin that cannot be read), which the agent does not
    /// replace: readers refuse this agent's status until the key is registered in the site or
    /// the pin is removed.
    Other(String),
}

/// The result of a signed publish.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPublish {
    pub publish: Publish,
    pub pin: Pin,
}

impl StatusWriter {
    /// The branch agents report to unless configured otherwise.
    pub const DEFAULT_BRANCH: &'static str = "hubdr-status";

    pub fn new(
        url: impl Into<String>,
        branch: impl Into<String>,
        cache_dir: impl Into<PathBuf>,
        credentials: Credentials,
        identity: Identity,
    ) -> Self {
        let url = url.into();
        StatusWriter {
            cache: Cache::new(&cache_dir.into(), &url),
            url,
            branch: branch.into(),
            credentials,
            identity,
            retry: RetryPolicy::default(),
        }
    }

    /// Replace the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The bare cache repository used for network remotes (a local remote needs none).
    pub fn cache_path(&self) -> &Path {
        self.cache.path()
    }

    /// Write `clusters/<cluster>.yaml` = `content` on the cluster's status ref, creating the ref
    /// if the remote has none. Nothing is pushed when the file already has this content.
    /// Unsigned: readers ignore such a status (the agent uses [`publish_signed`](Self::publish_signed)).
    pub fn publish(&self, cluster: &str, content: &[u8]) -> Result<Publish, GitError> {
        self.write(cluster, content, None).map(|(p, _)| p)
    }

    /// Replace `refs/hubdr/heartbeat/<cluster>` with a parentless commit made now, holding
    /// `clusters/<cluster>.yaml` = `content` and, with `key`, its signature (never a pin: a
    /// heartbeat cannot pin a key). The status ref is not touched.
    pub fn beat(
        &self,
        cluster: &str,
        content: &[u8],
        key: Option<&AgentKey>,
    ) -> Result<(), GitError> {
        let refname = heartbeat_ref(cluster).map_err(|_| GitError::InvalidCluster {
            cluster: cluster.to_string(),
        })?;
        let endpoint = Endpoint {
            url: &self.url,
            credentials: &self.credentials,
        };
        remote::replace_ref(&self.cache, endpoint, &refname, |repo| {
            self.build_heartbeat_commit(repo, cluster, content, key)
        })
    }

    /// [`publish`](Self::publish) with the signature of `content` by `key` beside it, and the
    /// key pinned when the branch pins none for `cluster` yet.
    pub fn publish_signed(
        &self,
        cluster: &str,
        content: &[u8],
        key: &AgentKey,
    ) -> Result<SignedPublish, GitError> {
        self.signed(cluster, content, key)
    }

    fn signed(
        &self,
        cluster: &str,
        content: &[u8],
        key: &AgentKey,
    ) -> Result<SignedPublish, GitError> {
        let (publish, pin) = self.write(cluster, content, Some(key))?;
        Ok(SignedPublish {
            publish,
            pin: pin.unwrap_or(Pin::Ours),
        })
    }

    fn write(
        &self,
        cluster: &str,
        content: &[u8],
        key: Option<&AgentKey>,
    ) -> Result<(Publish, Option<Pin>), GitError> {
        let refname = status_ref(cluster).map_err(|_| GitError::InvalidCluster {
            cluster: cluster.to_string(),
        })?;
        let legacy = remote::branch_ref(&self.branch)?;
        // What the last attempt found pinned (on the ref, or on the shared branch it started from).
        let pinned: RefCell<Option<Pin>> = RefCell::new(None);
        let endpoint = Endpoint {
            url: &self.url,
            credentials: &self.credentials,
        };
        let build = |repo: &git2::Repository, base: Option<Oid>, seed: Option<Oid>| {
            let (built, pin) = self.build(repo, base, seed, cluster, content, key)?;
            *pinned.borrow_mut() = pin;
            Ok(built)
        };
        let attempts = self.retry.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                std::thread::sleep(self.retry.delay(attempt - 1));
            }
            match remote::update_ref(&self.cache, endpoint, &refname, Some(&legacy), build)? {
                Attempt::Unchanged(commit) => {
                    return Ok((Publish::Unchanged { commit }, pinned.take()))
                }
                Attempt::Landed(commit) => {
                    return Ok((
                        Publish::Committed {
                            commit,
                            attempts: attempt,
                        },
                        pinned.take(),
                    ))
                }
                Attempt::Lost(reason) => last = reason,
            }
        }
        Err(GitError::Contended {
            url: shown(&self.url),
            cluster: cluster.to_string(),
            attempts,
            last: hubdr_core::redact::redact_urls(&last).into_owned(),
        })
    }
}

impl StatusWriter {
    /// The commit a publish of `content` puts on the cluster's ref whose tip is `base` (`seed`:
    /// the shared branch's tip, for a first publish), written into `repo`, and what it found
    /// pinned. The one place status commits are built.
    fn build(
        &self,
        repo: &Repository,
        base: Option<Oid>,
        seed: Option<Oid>,
        cluster: &str,
        content: &[u8],
        key: Option<&AgentKey>,
    ) -> Result<(Built, Option<Pin>), GitError> {
        let error = |source| commit_error(cluster, source);
        let path = status_path(cluster);
        let signature = key.map(|k| k.sign(cluster, content).to_text());
        let pin = key.map(|k| pin_text(cluster, &k.public()));
        let (sig_path, pin_path) = (signature_path(cluster), pin_path(cluster));
        let message = format!("status: {cluster}");
        let author = Signature::now(&self.identity.name, &self.identity.email).map_err(error)?;
        // A new ref carries over the pin of the shared branch: a pin is never replaced.
        let carried = match (base, seed) {
            (None, Some(seed)) => blob_at(repo, seed, &pin_path).map_err(error)?,
            _ => None,
        };
        let mut pinned = None;
        if let Some(key) = key {
            let pinned_at = if carried.is_some() { seed } else { base };
            pinned = pin_on(repo, pinned_at, &pin_path, &key.public()).map_err(error)?;
        }
        let mut files = status_files(&path, content, &sig_path, signature.as_deref());
        // Ours when signed (unless the shared branch's is carried over), else only a carried one.
        if let Some(pin) = carried.as_deref().or(pin.as_deref().map(str::as_bytes)) {
            files.push(FileWrite {
                path: &pin_path,
                content: pin,
                only_if_absent: true,
            });
        }
        let built =
            commit::replace_files(repo, base, &files, &author, &message, false).map_err(error)?;
        Ok((built, pinned))
    }

    /// For benchmarks that simulate many agents without pushing: write into `repo` the status
    /// commit a publish of `content` (signed with `key`, if given) would push on top of `base`,
    /// exactly as [`publish`](Self::publish) builds it; `None` when the status is unchanged
    /// (no commit). Moving the ref is the caller's business.
    #[doc(hidden)]
    pub fn build_status_commit(
        &self,
        repo: &Repository,
        base: Option<Oid>,
        cluster: &str,
        content: &[u8],
        key: Option<&AgentKey>,
    ) -> Result<Option<Oid>, GitError> {
        Ok(
            match self.build(repo, base, None, cluster, content, key)?.0 {
                Built::Unchanged(_) => None,
                Built::Commit(id) => Some(id),
            },
        )
    }

    /// Write into `repo` the heartbeat commit [`beat`](Self::beat) pushes (benchmarks use it
    /// to simulate many agents).
    #[doc(hidden)]
    pub fn build_heartbeat_commit(
        &self,
        repo: &Repository,
        cluster: &str,
        content: &[u8],
        key: Option<&AgentKey>,
    ) -> Result<Oid, GitError> {
        let error = |source| commit_error(cluster, source);
        let author = Signature::now(&self.identity.name, &self.identity.email).map_err(error)?;
        let (path, sig_path) = (status_path(cluster), signature_path(cluster));
        let signature = key.map(|k| k.sign(cluster, content).to_text());
        let files = status_files(&path, content, &sig_path, signature.as_deref());
        commit::heartbeat(repo, &files, &author, &format!("heartbeat: {cluster}")).map_err(error)
    }
}

/// The status file and, when signed, its signature, as a status or heartbeat commit holds them.
fn status_files<'a>(
    path: &'a str,
    content: &'a [u8],
    sig_path: &'a str,
    signature: Option<&'a str>,
) -> Vec<FileWrite<'a>> {
    let mut files = vec![FileWrite {
        path,
        content,
        only_if_absent: false,
    }];
    if let Some(signature) = signature {
        files.push(FileWrite {
            path: sig_path,
            content: signature.as_bytes(),
            only_if_absent: false,
        });
    }
    files
}

/// The content of the file at `path` in `commit`, if any.
fn blob_at(repo: &Repository, commit: Oid, path: &str) -> Result<Option<Vec<u8>>, git2::Error> {
    let tree = repo.find_commit(commit)?.tree()?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    Ok(Some(repo.find_blob(entry.id())?.content().to_vec()))
}

/// How the pin at `path` in `base` relates to `ours`: `None` when there is none (this publish
/// writes it).
fn pin_on(
    repo: &Repository,
    base: Option<Oid>,
    path: &str,
    ours: &StatusKey,
) -> Result<Option<Pin>, git2::Error> {
    let Some(base) = base else {
        return Ok(None);
    };
    let tree = repo.find_commit(base)?.tree()?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = repo.find_blob(entry.id())?;
    Ok(Some(match parse_pin(blob.content()) {
        Ok(key) if key == *ours => Pin::Ours,
        Ok(key) => Pin::Other(format!(
            "{path} on the status branch pins key id {} ({key}), not this agent's key id {} ({ours})",
            key.id(),
            ours.id()
        )),
        Err(e) => Pin::Other(format!("{path} on the status branch cannot be read: {e}")),
    }))
}

fn commit_error(cluster: &str, source: git2::Error) -> GitError {
    GitError::Commit {
        cluster: cluster.to_string(),
        source,
    }
}

impl Identity {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity {
            name: name.into(),
            email: email.into(),
        }
    }
}

impl Default for Identity {
    fn default() -> Self {
        Identity::new("hubdr-agent", "hubdr-agent@localhost")
    }
}

impl Default for RetryPolicy {
    /// 30 attempts, 20 ms doubling up to 2 s: enough for a hundred agents racing at once.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 30,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The pause after the `lost`-th lost race: uniformly random between half the ceiling
    /// and the ceiling, where the ceiling is `base_delay * 2^(lost-1)` capped at `max_delay`.
    pub fn delay(&self, lost: u32) -> Duration {
        let exp = lost.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(fastrand::u64(ceiling_us / 2..=ceiling_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        };
        for _ in 0..100 {
            let first = policy.delay(1);
            assert!(first >= Duration::from_millis(5) && first <= Duration::from_millis(10));
            let third = policy.delay(3);
            assert!(third >= Duration::from_millis(20) && third <= Duration::from_millis(40));
            assert!(policy.delay(30) <= Duration::from_millis(100));
        }
    }
}
