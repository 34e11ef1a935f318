use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Signature};

use super::*;

fn status(cluster: &str, at: &str) -> Vec<u8> {
    format!("apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {cluster}\nagentVersion: t\nupdatedAt: '{at}'\nsource: {{}}\npass: {{outcome: Succeeded, reason: Applied}}\n").into_bytes()
}

/// A commit on `refname` with exactly `files`.
fn commit(repo: &Repository, refname: &str, files: &[(&str, &[u8])]) -> Oid {
    let empty = repo
        .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
        .unwrap();
    let mut update = TreeUpdateBuilder::new();
    for (path, bytes) in files {
        update.upsert(*path, repo.blob(bytes).unwrap(), FileMode::Blob);
    }
    let tree = repo
        .find_tree(update.create_updated(repo, &empty).unwrap())
        .unwrap();
    let sig = Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some(refname), &sig, &sig, "t", &tree, &[])
        .unwrap()
}

fn content(repo: &Repository, view: &Assembled, path: &str) -> Option<Vec<u8>> {
    view.files
        .get(path)
        .map(|id| repo.find_blob(*id).unwrap().content().to_vec())
}

fn repo() -> (tempfile::TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    (dir, repo)
}

#[test]
fn the_old_branch_stays_readable_and_a_cluster_ref_takes_over_its_cluster() {
    let (_d, repo) = repo();
    let (a_old, b_old) = (
        status("hub-a", "2026-12-01T10:00:00Z"),
        status("hub-b", "2026-12-01T10:00:00Z"),
    );
    commit(
        &repo,
        "refs/heads/hubdr-status",
        &[
            ("clusters/hub-a.yaml", &a_old),
            ("clusters/hub-a.sig", b"old sig a"),
            ("keys/hub-a.pub", b"pin a"),
            ("clusters/hub-b.yaml", &b_old),
            ("clusters/hub-b.sig", b"old sig b"),
        ],
    );
    let b_new = status("hub-b", "2026-12-02T10:00:00Z");
    commit(
        &repo,
        "refs/hubdr/status/hub-b",
        &[
            ("clusters/hub-b.yaml", &b_new),
            ("clusters/hub-b.sig", b"new sig b"),
            ("keys/hub-b.pub", b"pin b"),
        ],
    );
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert!(view.ignored.is_empty(), "{:?}", view.ignored);
    assert_eq!(content(&repo, &view, "clusters/hub-a.yaml"), Some(a_old));
    assert_eq!(
        content(&repo, &view, "clusters/hub-a.sig").as_deref(),
        Some(&b"old sig a"[..])
    );
    assert_eq!(content(&repo, &view, "clusters/hub-b.yaml"), Some(b_new));
    assert_eq!(
        content(&repo, &view, "clusters/hub-b.sig").as_deref(),
        Some(&b"new sig b"[..])
    );
    assert_eq!(
        content(&repo, &view, "keys/hub-b.pub").as_deref(),
        Some(&b"pin b"[..])
    );
    assert_eq!(view.origin["hub-a"], Origin::Branch);
    assert!(matches!(view.origin["hub-b"], Origin::ClusterRef(_)));
}

#[test]
fn a_newer_status_on_the_old_branch_wins_and_its_pin_is_never_replaced() {
    let (_d, repo) = repo();
    let newer = status("hub-a", "2026-12-03T10:00:00Z");
    commit(
        &repo,
        "refs/heads/hubdr-status",
        &[
            ("clusters/hub-a.yaml", &newer),
            ("clusters/hub-a.sig", b"branch sig"),
            ("keys/hub-a.pub", b"first pin"),
        ],
    );
    let older = status("hub-a", "2026-12-02T10:00:00Z");
    commit(
        &repo,
        "refs/hubdr/status/hub-a",
        &[
            ("clusters/hub-a.yaml", &older),
            ("clusters/hub-a.sig", b"ref sig"),
            ("keys/hub-a.pub", b"another pin"),
        ],
    );
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert_eq!(content(&repo, &view, "clusters/hub-a.yaml"), Some(newer));
    assert_eq!(
        content(&repo, &view, "clusters/hub-a.sig").as_deref(),
        Some(&b"branch sig"[..])
    );
    assert_eq!(
        content(&repo, &view, "keys/hub-a.pub").as_deref(),
        Some(&b"first pin"[..])
    );
}

#[test]
fn a_ref_speaks_only_for_its_own_cluster_and_hostile_names_are_ignored() {
    let (_d, repo) = repo();
    let forged = status("hub-a", "2099-01-01T00:00:00Z");
    // hub-b's ref carries a file for hub-a: not taken.
    commit(
        &repo,
        "refs/hubdr/status/hub-b",
        &[
            ("clusters/hub-a.yaml", &forged),
            ("keys/hub-a.pub", b"forged pin"),
        ],
    );
    // Names that are no cluster name: nested, upper case, dotted.
    for hostile in [
        "refs/hubdr/status/hub-a/x",
        "refs/hubdr/status/HUB-A",
        "refs/hubdr/status/hub.a",
    ] {
        commit(&repo, hostile, &[("clusters/hub-a.yaml", &forged)]);
    }
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert!(view.files.is_empty(), "{:?}", view.files);
    assert_eq!(view.ignored.len(), 3, "{:?}", view.ignored);
    assert!(view
        .ignored
        .iter()
        .any(|i| i.contains("refs/hubdr/status/hub-a/x")));
}

#[test]
fn ref_names_are_built_only_from_cluster_names() {
    assert_eq!(status_ref("hub-a").unwrap(), "refs/hubdr/status/hub-a");
    assert_eq!(heartbeat_ref("e-1").unwrap(), "refs/hubdr/heartbeat/e-1");
    for bad in [
        "", "../x", "a/b", "Hub", "-a", "a-", "a.b", "*", "a:b", "a b",
    ] {
        assert!(status_ref(bad).is_err(), "{bad}");
        assert!(heartbeat_ref(bad).is_err(), "{bad}");
    }
    assert_eq!(cluster_of_ref("refs/hubdr/status/hub-a"), Some("hub-a"));
    assert_eq!(cluster_of_ref("refs/hubdr/status/a/b"), None);
    assert_eq!(cluster_of_ref("refs/heads/hub-a"), None);
}

#[test]
fn the_timeline_is_the_history_of_the_cluster_ref() {
    let (_d, repo) = repo();
    let first = commit(
        &repo,
        "refs/hubdr/status/hub-a",
        &[("clusters/hub-a.yaml", b"1")],
    );
    let tree = repo.find_commit(first).unwrap().tree().unwrap();
    let sig = Signature::new("t", "t@example.com", &git2::Time::new(2_000_000_000, 0)).unwrap();
    let parent = repo.find_commit(first).unwrap();
    let second = repo
        .commit(
            Some("refs/hubdr/status/hub-a"),
            &sig,
            &sig,
            "t",
            &tree,
            &[&parent],
        )
        .unwrap();
    let changes = timeline(&repo, "hub-a", 10).unwrap();
    assert_eq!(
        changes.iter().map(|c| c.commit).collect::<Vec<_>>(),
        vec![second, first]
    );
    assert_eq!(changes[0].time, 2_000_000_000);
    assert!(changes[0].status.is_some());
    assert!(timeline(&repo, "../x", 10).is_err());
    assert!(timeline(&repo, "hub-b", 10).unwrap().is_empty());
}

#[test]
fn a_status_from_the_future_does_not_hide_a_real_one() {
    let (_d, repo) = repo();
    let real = status("hub-a", "2026-12-02T10:00:00Z");
    commit(
        &repo,
        "refs/heads/hubdr-status",
        &[("clusters/hub-a.yaml", &real)],
    );
    let future = status("hub-a", "2099-01-01T00:00:00Z");
    commit(
        &repo,
        "refs/hubdr/status/hub-a",
        &[("clusters/hub-a.yaml", &future)],
    );
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert_eq!(content(&repo, &view, "clusters/hub-a.yaml"), Some(real));
}

#[test]
fn a_newer_heartbeat_overlays_its_own_clusters_status_and_signature_only() {
    let (_d, repo) = repo();
    let committed = status("hub-a", "2026-12-01T10:00:00Z");
    commit(
        &repo,
        "refs/hubdr/status/hub-a",
        &[
            ("clusters/hub-a.yaml", &committed),
            ("clusters/hub-a.sig", b"sig 1"),
            ("keys/hub-a.pub", b"pin a"),
        ],
    );
    let beat = status("hub-a", "2026-12-01T10:40:00Z");
    commit(
        &repo,
        "refs/hubdr/heartbeat/hub-a",
        &[
            ("clusters/hub-a.yaml", &beat),
            ("clusters/hub-a.sig", b"sig 2"),
            // Neither a pin nor another cluster's status is taken from a heartbeat.
            ("keys/hub-a.pub", b"pin mallory"),
            (
                "clusters/hub-b.yaml",
                &status("hub-b", "2026-12-01T10:40:00Z"),
            ),
        ],
    );
    // A cluster with only a heartbeat (no status ref, no branch entry) is not brought in.
    commit(
        &repo,
        "refs/hubdr/heartbeat/hub-c",
        &[(
            "clusters/hub-c.yaml",
            &status("hub-c", "2026-12-01T10:40:00Z"),
        )],
    );
    // An older agent's heartbeat: an empty tree.
    commit(&repo, "refs/hubdr/heartbeat/hub-d", &[]);
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert!(view.ignored.is_empty(), "{:?}", view.ignored);
    assert_eq!(content(&repo, &view, "clusters/hub-a.yaml"), Some(beat));
    assert_eq!(
        content(&repo, &view, "clusters/hub-a.sig").as_deref(),
        Some(&b"sig 2"[..])
    );
    assert_eq!(
        content(&repo, &view, "keys/hub-a.pub").as_deref(),
        Some(&b"pin a"[..])
    );
    assert!(matches!(view.origin["hub-a"], Origin::Heartbeat(_)));
    assert_eq!(
        view.files.keys().collect::<Vec<_>>(),
        [
            "clusters/hub-a.sig",
            "clusters/hub-a.yaml",
            "keys/hub-a.pub"
        ]
    );
}

#[test]
fn an_older_or_undated_heartbeat_leaves_the_status_ref_in_place() {
    let (_d, repo) = repo();
    let committed = status("hub-a", "2026-12-01T10:00:00Z");
    commit(
        &repo,
        "refs/hubdr/status/hub-a",
        &[
            ("clusters/hub-a.yaml", &committed),
            ("clusters/hub-a.sig", b"sig"),
        ],
    );
    for beat in [
        status("hub-a", "2026-12-01T09:00:00Z"),
        status("hub-a", "2026-12-01T10:00:00Z"),
        status("hub-a", "2999-01-01T00:00:00Z"),
        b"updatedAt: not a time\n".to_vec(),
    ] {
        if let Ok(mut old) = repo.find_reference("refs/hubdr/heartbeat/hub-a") {
            old.delete().unwrap();
        }
        commit(
            &repo,
            "refs/hubdr/heartbeat/hub-a",
            &[("clusters/hub-a.yaml", &beat)],
        );
        let view = read(&repo, "refs/heads/hubdr-status").unwrap();
        assert_eq!(
            content(&repo, &view, "clusters/hub-a.yaml"),
            Some(committed.clone())
        );
        assert!(matches!(view.origin["hub-a"], Origin::ClusterRef(_)));
    }
    // A heartbeat ref whose name is no cluster name is ignored with a reason.
    commit(&repo, "refs/hubdr/heartbeat/Hub-A", &[]);
    let view = read(&repo, "refs/heads/hubdr-status").unwrap();
    assert_eq!(view.ignored.len(), 1, "{:?}", view.ignored);
}
