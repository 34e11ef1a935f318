//! Fetch and status publishing over a network transport (git://, served by `git daemon` on
//! loopback), where pushes go through git's receive-pack and its compare-and-swap.

mod git_common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use git_common::{bare, commit_files, files_at, sandbox, tip, GitDaemon};
use hubdr_agent::git::{
    Credentials, GitError, GitSource, Identity, Publish, RetryPolicy, StatusWriter,
};

const BRANCH: &str = StatusWriter::DEFAULT_BRANCH;

fn daemon(base: &std::path::Path) -> Option<GitDaemon> {
    let daemon = GitDaemon::start(base);
    if daemon.is_none() {
        eprintln!("skipped: no `git` binary to run `git daemon`");
    }
    daemon
}

fn writer(url: &str, cache: &std::path::Path) -> StatusWriter {
    StatusWriter::new(url, BRANCH, cache, Credentials::None, Identity::default())
}

#[test]
fn fetches_over_the_network_into_the_cache() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let remote = bare(&dir.path().join("site.git"));
    let Some(daemon) = daemon(dir.path()) else {
        return;
    };
    let first = commit_files(
        &remote,
        "main",
        &[("clusters/a/x.yaml".to_string(), b"x\n".to_vec())].into(),
        "first",
    );
    let source = GitSource::new(
        daemon.url("site.git"),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    let fetched = source.fetch().unwrap();
    assert_eq!(fetched.commit(), first);
    assert_eq!(fetched.read("clusters/a/x.yaml").unwrap().unwrap(), b"x\n");

    let second = commit_files(
        &remote,
        "main",
        &[("b.txt".to_string(), b"b".to_vec())].into(),
        "second",
    );
    assert_eq!(source.fetch().unwrap().commit(), second);

    let err = GitSource::new(
        daemon.url("site.git"),
        "nope",
        dir.path().join("cache"),
        Credentials::None,
    )
    .fetch()
    .unwrap_err();
    assert!(matches!(err, GitError::MissingBranch { .. }), "{err:?}");
}

#[test]
fn publishes_status_over_the_network() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let remote = bare(&dir.path().join("site.git"));
    let Some(daemon) = daemon(dir.path()) else {
        return;
    };
    let url = daemon.url("site.git");
    let a = writer(&url, &dir.path().join("cache-a"));
    let b = writer(&url, &dir.path().join("cache-b"));

    let Publish::Committed { commit: first, .. } = a.publish("hub-a", b"a1\n").unwrap() else {
        panic!("the first publish creates the cluster's ref");
    };
    assert_eq!(remote.find_commit(first).unwrap().parent_count(), 0);
    let Publish::Committed { commit: b1, .. } = b.publish("hub-b", b"b1\n").unwrap() else {
        panic!("expected a commit");
    };
    assert_eq!(
        a.publish("hub-a", b"a1\n").unwrap(),
        Publish::Unchanged { commit: first }
    );
    let Publish::Committed {
        commit: third,
        attempts,
    } = a.publish("hub-a", b"a2\n").unwrap()
    else {
        panic!("expected a commit");
    };
    assert_eq!(attempts, 1);
    assert_eq!(
        remote.find_commit(third).unwrap().parent_id(0).unwrap(),
        first
    );
    assert_eq!(
        remote.refname_to_id("refs/hubdr/status/hub-a").ok(),
        Some(third)
    );
    assert_eq!(
        remote.refname_to_id("refs/hubdr/status/hub-b").ok(),
        Some(b1)
    );
    assert_eq!(tip(&remote, BRANCH), None);
    // Heartbeats replace the heartbeat ref (a forced update over the network).
    for _ in 0..2 {
        a.beat("hub-a", b"a2\n", None).unwrap();
        assert_eq!(
            remote.refname_to_id("refs/hubdr/status/hub-a").ok(),
            Some(third),
            "a heartbeat does not touch the status ref"
        );
        let beat = remote.refname_to_id("refs/hubdr/heartbeat/hub-a").unwrap();
        assert_eq!(remote.find_commit(beat).unwrap().parent_count(), 0);
        std::thread::sleep(Duration::from_millis(1100));
    }
    // A reader fetches every cluster's ref with one glob refspec.
    let read = GitSource::new(&url, BRANCH, dir.path().join("cache-r"), Credentials::None)
        .fetch_statuses()
        .unwrap();
    assert_eq!(
        read.files,
        [
            ("clusters/hub-a.yaml".to_string(), b"a2\n".to_vec()),
            ("clusters/hub-b.yaml".to_string(), b"b1\n".to_vec())
        ]
        .into()
    );
    // Every ref the caches keep points at an object they have (none at a commit that only
    // ever lived in memory), so the next fetch negotiates without a cache reset.
    for cache in [a.cache_path(), b.cache_path()] {
        let repo = git2::Repository::open_bare(cache).unwrap();
        for reference in repo.references().unwrap() {
            let reference = reference.unwrap();
            let target = reference.target().unwrap();
            assert!(
                repo.find_commit(target).is_ok(),
                "{:?} dangles",
                reference.name()
            );
        }
    }
    assert_eq!(files_at(&remote, third)["clusters/hub-a.yaml"], b"a2\n");
}

#[test]
fn network_writers_at_once_all_land_at_the_first_attempt() {
    sandbox();
    const WRITERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let remote = bare(&dir.path().join("site.git"));
    let Some(daemon) = daemon(dir.path()) else {
        return;
    };
    let url = daemon.url("site.git");
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (url, cache, barrier) = (
                url.clone(),
                dir.path().join(format!("cache-{i}")),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                let w = writer(&url, &cache).with_retry(RetryPolicy {
                    max_attempts: 100,
                    base_delay: Duration::from_millis(5),
                    max_delay: Duration::from_millis(300),
                });
                barrier.wait();
                let mut retries = 0;
                for update in 1..=2 {
                    match w.publish(&format!("w-{i}"), format!("{update}\n").as_bytes()) {
                        Ok(Publish::Committed { attempts, .. }) => retries += attempts - 1,
                        other => panic!("w-{i}: {other:?}"),
                    }
                }
                retries
            })
        })
        .collect();
    let retries: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    // Every writer owns its ref: no push is ever refused.
    assert_eq!(retries, 0, "pushes were refused");
    for i in 0..WRITERS {
        let head = remote
            .refname_to_id(&format!("refs/hubdr/status/w-{i}"))
            .unwrap();
        assert_eq!(
            files_at(&remote, head)[&format!("clusters/w-{i}.yaml")],
            b"2\n"
        );
        let mut walk = remote.revwalk().unwrap();
        walk.push(head).unwrap();
        assert_eq!(walk.count(), 2);
    }
}

/// A server rule that refuses forced updates of `refs/hubdr/heartbeat/*` (here a pre-receive
/// hook, as self-hosted forges allow; git's own `receive.denyNonFastForwards` covers only
/// `refs/heads/*`) refuses to replace a heartbeat with a clear error; the status ref
/// (fast-forwards only) is still accepted.
#[test]
fn a_server_that_refuses_forced_updates_refuses_the_heartbeat_not_the_status() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let remote = bare(&dir.path().join("site.git"));
    let hook = remote.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\n\
         while read old new ref; do\n\
           case \"$ref\" in refs/hubdr/heartbeat/*)\n\
             if [ \"$old\" != 0000000000000000000000000000000000000000 ] && \
                ! git merge-base --is-ancestor \"$old\" \"$new\"; then\n\
               echo \"forced updates of $ref are not allowed\" >&2; exit 1\n\
             fi;;\n\
           esac\n\
         done\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let Some(daemon) = daemon(dir.path()) else {
        return;
    };
    let w = writer(&daemon.url("site.git"), &dir.path().join("cache"));
    w.beat("west-1", b"cluster: west-1\nn: 1\n", None).unwrap();
    let first = remote.refname_to_id("refs/hubdr/heartbeat/west-1").unwrap();
    let err = w
        .beat("west-1", b"cluster: west-1\nn: 2\n", None)
        .unwrap_err();
    assert!(matches!(err, GitError::Rejected { .. }), "{err:?}");
    assert_eq!(
        remote.refname_to_id("refs/hubdr/heartbeat/west-1").unwrap(),
        first
    );
    for n in 1..3 {
        let publish = w
            .publish("west-1", format!("cluster: west-1\nn: {n}\n").as_bytes())
            .unwrap();
        assert!(matches!(publish, Publish::Committed { .. }), "{publish:?}");
    }
}
