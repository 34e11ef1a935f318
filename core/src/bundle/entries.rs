//! Streaming the tar inside a checked container, one entry at a time, so that nothing is held
//! in memory that the caller did not ask for, and every limit holds while reading:
//!
//! - the decompressed bytes, counted as zstd produces them ([`super::frame::Decoder`]);
//! - the number of entries, before an entry's content is reached;
//! - entry headers: only regular files with a relative path of plain parts, each name once
//!   (GNU long names are read, up to [`MAX_PATH_BYTES`]; PAX headers, links, directories and
//!   devices are refused);
//! - each entry's size, against the limit the caller gives when it reads the entry;
//! - after the end of the tar, only zero padding, then the end of the zstd frame.
//!
//! The caller sees each entry's name and size first and decides: read it ([`Entry::read`],
//! which applies the archive's checks of the entry first), or refuse the bundle before a byte
//! of the content is decompressed. So an unsigned bundle is refused as unsigned whatever its
//! other entries are.

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use sha2::{Digest, Sha256};

use super::frame::{self, Failure};
use super::{BundleError, Limits};

/// The longest path an entry may have (a GNU long-name entry is refused beyond this).
pub const MAX_PATH_BYTES: u64 = 4096;

/// One entry, before its content is read.
pub struct Entry<'a> {
    path: &'a str,
    size: u64,
    body: &'a mut dyn Read,
    /// Why the archive refuses this entry, if it does: handed out by [`Entry::check`] and
    /// [`Entry::read`], so that the caller's own refusals (an unsigned bundle, a name the
    /// signed manifest does not list) can come first.
    refusal: Option<BundleError>,
}

impl Entry<'_> {
    /// The name, as the header gives it (not yet checked: see [`Entry::check`]).
    pub fn path(&self) -> &str {
        self.path
    }

    /// The size its header declares.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The archive's checks of this entry: a regular file with a relative path of plain parts,
    /// not seen before.
    pub fn check(&mut self) -> Result<(), BundleError> {
        match self.refusal.take() {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// The content and its sha256, hashed as it streams. The entry is checked, and a declared
    /// size over `limit` refused, before a byte is read.
    pub fn read(&mut self, limit: u64) -> Result<(Vec<u8>, String), BundleError> {
        self.check()?;
        if self.size > limit {
            return Err(BundleError::TooLarge {
                what: format!("{} ({} bytes)", self.path, self.size),
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(self.size as usize);
        let mut hasher = Sha256::new();
        let mut chunk = [0u8; 64 << 10];
        while (bytes.len() as u64) < self.size {
            let want = chunk.len().min((self.size - bytes.len() as u64) as usize);
            let n = self
                .body
                .read(&mut chunk[..want])
                .map_err(|e| damaged(format!("reading {}: {e}", self.path)))?;
            if n == 0 {
                return Err(damaged(format!("the archive ends inside {}", self.path)));
            }
            hasher.update(&chunk[..n]);
            bytes.extend_from_slice(&chunk[..n]);
        }
        Ok((bytes, crate::digest::hex(&hasher.finalize())))
    }
}

fn damaged(detail: String) -> BundleError {
    BundleError::Damaged { detail }
}

fn unsafe_entry(path: &str, why: impl Into<String>) -> BundleError {
    BundleError::UnsafeEntry {
        path: path.into(),
        why: why.into(),
    }
}

/// Stream the bundle file `source` (`len` bytes): check the container (first pass), then
/// hand each entry to `visit` in archive order (second pass). Stops at the first error,
/// `visit`'s or the archive's, without reading further.
pub fn read<R: Read + Seek>(
    mut source: R,
    len: u64,
    limits: &Limits,
    mut visit: impl FnMut(&mut Entry<'_>) -> Result<(), BundleError>,
) -> Result<(), BundleError> {
    if len > limits.max_archive_bytes {
        return Err(BundleError::TooLarge {
            what: format!("the file ({len} bytes)"),
            limit: limits.max_archive_bytes,
        });
    }
    let info = frame::check(&mut source, len)?;
    let decoder = frame::open(source, &info, limits)?;
    let mut archive = tar::Archive::new(decoder);
    let result = read_entries(&mut archive, limits, &mut visit);
    let mut decoder = archive.into_inner();
    // A broken stream is the cause of whatever error it led to.
    if let Some(error) = broken(&decoder, limits) {
        return Err(error);
    }
    result?;
    // After the tar's end: zero padding up to the end of the frame, nothing else.
    let zeros = [0u8; 64 << 10];
    let mut chunk = [0u8; 64 << 10];
    loop {
        let n = decoder.read(&mut chunk).map_err(|e| {
            broken(&decoder, limits).unwrap_or_else(|| damaged(format!("zstd: {e}")))
        })?;
        if n == 0 {
            break;
        }
        if chunk[..n] != zeros[..n] {
            return Err(BundleError::Malformed {
                detail: "there is data after the end of the tar archive".into(),
            });
        }
    }
    decoder.finish()
}

/// Why the decompressed stream broke, if it did.
fn broken<R: Read>(decoder: &frame::Decoder<R>, limits: &Limits) -> Option<BundleError> {
    decoder.failure().map(|failure| match failure {
        Failure::OverLimit { after } => BundleError::Inflated {
            after: *after,
            limit: limits.max_unpacked_bytes,
        },
        Failure::Corrupt(detail) => damaged(format!("zstd: {detail}")),
    })
}

fn read_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    limits: &Limits,
    visit: &mut dyn FnMut(&mut Entry<'_>) -> Result<(), BundleError>,
) -> Result<(), BundleError> {
    let tar_error = |e: std::io::Error| damaged(format!("tar: {e}"));
    let mut seen = BTreeSet::new();
    let mut long_name: Option<String> = None;
    // Raw: GNU long names and PAX headers come as entries of their own, so that this loop,
    // not the tar crate, decides how much of them is read.
    for entry in archive.entries().map_err(tar_error)?.raw(true) {
        let mut entry = entry.map_err(tar_error)?;
        let kind = entry.header().entry_type();
        let size = entry.size();
        let path;
        let mut refusal = None;
        if kind.is_gnu_longname() {
            path = "a GNU long-name entry".to_string();
            if long_name.is_some() {
                refusal = Some(unsafe_entry(&path, "two long names for one entry"));
            } else if size > MAX_PATH_BYTES {
                refusal = Some(unsafe_entry(
                    &path,
                    format!("a name of {size} bytes, over the limit of {MAX_PATH_BYTES}"),
                ));
            } else {
                let mut name = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut name).map_err(tar_error)?;
                while name.last() == Some(&0) {
                    name.pop();
                }
                long_name = Some(
                    String::from_utf8(name)
                        .map_err(|_| unsafe_entry(&path, "the name is not UTF-8"))?,
                );
                continue;
            }
        } else {
            path = match long_name.take() {
                Some(name) => name,
                None => {
                    let bytes = entry.header().path_bytes().into_owned();
                    String::from_utf8(bytes).unwrap_or_else(|e| {
                        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                        refusal = Some(unsafe_entry(&lossy, "the name is not UTF-8"));
                        lossy
                    })
                }
            };
            if !matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
                refusal = refusal.or_else(|| {
                    Some(unsafe_entry(
                        &path,
                        format!("it is {}, not a regular file", describe(kind)),
                    ))
                });
            }
            if let Err(why) = check_path(&path) {
                refusal = refusal.or_else(|| Some(unsafe_entry(&path, why)));
            }
            if seen.len() >= limits.max_entries {
                return Err(BundleError::TooManyEntries {
                    limit: limits.max_entries,
                });
            }
            if !seen.insert(path.clone()) {
                refusal = refusal
                    .or_else(|| Some(unsafe_entry(&path, "the name appears twice in the archive")));
            }
        }
        let mut entry = Entry {
            path: &path,
            size,
            body: &mut entry,
            refusal,
        };
        visit(&mut entry)?;
        // The caller may have passed over the entry without reading it: its refusal stands.
        entry.check()?;
    }
    if long_name.is_some() {
        return Err(unsafe_entry("a GNU long-name entry", "no entry follows it"));
    }
    Ok(())
}

fn describe(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Directory => "a directory",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a named pipe",
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => "a PAX extended header",
        tar::EntryType::GNUSparse => "a sparse file",
        tar::EntryType::GNULongLink => "a GNU long link name",
        _ => "an entry of an unknown type",
    }
}

/// A relative path of plain components: no root, no `.` or `..`, no empty parts.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.starts_with('/') || path.contains('\\') {
        return Err("the path must be relative");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("the path must not contain empty, `.` or `..` parts");
    }
    Ok(())
}
