//! GitSource: fetching one branch of a local or unreachable remote into the bare cache.

mod git_common;

use std::collections::BTreeMap;

use git_common::{bare, commit_files, file_url, sandbox};
use hubdr_agent::git::{Credentials, GitError, GitSource, Secret};

fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect()
}

#[test]
fn fetches_over_file_url_without_a_working_tree() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let remote = bare(&dir.path().join("remote.git"));
    let commit = commit_files(
        &remote,
        "main",
        &files(&[("clusters/a/x.yaml", "x: 1\n"), ("README.md", "hi\n")]),
        "first",
    );
    let source = GitSource::new(
        file_url(&dir.path().join("remote.git")),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    let fetched = source.fetch().unwrap();
    assert_eq!(fetched.commit(), commit);
    assert_eq!(fetched.read("README.md").unwrap().unwrap(), b"hi\n");
    assert_eq!(fetched.read("nope.txt").unwrap(), None);
    assert_eq!(
        fetched.read("clusters").unwrap(),
        None,
        "a directory is not a file"
    );
    let under = fetched.files_under("clusters/a").unwrap();
    assert_eq!(under.keys().collect::<Vec<_>>(), ["clusters/a/x.yaml"]);
    assert!(fetched.files_under("clusters/b/").unwrap().is_empty());

    let cache = git2::Repository::open(source.cache_path()).unwrap();
    assert!(cache.is_bare(), "the cache has no working tree");
}

#[test]
fn fetches_from_a_plain_path_and_sees_new_commits() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let first = commit_files(&remote, "main", &files(&[("a.txt", "1")]), "first");
    let source = GitSource::new(
        path.display().to_string(),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    assert_eq!(source.fetch().unwrap().commit(), first);

    let second = commit_files(&remote, "main", &files(&[("a.txt", "2")]), "second");
    let fetched = source.fetch().unwrap();
    assert_eq!(fetched.commit(), second);
    assert_eq!(fetched.read("a.txt").unwrap().unwrap(), b"2");

    // Nothing new: the same commit, no error.
    assert_eq!(source.fetch().unwrap().commit(), second);
}

#[test]
fn only_the_requested_branch_is_fetched() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let main = commit_files(&remote, "main", &files(&[("a.txt", "main")]), "main");
    commit_files(&remote, "other", &files(&[("a.txt", "other")]), "other");
    let source = GitSource::new(
        file_url(&path),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    assert_eq!(source.fetch().unwrap().commit(), main);
    let cache = git2::Repository::open(source.cache_path()).unwrap();
    let refs: Vec<String> = cache
        .references()
        .unwrap()
        .map(|r| r.unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(refs, ["refs/hubdr/source/main"]);
}

#[test]
fn a_missing_remote_is_unreachable() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let source = GitSource::new(
        file_url(&dir.path().join("does-not-exist.git")),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    let err = source.fetch().unwrap_err();
    assert!(matches!(err, GitError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("retries later"), "{err}");
}

#[test]
fn a_closed_https_port_is_unreachable() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    let source = GitSource::new(
        "https://127.0.0.1:1/platform/acm-dr.git",
        "main",
        dir.path().join("cache"),
        Credentials::token("x-access-token", Secret::File(dir.path().join("token"))),
    );
    let err = source.fetch().unwrap_err();
    assert!(matches!(err, GitError::Unreachable { .. }), "{err:?}");
}

#[test]
fn a_missing_token_fails_before_connecting() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let source = GitSource::new(
        "https://127.0.0.1:1/platform/acm-dr.git",
        "main",
        dir.path().join("cache"),
        Credentials::token(
            "x-access-token",
            Secret::Env("HUBDR_TEST_NO_SUCH_TOKEN".into()),
        ),
    );
    let err = source.fetch().unwrap_err();
    assert!(matches!(err, GitError::Credentials { .. }), "{err:?}");
    assert!(
        err.to_string().contains("HUBDR_TEST_NO_SUCH_TOKEN"),
        "{err}"
    );
}

#[test]
fn a_missing_branch_or_a_bad_branch_name_is_reported() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    commit_files(&remote, "main", &files(&[("a.txt", "1")]), "first");
    let cache = dir.path().join("cache");
    let err = GitSource::new(file_url(&path), "release", &cache, Credentials::None)
        .fetch()
        .unwrap_err();
    assert!(matches!(err, GitError::MissingBranch { .. }), "{err:?}");
    assert!(err.to_string().contains("release"), "{err}");
    let err = GitSource::new(file_url(&path), "a..b", &cache, Credentials::None)
        .fetch()
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidBranch { .. }), "{err:?}");
}

#[test]
fn a_corrupt_cache_is_reinitialized() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    let remote = bare(&path);
    let first = commit_files(&remote, "main", &files(&[("a.txt", "1")]), "first");
    let source = GitSource::new(
        file_url(&path),
        "main",
        dir.path().join("cache"),
        Credentials::None,
    );
    assert_eq!(source.fetch().unwrap().commit(), first);

    // Lose every object but keep the refs: the cache claims a commit it cannot read.
    let objects = source.cache_path().join("objects");
    std::fs::remove_dir_all(&objects).unwrap();
    std::fs::create_dir_all(objects.join("pack")).unwrap();
    let fetched = source.fetch().unwrap();
    assert_eq!(fetched.read("a.txt").unwrap().unwrap(), b"1");

    // Garbage instead of a repository.
    std::fs::remove_dir_all(source.cache_path()).unwrap();
    std::fs::write(source.cache_path(), b"not a repository").unwrap();
    assert_eq!(source.fetch().unwrap().commit(), first);
}
