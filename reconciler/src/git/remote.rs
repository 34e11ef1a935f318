//! The remote: fetch one ref with an explicit refspec (plus, for status readers, a glob), and
//! push one commit to one ref, both through an anonymous remote so no `[remote]` configuration is ever written.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use git2::{
    AutotagOption, Direction, ErrorClass, ErrorCode, FetchOptions, Oid, PushOptions, Repository,
};

pub(crate) use super::attempt::{is_lost_race, Attempt};
use super::cache::Cache;
use super::commit::{self, Built};
use super::error::shown;
use super::{local, Credentials, GitError};

/// Where a remote lives and how to authenticate to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub(crate) url: &'a str,
    pub(crate) credentials: &'a Credentials,
}

/// How a push attempt ended, when it did not fail outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushOutcome {
    /// The remote branch now points at our commit.
    Landed,
    /// Someone else moved the branch first (or held its lock): refetch and try again.
    Lost(String),
}

/// `refs/heads/<branch>`, after checking that it is a valid branch name.
pub(crate) fn branch_ref(branch: &str) -> Result<String, GitError> {
    let refname = format!("refs/heads/{branch}");
    if branch.is_empty() || branch.starts_with('-') || !git2::Reference::is_valid_name(&refname) {
        return Err(GitError::InvalidBranch {
            branch: branch.to_string(),
        });
    }
    Ok(refname)
}

/// The filesystem path of a local remote (`file:///srv/repo.git` or `/srv/repo.git`), or
/// `None` for network URLs (`https://`, `ssh://`, `git@host:path`).
pub(crate) fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(PathBuf::from(path));
    }
    if url.contains("://") {
        return None;
    }
    match (url.find(':'), url.find('/')) {
        // scp-like `host:path`: a colon before any slash.
        (Some(colon), Some(slash)) if colon < slash => None,
        (Some(_), None) => None,
        _ => Some(PathBuf::from(url)),
    }
}

/// Fetch `refs/heads/<branch>` of the remote into `local_ref` of the cache. `None` when the
/// remote has no such branch. Objects already in the cache are not downloaded again.
pub(crate) fn fetch_branch(
    repo: &Repository,
    endpoint: Endpoint<'_>,
    branch: &str,
    local_ref: &str,
) -> Result<Option<Oid>, GitError> {
    fetch_ref(repo, endpoint, &branch_ref(branch)?, local_ref, &[])
}

/// Fetch the remote's `remote_ref` into `local_ref` of the cache (`None`: the remote has no
/// such ref, and `local_ref` is deleted), and with it the `extra` refspecs (globs allowed; the
/// refs they no longer match on the remote are pruned) in the same round trip.
pub(crate) fn fetch_ref(
    repo: &Repository,
    endpoint: Endpoint<'_>,
    remote_ref: &str,
    local_ref: &str,
    extra: &[&str],
) -> Result<Option<Oid>, GitError> {
    let url = endpoint.url;
    let remote_ref = remote_ref.to_string();
    let credentials = endpoint.credentials.resolve(url)?;
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|e| remote_error(url, e))?;
    // Connect first, so that any failure up to here is the remote's, not the cache's.
    let mut connection = remote
        .connect_auth(Direction::Fetch, Some(credentials.callbacks()), None)
        .map_err(|e| remote_error(url, e))?;
    let fetch_error = |source: git2::Error| {
        if is_network(&source) {
            remote_error(url, source)
        } else {
            GitError::Fetch {
                url: shown(url),
                refname: remote_ref.clone(),
                cache: repo.path().to_path_buf(),
                source,
            }
        }
    };
    // The remote tip, reported even when unchanged. (Not `Remote::list`: git2 0.20 builds a
    // slice from a null pointer when the remote has no refs at all.)
    let tip: Cell<Option<Oid>> = Cell::new(None);
    let mut callbacks = credentials.callbacks();
    callbacks.update_tips(|refname, _old, new| {
        if refname == local_ref {
            tip.set(Some(new));
        }
        true
    });
    let mut opts = FetchOptions::new();
    opts.remote_callbacks(callbacks)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false)
        .report_unchanged(true);
    if !extra.is_empty() {
        opts.prune(git2::FetchPrune::On);
    }
    let refspec = format!("+{remote_ref}:{local_ref}");
    let mut refspecs = vec![refspec.as_str()];
    refspecs.extend_from_slice(extra);
    connection
        .remote()
        .fetch(&refspecs, Some(&mut opts), Some("hubdr: fetch"))
        .map_err(fetch_error)?;
    drop(opts);
    drop(connection);
    match tip.get() {
        Some(tip) => {
            repo.find_commit(tip).map_err(fetch_error)?;
            Ok(Some(tip))
        }
        None => {
            // The branch is gone (or never was): forget what we had of it.
            if let Ok(mut stale) = repo.find_reference(local_ref) {
                stale.delete().map_err(fetch_error)?;
            }
            Ok(None)
        }
    }
}

/// Read the tip of `refname` (`None`: no such ref yet; then also the tip of `seed`, the ref
/// the first commit starts from), let `build(repo, base, seed)` write a commit on it, and move
/// the ref there unless someone else moved it in the meantime. Never forces.
///
/// `build` writes into a repository whose new objects stay in memory until they land, so a
/// lost attempt leaves nothing behind. A local remote is used in place (see [`local`]);
/// any other is fetched into the cache and pushed to.
pub(crate) fn update_ref(
    cache: &Cache,
    endpoint: Endpoint<'_>,
    refname: &str,
    seed: Option<&str>,
    build: impl Fn(&Repository, Option<Oid>, Option<Oid>) -> Result<Built, GitError>,
) -> Result<Attempt, GitError> {
    if let Some(path) = local_path(endpoint.url) {
        return local::update_ref(&path, endpoint.url, refname, seed, build);
    }
    let tracking = format!("refs/hubdr/update/{}", refname.trim_start_matches("refs/"));
    cache.with_repo(|repo| {
        commit::keep_new_objects_in_memory(&repo).map_err(|source| GitError::Open {
            path: repo.path().to_path_buf(),
            source,
        })?;
        let base = fetch_ref(&repo, endpoint, refname, &tracking, &[])?;
        let seeded = match (base, seed) {
            (None, Some(seed)) => {
                let local = format!("refs/hubdr/seed/{}", seed.trim_start_matches("refs/"));
                fetch_ref(&repo, endpoint, seed, &local, &[])?
            }
            _ => None,
        };
        let new = match build(&repo, base, seeded)? {
            Built::Unchanged(commit) => return Ok(Attempt::Unchanged(commit)),
            Built::Commit(new) => new,
        };
        Ok(
            match push_over_transport(&repo, endpoint, refname, new, Some(base))? {
                PushOutcome::Landed => Attempt::Landed(new),
                PushOutcome::Lost(reason) => Attempt::Lost(reason),
            },
        )
    })
}

/// Point `refname` at the commit `build` writes, whatever it pointed at before (a forced
/// update): only for a ref one writer owns and whose history is meant to be dropped (the
/// heartbeat).
pub(crate) fn replace_ref(
    cache: &Cache,
    endpoint: Endpoint<'_>,
    refname: &str,
    build: impl Fn(&Repository) -> Result<Oid, GitError>,
) -> Result<(), GitError> {
    if let Some(path) = local_path(endpoint.url) {
        return local::replace_ref(&path, endpoint.url, refname, build);
    }
    cache.with_repo(|repo| {
        commit::keep_new_objects_in_memory(&repo).map_err(|source| GitError::Open {
            path: repo.path().to_path_buf(),
            source,
        })?;
        let new = build(&repo)?;
        match push_over_transport(&repo, endpoint, refname, new, None)? {
            PushOutcome::Landed => Ok(()),
            PushOutcome::Lost(reason) => Err(GitError::Rejected {
                url: shown(endpoint.url),
                refname: refname.to_string(),
                reason,
            }),
        }
    })
}

fn push_over_transport(
    repo: &Repository,
    endpoint: Endpoint<'_>,
    refname: &str,
    new: Oid,
    // `None`: force; `Some(tip)`: only if the remote ref is still at `tip` (`Some(None)`: absent).
    expected: Option<Option<Oid>>,
) -> Result<PushOutcome, GitError> {
    let url = endpoint.url;
    let push_error = |source: git2::Error| -> GitError {
        if is_network(&source) {
            remote_error(url, source)
        } else {
            GitError::Push {
                url: shown(url),
                refname: refname.to_string(),
                source,
            }
        }
    };
    // The source of a push refspec is a local reference.
    let outgoing = format!(
        "refs/hubdr/outgoing/{}",
        refname.trim_start_matches("refs/")
    );
    repo.reference(&outgoing, new, true, "hubdr: outgoing")
        .map_err(push_error)?;

    let credentials = endpoint.credentials.resolve(url)?;
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let mut callbacks = credentials.callbacks();
    // Compare-and-swap: refuse to send if the remote moved since we fetched.
    callbacks.push_negotiation(|updates| {
        let Some(expected) = expected else {
            return Ok(());
        };
        for update in updates {
            if update.dst_refname() == Some(refname)
                && Some(update.src()).filter(|o| !o.is_zero()) != expected
            {
                return Err(git2::Error::new(
                    ErrorCode::Modified,
                    ErrorClass::Reference,
                    format!("{refname} moved on the remote to {}", update.src()),
                ));
            }
        }
        Ok(())
    });
    callbacks.push_update_reference(|name, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(format!("{name}: {status}"));
        }
        Ok(())
    });
    let mut opts = PushOptions::new();
    opts.remote_callbacks(callbacks);
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|e| remote_error(url, e))?;
    let force = if expected.is_none() { "+" } else { "" };
    let refspec = format!("{force}{outgoing}:{refname}");
    let pushed = remote.push(&[refspec.as_str()], Some(&mut opts));
    // The commit lives in memory only: a ref left pointing at it would break the next fetch.
    if let Ok(mut reference) = repo.find_reference(&outgoing) {
        let _ = reference.delete();
    }
    match pushed {
        Ok(()) => {}
        Err(e) if is_lost_race(&e) => return Ok(PushOutcome::Lost(e.message().to_string())),
        Err(e) => return Err(push_error(e)),
    }
    drop(opts);
    match rejected.into_inner() {
        None => Ok(PushOutcome::Landed),
        Some(reason) if is_retryable_rejection(&reason) => Ok(PushOutcome::Lost(reason)),
        Some(reason) => Err(GitError::Rejected {
            url: shown(url),
            refname: refname.to_string(),
            reason,
        }),
    }
}

/// Server rejections of a ref update that a refetch can cure.
fn is_retryable_rejection(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "already exists",
        "lock",
        "failed to update ref",
        "expected",
    ]
    .iter()
    .any(|needle| reason.contains(needle))
}

fn is_network(e: &git2::Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssh | ErrorClass::Ssl
    ) || matches!(e.code(), ErrorCode::Auth | ErrorCode::Certificate)
}

/// A failure to reach or talk to the remote, with authentication and certificate problems
/// told apart.
pub(crate) fn remote_error(url: &str, source: git2::Error) -> GitError {
    let url = shown(url);
    match source.code() {
        ErrorCode::Auth => GitError::Auth { url, source },
        ErrorCode::Certificate => GitError::Certificate { url, source },
        _ => GitError::Unreachable { url, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_the_url_without_its_credentials() {
        let url = "https://x-access-token:T0KEN@git.example.com/r.git";
        for code in [
            ErrorCode::Auth,
            ErrorCode::Certificate,
            ErrorCode::GenericError,
        ] {
            let source = git2::Error::new(code, ErrorClass::Net, "failed");
            let message = remote_error(url, source).to_string();
            assert!(
                message.contains("https://***@git.example.com/r.git"),
                "{message}"
            );
            assert!(!message.contains("T0KEN"), "{message}");
        }
    }

    #[test]
    fn local_paths_and_network_urls() {
        assert_eq!(
            local_path("file:///srv/r.git"),
            Some(PathBuf::from("/srv/r.git"))
        );
        assert_eq!(local_path("/srv/r.git"), Some(PathBuf::from("/srv/r.git")));
        assert_eq!(local_path("./r.git"), Some(PathBuf::from("./r.git")));
        assert_eq!(local_path("r.git"), Some(PathBuf::from("r.git")));
        assert_eq!(local_path("https://example.com/r.git"), None);
        assert_eq!(local_path("ssh://git@example.com/r.git"), None);
        assert_eq!(local_path("git@example.com:org/r.git"), None);
        assert_eq!(local_path("example.com:r.git"), None);
    }

    #[test]
    fn branch_names_are_checked() {
        assert_eq!(branch_ref("main").unwrap(), "refs/heads/main");
        assert_eq!(
            branch_ref("hubdr-status").unwrap(),
            "refs/heads/hubdr-status"
        );
        for bad in ["", "-x", "a..b", "a b", "a~1", "x.lock/", "@{u}"] {
            assert!(branch_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejection_reasons() {
        assert!(is_retryable_rejection("refs/heads/x: non-fast-forward"));
        assert!(is_retryable_rejection("refs/heads/x: failed to update ref"));
        assert!(is_retryable_rejection(
            "refs/heads/x: reference already exists"
        ));
        assert!(!is_retryable_rejection(
            "refs/heads/x: pre-receive hook declined"
        ));
        assert!(!is_retryable_rejection(
            "refs/heads/x: protected branch hook declined"
        ));
    }
}
