//! `hubdr status import FILE --repo CENTRAL`: merge a disconnected site's status export into
//! the central status branch. Idempotent (a second import of the same file changes nothing)
//! and monotonic (a status is only replaced by one with a later `updatedAt`). The branch is
//! updated with compare-and-swap, so agents pushing at the same time lose nothing.

use std::io::Read;
use std::path::Path;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Signature};

use crate::bundle::transfer::{self, Merge};
use crate::bundle::Limits;

use super::render::parse_author;
use super::CommandError;

const ATTEMPTS: usize = 10;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub repo: &'a Path,
    pub branch: &'a str,
    pub author: &'a str,
}

pub fn run(args: &ImportArgs<'_>, out: &mut dyn std::io::Write) -> Result<(), CommandError> {
    let author = parse_author(args.author)?;
    let limits = Limits::default();
    let bytes = read_limited(args.file, limits.max_archive_bytes)?;
    let export = transfer::unpack(&bytes, &limits).map_err(|e| {
        CommandError::BadInput(format!(
            "error: status export {} refused: {e}; nothing was imported",
            args.file.display()
        ))
    })?;
    let repo = Repository::open(args.repo).map_err(|e| {
        CommandError::BadInput(format!(
            "error: {} is not a git repository: {}\n  fix: give the central repository the agents report to",
            args.repo.display(),
            e.message()
        ))
    })?;
    let refname = format!("refs/heads/{}", args.branch);
    if !repo.is_bare()
        && repo
            .head()
            .ok()
            .and_then(|h| h.name().map(str::to_string))
            .as_deref()
            == Some(refname.as_str())
    {
        return Err(CommandError::BadInput(format!(
            "error: {} is checked out in {}; importing would leave its working tree behind\n  fix: import into the bare central repository, or check out another branch",
            args.branch,
            args.repo.display()
        )));
    }
    let failed = |what: &str, e: git2::Error| {
        CommandError::Failed(format!(
            "error: {what} in {}: {}",
            args.repo.display(),
            e.message()
        ))
    };

    for _ in 0..ATTEMPTS {
        let tip = repo.find_reference(&refname).ok().and_then(|r| r.target());
        let base = match tip {
            Some(tip) => Some(
                repo.find_commit(tip)
                    .and_then(|c| c.tree())
                    .map_err(|e| failed("cannot read the status branch", e))?,
            ),
            None => None,
        };
        let mut update = TreeUpdateBuilder::new();
        let mut lines = Vec::new();
        let mut written = Vec::new();
        for (path, (bytes, status)) in &export.statuses {
            let central = base
                .as_ref()
                .and_then(|t| t.get_path(Path::new(path)).ok())
                .and_then(|e| repo.find_blob(e.id()).ok())
                .map(|b| b.content().to_vec());
            let decision = transfer::merge(central.as_deref(), bytes, status);
            lines.push(line(path, &decision));
            if decision.writes() {
                let blob = repo
                    .blob(bytes)
                    .map_err(|e| failed("cannot write a blob", e))?;
                update.upsert(path.as_str(), blob, FileMode::Blob);
                written.push(status.cluster.clone());
            }
        }
        if written.is_empty() {
            let _ = writeln!(out, "{}\nnothing to import: the status branch {} already holds these statuses or newer ones", lines.join("\n"), args.branch);
            return Ok(());
        }
        let base = match base {
            Some(tree) => tree,
            None => repo
                .find_tree(
                    repo.treebuilder(None)
                        .and_then(|b| b.write())
                        .map_err(|e| failed("cannot write a tree", e))?,
                )
                .map_err(|e| failed("cannot read a tree", e))?,
        };
        let tree = update
            .create_updated(&repo, &base)
            .map_err(|e| failed("cannot write the tree", e))?;
        let tree = repo
            .find_tree(tree)
            .map_err(|e| failed("cannot read the tree", e))?;
        let signature =
            Signature::now(&author.0, &author.1).map_err(|e| failed("bad author", e))?;
        let message = format!(
            "Import status of {} from a disconnected site\n\nexported {}{}\n",
            written.join(", "),
            export.header.exported_at,
            export
                .header
                .status_commit
                .as_deref()
                .map(|c| format!(" from status commit {c}"))
                .unwrap_or_default()
        );
        let parents = match tip {
            Some(tip) => vec![repo
                .find_commit(tip)
                .map_err(|e| failed("cannot read the status branch", e))?],
            None => Vec::new(),
        };
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let commit = repo
            .commit(None, &signature, &signature, &message, &tree, &parent_refs)
            .map_err(|e| failed("cannot commit", e))?;
        if swap(&repo, &refname, tip, commit) {
            let _ = writeln!(
                out,
                "{}\nimported into {} as {commit}",
                lines.join("\n"),
                args.branch
            );
            return Ok(());
        }
        // The branch moved (an agent pushed): decide again against the new tip.
    }
    Err(CommandError::Failed(format!(
        "error: the status branch {} kept moving; try the import again",
        args.branch
    )))
}

/// Move `refname` from `old` to `new`, only if it still points at `old`.
fn swap(repo: &Repository, refname: &str, old: Option<Oid>, new: Oid) -> bool {
    match old {
        Some(old) => repo
            .reference_matching(refname, new, true, old, "hubdr status import")
            .is_ok(),
        None => repo
            .reference(refname, new, false, "hubdr status import")
            .is_ok(),
    }
}

fn line(path: &str, decision: &Merge) -> String {
    match decision {
        Merge::Add => format!("+ {path} (new)"),
        Merge::Replace => format!("~ {path} (newer than the central status)"),
        Merge::Same => format!("= {path} (already imported)"),
        Merge::KeepCentral { central, imported } => {
            format!("! {path} kept the central status: its updatedAt {central} is not older than the imported {imported}")
        }
    }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, CommandError> {
    let bad = |e: std::io::Error| {
        CommandError::BadInput(format!("error: cannot read {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(bad)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(bad)?;
    if bytes.len() as u64 > limit {
        return Err(CommandError::BadInput(format!(
            "error: {} is larger than {limit} bytes; not a status export",
            path.display()
        )));
    }
    Ok(bytes)
}
