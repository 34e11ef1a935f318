//! A commit object encoded in memory, byte for byte as libgit2's `git_commit_create` writes it
//! (gitformat-commit): `tree`, `parent` lines, `author` and `committer` as
//! `<name> <<email>> <seconds> <+|-><hhmm>`, an empty line and the message as given.
//!
//! A large render's commit message lists every changed object and is megabytes long; libgit2
//! would hash it with its collision-detecting SHA-1 when writing it and again when reading it
//! back, on the one thread that waits for the commit.

use git2::{Oid, Signature};

/// The commit of `tree` with `parents`, `signature` as author and committer, and `message`.
pub(super) fn encode(
    tree: Oid,
    parents: &[Oid],
    signature: &Signature<'_>,
    message: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + message.len());
    out.extend_from_slice(format!("tree {tree}\n").as_bytes());
    for parent in parents {
        out.extend_from_slice(format!("parent {parent}\n").as_bytes());
    }
    for header in ["author", "committer"] {
        out.extend_from_slice(header.as_bytes());
        out.push(b' ');
        person(&mut out, signature);
    }
    out.push(b'\n');
    out.extend_from_slice(message.as_bytes());
    out
}

/// `<name> <<email>> <seconds> <zone>\n`, as libgit2's `git_signature__writebuf`.
fn person(out: &mut Vec<u8>, signature: &Signature<'_>) {
    let when = signature.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 || when.sign() == '-' {
        '-'
    } else {
        '+'
    };
    let offset = offset.unsigned_abs();
    out.extend_from_slice(signature.name_bytes());
    out.extend_from_slice(b" <");
    out.extend_from_slice(signature.email_bytes());
    out.extend_from_slice(
        format!(
            "> {} {sign}{:02}{:02}\n",
            when.seconds() as u32,
            offset / 60,
            offset % 60
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{ObjectType, Repository, Time};

    /// The bytes libgit2 writes for the same commit, with and without a parent, in time zones
    /// east and west of UTC and at UTC, with a multi-line message and names that libgit2 trims.
    #[test]
    fn encodes_commits_as_libgit2_does() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree_id = repo.treebuilder(None).unwrap().write().unwrap();
        let tree = repo.find_tree(tree_id).unwrap();
        let zones = [0, 60, -300, 330, -570, 845];
        let mut parent: Option<Oid> = None;
        for (n, minutes) in zones.into_iter().enumerate() {
            let signature = Signature::new(
                "  Ada Lövelace ",
                " ada@example.org",
                &Time::new(1_700_000_000 + n as i64, minutes),
            )
            .unwrap();
            let message = format!("render {n}\n\nclusters:\n  + a\n  ~ b\n");
            let parents: Vec<git2::Commit<'_>> = parent
                .iter()
                .map(|id| repo.find_commit(*id).unwrap())
                .collect();
            let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let id = repo
                .commit(None, &signature, &signature, &message, &tree, &parent_refs)
                .unwrap();
            let odb = repo.odb().unwrap();
            let libgit2 = odb.read(id).unwrap();
            assert_eq!(libgit2.kind(), ObjectType::Commit);
            let ours = encode(
                tree_id,
                &parent.into_iter().collect::<Vec<_>>(),
                &signature,
                &message,
            );
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(libgit2.data()),
                "offset {minutes} minutes"
            );
            parent = Some(id);
        }
    }
}
