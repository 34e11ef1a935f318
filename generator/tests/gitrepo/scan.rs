//! The fast hand-edit scan against libgit2 status, and index entries beyond caches.

use super::*;

/// The fast hand-edit scan agrees with libgit2's status after every kind of edit, one at a time
/// and piled up: content edits with and without a size change (also right after the commit,
/// within the index file's timestamp), touch, chmod, delete, a file replaced by a directory,
/// untracked and ignored files, staged changes and staged deletions, unmanaged paths.
#[test]
pub(crate) fn the_fast_scan_agrees_with_libgit2_status() {
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
pub(crate) fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
pub(crate) fn chmod(_: &Path, _: u32) {}

/// A large commit writes the whole index itself only when the index holds nothing but entries
/// and caches; an index with other data (here resolve-undo records, which libgit2 keeps) is
/// updated through libgit2, so that data survives.
#[test]
pub(crate) fn large_commits_keep_what_the_index_holds_beyond_caches() {
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
