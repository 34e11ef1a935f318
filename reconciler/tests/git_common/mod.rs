//! Helpers shared by the `git_*` integration tests: a sandboxed git configuration, bare
//! repositories with commits written straight into them, and a tree rendered by `hubdr`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Signature};

mod status;
#[allow(unused_imports)] // Not every test binary uses them.
pub use status::*;

/// Point HOME and the XDG config at an empty directory, before libgit2 first reads them, so
/// the user's git configuration cannot leak into the tests. Call first in every test.
pub fn sandbox() {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = tempfile::Builder::new()
            .prefix("hubdr-git-home-")
            .tempdir()
            .expect("temp home")
            .keep();
        std::fs::create_dir_all(home.join(".config")).unwrap();
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", home.join(".gitconfig"));
        home
    });
}

pub fn bare(path: &Path) -> Repository {
    Repository::init_bare(path).expect("init bare repository")
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Commit exactly `files` (the whole tree) on `branch`, on top of its current tip.
pub fn commit_files(
    repo: &Repository,
    branch: &str,
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
) -> Oid {
    let refname = format!("refs/heads/{branch}");
    let tree = tree_of(repo, files);
    let parent = repo
        .find_reference(&refname)
        .ok()
        .and_then(|r| r.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let sig = Signature::now("test", "test@example.com").unwrap();
    repo.commit(Some(&refname), &sig, &sig, message, &tree, &parents)
        .unwrap()
}

/// A tree holding exactly `files` (paths with `/`), written into `repo`.
pub fn tree_of<'r, 'f>(
    repo: &'r Repository,
    files: impl IntoIterator<Item = (&'f String, &'f Vec<u8>)>,
) -> git2::Tree<'r> {
    let empty = repo
        .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
        .unwrap();
    let mut update = TreeUpdateBuilder::new();
    for (path, bytes) in files {
        update.upsert(path.as_str(), repo.blob(bytes).unwrap(), FileMode::Blob);
    }
    repo.find_tree(update.create_updated(repo, &empty).unwrap())
        .unwrap()
}

pub fn tip(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.target())
}

/// Every file of the tree at `commit`.
pub fn files_at(repo: &Repository, commit: Oid) -> BTreeMap<String, Vec<u8>> {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    let mut out = BTreeMap::new();
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

/// The starter site rendered by the real `hubdr` library.
pub fn rendered() -> hubdr::render::Rendered {
    let site = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../generator/src/starter-site.yaml"
    ));
    let loaded =
        hubdr::site::load_str(site, Path::new("site.yaml")).expect("the starter site is valid");
    hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).expect("it renders")
}

#[allow(unused_imports)] // Not every test binary uses it.
pub use hubdr_agent::git::daemon::GitDaemon;
