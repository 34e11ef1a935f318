//! Which refs `hubdr status` reads, and `--fetch`. The one place that knows where status
//! lives in a repository: a local branch, or in an ordinary `git clone` its remote-tracking
//! branch (`origin/<branch>`), which is where `git fetch` puts what the agents pushed.

use std::path::Path;

use git2::{Commit, Repository};

/// The commit `branch` names in `repo`: the local branch `refs/heads/<branch>`, the
/// remote-tracking `refs/remotes/origin/<branch>` (or `refs/remotes/<branch>` when `branch` is
/// already written `origin/...`), or a full ref name. With `prefer_remote` (after `--fetch`)
/// the remote-tracking branch is read first, because fetching does not move local branches.
/// Returns the ref name read and its commit; `None` when none of them exists.
pub fn resolve<'r>(
    repo: &'r Repository,
    branch: &str,
    prefer_remote: bool,
) -> Option<(String, Commit<'r>)> {
    let local = format!("refs/heads/{branch}");
    let mut remote = vec![format!("refs/remotes/{ORIGIN}/{branch}")];
    if branch.contains('/') {
        remote.push(format!("refs/remotes/{branch}"));
    }
    let mut candidates = if prefer_remote {
        remote.clone()
    } else {
        vec![local.clone()]
    };
    if prefer_remote {
        candidates.push(local);
    } else {
        candidates.extend(remote);
    }
    if branch.starts_with("refs/") {
        candidates.insert(0, branch.to_string());
    }
    candidates.into_iter().find_map(|name| {
        let commit = repo.find_reference(&name).ok()?.peel_to_commit().ok()?;
        Some((name, commit))
    })
}

/// The remote `--fetch` fetches from and whose tracking branches are read.
pub const ORIGIN: &str = "origin";

/// `git fetch origin` (branches, status and heartbeat refs) in `path` (the git command, so the user's credential helpers and SSH
/// agent apply). An error names the command and git's own message.
pub fn fetch(path: &Path) -> Result<(), String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["fetch", "--quiet", ORIGIN])
        // The branches as a plain `git fetch origin` would, and every cluster's status and
        // heartbeat ref (`refs/hubdr/status/*`, `refs/hubdr/heartbeat/*`, which no default
        // refspec fetches; the heartbeats are shown, and judged, by `hubdr status`).
        .arg(format!("+refs/heads/*:refs/remotes/{ORIGIN}/*"))
        .arg(format!(
            "+{p}*:{p}*",
            p = crate::status::refs::STATUS_REF_PREFIX
        ))
        .arg(format!(
            "+{p}*:{p}*",
            p = crate::status::refs::HEARTBEAT_REF_PREFIX
        ))
        .output()
        .map_err(|e| format!("cannot run `git fetch {ORIGIN}` (--fetch needs git on PATH): {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "`git fetch {ORIGIN}` in {} failed: {}",
        path.display(),
        crate::credentials::redact_urls(message.trim())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(refs: &[&str]) -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::now("t", "t@t").unwrap();
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let tree = repo.find_tree(tree).unwrap();
        for (i, name) in refs.iter().enumerate() {
            let oid = repo
                .commit(None, &sig, &sig, &format!("{i}"), &tree, &[])
                .unwrap();
            repo.reference(name, oid, true, "test").unwrap();
        }
        drop(tree);
        (dir, repo)
    }

    fn read(repo: &Repository, branch: &str, prefer_remote: bool) -> Option<String> {
        resolve(repo, branch, prefer_remote).map(|(name, _)| name)
    }

    #[test]
    fn a_clone_reads_the_remote_tracking_branch() {
        let (_dir, repo) = repo_with(&["refs/remotes/origin/hubdr-status"]);
        for branch in ["hubdr-status", "origin/hubdr-status"] {
            assert_eq!(
                read(&repo, branch, false).as_deref(),
                Some("refs/remotes/origin/hubdr-status")
            );
        }
        assert_eq!(read(&repo, "hubdr-statsu", false), None);
    }

    #[test]
    fn the_local_branch_first_unless_just_fetched() {
        let (_dir, repo) = repo_with(&["refs/heads/main", "refs/remotes/origin/main"]);
        assert_eq!(
            read(&repo, "main", false).as_deref(),
            Some("refs/heads/main")
        );
        assert_eq!(
            read(&repo, "main", true).as_deref(),
            Some("refs/remotes/origin/main")
        );
        assert_eq!(
            read(&repo, "refs/heads/main", true).as_deref(),
            Some("refs/heads/main")
        );
    }
}
