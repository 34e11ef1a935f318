//! Publishing to a bare repository on this machine (`local.rs`): the commit is built in
//! memory and copied under the ref's lock. Whatever the ref's tree holds (small, large,
//! packed, loose), the update keeps every other file, the repository stays complete, and the
//! ref's log names the agent.

mod git_common;

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository, Signature};
use git_common::*;
use hubdr::status::signature::AgentKey;

/// Every object reachable from `tip` is in `repo` (what `git fsck --connectivity-only` checks).
fn assert_complete(repo: &Repository, tip: Oid) {
    let odb = repo.odb().unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip).unwrap();
    for commit in walk {
        let commit = repo.find_commit(commit.unwrap()).unwrap();
        let mut pending = vec![commit.tree_id()];
        while let Some(tree) = pending.pop() {
            assert!(odb.exists(tree), "tree {tree} is missing");
            for entry in repo.find_tree(tree).unwrap().iter() {
                match entry.kind() {
                    Some(git2::ObjectType::Tree) => pending.push(entry.id()),
                    _ => assert!(odb.exists(entry.id()), "blob {} is missing", entry.id()),
                }
            }
        }
    }
}

fn status(cluster: &str, message: &str) -> Vec<u8> {
    format!("cluster: {cluster}\nmessage: {message}\n").into_bytes()
}

/// Put a commit holding `files` on `cluster`'s status ref, on top of its tip (someone with
/// write access, or an older tool, added them).
fn add_files(repo: &Repository, cluster: &str, files: &BTreeMap<String, Vec<u8>>) {
    let refname = format!("refs/hubdr/status/{cluster}");
    let parent = repo
        .find_reference(&refname)
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let mut all = files_at(repo, parent.id());
    all.extend(files.clone());
    let tree = tree_of(repo, &all);
    let sig = Signature::now("someone", "someone@example.com").unwrap();
    repo.commit(Some(&refname), &sig, &sig, "more files", &tree, &[&parent])
        .unwrap();
}

/// A bare repository in a new temporary directory (git's configuration sandboxed): the
/// directory, the repository's path and the repository.
fn bare_remote() -> (tempfile::TempDir, std::path::PathBuf, Repository) {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    (dir, path, remote)
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn a_large_tree_on_the_ref_is_kept_and_the_repository_stays_complete() {
    let (dir, path, remote) = bare_remote();
    let key = AgentKey::from_seed([7; 32]);
    let w = writer(&path, &dir.path().join("w"));
    committed(
        w.publish_signed("hub-a", &status("hub-a", "one"), &key)
            .unwrap()
            .publish,
    );

    // More objects than are copied into memory (100 files in 10 directories), and one blob
    // larger than that limit on its own.
    let mut extra: BTreeMap<String, Vec<u8>> = (0..100)
        .map(|i| {
            (
                format!("extra/d{}/f{i}", i % 10),
                format!("{i}\n").into_bytes(),
            )
        })
        .collect();
    extra.insert("extra/big".into(), vec![b'x'; 2 << 20]);
    add_files(&remote, "hub-a", &extra);

    for message in ["two", "three"] {
        let tip = committed(
            w.publish_signed("hub-a", &status("hub-a", message), &key)
                .unwrap()
                .publish,
        );
        let files = files_at(&remote, tip);
        assert_eq!(files["clusters/hub-a.yaml"], status("hub-a", message));
        for (path, content) in &extra {
            assert_eq!(&files[path], content, "{path} was not kept");
        }
        assert_complete(&remote, tip);
    }
    let tip = status_ref(&remote, "hub-a").unwrap();
    assert_eq!(remote.find_commit(tip).unwrap().parent_count(), 1);
}

#[test]
fn after_git_gc_packs_the_ref_an_update_is_complete() {
    let (dir, path, remote) = bare_remote();
    let key = AgentKey::from_seed([8; 32]);
    let w = writer(&path, &dir.path().join("w"));
    for (i, message) in ["one", "two", "three", "four"].iter().enumerate() {
        let tip = committed(
            w.publish_signed("hub-a", &status("hub-a", message), &key)
                .unwrap()
                .publish,
        );
        assert_complete(&remote, tip);
        assert_eq!(
            files_at(&remote, tip)["clusters/hub-a.yaml"],
            status("hub-a", message)
        );
        // Packed and loose objects, and the ref itself packed, in turn.
        if i % 2 == 0 {
            git(&path, &["gc", "--quiet", "--prune=now"]);
        }
    }
    // Nothing changed: no commit, even with everything packed.
    git(&path, &["gc", "--quiet", "--prune=now"]);
    let unchanged = w
        .publish_signed("hub-a", &status("hub-a", "four"), &key)
        .unwrap()
        .publish;
    assert!(
        matches!(unchanged, hubdr_agent::git::Publish::Unchanged { .. }),
        "{unchanged:?}"
    );
}

#[test]
fn the_ref_log_names_the_agent_not_whoever_runs_it() {
    let (dir, path, remote) = bare_remote();
    remote
        .config()
        .unwrap()
        .set_str("core.logAllRefUpdates", "always")
        .unwrap();
    let w = writer(&path, &dir.path().join("w"));
    committed(w.publish("hub-a", &status("hub-a", "one")).unwrap());
    committed(w.publish("hub-a", &status("hub-a", "two")).unwrap());
    w.beat("hub-a", &status("hub-a", "two"), None).unwrap();
    let remote = Repository::open(&path).unwrap();
    for refname in ["refs/hubdr/status/hub-a", "refs/hubdr/heartbeat/hub-a"] {
        let log = remote.reflog(refname).unwrap();
        assert!(!log.is_empty(), "{refname} has no log");
        for entry in log.iter() {
            let who = entry.committer();
            assert_eq!(
                (who.name(), who.email()),
                (Some("agent"), Some("agent@example.com")),
                "{refname}"
            );
        }
    }
}

#[test]
fn a_repository_with_a_working_tree_is_refused() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkout");
    Repository::init(&path).unwrap();
    let w = writer(&path, &dir.path().join("w"));
    let err = w.publish("hub-a", &status("hub-a", "one")).unwrap_err();
    assert!(err.to_string().contains("not a bare repository"), "{err}");
    let repo = Repository::open(&path).unwrap();
    assert!(status_ref(&repo, "hub-a").is_none());
}

#[test]
fn an_unreadable_object_elsewhere_in_the_ref_does_not_stop_a_publish() {
    let (dir, path, remote) = bare_remote();
    let w = writer(&path, &dir.path().join("w"));
    committed(w.publish("hub-a", &status("hub-a", "one")).unwrap());
    // Someone adds a file to the ref, and its object is then lost (a damaged repository).
    let lost = remote.blob(b"lost\n").unwrap();
    add_files(
        &remote,
        "hub-a",
        &[("extra/lost".to_string(), b"lost\n".to_vec())].into(),
    );
    let hex = lost.to_string();
    std::fs::remove_file(path.join("objects").join(&hex[..2]).join(&hex[2..])).unwrap();
    let tip = committed(w.publish("hub-a", &status("hub-a", "two")).unwrap());
    let tree = remote.find_commit(tip).unwrap().tree().unwrap();
    let entry = tree.get_path(Path::new("clusters/hub-a.yaml")).unwrap();
    assert_eq!(
        remote.find_blob(entry.id()).unwrap().content(),
        status("hub-a", "two")
    );
    assert_eq!(
        tree.get_path(Path::new("extra/lost")).unwrap().id(),
        lost,
        "the other file is kept as it was"
    );
}
