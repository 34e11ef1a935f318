//! `hubdr status`: where every cluster stands in the current failover, read from the status
//! refs (each agent's `clusters/<cluster>.yaml` on `refs/hubdr/status/<cluster>`, merged with
//! the older shared status branch, see `crate::status::refs`) and the rendered index on the source branch
//! (roles, generation, what the new primary waits for). `--watch` re-reads until the failover
//! at the current generation completes (exit 0) or stalls (exit 1).
//!
//! Only local repositories are read (a path or a `file://` URL, bare or not): fetch a remote
//! one first. The table and the verdict are pure functions (`table.rs`, `progress.rs`).

mod auto_import;
#[cfg(test)]
mod fixtures;
mod heartbeat;
mod hosted;
mod progress;
mod recovery;
mod select;
mod source;
mod table;
mod view;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use git2::{Oid, Repository, Tree};

use super::json;
use super::CommandError;
use crate::cli::{OutputFormat, StatusShowArgs};
use crate::index::{RenderIndex, INDEX_PATH};
use crate::limits;
use crate::status::refs;
use crate::status::trust::{self, Anchors, Refusal};
use crate::status::{pin_path, signature_path, status_path};

pub use progress::{progress, Progress};

/// A gate waiting longer than this counts as stalled unless `--stall-after` says otherwise.
const DEFAULT_STALL_AFTER_SECS: i64 = 15 * 60;
pub use table::render;
pub use view::{ClusterView, FleetView};

pub fn run(args: &StatusShowArgs, out: &mut dyn std::io::Write) -> Result<(), CommandError> {
    let path = local_path(&args.repo)?;
    let read = || {
        if args.fetch {
            source::fetch(&path)?;
        }
        let mut fleet = read_fleet(&path, &args.source_branch, &args.branch, args.fetch)?;
        if let Some(limit) = args.stall_after {
            fleet.heartbeat_stall_after = limit.as_secs() as i64;
        }
        Ok(fleet)
    };
    let stall_after = args
        .stall_after
        .map_or(DEFAULT_STALL_AFTER_SECS, |d| d.as_secs() as i64);
    let show = |fleet: &FleetView, now: i64, p: &Progress| {
        let shown = select::filtered(fleet, &args.filter);
        match args.output {
            OutputFormat::Json => {
                let mut text = Vec::new();
                json::print(&mut text, "StatusResult", select::json(&shown, p, now));
                String::from_utf8_lossy(&text).into_owned()
            }
            OutputFormat::Text => render(&shown, now),
        }
    };
    if let Some(unknown) = args
        .filter
        .clusters
        .iter()
        .find(|c| c.contains(['/', ' ']) || c.is_empty())
    {
        return Err(CommandError::BadInput(format!(
            "error: --cluster {unknown:?} is not a cluster name"
        )));
    }
    if !args.watch {
        let fleet = read().map_err(|e| CommandError::Failed(format!("error: {e}")))?;
        if fleet.status_ref.is_none() {
            return Err(CommandError::Failed(no_status_branch(&path, &args.branch)));
        }
        select::check_names(&fleet, &args.filter)?;
        let p = progress(&fleet, now(), stall_after);
        let _ = write!(out, "{}", show(&fleet, now(), &p));
        if args.output == OutputFormat::Text {
            let _ = writeln!(out, "\n{}", verdict(&p));
        }
        if let Progress::Stalled(_) = p {
            return Err(CommandError::Failed(
                "hubdr status: the failover is stalled (see above)".into(),
            ));
        }
        return Ok(());
    }
    watch_with(
        read,
        now,
        std::thread::sleep,
        args.interval,
        stall_after,
        &show,
        args.output == OutputFormat::Text,
        out,
    )
}

/// Why there is nothing to show: no status branch, locally or fetched.
fn no_status_branch(path: &Path, branch: &str) -> String {
    format!(
        "error: {} has no status branch {branch:?} (looked for the branch and its remote-tracking branch {}/{branch}): no agent has reported yet, the branch name is misspelt, or the status was not fetched\n  fix: check --branch (the agents report to {:?} unless started with another), or add --fetch to fetch it from {}",
        path.display(),
        source::ORIGIN,
        crate::status::STATUS_BRANCH,
        source::ORIGIN,
    )
}

/// One line for the outcome.
pub fn verdict(p: &Progress) -> String {
    match p {
        Progress::Complete => "failover complete".into(),
        Progress::Pending(left) => format!("in progress: {}", left.join("; ")),
        Progress::Stalled(why) => format!("stalled: {why}"),
    }
}

/// Re-read every `interval` until the failover completes or stalls. The table is printed
/// again whenever a status or the source commit changed.
pub fn watch(
    read: impl FnMut() -> Result<FleetView, String>,
    now: impl FnMut() -> i64,
    sleep: impl FnMut(Duration),
    interval: Duration,
    stall_after_secs: i64,
    out: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    watch_with(
        read,
        now,
        sleep,
        interval,
        stall_after_secs,
        &|fleet, t, _| render(fleet, t),
        true,
        out,
    )
}

/// [`watch`] printing each change with `show`; `verdicts`: also the verdict lines (text).
#[allow(clippy::too_many_arguments)]
fn watch_with(
    mut read: impl FnMut() -> Result<FleetView, String>,
    mut now: impl FnMut() -> i64,
    mut sleep: impl FnMut(Duration),
    interval: Duration,
    stall_after_secs: i64,
    show: &dyn Fn(&FleetView, i64, &Progress) -> String,
    verdicts: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let mut shown = String::new();
    loop {
        match read() {
            Ok(fleet) => {
                let t = now();
                let p = progress(&fleet, t, stall_after_secs);
                let key = format!("{}|{p:?}", fleet.key());
                if key != shown {
                    let _ = write!(out, "{}", show(&fleet, t, &p));
                    if let (Progress::Pending(_), true) = (&p, verdicts) {
                        let _ = writeln!(out, "\n{}\n", verdict(&p));
                    }
                    shown = key;
                }
                match p {
                    Progress::Complete => {
                        if verdicts {
                            let _ = writeln!(out, "\nfailover complete");
                        }
                        return Ok(());
                    }
                    Progress::Stalled(why) => {
                        if verdicts {
                            let _ = writeln!(out, "\nstalled: {why}");
                        }
                        return Err(CommandError::Failed(
                            "hubdr status: the failover is stalled (see above)".into(),
                        ));
                    }
                    Progress::Pending(_) => {}
                }
            }
            Err(e) => {
                let key = format!("error: {e}");
                if key != shown {
                    let _ = writeln!(
                        out,
                        "cannot read the repository: {e}; retrying every {}s",
                        interval.as_secs()
                    );
                    shown = key;
                }
            }
        }
        sleep(interval);
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The local path of `repo` (a path or `file://` URL).
fn local_path(repo: &str) -> Result<PathBuf, CommandError> {
    let path = repo.strip_prefix("file://").unwrap_or(repo);
    let remote = path.contains("://")
        || (path.contains('@') && path.contains(':') && !Path::new(path).exists());
    if remote {
        return Err(CommandError::BadInput(format!(
            "error: --repo {}: only local repositories (a path or a file:// URL) can be read\n  fix: clone or fetch the repository with its status (git fetch origin '+refs/hubdr/status/*:refs/hubdr/status/*' '+refs/hubdr/heartbeat/*:refs/hubdr/heartbeat/*' hubdr-status:hubdr-status) and pass its path",
            crate::credentials::redact_urls(repo)
        )));
    }
    Ok(PathBuf::from(path))
}

/// Read the index on `source_branch` and the status files of the status refs and of the shared
/// `status_branch` (the local branch or its remote-tracking branch, see `source.rs`;
/// `fetched`: prefer the latter).
pub fn read_fleet(
    path: &Path,
    source_branch: &str,
    status_branch: &str,
    fetched: bool,
) -> Result<FleetView, String> {
    let repo = Repository::open(path).map_err(|e| {
        format!(
            "{} is not a git repository: {}",
            path.display(),
            e.message()
        )
    })?;
    let (_, tip) = source::resolve(&repo, source_branch, fetched).ok_or_else(|| {
        format!(
            "{} has no branch {source_branch:?} (nor {}/{source_branch}): point --repo at the rendered repository",
            path.display(),
            source::ORIGIN
        )
    })?;
    let tree = tip.tree().map_err(|e| e.message().to_string())?;
    let index_text = file(&repo, &tree, INDEX_PATH, limits::INDEX_MAX_BYTES)?
        .ok_or_else(|| format!("{source_branch} has no {INDEX_PATH}: point --repo at a repository written by `hubdr render`"))?;
    let index = RenderIndex::parse(&index_text)?;
    let active = index
        .clusters
        .iter()
        .find(|(_, e)| e.role.as_deref() == Some("active"))
        .map(|(n, _)| n.clone());
    let waited_for = match &active {
        Some(a) => waited_for(&repo, &tree, &index, a)?,
        None => Vec::new(),
    };
    // The shared status branch (local or remote-tracking) and every cluster's status ref,
    // merged.
    let status = source::resolve(&repo, status_branch, fetched);
    let legacy_ref = match &status {
        Some((name, _)) => name.clone(),
        None => format!("refs/heads/{status_branch}"),
    };
    let status_files = refs::read(&repo, &legacy_ref)
        .map(|view| view.files)
        .map_err(|e| format!("cannot read the status refs: {}", e.message()))?;
    let status_ref = match &status {
        Some((name, _)) => Some(name.clone()),
        None if !status_files.is_empty() => Some(refs::STATUS_REF_PREFIX.to_string() + "*"),
        None => None,
    };
    let now = jiff::Timestamp::now();
    let mut clusters = Vec::new();
    for (name, entry) in &index.clusters {
        let (status, ignored) = read_status(&repo, &status_files, &index, name, now)?;
        clusters.push(ClusterView {
            name: name.clone(),
            kind: entry.kind.clone(),
            role: entry.role.clone(),
            status,
            ignored,
            heartbeat: heartbeat::read(&repo, name, now.as_second()),
        });
    }
    // The agents' heartbeat interval, as rendered into their Deployments (one site setting).
    let interval = index
        .clusters
        .keys()
        .next()
        .and_then(|c| {
            file(
                &repo,
                &tree,
                &format!("agents/{c}.yaml"),
                limits::REPO_FILE_MAX_BYTES,
            )
            .ok()
            .flatten()
        })
        .and_then(|text| heartbeat::interval_in_agent_manifest(&text))
        .unwrap_or(heartbeat::DEFAULT_INTERVAL_SECS);
    clusters.sort_by_key(|c| (c.kind != "hub", c.name.clone()));
    let unknown = unknown_clusters(&status_files, &index);
    Ok(FleetView {
        site: index.site.clone(),
        generation: index.generation,
        commit: tip.id().to_string()[..12].to_string(),
        active,
        waited_for,
        clusters,
        merged_at: merged_at(&repo, &tip, index.generation),
        rendered_at: tip.time().seconds(),
        unknown,
        status_ref,
        api_servers: crate::site::api_server::expected_in_index(&index),
        heartbeat_stall_after: heartbeat::INTERVALS_BEFORE_STALL * interval,
    })
}

/// Clusters with a status file (on the status branch or a status ref) that the index does
/// not list.
fn unknown_clusters(files: &BTreeMap<String, Oid>, index: &RenderIndex) -> Vec<String> {
    use crate::status::{STATUS_DIR, STATUS_SUFFIX};
    files
        .keys()
        .filter_map(|p| p.strip_prefix(STATUS_DIR)?.strip_prefix('/'))
        .filter_map(|n| n.strip_suffix(STATUS_SUFFIX))
        .filter(|n| !n.contains('/') && !index.clusters.contains_key(*n))
        .map(str::to_string)
        .collect()
}

/// The committer time of the first commit at `generation` on the first-parent history of `tip`
/// (the merge of the failover), looking back at most a few hundred commits.
fn merged_at(repo: &Repository, tip: &git2::Commit<'_>, generation: u64) -> Option<i64> {
    let mut merged = None;
    let mut commit = tip.clone();
    for _ in 0..500 {
        let text = file(
            repo,
            &commit.tree().ok()?,
            INDEX_PATH,
            limits::INDEX_MAX_BYTES,
        )
        .ok()??;
        let roles = crate::transition::Roles::parse(&text).ok()?;
        if roles.generation < generation {
            break;
        }
        merged = Some(commit.time().seconds());
        match commit.parent(0) {
            Ok(parent) => commit = parent,
            Err(_) => break,
        }
    }
    merged
}

/// `cluster`'s status among the status `files` (path -> blob), if it is trusted: signed by the
/// key the index registers for it (or, when none is registered, the key pinned for it) and
/// not from the future. Otherwise why it is ignored.
fn read_status(
    repo: &Repository,
    files: &BTreeMap<String, Oid>,
    index: &RenderIndex,
    cluster: &str,
    now: jiff::Timestamp,
) -> Result<(Option<crate::status::ClusterStatus>, Option<String>), String> {
    let get = |path: String| -> Result<Option<Vec<u8>>, String> {
        match files.get(&path) {
            Some(id) => blob_by_id(repo, *id, &path, limits::STATUS_FILE_MAX_BYTES).map(Some),
            None => Ok(None),
        }
    };
    let Some(bytes) = get(status_path(cluster))? else {
        return Ok((None, None));
    };
    let signature = get(signature_path(cluster))?;
    let mut anchors = Anchors::registered(&index.status_keys);
    if let Some(pin) = get(pin_path(cluster))? {
        anchors.pin(cluster, &pin);
    }
    Ok(
        match trust::check(
            cluster,
            &bytes,
            signature.as_deref(),
            anchors.get(cluster),
            now,
        ) {
            Ok(status) => (Some(status), None),
            Err(why) => (None, Some(Refusal::new(cluster, why).to_string())),
        },
    )
}

/// The fenced hubs the active hub's rendered BackupSchedule waits for (`fenced` and
/// `no-backup-schedule` gates).
fn waited_for(
    repo: &Repository,
    tree: &Tree<'_>,
    index: &RenderIndex,
    active: &str,
) -> Result<Vec<String>, String> {
    let prefix = format!("clusters/{active}/backupschedule.");
    let Some(path) = index.files.keys().find(|p| p.starts_with(&prefix)) else {
        return Ok(Vec::new());
    };
    let Some(text) = file(repo, tree, path, limits::REPO_FILE_MAX_BYTES)? else {
        return Ok(Vec::new());
    };
    let object: serde_yaml::Value =
        crate::untrusted_yaml::from_str(&text, limits::REPO_FILE_MAX_BYTES)
            .map_err(|e| format!("{path}: {e}"))?;
    let Some(wait_for) =
        object["metadata"]["annotations"][crate::gates::ANNOTATION_WAIT_FOR].as_str()
    else {
        return Ok(Vec::new());
    };
    let gates = crate::gates::parse(wait_for).map_err(|e| format!("{path}: {e}"))?;
    Ok(gates
        .into_iter()
        .filter_map(|g| match g {
            crate::gates::Gate::Fenced { cluster, .. }
            | crate::gates::Gate::NoBackupSchedule { cluster, .. } => Some(cluster),
            _ => None,
        })
        .collect())
}

/// Every cluster's trusted status on `branch` of the repository at `path` (the local branch,
/// else `origin`'s remote-tracking branch), for the clusters the index at `HEAD` lists. A status
/// is trusted as by `hubdr status`: signed by the key the index registers for the cluster (or
/// the key pinned on the branch) and not from the future; any other is left out, as if the
/// cluster had not reported. Each file is size-checked before it is read.
pub fn read_status_branch(
    path: &Path,
    branch: &str,
) -> Result<std::collections::BTreeMap<String, crate::status::ClusterStatus>, String> {
    let repo = Repository::open(path).map_err(|e| {
        format!(
            "{} is not a git repository: {}",
            path.display(),
            e.message()
        )
    })?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_tree())
        .map_err(|e| format!("{}: no rendered commit: {}", path.display(), e.message()))?;
    let index_text = file(&repo, &head, INDEX_PATH, limits::INDEX_MAX_BYTES)?.ok_or_else(|| {
        format!(
            "{} has no {INDEX_PATH}: point --repo at a repository written by `hubdr render`",
            path.display()
        )
    })?;
    let index = RenderIndex::parse(&index_text)?;
    // The shared status branch (local, or as fetched from origin) and every cluster's status
    // ref, merged as `hubdr status` reads them.
    let legacy = if repo.find_reference(&format!("refs/heads/{branch}")).is_ok() {
        format!("refs/heads/{branch}")
    } else {
        format!("refs/remotes/origin/{branch}")
    };
    let view = refs::read(&repo, &legacy)
        .map_err(|e| format!("cannot read the status refs: {}", e.message()))?;
    if view.files.is_empty() {
        return Err(format!(
            "{} has no status: neither a status branch {branch:?} (nor origin/{branch}) nor status refs refs/hubdr/status/*: fetch them with `git fetch origin {branch}:{branch} '+refs/hubdr/status/*:refs/hubdr/status/*' '+refs/hubdr/heartbeat/*:refs/hubdr/heartbeat/*'`",
            path.display()
        ));
    }
    let now = jiff::Timestamp::now();
    let mut out = std::collections::BTreeMap::new();
    for name in index.clusters.keys() {
        if let (Some(status), _) = read_status(&repo, &view.files, &index, name, now)? {
            out.insert(name.clone(), status);
        }
    }
    Ok(out)
}

/// The file at `path` as text, refused when its blob is larger than `limit` (from the object's
/// header, before it is loaded).
fn file(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
    limit: u64,
) -> Result<Option<String>, String> {
    Ok(blob(repo, tree, path, limit)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The blob at `path`, refused when it is larger than `limit`.
fn blob(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, String> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(format!("{path}: {}", e.message())),
    };
    blob_by_id(repo, entry.id(), path, limit).map(Some)
}

/// The blob `id` (found at `path`), refused when it is larger than `limit`.
fn blob_by_id(repo: &Repository, id: Oid, path: &str, limit: u64) -> Result<Vec<u8>, String> {
    let (size, _) = repo
        .odb()
        .and_then(|odb| odb.read_header(id))
        .map_err(|e| format!("{path}: {}", e.message()))?;
    if size as u64 > limit {
        return Err(format!(
            "{path} is {}, more than the limit of {}: it was not written by hubdr; fix or remove it",
            limits::size_text(size as u64),
            limits::bytes_text(limit)
        ));
    }
    let blob = repo
        .find_blob(id)
        .map_err(|e| format!("{path}: {}", e.message()))?;
    Ok(blob.content().to_vec())
}

#[cfg(test)]
mod tests {
    use super::fixtures::{fleet, gate, NOW};
    use super::*;

    fn run_watch(reads: Vec<FleetView>) -> (Result<(), CommandError>, String, usize) {
        let mut reads = reads.into_iter();
        let mut last = None;
        let mut sleeps = 0;
        let mut out = Vec::new();
        let result = watch(
            || {
                last = reads.next().or(last.take());
                last.clone().ok_or_else(|| "gone".to_string())
            },
            || NOW,
            |_| sleeps += 1,
            Duration::from_secs(5),
            900,
            &mut out,
        );
        (result, String::from_utf8(out).unwrap(), sleeps)
    }

    #[test]
    fn watch_ends_when_the_failover_completes() {
        let (result, out, sleeps) = run_watch(vec![fleet(2, 1), fleet(2, 1), fleet(2, 2)]);
        assert!(result.is_ok());
        assert_eq!(sleeps, 2);
        assert!(
            out.contains("in progress: hub-a has applied generation 1, not 2"),
            "{out}"
        );
        assert!(out.trim_end().ends_with("failover complete"), "{out}");
        assert_eq!(
            out.matches("CLUSTER").count(),
            2,
            "an unchanged read prints nothing new:\n{out}"
        );
    }

    #[test]
    fn watch_ends_with_exit_1_when_the_failover_stalls() {
        let mut stuck = fleet(2, 1);
        stuck.clusters[1]
            .status
            .as_mut()
            .unwrap()
            .gates
            .push(gate("no-backup-schedule:hub-a@2", NOW - 3600));
        let (result, out, _) = run_watch(vec![fleet(2, 1), stuck]);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        assert!(out.contains("stalled: hub-b: BackupSchedule open-cluster-management-backup/schedule-acm has waited 60m"), "{out}");
    }

    #[test]
    fn only_local_repositories() {
        assert_eq!(
            local_path("file:///srv/acm-dr.git").unwrap(),
            PathBuf::from("/srv/acm-dr.git")
        );
        assert!(local_path("https://git.example.com/acm-dr.git").is_err());
        assert!(local_path("git@git.example.com:platform/acm-dr.git").is_err());
    }

    #[test]
    fn a_remote_url_is_refused_without_its_credentials() {
        let Err(CommandError::BadInput(message)) =
            local_path("https://x-access-token:T0KEN@git.example.com/acm-dr.git")
        else {
            panic!("a remote URL is refused");
        };
        assert!(
            message.starts_with("error: --repo https://***@git.example.com/acm-dr.git: only local"),
            "{message}"
        );
        assert!(!message.contains("T0KEN"), "{message}");
    }
}
