//! `hubdr status import FILE --repo CENTRAL`: merge a disconnected site's status export into
//! the central status branch. Every status in the export must be signed by its cluster's key
//! (registered in the site's index on the source branch; else pinned on the central status
//! branch; else, on first use, the key the export pins) and not from the future: otherwise
//! the whole export is refused and nothing is imported. Idempotent (a second import of the
//! same file changes nothing) and monotonic (a trusted status is only replaced by one with a
//! later `updatedAt`; an untrusted one is replaced). The branch is updated with
//! compare-and-swap, so agents pushing at the same time lose nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Signature, Tree};

use crate::bundle::transfer::{self, Central, Merge, Unpacked};
use crate::bundle::Limits;
use crate::index::{RenderIndex, INDEX_PATH};
use crate::status::trust::{self, Anchors, KeySource, Refusal};
use crate::status::{pin_path, signature_path};

use super::render::parse_author;
use super::CommandError;

const ATTEMPTS: usize = 10;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub repo: &'a Path,
    pub branch: &'a str,
    /// The branch whose render index lists the registered status keys.
    pub source_branch: &'a str,
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
    let registered = registered_keys(&repo, args.source_branch);
    let now = jiff::Timestamp::now();

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
        // What readers see now: the status refs merged with the branch. The import writes the
        // branch; readers take its status over a cluster ref's when its updatedAt is newer.
        let view = crate::status::refs::read(&repo, &refname)
            .map_err(|e| failed("cannot read the status refs", e))?;
        let read = |path: &str| {
            view.files
                .get(path)
                .and_then(|id| repo.find_blob(*id).ok())
                .map(|b| b.content().to_vec())
        };
        let (anchors, first_use) = anchors(&registered, &export, &read);
        refuse_untrusted(args.file, &export, &anchors, now)?;
        let mut update = TreeUpdateBuilder::new();
        let mut lines = Vec::new();
        let mut written = Vec::new();
        for (path, (bytes, status)) in &export.statuses {
            let cluster = status.cluster.as_str();
            let central = read(path);
            let central_sig = read(&signature_path(cluster));
            let central_check = central.as_ref().map(|c| {
                trust::check(
                    cluster,
                    c,
                    central_sig.as_deref(),
                    anchors.get(cluster),
                    now,
                )
                .map_err(|why| Refusal::new(cluster, why).to_string())
            });
            let central = match (&central, &central_check) {
                (Some(bytes), Some(Ok(status))) => Central::Trusted { bytes, status },
                (_, Some(Err(why))) => Central::Untrusted(why),
                _ => Central::Absent,
            };
            let decision = transfer::merge(central, bytes, status);
            lines.push(line(path, &decision));
            if decision.writes() {
                let signature = &export.signatures[cluster];
                let mut files = vec![(path.clone(), bytes), (signature_path(cluster), signature)];
                if first_use.iter().any(|c| c == cluster) {
                    files.push((pin_path(cluster), &export.pins[cluster]));
                }
                for (path, bytes) in files {
                    let blob = repo
                        .blob(bytes)
                        .map_err(|e| failed("cannot write a blob", e))?;
                    update.upsert(path.as_str(), blob, FileMode::Blob);
                }
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

/// The status keys the render index on `branch` registers; none when there is no such branch
/// or index (every cluster is then trusted on first use).
fn registered_keys(repo: &Repository, branch: &str) -> BTreeMap<String, String> {
    let tree = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_commit())
        .and_then(|c| c.tree())
        .ok();
    blob(repo, tree.as_ref(), INDEX_PATH)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| RenderIndex::parse(&text).ok())
        .map(|index| index.status_keys)
        .unwrap_or_default()
}

/// The key trusted for each imported cluster: registered, else pinned on the central branch,
/// else (first use) pinned by the export. Also the clusters whose pin comes from the export
/// (it is imported with the status).
fn anchors(
    registered: &BTreeMap<String, String>,
    export: &Unpacked,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> (Anchors, Vec<String>) {
    let mut anchors = Anchors::registered(registered);
    let mut first_use = Vec::new();
    for (_, status) in export.statuses.values() {
        let cluster = status.cluster.as_str();
        if let Some(pin) = read(&pin_path(cluster)) {
            anchors.pin(cluster, &pin);
        } else if let Some(pin) = export.pins.get(cluster) {
            anchors.pin(cluster, pin);
            if anchors
                .get(cluster)
                .is_ok_and(|a| a.is_some_and(|a| a.source == KeySource::Pinned))
            {
                first_use.push(cluster.to_string());
            }
        }
    }
    (anchors, first_use)
}

/// Refuse the whole export when any of its statuses is not trusted.
fn refuse_untrusted(
    file: &Path,
    export: &Unpacked,
    anchors: &Anchors,
    now: jiff::Timestamp,
) -> Result<(), CommandError> {
    let refusals: Vec<String> = export
        .statuses
        .values()
        .filter_map(|(bytes, status)| {
            let cluster = status.cluster.as_str();
            let signature = export.signatures.get(cluster).map(Vec::as_slice);
            trust::check(cluster, bytes, signature, anchors.get(cluster), now)
                .err()
                .map(|why| format!("  {}\n", Refusal::new(cluster, why)))
        })
        .collect();
    if refusals.is_empty() {
        return Ok(());
    }
    Err(CommandError::BadInput(format!(
        "error: status export {} refused; nothing was imported:\n{}  fix: import only exports written by `hubdr-agent export-status` on the site, \
         whose agents sign their status (see README, Status signatures)",
        file.display(),
        refusals.concat()
    )))
}

fn blob(repo: &Repository, tree: Option<&Tree<'_>>, path: &str) -> Option<Vec<u8>> {
    let entry = tree?.get_path(Path::new(path)).ok()?;
    repo.find_blob(entry.id())
        .ok()
        .map(|b| b.content().to_vec())
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
        Merge::ReplaceUntrusted(why) => format!("~ {path} (replaces the central status: {why})"),
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
