//! Reading a site file: YAML -> typed `Site`, then validation, with located diagnostics.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::diagnostic::{self, Diagnostic};
use super::locate::{Location, Locator};
use super::model::Site;
use super::validate;

/// A site file that parsed and passed validation (warnings may remain).
#[derive(Debug, Clone)]
pub struct LoadedSite {
    pub site: Site,
    pub path: PathBuf,
    /// The file as read, for tools that edit it in place.
    pub text: String,
    /// `sha256:<hex>` of the canonical (comment- and order-insensitive) model.
    pub hash: String,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("cannot read site file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} error(s)", path.display(), diagnostics.iter().filter(|d| d.is_error()).count())]
    Invalid {
        path: PathBuf,
        /// Errors first, then warnings, each located in the file.
        diagnostics: Vec<Diagnostic>,
    },
}

pub fn load_file(path: &Path) -> Result<LoadedSite, SiteError> {
    let text = std::fs::read_to_string(path).map_err(|source| SiteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// Parse and validate `text`; `path` is only used in messages.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedSite, SiteError> {
    let locator = Locator::new(text);
    let invalid = |mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        SiteError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        }
    };
    let site: Site = serde_yaml::from_str(text).map_err(|e| invalid(vec![from_serde(&e)]))?;
    let diagnostics: Vec<Diagnostic> = validate::validate(&site)
        .into_iter()
        .map(|d| d.located(&locator))
        .collect();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(invalid(diagnostics));
    }
    let mut warnings = diagnostics;
    diagnostic::sort(&mut warnings);
    Ok(LoadedSite {
        hash: canonical_hash(&site),
        site,
        path: path.to_path_buf(),
        text: text.to_string(),
        warnings,
    })
}

fn canonical_hash(site: &Site) -> String {
    let canonical = serde_json::to_vec(site).expect("a site always serializes");
    let digest = Sha256::digest(&canonical);
    format!("sha256:{}", hex(&digest))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Turn a serde_yaml error ("spec.hubs[0]: unknown field `rol`, expected ... at line 5 column 7")
/// into a diagnostic with path, location and a fix.
fn from_serde(error: &serde_yaml::Error) -> Diagnostic {
    let text = error.to_string();
    let location = error.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let text = match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    };
    let (path, message) = split_path(&text);
    let fix = if message.starts_with("unknown field") {
        "remove the field or correct its spelling (the fields allowed here are listed above; README.md has the full site reference)"
    } else if message.starts_with("missing field") {
        "add the field; README.md's site reference shows an example"
    } else if message.starts_with("unknown variant") {
        "use one of the values listed above"
    } else if message.starts_with("invalid type") {
        "give the value the type shown above (quote strings such as cron expressions and durations)"
    } else {
        "fix the YAML syntax at the position shown"
    };
    let mut diagnostic = Diagnostic::error(path, message, fix);
    diagnostic.location = location;
    diagnostic
}

fn split_path(text: &str) -> (String, String) {
    // serde_yaml prefixes the message with the path when it is not the document root.
    if let Some((path, rest)) = text.split_once(": ") {
        let looks_like_path = !path.contains(' ') && !path.is_empty();
        if looks_like_path {
            return (path.to_string(), rest.to_string());
        }
    }
    (String::new(), text.to_string())
}
