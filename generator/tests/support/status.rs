//! Status as agents publish it, for CLI tests that read status: signed status files committed
//! onto the status branch of a repository.

use std::path::Path;

use hubdr::status::signature::{pin_text, AgentKey};
use hubdr::status::{pin_path, signature_path, status_path, ClusterStatus, STATUS_BRANCH};

/// The files an agent with a key of its own publishes for `status`: the status, its signature
/// and the key pin.
pub fn signed_files(status: &ClusterStatus) -> Vec<(String, Vec<u8>)> {
    let cluster = status.cluster.as_str();
    let bytes = status.to_yaml().into_bytes();
    let key = AgentKey::from_seed([cluster.len() as u8; 32]);
    let signature = key.sign(cluster, &bytes).to_text().into_bytes();
    vec![
        (status_path(cluster), bytes),
        (signature_path(cluster), signature),
        (
            pin_path(cluster),
            pin_text(cluster, &key.public()).into_bytes(),
        ),
    ]
}

/// Commit `files` onto the status branch of the repository at `repo` (created when missing).
pub fn push_status(repo: &Path, files: &[(String, Vec<u8>)]) {
    super::sandbox_git_env();
    let repo = git2::Repository::open(repo).unwrap();
    let reference = format!("refs/heads/{STATUS_BRANCH}");
    let parent = repo
        .find_reference(&reference)
        .ok()
        .map(|r| r.peel_to_commit().unwrap());
    let mut index = git2::Index::new().unwrap();
    if let Some(p) = &parent {
        index.read_tree(&p.tree().unwrap()).unwrap();
    }
    for (path, bytes) in files {
        let oid = repo.blob(bytes).unwrap();
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: bytes.len() as u32,
            id: oid,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).unwrap();
    }
    let tree = repo.find_tree(index.write_tree_to(&repo).unwrap()).unwrap();
    let sig = git2::Signature::now("agent", "agent@localhost").unwrap();
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some(&reference), &sig, &sig, "status", &tree, &parents)
        .unwrap();
}
