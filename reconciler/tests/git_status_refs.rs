//! Status at fleet scale: one ref per cluster (`refs/hubdr/status/<cluster>`), one push per
//! update, heartbeats that add no history, the old shared branch still read, and refs that
//! cannot speak for another cluster.

mod git_common;

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository, Signature};
use git_common::*;
use hubdr::status::signature::{parse_pin, pin_text, AgentKey};
use hubdr::status::trust::PinMemory;
use hubdr_agent::git::{Credentials, GitSource, Pin, Publish};

fn history(repo: &Repository, tip: Oid) -> Vec<Oid> {
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip).unwrap();
    walk.map(Result::unwrap).collect()
}

fn status(cluster: &str, at: &str, message: &str) -> Vec<u8> {
    format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {cluster}\nagentVersion: t\nupdatedAt: '{at}'\n\
         source: {{}}\npass: {{outcome: Succeeded, reason: Applied, message: {message}}}\n"
    )
    .into_bytes()
}

/// A commit on the old shared status branch holding exactly `files`, as older agents wrote it.
fn old_branch(repo: &Repository, files: &[(String, Vec<u8>)]) -> Oid {
    let tree = tree_of(repo, files.iter().map(|(p, b)| (p, b)));
    let sig = Signature::now("old agent", "old@example.com").unwrap();
    repo.commit(
        Some(&format!("refs/heads/{BRANCH}")),
        &sig,
        &sig,
        "status",
        &tree,
        &[],
    )
    .unwrap()
}

fn signed_files(cluster: &str, content: &[u8], key: &AgentKey) -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("clusters/{cluster}.yaml"), content.to_vec()),
        (
            format!("clusters/{cluster}.sig"),
            key.sign(cluster, content).to_text().into_bytes(),
        ),
        (
            format!("keys/{cluster}.pub"),
            pin_text(cluster, &key.public()).into_bytes(),
        ),
    ]
}

fn read_statuses(remote: &Path, cache: &Path) -> hubdr_agent::statuses::Statuses {
    let source = GitSource::new(file_url(remote), BRANCH, cache, Credentials::None);
    hubdr_agent::statuses::read(&source, &BTreeMap::new(), &mut PinMemory::default())
}

/// The statuses `hubdr status` sees (it reads the heartbeat refs too): the status view of the
/// repository itself, checked against the pinned keys.
fn read_with_heartbeats(repo: &Repository) -> hubdr::status::trust::BranchStatuses {
    let mut view = hubdr::status::refs::read(repo, &format!("refs/heads/{BRANCH}")).unwrap();
    let files = view
        .load(repo, hubdr::limits::STATUS_FILE_MAX_BYTES)
        .unwrap();
    hubdr::status::trust::read_branch(&files, &BTreeMap::new(), None, jiff::Timestamp::now())
}

#[test]
fn agents_publishing_at_once_each_land_with_one_push_attempt_on_their_own_ref() {
    sandbox();
    const AGENTS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let publishes = writers_at_once(
        &path,
        dir.path(),
        AGENTS,
        |w| w,
        |i, w| {
            w.publish(&format!("agent-{i}"), format!("agent: {i}\n").as_bytes())
                .unwrap()
        },
    );
    let attempts: Vec<u32> = publishes
        .into_iter()
        .map(|publish| match publish {
            Publish::Committed { attempts, .. } => attempts,
            other => panic!("expected a commit, got {other:?}"),
        })
        .collect();
    assert!(
        attempts.iter().all(|a| *a == 1),
        "push attempts per update: {attempts:?}"
    );
    for i in 0..AGENTS {
        let cluster = format!("agent-{i}");
        let tip = status_ref(&remote, &cluster).unwrap_or_else(|| panic!("no ref for {cluster}"));
        assert_eq!(
            files_at(&remote, tip),
            [(
                format!("clusters/{cluster}.yaml"),
                format!("agent: {i}\n").into_bytes()
            )]
            .into(),
            "{cluster}'s ref holds its own file only"
        );
        assert_eq!(history(&remote, tip).len(), 1);
    }
    assert_eq!(
        tip(&remote, BRANCH),
        None,
        "the shared branch is not written"
    );
}

#[test]
fn heartbeats_do_not_grow_the_status_history_and_carry_the_newest_status() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let w = writer(&path, &dir.path().join("cache"));
    let key = AgentKey::from_seed([3; 32]);
    let committed = status("hub-a", "2026-12-01T10:00:00Z", "committed");
    let first = w.publish_signed("hub-a", &committed, &key).unwrap().publish;
    let Publish::Committed { commit: first, .. } = first else {
        panic!("expected a commit, got {first:?}");
    };
    // 25 heartbeats, each with a newer status (as when only sync times move).
    let mut newest = Vec::new();
    for minute in 10..35 {
        newest = status("hub-a", &format!("2026-12-01T10:{minute}:00Z"), "beat");
        w.beat("hub-a", &newest, Some(&key)).unwrap();
    }
    // The status history holds the one commit; the 25 heartbeats are not in it.
    let tip = status_ref(&remote, "hub-a").expect("hub-a's status ref");
    assert_eq!(history(&remote, tip), vec![first]);
    // Liveness: one parentless commit, replaced by every heartbeat, holding the newest status
    // and its signature but never a pin.
    let beat = remote
        .refname_to_id("refs/hubdr/heartbeat/hub-a")
        .expect("a heartbeat ref");
    let beat = remote.find_commit(beat).unwrap();
    assert_eq!(beat.parent_count(), 0);
    assert!(beat.message().unwrap().contains("heartbeat"));
    let files = files_at(&remote, beat.id());
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["clusters/hub-a.sig", "clusters/hub-a.yaml"]
    );
    assert_eq!(files["clusters/hub-a.yaml"], newest);
    // `hubdr status` sees the heartbeat's newer status, signed and trusted.
    let read = read_with_heartbeats(&remote);
    assert_eq!(read.trusted["hub-a"].pass.message, "beat");
    assert_eq!(read.trusted["hub-a"].updated_at, "2026-12-01T10:34:00Z");
    // Agents (gates, late binding) fetch the status refs only: they read no volatile value.
    let read = read_statuses(&path, &dir.path().join("read"));
    assert_eq!(read.trusted["hub-a"].pass.message, "committed");
}

#[test]
fn a_heartbeat_cannot_hide_a_newer_status_bring_a_cluster_or_change_a_key() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let w = writer(&path, &dir.path().join("cache"));
    let key = AgentKey::from_seed([4; 32]);
    let mallory = AgentKey::from_seed([5; 32]);
    let _ = w.beat(
        "hub-a",
        &status("hub-a", "2026-12-01T09:00:00Z", "early"),
        Some(&key),
    );
    let current = status("hub-a", "2026-12-01T10:00:00Z", "current");
    let _ = w.publish_signed("hub-a", &current, &key).unwrap();
    // An older heartbeat (written before the commit) does not win over the status ref.
    let read = read_with_heartbeats(&remote);
    assert_eq!(read.trusted["hub-a"].pass.message, "current");
    // A newer heartbeat signed by another key is refused, not taken: the pin stands.
    w.beat(
        "hub-a",
        &status("hub-a", "2026-12-01T11:00:00Z", "forged"),
        Some(&mallory),
    )
    .unwrap();
    let read = read_with_heartbeats(&remote);
    assert!(!read.trusted.contains_key("hub-a"));
    assert!(read.refused.contains_key("hub-a"));
    let pin = files_at(&remote, status_ref(&remote, "hub-a").unwrap())["keys/hub-a.pub"].clone();
    assert_eq!(parse_pin(&pin).unwrap(), key.public());
    // A heartbeat of a cluster with no status ref brings nothing, signed or not; a heartbeat
    // ref whose name is no cluster name is ignored.
    w.beat(
        "hub-b",
        &status("hub-b", "2026-12-01T11:00:00Z", "only a heartbeat"),
        Some(&key),
    )
    .unwrap();
    let beat = remote.refname_to_id("refs/hubdr/heartbeat/hub-b").unwrap();
    remote
        .reference("refs/hubdr/heartbeat/HUB-A", beat, true, "forge")
        .unwrap();
    let read = read_with_heartbeats(&remote);
    assert!(!read.trusted.contains_key("hub-b"));
    assert!(!read.refused.contains_key("hub-b"));
    assert!(!read.trusted.contains_key("HUB-A"));
}

#[test]
fn the_old_branch_stays_readable_and_the_first_update_moves_a_cluster_over() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let (key_a, key_b) = (AgentKey::from_seed([10; 32]), AgentKey::from_seed([11; 32]));
    let a_old = status("hub-a", "2026-12-01T10:00:00Z", "old");
    let b_old = status("hub-b", "2026-12-01T10:00:00Z", "old");
    let mut files = signed_files("hub-a", &a_old, &key_a);
    files.extend(signed_files("hub-b", &b_old, &key_b));
    let old_tip = old_branch(&remote, &files);

    let before = read_statuses(&path, &dir.path().join("read-1"));
    assert_eq!(before.trusted["hub-a"].pass.message, "old");
    assert_eq!(before.trusted["hub-b"].pass.message, "old");

    // hub-b's new agent reports: its ref starts, carrying the pin of the old branch.
    let b_new = status("hub-b", "2026-12-02T10:00:00Z", "new");
    let published = writer(&path, &dir.path().join("w-b"))
        .publish_signed("hub-b", &b_new, &key_b)
        .unwrap();
    assert_eq!(published.pin, Pin::Ours);
    assert_eq!(
        tip(&remote, BRANCH),
        Some(old_tip),
        "the old branch is left alone"
    );
    let b_ref = status_ref(&remote, "hub-b").expect("hub-b moved to its own ref");
    assert_eq!(files_at(&remote, b_ref)["clusters/hub-b.yaml"], b_new);

    let after = read_statuses(&path, &dir.path().join("read-2"));
    assert!(after.refused.is_empty(), "{:?}", after.refused);
    assert_eq!(after.trusted["hub-a"].pass.message, "old");
    assert_eq!(after.trusted["hub-b"].pass.message, "new");

    // A new key for hub-a does not replace the pin the old branch holds: the new ref carries
    // the old pin, and the agent is told.
    let other = AgentKey::from_seed([12; 32]);
    let a_new = status("hub-a", "2026-12-02T10:00:00Z", "new");
    let published = writer(&path, &dir.path().join("w-a"))
        .publish_signed("hub-a", &a_new, &other)
        .unwrap();
    assert!(matches!(published.pin, Pin::Other(_)), "{published:?}");
    let a_ref = status_ref(&remote, "hub-a").unwrap();
    assert_eq!(
        parse_pin(&files_at(&remote, a_ref)["keys/hub-a.pub"]).unwrap(),
        key_a.public()
    );
    let read = read_statuses(&path, &dir.path().join("read-3"));
    assert!(read.refusal("hub-a").is_some(), "{read:?}");
}

#[test]
fn a_status_ref_speaks_only_for_its_own_cluster() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let key_a = AgentKey::from_seed([20; 32]);
    let real = status("hub-a", "2026-12-01T10:00:00Z", "real");
    let _ = writer(&path, &dir.path().join("w-a"))
        .publish_signed("hub-a", &real, &key_a)
        .unwrap();
    // Someone with write access adds refs claiming hub-a: in hub-b's ref, and under names
    // that are no cluster name. All are signed with hub-a's real key (a replayed status).
    let forged = status("hub-a", "2026-12-05T10:00:00Z", "forged");
    let mut files = signed_files("hub-a", &forged, &key_a);
    files.push(("clusters/hub-b.yaml".into(), b"not yaml: [".to_vec()));
    let commit = old_branch_free_commit(&remote, &files);
    for name in [
        "refs/hubdr/status/hub-b",
        "refs/hubdr/status/HUB-A",
        "refs/hubdr/status/x/hub-a",
    ] {
        remote.reference(name, commit, true, "forge").unwrap();
    }
    let read = read_statuses(&path, &dir.path().join("read"));
    assert_eq!(read.trusted["hub-a"].pass.message, "real");
    assert!(
        read.refusal("hub-b").is_some(),
        "hub-b's ref is read as hub-b's"
    );
    assert!(!read.trusted.contains_key("HUB-A"));
}

/// A root commit with `files`, on no ref.
fn old_branch_free_commit(repo: &Repository, files: &[(String, Vec<u8>)]) -> Oid {
    let tree = tree_of(repo, files.iter().map(|(p, b)| (p, b)));
    let sig = Signature::now("mallory", "m@example.com").unwrap();
    repo.commit(None, &sig, &sig, "forge", &tree, &[]).unwrap()
}
