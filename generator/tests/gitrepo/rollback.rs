//! Rollback: a failed write, index or branch leaves the repository as it was; path swaps and refused input.

use super::*;

#[test]
pub(crate) fn rollback_when_a_write_fails() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    // Something in the way of one added file: its rename will fail.
    fs::create_dir_all(dir.join("clusters/hub-d/restore.yaml")).unwrap();
    let before = snapshot(&dir);
    let index_before = fs::read(dir.join(".git/index")).unwrap();
    let status_before = status(&dir);

    let mut desired = base_tree();
    desired.insert("clusters/hub-a/backup.yaml".into(), b"modified\n".to_vec());
    desired.insert("clusters/hub-c/restore.yaml".into(), b"added\n".to_vec());
    desired.insert("clusters/hub-d/restore.yaml".into(), b"blocked\n".to_vec());
    desired.remove("clusters/hub-b/restore.yaml");
    desired.remove(".hubdr/state.json");
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    assert_eq!(changes.len(), 5);

    let err = repo
        .commit(&desired, &changes, "render 2", AUTHOR)
        .unwrap_err();
    match &err {
        GitRepoError::Write { path, .. } => assert_eq!(path, "clusters/hub-d/restore.yaml"),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    assert_eq!(snapshot(&dir), before, "working tree not restored");
    assert_eq!(fs::read(dir.join(".git/index")).unwrap(), index_before);
    assert_eq!(status(&dir), status_before);

    // Once the obstacle is gone the same render goes through.
    fs::remove_dir(dir.join("clusters/hub-d/restore.yaml")).unwrap();
    let id = repo
        .commit(&desired, &changes, "render 2", AUTHOR)
        .unwrap()
        .unwrap();
    assert_ne!(id, first);
    assert_eq!(all_head_files(&dir), desired);
    assert_eq!(status(&dir), vec![]);
}

#[test]
pub(crate) fn rollback_when_the_index_cannot_be_written_after_the_commit() {
    setup();
    // On an existing branch: HEAD is moved back.
    let (_tmp, dir, repo, first) = committed_repo();
    let before = snapshot(&dir);
    let mut desired = base_tree();
    desired.insert("clusters/hub-a/backup.yaml".into(), b"new\n".to_vec());
    desired.insert("argocd/more.yaml".into(), b"more\n".to_vec());
    desired.remove("clusters/hub-b/restore.yaml");
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    fs::write(dir.join(".git/index.lock"), "").unwrap();
    let err = repo
        .commit(&desired, &changes, "render", AUTHOR)
        .unwrap_err();
    assert!(matches!(err, GitRepoError::UpdateIndex { .. }), "{err:?}");
    fs::remove_file(dir.join(".git/index.lock")).unwrap();
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    let git = Repository::open(&dir).unwrap();
    assert_eq!(
        git.find_reference("refs/heads/main").unwrap().target(),
        Some(first)
    );
    assert_eq!(snapshot(&dir), before);
    assert_eq!(status(&dir), vec![]);

    // On an unborn branch: the branch is deleted again.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let desired = base_tree();
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    fs::write(dir.join(".git/index.lock"), "").unwrap();
    let err = repo
        .commit(&desired, &changes, "render", AUTHOR)
        .unwrap_err();
    assert!(matches!(err, GitRepoError::UpdateIndex { .. }), "{err:?}");
    fs::remove_file(dir.join(".git/index.lock")).unwrap();
    assert_eq!(repo.head_commit().unwrap(), None);
    assert_eq!(snapshot(&dir), BTreeMap::new());
    assert!(!dir.join(".git/index").exists());
}

/// After a large commit (whose index file hubdr writes itself), a small commit through the same
/// handle (libgit2 updating the index) starts from the new index, not a stale copy.
#[test]
pub(crate) fn a_small_commit_after_a_large_one_keeps_the_large_ones_entries() {
    setup();
    let n = PACK_MIN_FILES + 10;
    let mut desired = big_tree(n, "1");
    let (_tmp, dir, repo, _first) = committed_repo_with(&desired);
    desired.insert("argocd/small.yaml".into(), b"small\n".to_vec());
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    assert_eq!(changes.len(), 1);
    repo.commit(&desired, &changes, "small", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(all_head_files(&dir), desired);
    assert_eq!(status(&dir), vec![]);
    let index = Repository::open(&dir).unwrap().index().unwrap();
    assert_eq!(index.len(), desired.len());
    assert_fsck_clean(&dir);
}

/// A large commit writes the index itself: a held index lock fails it the same way, and the
/// lock is left to its owner.
#[test]
pub(crate) fn rollback_of_a_large_commit_when_the_index_is_locked() {
    setup();
    let n = PACK_MIN_FILES + 10;
    let (_tmp, dir, repo, first) = committed_repo_with(&big_tree(n, "1"));
    let before = snapshot(&dir);
    let index_before = fs::read(dir.join(".git/index")).unwrap();

    let second = big_tree(n, "2");
    let changes = repo.diff(&second, PREFIXES).unwrap();
    fs::write(dir.join(".git/index.lock"), "held").unwrap();
    let err = repo.commit(&second, &changes, "big 2", AUTHOR).unwrap_err();
    assert!(matches!(err, GitRepoError::WriteIndex { .. }), "{err:?}");
    assert!(err.to_string().contains("index.lock"), "{err}");
    assert_eq!(fs::read(dir.join(".git/index.lock")).unwrap(), b"held");
    fs::remove_file(dir.join(".git/index.lock")).unwrap();
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    assert_eq!(snapshot(&dir), before);
    assert_eq!(fs::read(dir.join(".git/index")).unwrap(), index_before);
    assert_eq!(status(&dir), vec![]);

    // Once the lock is gone, the same render commits. (Another message: another commit, so
    // the check below sees whether the reflog still names the rolled-back one's objects: the
    // branch had moved to it before the index failed.)
    let changes = repo.diff(&second, PREFIXES).unwrap();
    repo.commit(&second, &changes, "big 2, again", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(all_head_files(&dir), second);
    assert_eq!(status(&dir), vec![]);
    assert_fsck_clean(&dir);
}

#[test]
pub(crate) fn rollback_when_the_branch_is_locked() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    let before = snapshot(&dir);
    let index_before = fs::read(dir.join(".git/index")).unwrap();
    let mut desired = base_tree();
    desired.insert("clusters/hub-a/backup.yaml".into(), b"new\n".to_vec());
    desired.insert("clusters/hub-e/x.yaml".into(), b"x\n".to_vec());
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    fs::write(dir.join(".git/refs/heads/main.lock"), "").unwrap();
    let err = repo
        .commit(&desired, &changes, "render", AUTHOR)
        .unwrap_err();
    assert!(matches!(err, GitRepoError::Commit { .. }), "{err:?}");
    fs::remove_file(dir.join(".git/refs/heads/main.lock")).unwrap();
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    assert_eq!(snapshot(&dir), before);
    assert_eq!(fs::read(dir.join(".git/index")).unwrap(), index_before);

    // The in-memory index was reset too: the next commit contains only its own changes.
    let mut other = base_tree();
    other.insert("argocd/y.yaml".into(), b"y\n".to_vec());
    let changes = repo.diff(&other, PREFIXES).unwrap();
    repo.commit(&other, &changes, "render", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(all_head_files(&dir), other);
    assert_eq!(status(&dir), vec![]);
}

#[test]
pub(crate) fn file_and_directory_swaps() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let render = |desired: &Tree| {
        let changes = repo.diff(desired, PREFIXES).unwrap();
        repo.commit(desired, &changes, "render", AUTHOR).unwrap();
        assert_eq!(&all_head_files(&dir), desired);
        assert_eq!(status(&dir), vec![]);
        assert!(repo.diff(desired, PREFIXES).unwrap().is_empty());
    };
    render(&tree(&[("clusters/a", "file\n"), ("clusters/b/x", "x\n")]));
    render(&tree(&[("clusters/a/y", "y\n"), ("clusters/b", "file\n")]));
    render(&tree(&[("clusters/a", "file again\n")]));
}

/// A first render (no `HEAD`) checks the desired paths without building their tree: it must
/// refuse the same paths, naming the same one first.
#[test]
pub(crate) fn a_first_render_refuses_the_same_paths_as_later_ones() {
    setup();
    let (_tmp, _dir, repo, _first) = committed_repo();
    let fresh_tmp = tempfile::tempdir().unwrap();
    let fresh = OutputRepo::open_or_init(&fresh_tmp.path().join("out")).unwrap();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("clusters/a", "x"), ("clusters/a/b", "y")],
        vec![("clusters/a/b", "x"), ("clusters/a/b/c/d", "y")],
        // The first failing path in order is below the later file.
        vec![
            ("clusters/a", "x"),
            ("clusters/a-b", "x"),
            ("clusters/a-b/y", "y"),
            ("clusters/a/x", "y"),
        ],
        vec![("clusters/ok", "x"), ("clusters/../x", "y")],
        vec![("clusters/ok", "x"), ("elsewhere/x", "y")],
    ];
    for case in cases {
        let desired = tree(&case);
        let later = repo.diff(&desired, PREFIXES).unwrap_err();
        let first = fresh.diff(&desired, PREFIXES).unwrap_err();
        assert_eq!(first.to_string(), later.to_string(), "{case:?}");
    }
    let ok = tree(&[
        ("clusters/a", "x"),
        ("clusters/a-b/c", "y"),
        ("clusters/a.b", "z"),
    ]);
    let changes = fresh.diff(&ok, PREFIXES).unwrap();
    let added: Vec<&str> = changes.changes.iter().map(FileChange::path).collect();
    assert_eq!(added, ["clusters/a", "clusters/a-b/c", "clusters/a.b"]);
    assert!(changes
        .changes
        .iter()
        .all(|c| matches!(c, FileChange::Added(_))));
}

#[test]
pub(crate) fn invalid_input_is_refused_before_anything_is_written() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    let before = snapshot(&dir);
    for bad in [
        "clusters/../x",
        "clusters//x",
        "clusters/.git/config",
        "/clusters/x",
    ] {
        let err = repo
            .diff(&tree(&[(bad, "x")]), &["clusters/", "/clusters/"])
            .unwrap_err();
        assert!(
            matches!(err, GitRepoError::InvalidPath { .. }),
            "{bad}: {err:?}"
        );
    }
    let err = repo
        .diff(
            &tree(&[("clusters/a", "x"), ("clusters/a/b", "y")]),
            PREFIXES,
        )
        .unwrap_err();
    assert!(matches!(err, GitRepoError::InvalidPath { .. }), "{err:?}");

    // Changes that do not belong to the desired tree.
    let desired = base_tree();
    let changes = Changes {
        changes: vec![FileChange::Added(
            "clusters/hub-x/not-in-desired.yaml".into(),
        )],
    };
    let err = repo.commit(&desired, &changes, "bad", AUTHOR).unwrap_err();
    assert!(
        matches!(err, GitRepoError::InconsistentChanges { .. }),
        "{err:?}"
    );
    let changes = Changes {
        changes: vec![FileChange::Removed("clusters/hub-a/restore.yaml".into())],
    };
    let err = repo.commit(&desired, &changes, "bad", AUTHOR).unwrap_err();
    assert!(
        matches!(err, GitRepoError::InconsistentChanges { .. }),
        "{err:?}"
    );
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    assert_eq!(snapshot(&dir), before);
}
