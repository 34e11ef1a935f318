//! Tests of `hubdr::gitrepo`: writing rendered trees into a git repository.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use git2::{Repository, StatusOptions};
use hubdr::gitrepo::{Changes, FileChange, GitRepoError, OutputRepo, Tree, PACK_MIN_FILES};

const PREFIXES: &[&str] = &["clusters/", "argocd/", ".hubdr/"];
const AUTHOR: (&str, &str) = ("hubdr test", "hubdr-test@example.com");

/// Keep the user's git configuration out of the tests: libgit2 reads these variables once, on
/// first use, so every test calls this before touching git.
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gitrepo-home");
        fs::create_dir_all(&home).unwrap();
        let global = home.join("gitconfig");
        fs::write(&global, "").unwrap();
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", &global);
    });
}

fn tree(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect()
}

fn base_tree() -> Tree {
    tree(&[
        ("clusters/hub-a/restore.yaml", "kind: Restore\nname: a\n"),
        (
            "clusters/hub-a/backup.yaml",
            "kind: BackupSchedule\nname: a\n",
        ),
        ("clusters/hub-b/restore.yaml", "kind: Restore\nname: b\n"),
        ("argocd/apps.yaml", "kind: ApplicationSet\n"),
        (".hubdr/state.json", "{}\n"),
    ])
}

/// Every file committed at HEAD (read with git2 directly, not through the module under test).
fn all_head_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let repo = Repository::open(dir).unwrap();
    let mut out = BTreeMap::new();
    let Ok(head) = repo.head() else {
        return out;
    };
    let tree = head.peel_to_tree().unwrap();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            let blob = repo.find_blob(entry.id()).unwrap();
            out.insert(
                format!("{root}{}", entry.name().unwrap()),
                blob.content().to_vec(),
            );
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    out
}

/// `git status --porcelain` equivalent: paths with any status, including untracked files.
fn status(dir: &Path) -> Vec<(String, git2::Status)> {
    let repo = Repository::open(dir).unwrap();
    let mut opts = StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let statuses = repo.statuses(Some(&mut opts)).unwrap();
    statuses
        .iter()
        .map(|e| (e.path().unwrap().to_string(), e.status()))
        .collect()
}

/// Every file (with content) and directory of the working tree, outside .git.
fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{rel}/"), None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[cfg(unix)]
fn file_identity(path: &Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(path).unwrap();
    (md.ino(), md.mtime(), md.mtime_nsec())
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> (u64, i64, i64) {
    let md = fs::metadata(path).unwrap();
    let t = md
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (0, t.as_secs() as i64, t.subsec_nanos() as i64)
}

/// A fresh repository in a temp dir with `base_tree()` committed.
fn committed_repo() -> (tempfile::TempDir, PathBuf, OutputRepo, git2::Oid) {
    committed_repo_with(&base_tree())
}

/// A new output repository with `desired` committed.
fn committed_repo_with(desired: &Tree) -> (tempfile::TempDir, PathBuf, OutputRepo, git2::Oid) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let changes = repo.diff(desired, PREFIXES).unwrap();
    let id = repo
        .commit(desired, &changes, "render 1", AUTHOR)
        .unwrap()
        .expect("a first commit");
    (tmp, dir, repo, id)
}

/// Commit files "by hand" with plain git2, like a user would with `git add` + `git commit`.
fn user_commit(dir: &Path, files: &[(&str, &str)]) -> git2::Oid {
    let repo = Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    for (path, content) in files {
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, content).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("user", "user@example.com").unwrap();
    let parent = repo.head().ok().map(|h| h.peel_to_commit().unwrap());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "by hand", &tree, &parents)
        .unwrap()
}

#[test]
fn init_creates_a_missing_directory_with_branch_main() {
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
fn refuses_a_non_empty_directory_that_is_not_a_repository() {
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
fn first_commit_contains_exactly_the_desired_files() {
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
fn second_commit_applies_exactly_the_changes() {
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
fn identical_tree_gives_no_changes_and_no_commit() {
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
fn files_outside_the_managed_prefixes_are_never_touched() {
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
fn uncommitted_changes_detects_hand_edits() {
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
fn staged_changes_are_not_committed_by_accident() {
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

#[test]
fn rollback_when_a_write_fails() {
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
fn rollback_when_the_index_cannot_be_written_after_the_commit() {
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
fn a_small_commit_after_a_large_one_keeps_the_large_ones_entries() {
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
fn rollback_of_a_large_commit_when_the_index_is_locked() {
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
fn rollback_when_the_branch_is_locked() {
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
fn file_and_directory_swaps() {
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
fn a_first_render_refuses_the_same_paths_as_later_ones() {
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
fn invalid_input_is_refused_before_anything_is_written() {
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

/// `git fsck --full --strict` finds nothing wrong in the repository at `dir` (skipped, with a
/// message, when git is not installed): every object that the commits, trees and index name is
/// stored, and every stored object is well formed.
fn assert_fsck_clean(dir: &Path) {
    let output = match std::process::Command::new("git")
        .args(["fsck", "--full", "--strict", "--no-dangling"])
        .current_dir(dir)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("git is not installed ({e}): skipping git fsck");
            return;
        }
    };
    assert!(
        output.status.success() && output.stderr.is_empty() && output.stdout.is_empty(),
        "git fsck in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Most blobs of the pack `name` in `dir` are stored as deltas (one level deep), according to
/// `git verify-pack` (skipped, with a message, when git is not installed).
fn assert_pack_has_deltas(dir: &Path, name: &str) {
    let idx = dir
        .join(".git/objects/pack")
        .join(name.replace(".pack", ".idx"));
    let output = match std::process::Command::new("git")
        .args(["verify-pack", "-v"])
        .arg(&idx)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("git is not installed ({e}): skipping git verify-pack");
            return;
        }
    };
    assert!(output.status.success(), "git verify-pack {}", idx.display());
    let listing = String::from_utf8_lossy(&output.stdout);
    let blobs: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.get(1) == Some(&"blob"))
        .collect();
    let deltas = blobs.iter().filter(|fields| fields.len() == 7).count();
    assert!(
        deltas * 10 > blobs.len() * 9,
        "{deltas} of {} blobs are deltas:\n{listing}",
        blobs.len()
    );
    assert!(blobs.iter().all(|f| f.len() == 5 || f[5] == "1"));
}

/// `n` files in `n / 3` cluster directories, content depending on `version`. Files of one name
/// are alike (as rendered files of one kind are), so packs store most of them as deltas.
fn big_tree(n: usize, version: &str) -> Tree {
    (0..n)
        .map(|i| {
            (
                format!("clusters/c{:04}/f{}.yaml", i / 3, i % 3),
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: file-{i}\n  namespace: hubdr-test\ndata:\n  version: \"{version}\"\n"
                )
                .into_bytes(),
            )
        })
        .collect()
}

fn pack_files(dir: &Path) -> Vec<String> {
    let mut packs: Vec<String> = fs::read_dir(dir.join(".git/objects/pack"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".pack"))
                .collect()
        })
        .unwrap_or_default();
    packs.sort();
    packs
}

/// Loose objects under .git/objects/xx/.
fn loose_objects(dir: &Path) -> usize {
    fs::read_dir(dir.join(".git/objects"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| fs::read_dir(e.path()).unwrap().count())
        .sum()
}

#[test]
fn large_commits_are_stored_as_a_pack() {
    setup();
    let n = PACK_MIN_FILES + 50;
    let desired = big_tree(n, "1");
    let (_tmp, dir, repo, first) = committed_repo_with(&desired);
    assert_eq!(pack_files(&dir).len(), 1);
    assert_eq!(loose_objects(&dir), 0, "all objects should be in the pack");
    assert_fsck_clean(&dir);
    assert_pack_has_deltas(&dir, &pack_files(&dir)[0]);
    // libgit2 still checks that objects exist (the packed commit did not switch that off).
    let missing = git2::Oid::from_str("1234567890123456789012345678901234567890").unwrap();
    assert!(Repository::open(&dir)
        .unwrap()
        .reference("refs/heads/nowhere", missing, false, "test")
        .is_err());
    // A fresh handle reads everything from disk.
    assert_eq!(all_head_files(&dir), desired);
    assert_eq!(status(&dir), vec![]);
    assert!(repo.diff(&desired, PREFIXES).unwrap().is_empty());
    assert_eq!(repo.head_files(PREFIXES).unwrap(), desired);

    // A large incremental change: a second pack, with only the new objects.
    let mut next = big_tree(n, "2");
    next.extend(big_tree(3, "1"));
    let changes = repo.diff(&next, PREFIXES).unwrap();
    assert_eq!(changes.len(), n - 3);
    let second = repo
        .commit(&next, &changes, "big 2", AUTHOR)
        .unwrap()
        .unwrap();
    let packs = pack_files(&dir);
    assert_eq!(packs.len(), 2);
    let git = Repository::open(&dir).unwrap();
    assert_eq!(
        git.find_commit(second)
            .unwrap()
            .parent_ids()
            .collect::<Vec<_>>(),
        vec![first]
    );
    assert_eq!(all_head_files(&dir), next);
    assert_eq!(status(&dir), vec![]);
    assert_fsck_clean(&dir);
    // The unchanged directory c0000 is not stored again: the new pack holds the new blobs,
    // the changed trees (clusters/c0001.. + clusters + root) and the commit.
    let new_pack = packs
        .iter()
        .map(|p| dir.join(".git/objects/pack").join(p))
        .max_by_key(|p| fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let idx = fs::read(new_pack.with_extension("idx")).unwrap();
    // Version 2 index: the object count is the last fan-out entry.
    let count = u32::from_be_bytes(idx[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    let changed_dirs = (n - 3) / 3;
    assert_eq!(count, (n - 3) + changed_dirs + 2 + 1);

    // Changes that change nothing (not from `diff`, which finds none) still make a commit, as
    // on the loose path, with the root tree reused.
    let same: Vec<FileChange> = next
        .keys()
        .map(|p| FileChange::Modified(p.clone()))
        .collect();
    let noop = repo
        .commit(&next, &Changes { changes: same }, "same", AUTHOR)
        .unwrap()
        .unwrap();
    let git = Repository::open(&dir).unwrap();
    assert_eq!(
        git.find_commit(noop).unwrap().tree_id(),
        git.find_commit(second).unwrap().tree_id()
    );
    assert_fsck_clean(&dir);

    // And a small change afterwards goes loose again.
    let mut small = next.clone();
    small.insert("argocd/x.yaml".into(), b"x\n".to_vec());
    let changes = repo.diff(&small, PREFIXES).unwrap();
    repo.commit(&small, &changes, "small", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(pack_files(&dir).len(), 3);
    assert!(loose_objects(&dir) > 0);
    assert_eq!(all_head_files(&dir), small);
    assert_eq!(status(&dir), vec![]);
    assert_fsck_clean(&dir);
}

#[test]
fn rollback_of_a_large_commit_leaves_no_objects_behind() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let desired = big_tree(PACK_MIN_FILES * 2, "1");
    // The last file's target is blocked by a directory.
    let blocked = desired.keys().last().unwrap().clone();
    fs::create_dir_all(dir.join(&blocked)).unwrap();
    let before = snapshot(&dir);
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    let err = repo.commit(&desired, &changes, "big", AUTHOR).unwrap_err();
    match &err {
        GitRepoError::Write { path, .. } => assert_eq!(path, &blocked),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(snapshot(&dir), before);
    assert_eq!(repo.head_commit().unwrap(), None);
    assert!(pack_files(&dir).is_empty());
    assert_eq!(loose_objects(&dir), 0);
    assert!(!dir.join(".git/index").exists());

    fs::remove_dir_all(dir.join("clusters")).unwrap();
    repo.commit(&desired, &changes, "big", AUTHOR)
        .unwrap()
        .unwrap();
    assert_eq!(all_head_files(&dir), desired);
    assert_eq!(status(&dir), vec![]);
}

#[test]
fn rollback_of_a_large_commit_when_a_file_blocks_a_directory() {
    setup();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let desired = big_tree(PACK_MIN_FILES * 3, "1");
    // A file where a cluster directory in the middle must go: the directories and files of
    // the other clusters are written (in parallel) before the failure, and must all go again.
    fs::create_dir_all(dir.join("clusters")).unwrap();
    fs::write(dir.join("clusters/c0050"), "in the way\n").unwrap();
    let before = snapshot(&dir);
    let changes = repo.diff(&desired, PREFIXES).unwrap();
    let err = repo.commit(&desired, &changes, "big", AUTHOR).unwrap_err();
    match &err {
        GitRepoError::Write { path, source } => {
            assert_eq!(path, "clusters/c0050/f0.yaml");
            assert_eq!(source.to_string(), "clusters/c0050 is not a directory");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(snapshot(&dir), before);
    let clusters: Vec<_> = fs::read_dir(dir.join("clusters")).unwrap().collect();
    assert_eq!(clusters.len(), 1, "created directories left behind");
    assert_eq!(repo.head_commit().unwrap(), None);
    assert!(pack_files(&dir).is_empty());
    assert!(!dir.join(".git/index").exists());
}

/// CPU time of all threads of this process so far (Linux; zero elsewhere).
fn cpu_time() -> std::time::Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(s) = fs::read_to_string(task.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    std::time::Duration::from_nanos(ns)
}

/// Timings at the target size: 5,000 cluster directories with 4-6 files each (25,000 files).
/// Run with `cargo test --release -p hubdr --test gitrepo -- --ignored --nocapture bench`.
/// Prints wall time and the CPU time of all threads (the latter is stable on a busy machine).
#[test]
#[ignore]
fn bench_25000_files() {
    use std::time::Instant;
    setup();
    let mut desired = Tree::new();
    for c in 0..5000 {
        for f in 0..(4 + c % 3) {
            let body = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-{c}-{f}\n  \
                 namespace: open-cluster-management\ndata:\n{}",
                (0..20)
                    .map(|i| format!("  key{i}: value-{c}-{f}-{i}\n"))
                    .collect::<String>()
            );
            desired.insert(
                format!("clusters/cluster-{c:05}/file-{f}.yaml"),
                body.into_bytes(),
            );
        }
    }
    desired.insert(
        "argocd/appset.yaml".into(),
        b"kind: ApplicationSet\n".to_vec(),
    );
    let bytes: usize = desired.values().map(Vec::len).sum();
    println!("{} files, {} bytes", desired.len(), bytes);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let repo = OutputRepo::open_or_init(&dir).unwrap();
    let timed = |what: &str, f: &mut dyn FnMut()| {
        let (t, cpu) = (Instant::now(), cpu_time());
        f();
        println!(
            "{what}: {:.1?} wall, {:.1?} cpu",
            t.elapsed(),
            cpu_time() - cpu
        );
    };

    let mut changes = Changes::default();
    timed("diff against an empty repo", &mut || {
        changes = repo.diff(&desired, PREFIXES).unwrap();
    });
    assert_eq!(changes.len(), desired.len());
    timed("first commit", &mut || {
        repo.commit(&desired, &changes, "first", AUTHOR)
            .unwrap()
            .unwrap();
    });

    for _ in 0..5 {
        timed("no-op re-render (open + diff + commit)", &mut || {
            let repo = OutputRepo::open(&dir).unwrap();
            let changes = repo.diff(&desired, PREFIXES).unwrap();
            assert!(changes.is_empty());
            assert_eq!(
                repo.commit(&desired, &changes, "noop", AUTHOR).unwrap(),
                None
            );
        });
    }
    for _ in 0..3 {
        timed("uncommitted_changes (clean)", &mut || {
            let dirty = repo.uncommitted_changes(PREFIXES).unwrap();
            assert!(dirty.is_empty(), "{dirty:?}");
        });
    }
    timed("head_files", &mut || {
        assert_eq!(repo.head_files(PREFIXES).unwrap().len(), desired.len());
    });

    let mut next = desired.clone();
    for c in (0..5000).step_by(100) {
        next.insert(
            format!("clusters/cluster-{c:05}/file-0.yaml"),
            b"changed\n".to_vec(),
        );
    }
    next.insert("clusters/new/file.yaml".into(), b"new\n".to_vec());
    next.remove("clusters/cluster-00001/file-1.yaml");
    timed("diff with 52 changes", &mut || {
        changes = repo.diff(&next, PREFIXES).unwrap();
    });
    assert_eq!(changes.len(), 52);
    timed("commit of 52 changes", &mut || {
        repo.commit(&next, &changes, "some", AUTHOR)
            .unwrap()
            .unwrap();
    });
    timed("full git status (clean)", &mut || {
        assert_eq!(status(&dir), vec![]);
    });
}

/// The fast hand-edit scan agrees with libgit2's status after every kind of edit, one at a time
/// and piled up: content edits with and without a size change (also right after the commit,
/// within the index file's timestamp), touch, chmod, delete, a file replaced by a directory,
/// untracked and ignored files, staged changes and staged deletions, unmanaged paths.
#[test]
fn the_fast_scan_agrees_with_libgit2_status() {
    setup();
    let (_tmp, dir, repo, _) = committed_repo();
    user_commit(&dir, &[(".gitignore", "*.swp\nignored-dir/\n")]);
    let agree = |what: &str| {
        let fast = repo.scan_uncommitted_changes(PREFIXES).unwrap().unwrap();
        let slow = repo.uncommitted_changes_by_libgit2(PREFIXES).unwrap();
        assert_eq!(fast, slow, "after {what}");
        fast
    };
    assert!(agree("the commit").is_empty());
    type Edit = fn(&Path);
    let edits: Vec<(&str, Edit, bool)> = vec![
        (
            "a same-size edit",
            |d| {
                fs::write(
                    d.join("clusters/hub-a/restore.yaml"),
                    "kind: Restore\nname: x\n",
                )
                .unwrap()
            },
            true,
        ),
        (
            "a longer edit",
            |d| fs::write(d.join("argocd/apps.yaml"), "kind: ApplicationSet\n# more\n").unwrap(),
            true,
        ),
        (
            "rewriting the same bytes",
            |d| {
                fs::write(
                    d.join("clusters/hub-b/restore.yaml"),
                    "kind: Restore\nname: b\n",
                )
                .unwrap()
            },
            false,
        ),
        (
            "a touch",
            |d| {
                let f = fs::File::options()
                    .write(true)
                    .open(d.join(".hubdr/state.json"))
                    .unwrap();
                f.set_modified(std::time::SystemTime::now()).unwrap();
            },
            false,
        ),
        (
            "a chmod +x",
            |d| chmod(&d.join("clusters/hub-a/backup.yaml"), 0o755),
            true,
        ),
        (
            "a deletion",
            |d| fs::remove_file(d.join("clusters/hub-b/restore.yaml")).unwrap(),
            true,
        ),
        (
            "a file replaced by a directory",
            |d| {
                fs::remove_file(d.join("argocd/apps.yaml")).unwrap();
                fs::create_dir_all(d.join("argocd/apps.yaml/inner")).unwrap();
                fs::write(d.join("argocd/apps.yaml/inner/x.yaml"), "x\n").unwrap();
            },
            true,
        ),
        (
            "untracked files, deep",
            |d| {
                fs::create_dir_all(d.join("clusters/hub-z/a/b")).unwrap();
                fs::write(d.join("clusters/hub-z/a/b/new.yaml"), "new\n").unwrap();
                fs::write(d.join("clusters/hub-a/.hidden"), "h\n").unwrap();
            },
            true,
        ),
        (
            "ignored files",
            |d| {
                fs::write(d.join("clusters/hub-a/restore.yaml.swp"), "swap\n").unwrap();
                fs::create_dir_all(d.join("clusters/ignored-dir")).unwrap();
                fs::write(d.join("clusters/ignored-dir/x.yaml"), "x\n").unwrap();
            },
            false,
        ),
        (
            "unmanaged files",
            |d| {
                fs::write(d.join("README.md"), "readme\n").unwrap();
                fs::create_dir_all(d.join("notes")).unwrap();
                fs::write(d.join("notes/x.yaml"), "x\n").unwrap();
            },
            false,
        ),
        (
            "a staged edit",
            |d| {
                fs::write(d.join(".hubdr/state.json"), "{\"staged\": true}\n").unwrap();
                let git = Repository::open(d).unwrap();
                let mut index = git.index().unwrap();
                index.add_path(Path::new(".hubdr/state.json")).unwrap();
                index.write().unwrap();
            },
            true,
        ),
        (
            "a staged deletion",
            |d| {
                fs::remove_file(d.join("clusters/hub-a/backup.yaml")).unwrap();
                let git = Repository::open(d).unwrap();
                let mut index = git.index().unwrap();
                index
                    .remove_path(Path::new("clusters/hub-a/backup.yaml"))
                    .unwrap();
                index.write().unwrap();
            },
            true,
        ),
    ];
    // One at a time, on a fresh repository each (the edit lands within the index's timestamp
    // granularity, so the racy-clean rule is exercised too), then all piled up on one.
    for (what, edit, dirty) in &edits {
        let (_tmp, dir, repo, _) = committed_repo();
        user_commit(&dir, &[(".gitignore", "*.swp\nignored-dir/\n")]);
        edit(&dir);
        let fast = repo.scan_uncommitted_changes(PREFIXES).unwrap().unwrap();
        let slow = repo.uncommitted_changes_by_libgit2(PREFIXES).unwrap();
        assert_eq!(fast, slow, "after {what}");
        assert_eq!(!fast.is_empty(), *dirty, "after {what}: {fast:?}");
    }
    for (what, edit, _) in &edits {
        edit(&dir);
        agree(what);
    }

    // A symlink among the managed entries: the scan leaves it to libgit2.
    #[cfg(unix)]
    {
        let (_tmp, dir, repo, _) = committed_repo();
        std::os::unix::fs::symlink("restore.yaml", dir.join("clusters/hub-a/link.yaml")).unwrap();
        let git = Repository::open(&dir).unwrap();
        let mut index = git.index().unwrap();
        index
            .add_path(Path::new("clusters/hub-a/link.yaml"))
            .unwrap();
        index.write().unwrap();
        assert_eq!(repo.scan_uncommitted_changes(PREFIXES).unwrap(), None);
        assert_eq!(
            repo.uncommitted_changes(PREFIXES).unwrap(),
            ["clusters/hub-a/link.yaml".to_string()]
        );
    }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn chmod(_: &Path, _: u32) {}

/// A large commit writes the whole index itself only when the index holds nothing but entries
/// and caches; an index with other data (here resolve-undo records, which libgit2 keeps) is
/// updated through libgit2, so that data survives.
#[test]
fn large_commits_keep_what_the_index_holds_beyond_caches() {
    use sha1::{Digest, Sha1};
    setup();
    let n = PACK_MIN_FILES + 10;
    let (_tmp, dir, repo, _first) = committed_repo_with(&big_tree(n, "1"));

    // Add a resolve-undo extension (`REUC`: path, three octal modes, their ids).
    let index_path = dir.join(".git/index");
    let index = fs::read(&index_path).unwrap();
    let mut bytes = index[..index.len() - 20].to_vec();
    let mut reuc = b"clusters/resolved.yaml\x00100644\x00100644\x00100644\x00".to_vec();
    let git = Repository::open(&dir).unwrap();
    for side in ["base\n", "ours\n", "theirs\n"] {
        reuc.extend_from_slice(git.blob(side.as_bytes()).unwrap().as_bytes());
    }
    bytes.extend_from_slice(b"REUC");
    bytes.extend_from_slice(&(reuc.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&reuc);
    let checksum = Sha1::digest(&bytes);
    bytes.extend_from_slice(&checksum);
    fs::write(&index_path, &bytes).unwrap();
    assert_eq!(status(&dir), vec![], "libgit2 reads the extended index");

    let second = big_tree(n, "2");
    let changes = repo.diff(&second, PREFIXES).unwrap();
    repo.commit(&second, &changes, "big 2", AUTHOR)
        .unwrap()
        .unwrap();
    let after = fs::read(&index_path).unwrap();
    assert!(
        after.windows(reuc.len()).any(|w| w == reuc.as_slice()),
        "the resolve-undo records were dropped"
    );
    assert_eq!(status(&dir), vec![]);
    assert_eq!(all_head_files(&dir), second);
    assert_fsck_clean(&dir);
}
