//! Commits: init, first and later commits, unmanaged files, hand edits and staged changes.

use super::*;

#[test]
pub(crate) fn init_creates_a_missing_directory_with_branch_main() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out/nested");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    assert!(dir.join(".git").is_dir());
    assert_eq!(repo.head_commit().unwrap(), None);
    assert_eq!(
        repo.workdir().canonicalize().unwrap(),
        dir.canonicalize().unwrap()
    );
    let git = Repository::open(&dir).unwrap();
    let head = git.find_reference("HEAD").unwrap();
    assert_eq!(head.symbolic_target(), Some("refs/heads/main"));
    assert!(repo.head_files(PREFIXES).unwrap().is_empty());

    // An existing, empty directory is initialised too.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    OutputRepo::open_or_init(&empty).unwrap();
    assert!(empty.join(".git").is_dir());

    // An existing repository is opened, by both constructors.
    OutputRepo::open_or_init(&dir).unwrap();
    OutputRepo::open(&dir).unwrap();
}

#[test]
pub(crate) fn refuses_a_non_empty_directory_that_is_not_a_repository() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let before = snapshot(&dir);

    let err = OutputRepo::open_or_init(&dir).unwrap_err();
    assert!(
        matches!(err, GitRepoError::NotARepository { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("git init"), "{err}");
    assert_eq!(snapshot(&dir), before);
    assert!(!dir.join(".git").exists());

    // `open` never creates anything.
    let missing = tmp.path().join("missing");
    let err = OutputRepo::open(&missing).unwrap_err();
    assert!(matches!(err, GitRepoError::Open { .. }), "{err:?}");
    assert!(!missing.exists());
    assert!(matches!(
        OutputRepo::open(&dir).unwrap_err(),
        GitRepoError::Open { .. }
    ));

    // A file is not a directory.
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    assert!(matches!(
        OutputRepo::open_or_init(&file).unwrap_err(),
        GitRepoError::NotADirectory { .. }
    ));
}

#[test]
pub(crate) fn first_commit_contains_exactly_the_desired_files() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let desired = base_tree();

    let changes = repo.diff(&desired, PREFIXES).unwrap();
    let expected: Vec<FileChange> = desired
        .keys()
        .map(|p| FileChange::Added(p.clone()))
        .collect();
    assert_eq!(changes.changes, expected);

    let id = repo
        .commit(&desired, &changes, "render 1", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(repo.head_commit().unwrap(), Some(id));
    assert_eq!(all_head_files(&dir), desired);
    assert_eq!(repo.head_files(PREFIXES).unwrap(), desired);
    for (path, content) in &desired {
        assert_eq!(&fs::read(dir.join(path)).unwrap(), content, "{path}");
    }

    let git = Repository::open(&dir).unwrap();
    let commit = git.find_commit(id).unwrap();
    assert_eq!(commit.parent_count(), 0);
    assert_eq!(commit.message(), Some("render 1"));
    assert_eq!(commit.author().name(), Some(AUTHOR.0));
    assert_eq!(commit.author().email(), Some(AUTHOR.1));
    assert_eq!(commit.committer().name(), Some(AUTHOR.0));
    assert_eq!(commit.committer().email(), Some(AUTHOR.1));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - commit.time().seconds()).abs() < 300);
    assert_eq!(
        git.head().unwrap().name(),
        Some("refs/heads/main"),
        "committed on main"
    );
    assert_eq!(status(&dir), vec![]);
}

#[test]
pub(crate) fn second_commit_applies_exactly_the_changes() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    let untouched = ["clusters/hub-a/restore.yaml", "argocd/apps.yaml"];
    let before: Vec<_> = untouched
        .iter()
        .map(|p| file_identity(&dir.join(p)))
        .collect();
    // Make a rewrite visible in the mtime even on coarse file systems.
    std::thread::sleep(std::time::Duration::from_millis(20));

    let mut desired = base_tree();
    desired.insert(
        "clusters/hub-a/backup.yaml".into(),
        b"kind: BackupSchedule\nname: a\nschedule: daily\n".to_vec(),
    );
    desired.insert(
        "clusters/hub-c/restore.yaml".into(),
        b"kind: Restore\n".to_vec(),
    );
    desired.remove("clusters/hub-b/restore.yaml");

    let changes = repo.diff(&desired, PREFIXES).unwrap();
    assert_eq!(
        changes.changes,
        vec![
            FileChange::Modified("clusters/hub-a/backup.yaml".into()),
            FileChange::Removed("clusters/hub-b/restore.yaml".into()),
            FileChange::Added("clusters/hub-c/restore.yaml".into()),
        ]
    );
    let second = repo
        .commit(&desired, &changes, "render 2", AUTHOR)
        .unwrap()
        .unwrap();

    let git = Repository::open(&dir).unwrap();
    let commit = git.find_commit(second).unwrap();
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), vec![first]);
    assert_eq!(all_head_files(&dir), desired);

    // The commit's own diff has exactly the three changes.
    let diff = git
        .diff_tree_to_tree(
            Some(&git.find_commit(first).unwrap().tree().unwrap()),
            Some(&commit.tree().unwrap()),
            None,
        )
        .unwrap();
    let deltas: Vec<_> = diff
        .deltas()
        .map(|d| {
            let path = d.new_file().path().or(d.old_file().path()).unwrap();
            (d.status(), path.to_string_lossy().into_owned())
        })
        .collect();
    assert_eq!(
        deltas,
        vec![
            (git2::Delta::Modified, "clusters/hub-a/backup.yaml".into()),
            (git2::Delta::Deleted, "clusters/hub-b/restore.yaml".into()),
            (git2::Delta::Added, "clusters/hub-c/restore.yaml".into()),
        ]
    );

    // The working tree matches, the emptied directory is gone, unchanged files were not touched.
    assert_eq!(
        fs::read(dir.join("clusters/hub-a/backup.yaml")).unwrap(),
        desired["clusters/hub-a/backup.yaml"]
    );
    assert!(!dir.join("clusters/hub-b").exists());
    assert!(dir.join("clusters/hub-c/restore.yaml").is_file());
    let after: Vec<_> = untouched
        .iter()
        .map(|p| file_identity(&dir.join(p)))
        .collect();
    assert_eq!(before, after, "unchanged files were rewritten");
    assert_eq!(status(&dir), vec![]);
    assert!(repo.uncommitted_changes(PREFIXES).unwrap().is_empty());
}

#[test]
pub(crate) fn identical_tree_gives_no_changes_and_no_commit() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    let desired = base_tree();
    let mtimes: Vec<_> = desired
        .keys()
        .map(|p| file_identity(&dir.join(p)))
        .collect();

    let changes = repo.diff(&desired, PREFIXES).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(
        repo.commit(&desired, &changes, "nothing", AUTHOR).unwrap(),
        None
    );
    assert_eq!(repo.head_commit().unwrap(), Some(first));

    // The same from a freshly opened repository.
    let reopened = OutputRepo::open(&dir).unwrap();
    assert!(reopened.diff(&desired, PREFIXES).unwrap().is_empty());
    let after: Vec<_> = desired
        .keys()
        .map(|p| file_identity(&dir.join(p)))
        .collect();
    assert_eq!(mtimes, after);
}

#[test]
pub(crate) fn files_outside_the_managed_prefixes_are_never_touched() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let user = [
        ("README.md", "# my hubs\n"),
        ("site.yaml", "hubs: []\n"),
        // Shares a string prefix with "clusters/" but is not under it.
        ("clusters-old/x.yaml", "old\n"),
    ];
    user_commit(&dir, &user);
    fs::write(dir.join("notes.txt"), "untracked\n").unwrap();

    // Render, then render an empty tree: only managed files come and go.
    let desired = base_tree();
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    assert!(changes
        .changes
        .iter()
        .all(|c| matches!(c, FileChange::Added(_))));
    repo.commit(&desired, &changes, "render", AUTHOR)
        .unwrap()
        .unwrap();
    let mut expected: BTreeMap<String, Vec<u8>> = desired.clone();
    for (p, c) in user {
        expected.insert(p.to_string(), c.as_bytes().to_vec());
    }
    assert_eq!(all_head_files(&dir), expected);
    assert_eq!(repo.head_files(PREFIXES).unwrap(), desired);

    let empty = Tree::new();
    let changes = repo.diff(&empty, PREFIXES).unwrap();
    assert_eq!(
        changes.changes,
        desired
            .keys()
            .map(|p| FileChange::Removed(p.clone()))
            .collect::<Vec<_>>()
    );
    repo.commit(&empty, &changes, "remove all", AUTHOR)
        .unwrap()
        .unwrap();
    let user_files: BTreeMap<String, Vec<u8>> = user
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    assert_eq!(all_head_files(&dir), user_files);
    for (p, c) in user {
        assert_eq!(fs::read_to_string(dir.join(p)).unwrap(), c);
    }
    assert_eq!(
        fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "untracked\n"
    );
    assert!(!dir.join("clusters").exists());
    assert!(!dir.join("argocd").exists());
    assert_eq!(
        status(&dir),
        vec![("notes.txt".to_string(), git2::Status::WT_NEW)]
    );

    // A desired path outside the prefixes is refused.
    let err = repo
        .diff(&tree(&[("README.md", "replaced\n")]), PREFIXES)
        .unwrap_err();
    assert!(
        matches!(err, GitRepoError::OutsidePrefixes { .. }),
        "{err:?}"
    );
}

#[test]
pub(crate) fn uncommitted_changes_detects_hand_edits() {
    setup();
    let (_tmp, dir, repo, _) = committed_repo();
    user_commit(
        &dir,
        &[("README.md", "# hubs\n"), ("clusters-old/x", "x\n")],
    );
    assert_eq!(
        repo.uncommitted_changes(PREFIXES).unwrap(),
        Vec::<String>::new()
    );
    repo.ensure_clean(PREFIXES).unwrap();

    fs::write(dir.join("clusters/hub-a/restore.yaml"), "edited by hand\n").unwrap();
    fs::remove_file(dir.join("argocd/apps.yaml")).unwrap();
    fs::create_dir_all(dir.join("clusters/hub-z")).unwrap();
    fs::write(dir.join("clusters/hub-z/new.yaml"), "new\n").unwrap();
    // Not managed: not reported.
    fs::write(dir.join("README.md"), "# edited\n").unwrap();
    fs::write(dir.join("clusters-old/x"), "edited\n").unwrap();
    fs::write(dir.join("scratch.txt"), "scratch\n").unwrap();

    assert_eq!(
        repo.uncommitted_changes(PREFIXES).unwrap(),
        vec![
            "argocd/apps.yaml".to_string(),
            "clusters/hub-a/restore.yaml".to_string(),
            "clusters/hub-z/new.yaml".to_string(),
        ]
    );
    // A prefix that is not a directory matches by string prefix, "clusters-old/" included.
    assert_eq!(
        repo.uncommitted_changes(&["clusters"]).unwrap(),
        vec![
            "clusters-old/x".to_string(),
            "clusters/hub-a/restore.yaml".to_string(),
            "clusters/hub-z/new.yaml".to_string(),
        ]
    );
    let err = repo.ensure_clean(PREFIXES).unwrap_err();
    match &err {
        GitRepoError::Dirty { paths } => assert_eq!(paths.len(), 3),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("clusters/hub-a/restore.yaml"),
        "{err}"
    );

    // A staged hand edit (worktree equal to the index) is reported too.
    fs::write(dir.join("clusters/hub-a/restore.yaml"), "staged\n").unwrap();
    let git = Repository::open(&dir).unwrap();
    let mut index = git.index().unwrap();
    index
        .add_path(Path::new("clusters/hub-a/restore.yaml"))
        .unwrap();
    index.write().unwrap();
    // The staged tree is not stored anywhere yet; checking must not store it.
    let loose = loose_objects(&dir);
    assert!(repo
        .uncommitted_changes(&["clusters/"])
        .unwrap()
        .contains(&"clusters/hub-a/restore.yaml".to_string()));
    assert_eq!(loose_objects(&dir), loose);
}

#[test]
pub(crate) fn staged_changes_are_not_committed_by_accident() {
    setup();
    let (_tmp, dir, repo, first) = committed_repo();
    fs::write(dir.join("README.md"), "staged\n").unwrap();
    let git = Repository::open(&dir).unwrap();
    let mut index = git.index().unwrap();
    index.add_path(Path::new("README.md")).unwrap();
    index.write().unwrap();
    let before = snapshot(&dir);

    let mut desired = base_tree();
    desired.insert("clusters/hub-c/x.yaml".into(), b"x\n".to_vec());
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    let err = repo
        .commit(&desired, &changes, "render", AUTHOR)
        .unwrap_err();
    match &err {
        GitRepoError::StagedChanges { paths } => assert_eq!(paths, &["README.md".to_string()]),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("git reset"), "{err}");
    assert_eq!(repo.head_commit().unwrap(), Some(first));
    assert_eq!(snapshot(&dir), before);
}
