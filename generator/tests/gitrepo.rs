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

#[path = "gitrepo/commits.rs"]
mod commits;
#[allow(unused_imports)]
use commits::*;
#[path = "gitrepo/rollback.rs"]
mod rollback;
#[allow(unused_imports)]
use rollback::*;
#[path = "gitrepo/packs.rs"]
mod packs;
#[allow(unused_imports)]
use packs::*;
#[path = "gitrepo/scan.rs"]
mod scan;
#[allow(unused_imports)]
use scan::*;
