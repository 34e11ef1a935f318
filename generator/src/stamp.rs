//! The render stamp: what the last successful `hubdr render` into a repository was made from,
//! so that a render with the same inputs can stop before loading and rendering the site.
//!
//! It lives in the git directory (`.git/hubdr-render-stamp`), never in the tree: it describes
//! this clone, not the rendered content. It records
//!
//! * the inputs digest: the site file's bytes, the templates' digest, and the identity of the
//!   running `hubdr` build (version, and the executable's size and mtime, so a rebuilt binary
//!   never trusts a stamp of another build);
//! * the git tree id of each managed top-level directory at `HEAD` after that render;
//! * the warnings the site produced, to print them again.
//!
//! A render may skip the work only when the inputs digest is equal, `HEAD`'s managed trees are
//! exactly the recorded ones (so nobody committed, amended or checked out anything there), and
//! the working tree has no uncommitted changes under the managed paths. Everything else, a
//! missing or unreadable stamp included, takes the full path: the stamp can make a render
//! faster, never different.

use std::path::Path;

use git2::Oid;
use sha2::{Digest, Sha256};

use crate::site::load::hex;

const FILE_NAME: &str = "hubdr-render-stamp";
const HEADER: &str = "hubdr-render-stamp 1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub inputs: String,
    /// Managed top-level directory (`clusters/`) -> its tree id at `HEAD` (`None`: absent).
    pub trees: Vec<(String, Option<Oid>)>,
    /// The site's warnings as printed, possibly empty.
    pub warnings: String,
}

/// The digest of everything a render's output depends on; `None` when this build cannot be
/// identified (then no stamp is trusted or written).
pub fn inputs_digest(site_bytes: &[u8], templates_digest: &str) -> Option<String> {
    let build = build_id()?;
    let mut hasher = Sha256::new();
    for part in [build.as_bytes(), templates_digest.as_bytes(), site_bytes] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Some(hex(&hasher.finalize()))
}

/// This build: the tool version and the running executable's size and modification time.
fn build_id() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let md = std::fs::metadata(exe).ok()?;
    let mtime = md
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "{} {} {}",
        crate::render::TOOL_VERSION,
        md.len(),
        mtime.as_nanos()
    ))
}

impl Stamp {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\ninputs {}\n", self.inputs);
        for (dir, id) in &self.trees {
            let id = id.map_or("-".to_string(), |id| id.to_string());
            out.push_str(&format!("tree {dir} {id}\n"));
        }
        out.push_str("warnings\n");
        out.push_str(&self.warnings);
        out
    }

    /// `None` for anything but a well-formed stamp.
    pub fn parse(text: &str) -> Option<Stamp> {
        let rest = text.strip_prefix(HEADER)?.strip_prefix('\n')?;
        let (inputs, mut rest) = rest.strip_prefix("inputs ")?.split_once('\n')?;
        let mut trees = Vec::new();
        while let Some(line_rest) = rest.strip_prefix("tree ") {
            let (line, after) = line_rest.split_once('\n')?;
            let (dir, id) = line.split_once(' ')?;
            let id = match id {
                "-" => None,
                id => Some(Oid::from_str(id).ok()?),
            };
            trees.push((dir.to_string(), id));
            rest = after;
        }
        let warnings = rest.strip_prefix("warnings\n")?;
        Some(Stamp {
            inputs: inputs.to_string(),
            trees,
            warnings: warnings.to_string(),
        })
    }
}

/// The stamp of the repository whose git directory is `git_dir`, if there is a readable one.
pub fn read(git_dir: &Path) -> Option<Stamp> {
    let text = std::fs::read_to_string(git_dir.join(FILE_NAME)).ok()?;
    Stamp::parse(&text)
}

/// Replace the stamp (atomically).
pub fn write(git_dir: &Path, stamp: &Stamp) -> std::io::Result<()> {
    crate::fsutil::write_atomic(&git_dir.join(FILE_NAME), stamp.to_text().as_bytes())
}

/// Remove the stamp, so the next render takes the full path (a missing stamp is fine).
pub fn remove(git_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(git_dir.join(FILE_NAME)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_damage() {
        let stamp = Stamp {
            inputs: "ab".repeat(32),
            trees: vec![
                (
                    "clusters/".into(),
                    Some(Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap()),
                ),
                ("argocd/".into(), None),
            ],
            warnings: "warning: x\n\nwarning: y\n".into(),
        };
        let text = stamp.to_text();
        assert_eq!(Stamp::parse(&text), Some(stamp.clone()));
        for cut in 0..text.find("warnings\n").unwrap() + "warnings\n".len() {
            assert_eq!(Stamp::parse(&text[..cut]), None, "cut at {cut}");
        }
        assert_eq!(Stamp::parse(&text.replace("0123", "zz23")), None);
        assert_eq!(Stamp::parse(&text.replace(" 1\n", " 2\n")), None);
    }

    #[test]
    fn the_digest_depends_on_every_input() {
        let base = inputs_digest(b"site", "templates").unwrap();
        assert_eq!(inputs_digest(b"site", "templates").unwrap(), base);
        assert_ne!(inputs_digest(b"site ", "templates").unwrap(), base);
        assert_ne!(inputs_digest(b"site", "templates2").unwrap(), base);
        // Lengths are part of the digest: moving bytes between parts changes it.
        assert_ne!(inputs_digest(b"sitet", "emplates").unwrap(), base);
    }
}
