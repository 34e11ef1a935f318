//! Where status lives in git: one ref per cluster, `refs/hubdr/status/<cluster>`, written only
//! by that cluster's agent (fast-forward, one commit per change of its status), plus the
//! shared `hubdr-status` branch older agents wrote (still read, never written by new agents).
//!
//! A cluster's ref holds a commit whose tree has the same paths as the shared branch, for that
//! cluster only: `clusters/<cluster>.yaml`, `clusters/<cluster>.sig`, `keys/<cluster>.pub`.
//! Readers fetch every cluster's ref with one glob refspec ([`STATUS_REFSPEC`]) and the shared
//! branch, and [`assemble`] the same file view the shared branch gave before:
//! - a cluster's ref supplies only its own cluster's files (a ref cannot speak for another
//!   cluster), and a ref whose name is not a cluster name is ignored with a reason;
//! - the status (and its signature) of the ref wins over the shared branch's, unless the
//!   shared branch's `updatedAt` is newer (an old agent still writing there, or a status
//!   imported from a disconnected site); an `updatedAt` in the future never wins;
//! - the pin (`keys/<cluster>.pub`) of the shared branch wins when it has one: a pin is
//!   never replaced, so moving to the new layout cannot swap a cluster's key.
//!
//! Liveness lives apart, in `refs/hubdr/heartbeat/<cluster>`: one parentless commit that the
//! agent replaces, so heartbeats never grow the status history (see `docs/forges.md`). A
//! heartbeat carries the agent's current status file and its signature (never a pin): when it
//! is newer than the status ref's (by `updatedAt`), it wins, as the shared branch's does. That
//! is how values that move on their own (sync times, the newest backup:
//! `ClusterStatus::without_volatile`) reach readers without a commit to the status history.
//! A heartbeat only overlays: it cannot bring a cluster that has no status ref or branch entry.
//! The history of a cluster's status ref is its timeline: one commit per change ([`timeline`]).

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::{pin_path, signature_path, status_path, PIN_DIR, STATUS_DIR};

/// The namespace of the per-cluster status refs.
pub const STATUS_REF_PREFIX: &str = "refs/hubdr/status/";
/// The namespace of the per-cluster heartbeat refs.
pub const HEARTBEAT_REF_PREFIX: &str = "refs/hubdr/heartbeat/";
/// The one refspec that fetches every cluster's status ref, under the same names.
pub const STATUS_REFSPEC: &str = "+refs/hubdr/status/*:refs/hubdr/status/*";
/// The refspec that fetches every cluster's heartbeat ref, under the same names.
pub const HEARTBEAT_REFSPEC: &str = "+refs/hubdr/heartbeat/*:refs/hubdr/heartbeat/*";

/// A cluster name as the render index allows it: a DNS label (lowercase letters, digits and
/// `-`, not at either end, 1 to 63 characters). Nothing else can become part of a ref name.
pub fn is_cluster_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `refs/hubdr/status/<cluster>`, or why `cluster` cannot name a ref.
pub fn status_ref(cluster: &str) -> Result<String, String> {
    checked(cluster).map(|c| format!("{STATUS_REF_PREFIX}{c}"))
}

/// `refs/hubdr/heartbeat/<cluster>`, or why `cluster` cannot name a ref.
pub fn heartbeat_ref(cluster: &str) -> Result<String, String> {
    checked(cluster).map(|c| format!("{HEARTBEAT_REF_PREFIX}{c}"))
}

fn checked(cluster: &str) -> Result<&str, String> {
    if is_cluster_name(cluster) {
        Ok(cluster)
    } else {
        Err(format!(
            "{cluster:?} is not a cluster name (a DNS label: lowercase letters, digits and '-', at most 63)"
        ))
    }
}

/// The cluster a status ref belongs to: `refs/hubdr/status/<cluster>` with a valid name.
pub fn cluster_of_ref(refname: &str) -> Option<&str> {
    refname
        .strip_prefix(STATUS_REF_PREFIX)
        .filter(|c| is_cluster_name(c))
}

/// The cluster a heartbeat ref belongs to: `refs/hubdr/heartbeat/<cluster>` with a valid name.
pub fn cluster_of_heartbeat_ref(refname: &str) -> Option<&str> {
    refname
        .strip_prefix(HEARTBEAT_REF_PREFIX)
        .filter(|c| is_cluster_name(c))
}

/// Where each status file comes from, after [`assemble`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The shared (legacy) branch.
    Branch,
    /// The cluster's own ref, at this commit.
    ClusterRef(Oid),
    /// The cluster's heartbeat ref, at this commit (newer than its status ref's status).
    Heartbeat(Oid),
}

/// The status files readers see: path (as on the shared branch) -> blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assembled {
    pub files: BTreeMap<String, Oid>,
    /// Cluster -> where its status file was taken from.
    pub origin: BTreeMap<String, Origin>,
    /// Refs that were not used, with the reason (a hostile or broken ref).
    pub ignored: Vec<String>,
    /// The newest commit among the sources (by committer time), to name the view.
    pub newest: Option<Oid>,
}

impl Assembled {
    /// Load every file, skipping (and reporting in `ignored`) files above `limit` bytes.
    pub fn load(
        &mut self,
        repo: &Repository,
        limit: u64,
    ) -> Result<BTreeMap<String, Vec<u8>>, git2::Error> {
        let odb = repo.odb()?;
        let mut out = BTreeMap::new();
        for (path, id) in &self.files {
            let (size, _) = odb.read_header(*id)?;
            if size as u64 > limit {
                self.ignored
                    .push(format!("{path}: {size} bytes, above the limit of {limit}"));
                continue;
            }
            out.insert(path.clone(), repo.find_blob(*id)?.content().to_vec());
        }
        Ok(out)
    }
}

/// Read the status view of `repo`: the shared branch at `legacy_ref` (if present) and every
/// ref under [`STATUS_REF_PREFIX`] and [`HEARTBEAT_REF_PREFIX`].
pub fn read(repo: &Repository, legacy_ref: &str) -> Result<Assembled, git2::Error> {
    let legacy = match repo.find_reference(legacy_ref) {
        Ok(r) => Some(r.peel_to_commit()?.id()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(e),
    };
    let globbed = |prefix: &str| -> Result<Vec<(String, Oid)>, git2::Error> {
        let mut refs = Vec::new();
        for reference in repo.references_glob(&format!("{prefix}*"))? {
            let reference = reference?;
            let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
            refs.push((name, reference.target().unwrap_or(Oid::zero())));
        }
        Ok(refs)
    };
    let refs = globbed(STATUS_REF_PREFIX)?;
    let heartbeats = globbed(HEARTBEAT_REF_PREFIX)?;
    let mut view = assemble(repo, legacy, &refs)?;
    overlay_heartbeats(repo, &mut view, &heartbeats)?;
    Ok(view)
}

/// Merge the shared branch at `legacy` with the per-cluster `refs` (name, target) as the
/// module documentation says.
pub fn assemble(
    repo: &Repository,
    legacy: Option<Oid>,
    refs: &[(String, Oid)],
) -> Result<Assembled, git2::Error> {
    let mut out = Assembled::default();
    let mut newest: Option<(i64, Oid)> = None;
    let mut note = |time: i64, id: Oid| {
        if newest.is_none_or(|(t, _)| time > t) {
            newest = Some((time, id));
        }
    };
    if let Some(legacy) = legacy {
        let commit = repo.find_commit(legacy)?;
        note(commit.committer().when().seconds(), legacy);
        let tree = commit.tree()?;
        for dir in [STATUS_DIR, PIN_DIR] {
            files_under(repo, &tree, dir, &mut out.files)?;
        }
        for path in out.files.keys() {
            if let Some(c) = super::trust::cluster_of(path, STATUS_DIR, super::STATUS_SUFFIX) {
                out.origin.insert(c.to_string(), Origin::Branch);
            }
        }
    }
    for (refname, target) in refs {
        let Some(cluster) = cluster_of_ref(refname) else {
            out.ignored.push(format!(
                "{refname}: not a status ref of a cluster (refs/hubdr/status/<cluster>, a DNS label); delete it"
            ));
            continue;
        };
        let commit = match repo.find_commit(*target) {
            Ok(c) => c,
            Err(e) => {
                out.ignored.push(format!(
                    "{refname}: does not point at a commit ({})",
                    e.message()
                ));
                continue;
            }
        };
        note(commit.committer().when().seconds(), commit.id());
        let tree = commit.tree()?;
        let get = |path: &str| blob_in(&tree, path);
        let (status, sig, pin) = (
            status_path(cluster),
            signature_path(cluster),
            pin_path(cluster),
        );
        if let Some(ours) = get(&status) {
            let theirs = out.files.get(&status).copied();
            let ref_wins = match theirs {
                None => true,
                Some(theirs) => updated_at(repo, theirs) <= updated_at(repo, ours),
            };
            if ref_wins {
                out.files.insert(status.clone(), ours);
                match get(&sig) {
                    Some(s) => out.files.insert(sig, s),
                    None => out.files.remove(&sig),
                };
                out.origin
                    .insert(cluster.to_string(), Origin::ClusterRef(commit.id()));
            }
        }
        if let (Some(p), false) = (get(&pin), out.files.contains_key(&pin)) {
            out.files.insert(pin, p);
        }
    }
    out.newest = newest.map(|(_, id)| id);
    Ok(out)
}

/// Let each heartbeat ref (name, target) replace its cluster's status and signature in `view`
/// when its status is newer (by `updatedAt`; a tie keeps the status ref's). Only clusters that
/// already have a status in `view` are considered; a heartbeat never brings a pin. A heartbeat
/// without a status file (an older agent's: an empty tree) only says the agent is alive.
pub fn overlay_heartbeats(
    repo: &Repository,
    view: &mut Assembled,
    heartbeats: &[(String, Oid)],
) -> Result<(), git2::Error> {
    for (refname, target) in heartbeats {
        let Some(cluster) = cluster_of_heartbeat_ref(refname) else {
            view.ignored.push(format!(
                "{refname}: not a heartbeat ref of a cluster (refs/hubdr/heartbeat/<cluster>, a DNS label); delete it"
            ));
            continue;
        };
        let status = status_path(cluster);
        let Some(current) = view.files.get(&status).copied() else {
            continue;
        };
        let Ok(commit) = repo.find_commit(*target) else {
            view.ignored
                .push(format!("{refname}: does not point at a commit"));
            continue;
        };
        let tree = commit.tree()?;
        let get = |path: &str| blob_in(&tree, path);
        let Some(ours) = get(&status) else {
            continue;
        };
        let newer = match (updated_at(repo, current), updated_at(repo, ours)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(theirs), Some(ours)) => ours > theirs,
        };
        if !newer {
            continue;
        }
        let sig = signature_path(cluster);
        view.files.insert(status, ours);
        match get(&sig) {
            Some(s) => view.files.insert(sig, s),
            None => view.files.remove(&sig),
        };
        view.origin
            .insert(cluster.to_string(), Origin::Heartbeat(commit.id()));
    }
    Ok(())
}

/// The blob at `path` in `tree`, if there is one (not a tree, not a submodule).
fn blob_in(tree: &git2::Tree<'_>, path: &str) -> Option<Oid> {
    tree.get_path(Path::new(path))
        .ok()
        .filter(|e| e.kind() == Some(ObjectType::Blob))
        .map(|e| e.id())
}

fn files_under(
    repo: &Repository,
    root: &git2::Tree<'_>,
    dir: &str,
    into: &mut BTreeMap<String, Oid>,
) -> Result<(), git2::Error> {
    let Ok(entry) = root.get_path(Path::new(dir)) else {
        return Ok(());
    };
    if entry.kind() != Some(ObjectType::Tree) {
        return Ok(());
    }
    let tree = repo.find_tree(entry.id())?;
    tree.walk(TreeWalkMode::PreOrder, |prefix, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            let name = String::from_utf8_lossy(entry.name_bytes());
            into.insert(format!("{dir}/{prefix}{name}"), entry.id());
        }
        TreeWalkResult::Ok
    })
}

/// The `updatedAt` of a status blob, `None` (older than any time) when it has none, is too
/// big, is not a time or is in the future (beyond the allowed clock skew: such a status is
/// refused by readers and must not hide a real one). Only the top-level `updatedAt:` line is
/// looked at; the file is parsed and checked in full by the reader later.
fn updated_at(repo: &Repository, blob: Oid) -> Option<jiff::Timestamp> {
    let odb = repo.odb().ok()?;
    let (size, _) = odb.read_header(blob).ok()?;
    if size as u64 > crate::limits::STATUS_FILE_MAX_BYTES {
        return None;
    }
    let blob = repo.find_blob(blob).ok()?;
    let text = std::str::from_utf8(blob.content()).ok()?;
    let value = text.lines().find_map(|l| l.strip_prefix("updatedAt:"))?;
    let at: jiff::Timestamp = value.trim().trim_matches(['\'', '"']).parse().ok()?;
    let latest = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(
            super::trust::MAX_CLOCK_SKEW_SECS,
        ))
        .ok()?;
    (at <= latest).then_some(at)
}

/// One change of a cluster's status, from its ref's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub commit: Oid,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// The status file at that commit.
    pub status: Option<Oid>,
}

/// When `cluster`'s status changed, newest first, at most `limit` changes: the history of its
/// ref (one commit per change; heartbeats are not in it).
pub fn timeline(repo: &Repository, cluster: &str, limit: usize) -> Result<Vec<Change>, String> {
    let refname = status_ref(cluster)?;
    let Ok(tip) = repo.refname_to_id(&refname) else {
        return Ok(Vec::new());
    };
    let err = |e: git2::Error| format!("cannot read {refname}: {}", e.message());
    let mut walk = repo.revwalk().map_err(err)?;
    walk.push(tip).map_err(err)?;
    let path = status_path(cluster);
    let mut out = Vec::new();
    for id in walk.take(limit) {
        let commit = repo.find_commit(id.map_err(err)?).map_err(err)?;
        let status = commit
            .tree()
            .map_err(err)?
            .get_path(Path::new(&path))
            .ok()
            .map(|e| e.id());
        out.push(Change {
            commit: commit.id(),
            time: commit.committer().when().seconds(),
            status,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "refs_tests.rs"]
mod tests;
