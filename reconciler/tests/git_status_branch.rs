//! StatusWriter: one status ref per agent (`refs/hubdr/status/<cluster>`), never losing an
//! update; readers merge them (and the older shared branch) into one view.

mod git_common;

use std::time::Duration;

use git2::{Delta, Repository};
use git_common::*;
use hubdr_agent::git::{GitError, Publish, RetryPolicy, StatusWriter};

/// Every status file as readers see it.
fn view(repo: &Repository) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut view = hubdr::status::refs::read(repo, &format!("refs/heads/{BRANCH}")).unwrap();
    view.load(repo, u64::MAX).unwrap()
}

fn changed_paths(repo: &Repository, commit: git2::Oid) -> Vec<(Delta, String)> {
    let commit = repo.find_commit(commit).unwrap();
    let old = commit.parent(0).unwrap().tree().unwrap();
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&commit.tree().unwrap()), None)
        .unwrap();
    diff.deltas()
        .map(|d| {
            let path = d.new_file().path().unwrap().display().to_string();
            (d.status(), path)
        })
        .collect()
}

#[test]
fn the_first_publish_creates_the_cluster_ref_as_an_orphan() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    // The rendered branch exists; the status ref must not share its history.
    git_common::commit_files(
        &remote,
        "main",
        &[("README.md".to_string(), b"x".to_vec())].into(),
        "render",
    );
    let commit = committed(
        writer(&path, &dir.path().join("cache"))
            .publish("hub-a", b"phase: ok\n")
            .unwrap(),
    );
    assert_eq!(status_ref(&remote, "hub-a"), Some(commit));
    assert_eq!(tip(&remote, BRANCH), None);
    let commit = remote.find_commit(commit).unwrap();
    assert_eq!(commit.parent_count(), 0);
    assert_eq!(commit.author().name(), Some("agent"));
    assert_eq!(
        files_at(&remote, commit.id()),
        [("clusters/hub-a.yaml".to_string(), b"phase: ok\n".to_vec())].into()
    );
}

#[test]
fn unchanged_content_makes_no_commit_and_changed_content_only_touches_our_file() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let a = writer(&path, &dir.path().join("cache-a"));
    let b = writer(&path, &dir.path().join("cache-b"));
    let before = committed(a.publish("hub-a", b"a: 1\n").unwrap());
    committed(b.publish("hub-b", b"b: 1\n").unwrap());

    assert_eq!(
        a.publish("hub-a", b"a: 1\n").unwrap(),
        Publish::Unchanged { commit: before }
    );
    assert_eq!(status_ref(&remote, "hub-a"), Some(before));

    let after = committed(a.publish("hub-a", b"a: 2\n").unwrap());
    assert_eq!(
        remote.find_commit(after).unwrap().parent_id(0).unwrap(),
        before
    );
    assert_eq!(
        changed_paths(&remote, after),
        [(Delta::Modified, "clusters/hub-a.yaml".to_string())]
    );
    let files = view(&remote);
    assert_eq!(files["clusters/hub-a.yaml"], b"a: 2\n");
    assert_eq!(files["clusters/hub-b.yaml"], b"b: 1\n");
}

#[test]
fn a_second_update_after_others_wrote_keeps_their_files() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let me = writer(&path, &dir.path().join("me"));
    committed(me.publish("east-1", b"v1\n").unwrap());
    for other in ["hub-a", "hub-b", "west-1"] {
        let w = writer(&path, &dir.path().join(other));
        committed(w.publish(other, format!("{other}\n").as_bytes()).unwrap());
    }
    // Nobody else writes `me`'s ref: it builds on its own previous commit.
    let mine = committed(me.publish("east-1", b"v2\n").unwrap());
    assert_eq!(remote.find_commit(mine).unwrap().parent_count(), 1);
    let files = view(&remote);
    assert_eq!(files.len(), 4);
    assert_eq!(files["clusters/east-1.yaml"], b"v2\n");
    for other in ["hub-a", "hub-b", "west-1"] {
        assert_eq!(
            files[&format!("clusters/{other}.yaml")],
            format!("{other}\n").as_bytes()
        );
    }
}

#[test]
fn fifty_writers_at_once_all_land() {
    sandbox();
    const WRITERS: usize = 50;
    const UPDATES: usize = 2;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let patient = |w: StatusWriter| {
        w.with_retry(RetryPolicy {
            max_attempts: 200,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(500),
        })
    };
    writers_at_once(&path, dir.path(), WRITERS, patient, |i, w| {
        for update in 1..=UPDATES {
            let content = format!("agent: {i}\nupdate: {update}\n");
            committed(
                w.publish(&format!("agent-{i}"), content.as_bytes())
                    .unwrap(),
            );
        }
    });
    let files = view(&remote);
    assert_eq!(files.len(), WRITERS);
    for i in 0..WRITERS {
        assert_eq!(
            files[&format!("clusters/agent-{i}.yaml")],
            format!("agent: {i}\nupdate: {UPDATES}\n").as_bytes(),
            "agent-{i}"
        );
        // Every update is one commit on the agent's linear history: none was dropped.
        let mut walk = remote.revwalk().unwrap();
        walk.push(status_ref(&remote, &format!("agent-{i}")).unwrap())
            .unwrap();
        let commits: Vec<_> = walk
            .map(|c| remote.find_commit(c.unwrap()).unwrap())
            .collect();
        assert_eq!(commits.len(), UPDATES);
        assert!(commits.iter().all(|c| c.parent_count() <= 1));
    }
}

#[test]
fn writers_sharing_one_cache_dir_take_turns() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let cache = dir.path().join("shared-cache");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (path, cache) = (path.clone(), cache.clone());
            std::thread::spawn(move || {
                committed(
                    writer(&path, &cache)
                        .publish(&format!("c-{i}"), b"ok\n")
                        .unwrap(),
                )
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(view(&remote).len(), 8);
}

#[test]
fn bad_inputs_and_unreachable_remotes_are_reported() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    bare(&path);
    let w = writer(&path, &dir.path().join("cache"));
    let err = w.publish("../escape", b"x").unwrap_err();
    assert!(matches!(err, GitError::InvalidCluster { .. }), "{err:?}");

    let gone = writer(&dir.path().join("gone.git"), &dir.path().join("cache2"));
    let err = gone.publish("hub-a", b"x").unwrap_err();
    assert!(matches!(err, GitError::Unreachable { .. }), "{err:?}");
}

#[test]
fn a_non_bare_remote_is_refused_without_touching_it() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkout");
    let repo = Repository::init(&path).unwrap();
    let w = writer(&path, &dir.path().join("cache"));
    let err = w.publish("hub-a", b"x").unwrap_err();
    assert!(matches!(err, GitError::Rejected { .. }), "{err:?}");
    assert!(repo.find_reference("refs/hubdr/status/hub-a").is_err());
}

#[test]
fn writers_creating_their_refs_at_once_all_land() {
    sandbox();
    const WRITERS: usize = 12;
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.git");
        let remote = bare(&path);
        let patient = |w: StatusWriter| {
            w.with_retry(RetryPolicy {
                max_attempts: 100,
                base_delay: Duration::from_millis(2),
                max_delay: Duration::from_millis(100),
            })
        };
        writers_at_once(&path, dir.path(), WRITERS, patient, |i, w| {
            committed(w.publish(&format!("w-{i}"), b"ok\n").unwrap())
        });
        let files = view(&remote);
        assert_eq!(files.len(), WRITERS, "round {round}: {:?}", files.keys());
    }
}

#[test]
fn a_signed_publish_writes_the_signature_and_pins_the_key_once() {
    use hubdr::status::signature::{parse_pin, AgentKey, StatusSignature};
    use hubdr_agent::git::Pin;
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let key = AgentKey::from_seed([1; 32]);
    let w = writer(&path, &dir.path().join("cache"));

    let first = w.publish_signed("hub-a", b"a: 1\n", &key).unwrap();
    assert_eq!(first.pin, Pin::Ours);
    let files = files_at(&remote, committed(first.publish));
    let signature = StatusSignature::parse(&files["clusters/hub-a.sig"]).unwrap();
    assert!(signature.verifies("hub-a", b"a: 1\n"));
    assert_eq!(parse_pin(&files["keys/hub-a.pub"]).unwrap(), key.public());
    // The same content again: nothing to push.
    let again = w.publish_signed("hub-a", b"a: 1\n", &key).unwrap();
    assert!(matches!(again.publish, Publish::Unchanged { .. }));

    // Another key (a new Secret, or someone else) does not replace the pin, and is told so.
    let other = AgentKey::from_seed([2; 32]);
    let second = w.publish_signed("hub-a", b"a: 2\n", &other).unwrap();
    let Pin::Other(why) = &second.pin else {
        panic!("expected another pin: {second:?}");
    };
    assert!(
        why.contains(&format!("pins key id {}", key.public().id())),
        "{why}"
    );
    let files = files_at(&remote, committed(second.publish));
    assert_eq!(parse_pin(&files["keys/hub-a.pub"]).unwrap(), key.public());
    assert!(StatusSignature::parse(&files["clusters/hub-a.sig"])
        .unwrap()
        .verifies("hub-a", b"a: 2\n"));
}
