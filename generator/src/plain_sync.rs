//! `render --no-git`: make the managed parts of a plain directory equal a render, with the
//! guarantees of the git path. Without git, the last render's `.hubdr/index.yaml` (the sha256
//! of every file it wrote) is what tells a hand edit from a file hubdr wrote: a file whose
//! digest differs from the recorded one was edited by hand, a file the index does not list was
//! not written by hubdr at all and is never deleted.
//!
//! Files are read and written in parallel, each atomically (temporary file, rename), without a
//! sync per file: a sync per file (5,663 for 1,000 clusters) made the render several times
//! slower than the git path, which does not sync per file either.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use rayon::prelude::*;

use crate::gitrepo::Tree;
use crate::index::{RenderIndex, INDEX_PATH};

/// What the render does to the directory, decided before anything is written.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlainPlan {
    /// Files to write (new or changed).
    pub write: Vec<String>,
    /// Files hubdr wrote that the render no longer has.
    pub remove: Vec<String>,
    /// Files hubdr wrote whose content is not what it wrote (hand edits): overwritten or
    /// removed only with `--force`.
    pub edited: Vec<String>,
    /// Files hubdr did not write that the render would overwrite: only with `--force`.
    pub foreign_overwritten: Vec<String>,
    /// Files hubdr did not write under the managed paths: never touched.
    pub foreign: Vec<String>,
}

impl PlainPlan {
    /// Whether the render must stop without `--force`.
    pub fn needs_force(&self) -> bool {
        !self.edited.is_empty() || !self.foreign_overwritten.is_empty()
    }
}

/// The digests the last render recorded (path -> sha256 hex), empty when there is none.
fn recorded(dir: &Path) -> BTreeMap<String, String> {
    std::fs::File::open(dir.join(INDEX_PATH))
        .ok()
        .and_then(|file| crate::limits::read_at_most(file, crate::limits::INDEX_MAX_BYTES).ok())
        .flatten()
        .and_then(|bytes| RenderIndex::parse(&String::from_utf8_lossy(&bytes)).ok())
        .map(|index| index.files)
        .unwrap_or_default()
}

/// Compare the directory with `tree` under `prefixes`.
pub fn plan(dir: &Path, tree: &Tree, prefixes: &[&str]) -> io::Result<PlainPlan> {
    let known = recorded(dir);
    let hubdrs = |path: &str, current: &[u8]| {
        path.starts_with(".hubdr/")
            || known
                .get(path)
                .is_some_and(|digest| *digest == crate::bundle::sha256_hex(current))
    };
    let mut on_disk = Vec::new();
    for prefix in prefixes {
        let root = dir.join(prefix.trim_end_matches('/'));
        if root.is_dir() {
            walk(dir, &root, &mut on_disk)?;
        }
    }
    let mut plan = PlainPlan::default();
    // Each file of the render: missing, equal, or in the way (hubdr's, edited, or foreign).
    let states: Vec<(String, Option<Option<bool>>)> = tree
        .par_iter()
        .map(|(path, bytes)| {
            let state = match std::fs::read(dir.join(path)) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
                Ok(current) if current == *bytes => Ok(Some(None)),
                Ok(current) => Ok(Some(Some(hubdrs(path, &current)))),
            };
            state.map(|s| (path.clone(), s))
        })
        .collect::<io::Result<_>>()?;
    for (path, state) in states {
        match state {
            Some(None) => {}
            None | Some(Some(true)) => plan.write.push(path),
            Some(Some(false)) if known.contains_key(&path) => {
                plan.edited.push(path.clone());
                plan.write.push(path);
            }
            Some(Some(false)) => {
                plan.foreign_overwritten.push(path.clone());
                plan.write.push(path);
            }
        }
    }
    let stale: Vec<String> = on_disk
        .into_iter()
        .filter(|p| !tree.contains_key(p))
        .collect();
    let stale: Vec<(String, Option<bool>)> = stale
        .into_par_iter()
        .map(|path| {
            let current = std::fs::read(dir.join(&path))?;
            let state = if path.starts_with(".hubdr/") || known.contains_key(&path) {
                Some(hubdrs(&path, &current))
            } else {
                None
            };
            Ok((path, state))
        })
        .collect::<io::Result<_>>()?;
    for (path, state) in stale {
        match state {
            Some(true) => plan.remove.push(path),
            Some(false) => {
                plan.edited.push(path.clone());
                plan.remove.push(path);
            }
            None => plan.foreign.push(path),
        }
    }
    plan.edited.sort();
    Ok(plan)
}

/// Carry out `plan`: write and remove, and remove directories left empty.
pub fn apply(dir: &Path, tree: &Tree, plan: &PlainPlan) -> io::Result<()> {
    plan.write.par_iter().try_for_each(|path| {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_replacing(&target, &tree[path])
    })?;
    for path in &plan.remove {
        match std::fs::remove_file(dir.join(path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut parent = Path::new(path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if std::fs::remove_dir(dir.join(p)).is_err() {
                break;
            }
            parent = p.parent();
        }
    }
    Ok(())
}

/// Write `bytes` to `target` atomically (temporary file beside it, mode 0644, rename) without
/// syncing.
fn write_replacing(target: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut tmp = crate::fsutil::temp_beside(target)?;
    crate::fsutil::set_mode(tmp.path(), 0o644)?;
    tmp.write_all(bytes)?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Every file under `root`, relative to `base` with `/` separators.
fn walk(base: &Path, root: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(base, &path, out)?;
        } else {
            out.push(
                path.strip_prefix(base)
                    .expect("walked from base")
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
    Ok(())
}
