//! Reading a site file: YAML -> typed `Site`, then validation, with located diagnostics.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::credentials;
use super::diagnostic::{self, Diagnostic};
use super::locate::{Location, Locator};
use super::model::Site;
use super::validate;
use crate::limits::{bytes_text, read_at_most, size_text, SITE_FILE_MAX_BYTES};
use crate::yaml_guard::Refusal;

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
    #[error("site file {} is {}", path.display(), too_large(*size))]
    TooLarge {
        path: PathBuf,
        /// As the file system listed it; `None` when the file was larger when read (it grew,
        /// or it is no regular file).
        size: Option<u64>,
    },
    #[error("{} has {} error(s)", path.display(), diagnostics.iter().filter(|d| d.is_error()).count())]
    Invalid {
        path: PathBuf,
        /// Errors first, then warnings, each located in the file.
        diagnostics: Vec<Diagnostic>,
    },
}

fn too_large(size: Option<u64>) -> String {
    let limit = bytes_text(SITE_FILE_MAX_BYTES);
    match size {
        Some(size) => format!("{}, more than the limit of {limit}", size_text(size)),
        None => format!("larger than the limit of {limit}"),
    }
}

pub fn load_file(path: &Path) -> Result<LoadedSite, SiteError> {
    let bytes = read_bytes(path)?;
    let text = String::from_utf8(bytes).map_err(|e| SiteError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    load_str(&text, path)
}

/// The site file's bytes, refused when it is larger than [`SITE_FILE_MAX_BYTES`]: by the size
/// the file system gives before anything is read, and by reading no more than one byte past
/// the limit, so a file that grows meanwhile (or `/dev/zero`) is refused too.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, SiteError> {
    let read_error = |source| SiteError::Read {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |size| SiteError::TooLarge {
        path: path.to_path_buf(),
        size,
    };
    if path == Path::new(STDIN) {
        return stdin_bytes()
            .map_err(read_error)?
            .ok_or_else(|| too_large(None));
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > SITE_FILE_MAX_BYTES {
        return Err(too_large(Some(size)));
    }
    read_at_most(file, SITE_FILE_MAX_BYTES)
        .map_err(read_error)?
        .ok_or_else(|| too_large(None))
}

/// `--site -`: the site file is read from standard input.
pub const STDIN: &str = "-";

/// Standard input, read once (bounded like a file) and kept: `render` reads the site twice
/// (for its stamp and to load it). `None` when it is over the limit.
fn stdin_bytes() -> std::io::Result<Option<Vec<u8>>> {
    /// The bytes (`None`: over the limit), or the read error's kind and text.
    type Read = Result<Option<Vec<u8>>, (std::io::ErrorKind, String)>;
    static READ: std::sync::OnceLock<Read> = std::sync::OnceLock::new();
    READ.get_or_init(|| {
        read_at_most(std::io::stdin().lock(), SITE_FILE_MAX_BYTES)
            .map_err(|e| (e.kind(), e.to_string()))
    })
    .clone()
    .map_err(|(kind, message)| std::io::Error::new(kind, message))
}

/// Parse and validate `text`; `path` is only used in messages.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedSite, SiteError> {
    let invalid = |mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        SiteError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        }
    };
    // Indexing every field's position costs as much as parsing: only done when a diagnostic
    // needs it.
    let site = parse(text).map_err(|e| {
        let locator = Locator::new(text);
        let errors = match e {
            ParseError::Refused(refusal) => vec![refused(&refusal)],
            ParseError::Yaml(e) => every_error(&e, &locator, text),
        };
        invalid(credentials::unparsed_all(text, errors, &locator))
    })?;
    // The canonical hash and the first pass of the search for key material (over the text, or
    // over the canonical form when the text has escapes) do not depend on the checks: made
    // meanwhile, each free to run on whichever thread is idle.
    let escaped = memchr::memchr(b'\\', text.as_bytes()).is_some();
    let (mut diagnostics, ((hash, json_suspect), text_suspect)) = rayon::join(
        || validate::validate(&site),
        || {
            rayon::join(
                || canonical_hash(&site, escaped),
                || crate::credentials::text::may_hold(text),
            )
        },
    );
    let suspect = text_suspect.or(json_suspect).unwrap_or(true);
    let found = credentials::check(&site, suspect);
    // Other messages about a field that holds key material may quote it: the credential
    // problem replaces them.
    if !found.is_empty() {
        diagnostics.retain(|d| !found.iter().any(|f| f.at == d.path));
    }
    if !diagnostics.is_empty() || !found.is_empty() {
        let locator = Locator::new(text);
        diagnostics = diagnostics
            .into_iter()
            .map(|d| d.located(&locator))
            .collect();
        diagnostics.extend(found.into_iter().map(|f| {
            let mut d = f.diagnostic;
            d.location = locator.find(&f.at);
            d
        }));
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(invalid(diagnostics));
    }
    let mut warnings = diagnostics;
    diagnostic::sort(&mut warnings);
    Ok(LoadedSite {
        hash,
        site,
        path: path.to_path_buf(),
        text: text.to_string(),
        warnings,
    })
}

/// Why a site file's text is no site.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Refused before parsing: nested too deep, or a custom tag.
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
}

/// The site of `text`. A fleet's site file is megabytes long, and serde_yaml reads it at a
/// few tens of MB/s, so a file that is all within the YAML subset `yaml_subset` reads is read
/// by it and the site taken from its value. Where both succeed they give the same site: the
/// subset's value is exactly serde_yaml's, and taking a site from it (`strict_value`) accepts
/// no more than serde_yaml does (it is stricter: a plain `123` for a string field is an error
/// there, where serde_yaml reads the text; the fallback then does too). Anything else, and
/// every error (with its position), is serde_yaml's, after the guard (`yaml_guard`: the subset
/// is shallow and has no tags by construction) has refused deep nesting and custom tags.
pub fn parse(text: &str) -> Result<Site, ParseError> {
    if let Some(site) = crate::yaml_subset::parse(text).and_then(site_from_value) {
        return Ok(site);
    }
    crate::yaml_guard::check(text).map_err(ParseError::Refused)?;
    Ok(serde_yaml::from_str(text)?)
}

/// The site of a parsed site file, `None` when it is not one (the caller then asks serde_yaml,
/// for its error). The fleet-sized lists, the managed clusters and the replications, are taken
/// out of the value and their items read in parallel (and freed as they are read); the rest of
/// the site is read meanwhile, with those lists empty.
fn site_from_value(mut value: serde_json::Value) -> Option<Site> {
    use rayon::prelude::*;
    use serde_json::Value;

    fn take_list(value: &mut Value, path: &str) -> Vec<Value> {
        match value.pointer_mut(path) {
            Some(Value::Array(items)) => std::mem::take(items),
            _ => Vec::new(),
        }
    }
    fn read_all<T: serde::de::DeserializeOwned + Send>(items: Vec<Value>) -> Option<Vec<T>> {
        items
            .into_par_iter()
            .with_min_len(64)
            .map(|item| super::strict_value::from_value::<T>(&item).ok())
            .collect()
    }

    let clusters = take_list(&mut value, "/spec/managedClusters");
    let replications = take_list(&mut value, "/spec/volsync/replications");
    let (site, (clusters, replications)) = rayon::join(
        || super::strict_value::from_value::<Site>(&value).ok(),
        || rayon::join(|| read_all(clusters), || read_all(replications)),
    );
    let mut site = site?;
    site.spec.managed_clusters = clusters?;
    let replications = replications?;
    if !replications.is_empty() {
        // Taken from `spec.volsync`, which is a mapping: the site has it.
        site.spec.volsync.as_mut()?.replications = replications;
    }
    Some(site)
}

/// The canonical hash of `site`, and, when `escaped` (its text has escapes, which the first
/// pass over the text does not decide), whether its canonical form may hold key material.
fn canonical_hash(site: &Site, escaped: bool) -> (String, Option<bool>) {
    let canonical = serde_json::to_vec(site).expect("a site always serializes");
    let digest = Sha256::digest(&canonical);
    let suspect = escaped.then(|| crate::credentials::scan::json_may_hold(&canonical));
    (format!("sha256:{}", hex(&digest)), suspect)
}

pub use hubdr_core::digest::hex;

/// A document the guard refused, at the position it names.
fn refused(refusal: &Refusal) -> Diagnostic {
    let mut diagnostic = Diagnostic::error("", refusal.message(), refusal.fix());
    diagnostic.location = Some(Location {
        line: refusal.line,
        column: refusal.column,
    });
    diagnostic
}

/// serde_yaml's first error and every schema error after it (see `all_errors`), with a note
/// when some are not listed.
fn every_error(error: &serde_yaml::Error, locator: &Locator, text: &str) -> Vec<Diagnostic> {
    use super::all_errors::{more_errors, MAX_ERRORS};
    let first = from_serde(error, locator, text);
    let (more, extra) = more_errors(text, &first, locator, &|e| from_serde(e, locator, text));
    let mut all = vec![first];
    all.extend(more);
    let note = match extra {
        Some(0) => None,
        Some(n) => Some(format!("and {n} more error(s) not listed")),
        None if all.len() >= MAX_ERRORS => Some("and possibly more errors not listed".into()),
        None => None,
    };
    if let Some(note) = note {
        all.push(Diagnostic::warning(
            "",
            note,
            "fix the errors listed, then validate again",
        ));
    }
    all
}

/// Turn a serde_yaml error ("spec.hubs[0]: unknown field `rol`, expected ... at line 5 column 7")
/// into a diagnostic with path, location and a fix.
fn from_serde(error: &serde_yaml::Error, locator: &Locator, source: &str) -> Diagnostic {
    let text = strip_positions(&error.to_string());
    if let Some(diagnostic) = super::yaml_positions::positioned(&text, source) {
        return diagnostic;
    }
    let mut location = error.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let (mut path, message) = split_path(&text);
    let message = plain_types(&message);
    let fix = if let Some(field) = backquoted(&message, "unknown field `") {
        // Name the offending field itself; serde reports its parent.
        path = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        "remove the field or correct its spelling (the fields allowed here are listed above; README.md has the full site reference)"
    } else if message.starts_with("missing field") {
        // serde points inside the mapping (its first key); the mapping's own key reads better.
        if let Some(found) = locator.find(&path).filter(|_| !path.is_empty()) {
            location = Some(found);
        }
        "add the field; README.md's site reference shows an example"
    } else if message.starts_with("unknown variant") {
        "use one of the values listed above"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "give the value the type shown above (quote strings such as cron expressions and durations)"
    } else if message.contains("while scanning an alias")
        || message.contains("while scanning an anchor")
    {
        "a value starting with `*` or `&` is a YAML alias or anchor: quote it, e.g. schedule: \"*/5 * * * *\""
    } else {
        "fix the YAML syntax at the position shown"
    };
    let mut diagnostic = Diagnostic::error(path, message, fix);
    diagnostic.location = location;
    diagnostic
}

/// Remove serde_yaml's " at line N column M" (the location is printed on its own line).
fn strip_positions(text: &str) -> String {
    let mut out = text.to_string();
    while let Some(at) = out.find(" at line ") {
        let rest = &out[at + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let line_len = digits(rest);
        let Some(after) = rest[line_len..].strip_prefix(" column ") else {
            break;
        };
        if line_len == 0 || digits(after) == 0 {
            break;
        }
        let end = at + " at line ".len() + line_len + " column ".len() + digits(after);
        out.replace_range(at..end, "");
    }
    out
}

/// serde's Rust type names in words a site author knows.
fn plain_types(message: &str) -> String {
    let mut out = message.to_string();
    for (rust, plain) in [
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{plain}");
        }
    }
    if let Some(at) = out.find("expected struct ") {
        let name = out[at + "expected struct ".len()..].to_string();
        out = format!("{}expected a mapping ({name})", &out[..at]);
    }
    out
}

/// The text between `prefix` and the next backquote, if `message` starts with `prefix`.
fn backquoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(field, _)| field)
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
