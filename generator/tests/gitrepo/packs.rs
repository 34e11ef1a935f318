//! Large commits stored as one pack (fsck-clean, with deltas), their rollback, and the 25,000-file benchmark.

use super::*;

/// `git fsck --full --strict` finds nothing wrong in the repository at `dir` (skipped, with a
/// message, when git is not installed): every object that the commits, trees and index name is
/// stored, and every stored object is well formed.
pub(crate) fn assert_fsck_clean(dir: &Path) {
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
pub(crate) fn assert_pack_has_deltas(dir: &Path, name: &str) {
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
pub(crate) fn big_tree(n: usize, version: &str) -> Tree {
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

pub(crate) fn pack_files(dir: &Path) -> Vec<String> {
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
pub(crate) fn loose_objects(dir: &Path) -> usize {
    fs::read_dir(dir.join(".git/objects"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| fs::read_dir(e.path()).unwrap().count())
        .sum()
}

#[test]
pub(crate) fn large_commits_are_stored_as_a_pack() {
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
pub(crate) fn rollback_of_a_large_commit_leaves_no_objects_behind() {
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
pub(crate) fn rollback_of_a_large_commit_when_a_file_blocks_a_directory() {
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
pub(crate) fn cpu_time() -> std::time::Duration {
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
pub(crate) fn bench_25000_files() {
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
