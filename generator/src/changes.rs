//! Object-level changes between two rendered trees, grouped by cluster: used by `hubdr plan`
//! and by render's commit messages.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;

use crate::gitrepo::{Changes, FileChange, Tree};
use crate::render::{ObjectId, Rendered};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Change,
    Remove,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Change => '~',
            Action::Remove => '-',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    pub action: Action,
    /// `Kind namespace/name`, or the file path for files that are not objects.
    pub what: String,
}

/// Cluster name (or `repository` for files outside `clusters/`) -> its changes, in path order.
pub type ByCluster = BTreeMap<String, Vec<ObjectChange>>;

/// Describe `changes`: new content from `new`, old content from `old` (only removed and
/// changed paths are looked up there).
pub fn by_cluster(
    changes: &Changes,
    new: &Tree,
    old: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
) -> ByCluster {
    group(
        changes,
        &|path| describe(path, new.get(path).map(Vec::as_slice)),
        old,
    )
}

/// [`by_cluster`] for a render: added and changed objects are named from the rendered
/// objects, without parsing their files again.
pub fn by_cluster_rendered(
    changes: &Changes,
    rendered: &Rendered,
    old: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
) -> ByCluster {
    // Sorted by path, to be searched (a fleet has tens of thousands of objects).
    let mut ids: Vec<(String, &ObjectId)> = rendered
        .objects
        .par_iter()
        .map(|o| (o.path(), &o.id))
        .collect();
    ids.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let id_of = |path: &str| {
        ids.binary_search_by(|(p, _)| p.as_str().cmp(path))
            .ok()
            .map(|at| ids[at].1)
    };
    group(
        changes,
        &|path| match (id_of(path), cluster_of(path)) {
            (Some(id), Some(cluster)) => (cluster.to_string(), id.to_string()),
            _ => describe(path, rendered.tree.get(path).map(Vec::as_slice)),
        },
        old,
    )
}

/// Each change described (in parallel: a first render has one per file), then grouped; the
/// changes of one cluster are adjacent in path order, so each run takes one map lookup.
fn group(
    changes: &Changes,
    describe_new: &(dyn Fn(&str) -> (String, String) + Sync),
    old: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
) -> ByCluster {
    let described: Vec<(String, ObjectChange)> = changes
        .changes
        .par_iter()
        .with_min_len(256)
        .map(|change| {
            let (action, path) = match change {
                FileChange::Added(p) => (Action::Create, p),
                FileChange::Modified(p) => (Action::Change, p),
                FileChange::Removed(p) => (Action::Remove, p),
            };
            let (cluster, what) = match action {
                Action::Remove => describe_removed(path, old(path).as_deref()),
                Action::Change => note_one_time_restore(describe_new(path)),
                Action::Create => describe_new(path),
            };
            (cluster, ObjectChange { action, what })
        })
        .collect();
    let mut out = ByCluster::new();
    let mut described = described.into_iter().peekable();
    while let Some((cluster, first)) = described.next() {
        let mut run = vec![first];
        while let Some((_, change)) = described.next_if(|(next, _)| *next == cluster) {
            run.push(change);
        }
        out.entry(cluster).or_default().extend(run);
    }
    out
}

/// A changed one-time Restore: the cluster-backup operator runs a Restore once, so editing
/// one that already ran (its cleanup, its backup names) changes nothing on the hub. Only the
/// passive-sync Restore (`syncRestoreWithNewBackups`) reads its spec again.
fn note_one_time_restore((cluster, what): (String, String)) -> (String, String) {
    let one_time = what
        .strip_prefix("Restore ")
        .is_some_and(|name| !name.contains("passive-sync"));
    if one_time {
        let note = "(a Restore runs once: if this one already ran, the change has no effect; a new restore needs a new Restore, e.g. a new failover generation or `hubdr failover --retry`)";
        return (cluster, format!("{what} {note}"));
    }
    (cluster, what)
}

/// The cluster of an object file `clusters/<cluster>/<file>` (not its kustomization).
fn cluster_of(path: &str) -> Option<&str> {
    let mut parts = path.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("clusters"), Some(cluster), Some(file)) if file != "kustomization.yaml" => {
            Some(cluster)
        }
        _ => None,
    }
}

fn describe(path: &str, content: Option<&[u8]>) -> (String, String) {
    let mut parts = path.splitn(3, '/');
    let (Some("clusters"), Some(cluster), Some(file)) = (parts.next(), parts.next(), parts.next())
    else {
        return ("repository".into(), path.into());
    };
    if file == "kustomization.yaml" {
        return (cluster.into(), file.into());
    }
    let id = content
        .and_then(|c| {
            crate::untrusted_yaml::value_from_slice(c, crate::limits::REPO_FILE_MAX_BYTES).ok()
        })
        .and_then(|v| ObjectId::of(&v).ok());
    let what = match id {
        Some(id) => id.to_string(),
        None => file.to_string(),
    };
    (cluster.into(), what)
}

/// [`describe`] for an object that leaves the repository: one its agent never deletes
/// (`hubdr.io/prune: disabled`, e.g. a replica PVC, which holds data) says so.
fn describe_removed(path: &str, content: Option<&[u8]>) -> (String, String) {
    let (cluster, what) = describe(path, content);
    let kept = content
        .and_then(|c| {
            crate::untrusted_yaml::value_from_slice(c, crate::limits::REPO_FILE_MAX_BYTES).ok()
        })
        .and_then(|v| v.pointer("/metadata/annotations").cloned())
        .and_then(|a| a.get(crate::render::manifest::ANNOTATION_PRUNE).cloned())
        .is_some_and(|v| v == "disabled");
    if kept && what.contains(' ') {
        let note = crate::render::manifest::ANNOTATION_PRUNE;
        return (
            cluster,
            format!("{what} (left in the cluster, not deleted: {note}: disabled; it holds data)"),
        );
    }
    (cluster, what)
}

/// Compare two trees in memory (for `hubdr plan`, which must not need a writable repo).
pub fn diff_trees(old: &Tree, new: &Tree) -> Changes {
    let mut changes = Vec::new();
    for (path, bytes) in new {
        match old.get(path) {
            None => changes.push(FileChange::Added(path.clone())),
            Some(before) if before != bytes => changes.push(FileChange::Modified(path.clone())),
            Some(_) => {}
        }
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        changes.push(FileChange::Removed(path.clone()));
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Changes { changes }
}

/// The commit message of a render: a summary line, then the changes per cluster.
pub fn commit_message(site: &str, generation: u64, changes: &ByCluster) -> String {
    let objects = |c: &Vec<ObjectChange>| c.iter().filter(|o| !o.what.ends_with(".yaml")).count();
    let total: usize = changes.values().map(objects).sum();
    let clusters = changes
        .iter()
        .filter(|(k, c)| *k != "repository" && objects(c) > 0)
        .count();
    let summary = format!(
        "hubdr render: {site} generation {generation}: {total} object(s) in {clusters} cluster(s)\n"
    );
    // One section per cluster, written in parallel (a first render lists every file).
    let sections: Vec<(&String, &Vec<ObjectChange>)> = changes.iter().collect();
    let sections: Vec<String> = sections
        .par_iter()
        .map(|(cluster, list)| {
            let mut section = format!("\n{cluster}:\n");
            for change in *list {
                let _ = writeln!(section, "  {} {}", change.action.symbol(), change.what);
            }
            section
        })
        .collect();
    [vec![summary], sections].concat().concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_cluster_and_names_objects() {
        let object = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n".to_vec();
        let mut new = Tree::new();
        new.insert("clusters/east-1/namespace.shop.yaml".into(), object.clone());
        let changes = Changes {
            changes: vec![
                FileChange::Removed(".hubdr/old.yaml".into()),
                FileChange::Added("clusters/east-1/namespace.shop.yaml".into()),
                FileChange::Removed("clusters/hub-a/restore.ns.r.yaml".into()),
            ],
        };
        let old = |_: &str| {
            Some(b"apiVersion: a/v1\nkind: Restore\nmetadata: {name: r, namespace: ns}\n".to_vec())
        };
        let grouped = by_cluster(&changes, &new, &old);
        assert_eq!(
            grouped["east-1"],
            vec![ObjectChange {
                action: Action::Create,
                what: "Namespace shop".into()
            }]
        );
        assert_eq!(
            grouped["hub-a"],
            vec![ObjectChange {
                action: Action::Remove,
                what: "Restore ns/r".into()
            }]
        );
        assert_eq!(grouped["repository"][0].what, ".hubdr/old.yaml");
        let message = commit_message("prod", 3, &grouped);
        assert!(
            message.starts_with("hubdr render: prod generation 3: 2 object(s) in 2 cluster(s)\n"),
            "{message}"
        );
        assert!(
            message.contains("\nhub-a:\n  - Restore ns/r\n"),
            "{message}"
        );
    }

    #[test]
    fn a_changed_one_time_restore_says_the_change_has_no_effect_once_it_ran() {
        let restore = |name: &str| {
            format!("apiVersion: cluster.open-cluster-management.io/v1beta1\nkind: Restore\nmetadata:\n  name: {name}\n  namespace: open-cluster-management-backup\n").into_bytes()
        };
        let mut new = Tree::new();
        let one_time =
            "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-activate-g3.yaml";
        let sync = "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g2.yaml";
        new.insert(one_time.into(), restore("restore-acm-activate-g3"));
        new.insert(sync.into(), restore("restore-acm-passive-sync-g2"));
        let changes = Changes {
            changes: vec![
                FileChange::Modified(one_time.into()),
                FileChange::Modified(sync.into()),
                FileChange::Added(one_time.replace("-g3", "-g4")),
            ],
        };
        new.insert(
            one_time.replace("-g3", "-g4"),
            restore("restore-acm-activate-g4"),
        );
        let grouped = by_cluster(&changes, &new, &|_: &str| None);
        let what: Vec<&str> = grouped["hub-b"].iter().map(|c| c.what.as_str()).collect();
        assert!(
            what[0].starts_with("Restore open-cluster-management-backup/restore-acm-activate-g3 (a Restore runs once: if this one already ran, the change has no effect"),
            "{what:?}"
        );
        assert_eq!(
            what[1], "Restore open-cluster-management-backup/restore-acm-passive-sync-g2",
            "the passive-sync Restore reads its spec again"
        );
        assert_eq!(
            what[2], "Restore open-cluster-management-backup/restore-acm-activate-g4",
            "a new Restore needs no note"
        );
    }
}
