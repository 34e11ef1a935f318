//! The render's git write step done with gix's maintained APIs, for the measurement only.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use gix::bstr::BString;
use gix::objs::tree::EntryKind;
use gix::ObjectId;
use hubdr::gitrepo::Tree;
use hubdr::stamp::Stamp;
use rayon::prelude::*;

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("gix: {what}: {e}")
}

/// `git init` `dir`, write `tree` as its first commit (blobs, trees, commit, branch), write
/// the index and check the files out; then the render stamp, as `hubdr render` does.
pub fn full_render(
    dir: &Path,
    tree: &Tree,
    author: (&str, &str),
    inputs: &str,
    prefixes: &[&str],
) -> Result<(), String> {
    let repo = gix::init(dir).map_err(err("init"))?;
    let sync = repo.clone().into_sync();
    let entries: Vec<(&String, &Vec<u8>)> = tree.iter().collect();
    let ids = entries
        .par_iter()
        .map_init(
            || sync.to_thread_local(),
            |r, (_, bytes)| r.write_blob(bytes).map(|id| id.detach()),
        )
        .collect::<Result<Vec<ObjectId>, _>>()
        .map_err(err("write blob"))?;
    let mut editor = repo
        .edit_tree(ObjectId::empty_tree(repo.object_hash()))
        .map_err(err("tree editor"))?;
    for ((path, _), id) in entries.iter().zip(&ids) {
        editor
            .upsert(path.as_str(), EntryKind::Blob, *id)
            .map_err(err("tree entry"))?;
    }
    let tree_id = editor.write().map_err(err("write trees"))?.detach();
    let signature = gix::actor::Signature {
        name: author.0.into(),
        email: author.1.into(),
        time: gix::date::Time::now_local_or_utc(),
    };
    let mut time = gix::date::parse::TimeBuf::default();
    let signature = signature.to_ref(&mut time);
    repo.commit_as(
        signature,
        signature,
        "HEAD",
        "hubdr render",
        tree_id,
        Vec::<ObjectId>::new(),
    )
    .map_err(err("commit"))?;

    let mut index = repo.index_from_tree(&tree_id).map_err(err("index"))?;
    let mut options = repo
        .checkout_options(gix::worktree::stack::state::attributes::Source::IdMapping)
        .map_err(err("checkout options"))?;
    options.destination_is_initially_empty = true;
    options.thread_limit = Some(rayon::current_num_threads());
    let objects = repo.objects.clone().into_arc().map_err(err("objects"))?;
    let workdir = repo.workdir().ok_or("gix: no work tree")?.to_path_buf();
    gix::worktree::state::checkout(
        &mut index,
        workdir,
        objects,
        &gix::progress::Discard,
        &gix::progress::Discard,
        &AtomicBool::new(false),
        options,
    )
    .map_err(err("checkout"))?;
    index
        .write(Default::default(), Default::default())
        .map_err(err("write index"))?;

    let stamp = Stamp {
        inputs: inputs.to_string(),
        trees: to_git2(&head_managed_trees(&repo, prefixes)?),
        warnings: String::new(),
    };
    hubdr::stamp::write(repo.git_dir(), &stamp).map_err(err("stamp"))
}

/// The render stamp's check with gix: the stamp names `inputs` and `HEAD`'s managed trees,
/// and nothing under them is edited.
pub fn stamped_up_to_date(dir: &Path, inputs: &str, prefixes: &[&str]) -> Result<bool, String> {
    let repo = gix::open(dir).map_err(err("open"))?;
    let Some(stamp) = hubdr::stamp::read(repo.git_dir()).filter(|s| s.inputs == inputs) else {
        return Ok(false);
    };
    if to_git2(&head_managed_trees(&repo, prefixes)?) != stamp.trees {
        return Ok(false);
    }
    Ok(!has_edits(&repo, prefixes)?)
}

/// A no-change render's check without the stamp: `tree`'s managed trees, computed in memory,
/// are `HEAD`'s, and nothing under them is edited.
pub fn unchanged(dir: &Path, tree: &Tree, prefixes: &[&str]) -> Result<bool, String> {
    let repo = gix::open(dir).map_err(err("open"))?.with_object_memory();
    let hash = repo.object_hash();
    let entries: Vec<(&String, &Vec<u8>)> = tree.iter().collect();
    let ids = entries
        .par_iter()
        .map(|(_, bytes)| gix::objs::compute_hash(hash, gix::objs::Kind::Blob, bytes))
        .collect::<Result<Vec<ObjectId>, _>>()
        .map_err(err("hash"))?;
    let mut editor = repo
        .edit_tree(ObjectId::empty_tree(hash))
        .map_err(err("tree editor"))?;
    for ((path, _), id) in entries.iter().zip(&ids) {
        editor
            .upsert(path.as_str(), EntryKind::Blob, *id)
            .map_err(err("tree entry"))?;
    }
    let root = editor.write().map_err(err("write trees"))?.detach();
    let desired = repo.find_tree(root).map_err(err("find tree"))?;
    let desired = managed_trees(&desired, prefixes);
    if desired != head_managed_trees(&repo, prefixes)? {
        return Ok(false);
    }
    Ok(!has_edits(&repo, prefixes)?)
}

/// Whether both repositories' `HEAD` commits hold the same tree.
pub fn same_head_tree(a: &Path, b: &Path) -> Result<bool, String> {
    let tree = |dir: &Path| -> Result<ObjectId, String> {
        let repo = gix::open(dir).map_err(err("open"))?;
        let id = repo.head_tree_id().map_err(err("HEAD tree"))?.detach();
        Ok(id)
    };
    Ok(tree(a)? == tree(b)?)
}

fn head_managed_trees(
    repo: &gix::Repository,
    prefixes: &[&str],
) -> Result<Vec<(String, Option<ObjectId>)>, String> {
    let head = repo.head_tree().map_err(err("HEAD tree"))?;
    Ok(managed_trees(&head, prefixes))
}

fn managed_trees(root: &gix::Tree<'_>, prefixes: &[&str]) -> Vec<(String, Option<ObjectId>)> {
    prefixes
        .iter()
        .map(|prefix| {
            let name = prefix.trim_end_matches('/');
            let id = root
                .find_entry(name)
                .filter(|e| e.mode().is_tree())
                .map(|e| e.object_id());
            (prefix.to_string(), id)
        })
        .collect()
}

fn to_git2(trees: &[(String, Option<ObjectId>)]) -> Vec<(String, Option<git2::Oid>)> {
    trees
        .iter()
        .map(|(p, id)| {
            let id = id.and_then(|id| git2::Oid::from_bytes(id.as_bytes()).ok());
            (p.clone(), id)
        })
        .collect()
}

/// gix's index-worktree status under `prefixes`: any modified, deleted or untracked file.
fn has_edits(repo: &gix::Repository, prefixes: &[&str]) -> Result<bool, String> {
    let patterns: Vec<BString> = prefixes.iter().map(|p| BString::from(*p)).collect();
    let mut iter = repo
        .status(gix::progress::Discard)
        .map_err(err("status"))?
        .into_index_worktree_iter(patterns)
        .map_err(err("status"))?;
    match iter.next() {
        Some(item) => item.map(|_| true).map_err(err("status item")),
        None => Ok(false),
    }
}
