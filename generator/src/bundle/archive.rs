//! The container: a deterministic tar of regular files, compressed as one zstd frame that
//! records its content size and a checksum, followed by a zstd skippable frame holding the
//! sha256 of the compressed frame. zstd ignores some bits of a frame (reserved header bits,
//! unused table entries), so the trailer is what makes every changed byte of the file count;
//! `zstd -d` and `tar --zstd` skip it, so a bundle stays a plain `.tar.zst`. Unpacking happens
//! in memory under [`Limits`] and never touches the filesystem.

use std::collections::BTreeSet;
use std::io::Read;

use zstd::zstd_safe;

use super::BundleError;

/// Size limits applied before and while unpacking, so a hostile file cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The compressed file.
    pub max_archive_bytes: u64,
    /// The tar inside it.
    pub max_unpacked_bytes: u64,
    /// One file in the tar.
    pub max_file_bytes: u64,
    /// Files in the tar.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_archive_bytes: 256 << 20,
            max_unpacked_bytes: 1 << 30,
            max_file_bytes: 16 << 20,
            max_entries: 200_000,
        }
    }
}

const COMPRESSION_LEVEL: i32 = 6;

/// Pack `entries` (path, bytes) in the given order into a tar + zstd archive. Byte-identical
/// for identical input: fixed modes, owners and times.
pub fn pack<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder.append_data(&mut header, path, bytes)?;
    }
    let tar = builder.into_inner()?;
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?;
    compressor.set_parameter(zstd_safe::CParameter::ChecksumFlag(true))?;
    compressor.set_parameter(zstd_safe::CParameter::ContentSizeFlag(true))?;
    let mut out = compressor.compress(&tar)?;
    let trailer = trailer(&out);
    out.extend_from_slice(&trailer);
    Ok(out)
}

/// A skippable frame (magic `0x184D2A5E`) holding `hubdr-sha256:` and the digest of `frame`.
const TRAILER_MAGIC: u32 = 0x184D_2A5E;
const TRAILER_TAG: &[u8] = b"hubdr-sha256:";
const TRAILER_HEADER_LEN: usize = 8 + TRAILER_TAG.len();
const TRAILER_LEN: usize = TRAILER_HEADER_LEN + 32;

fn trailer_header() -> Vec<u8> {
    let mut out = Vec::with_capacity(TRAILER_HEADER_LEN);
    out.extend_from_slice(&TRAILER_MAGIC.to_le_bytes());
    out.extend_from_slice(&((TRAILER_TAG.len() + 32) as u32).to_le_bytes());
    out.extend_from_slice(TRAILER_TAG);
    out
}

fn trailer(frame: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = trailer_header();
    out.extend_from_slice(&Sha256::digest(frame));
    out
}

/// The compressed frame of a bundle file, once its trailer vouches for every byte of it.
fn checked_frame(bytes: &[u8]) -> Result<&[u8], BundleError> {
    if bytes.is_empty() {
        return Err(BundleError::Truncated {
            detail: "the file is empty".into(),
        });
    }
    let header = trailer_header();
    if bytes.len() > TRAILER_LEN {
        let (frame, tail) = bytes.split_at(bytes.len() - TRAILER_LEN);
        if tail[..TRAILER_HEADER_LEN] == header[..] {
            if tail == trailer(frame).as_slice() {
                return Ok(frame);
            }
            return Err(BundleError::Damaged {
                detail: "the file does not match its sha256 trailer".into(),
            });
        }
    }
    // No intact trailer at the end: was the file cut short, or changed?
    let frame_len = zstd_safe::find_frame_compressed_size(bytes).map_err(|code| {
        let name = zstd_safe::get_error_name(code);
        if name.contains("Src size") {
            BundleError::Truncated {
                detail: format!("the zstd frame ends early: {name}"),
            }
        } else {
            BundleError::Damaged {
                detail: format!("not a zstd frame: {name}"),
            }
        }
    })?;
    let rest = &bytes[frame_len..];
    let known = rest.len().min(TRAILER_HEADER_LEN);
    if rest.len() < TRAILER_LEN && rest[..known] == header[..known] {
        return Err(BundleError::Truncated {
            detail: "the sha256 trailer after the archive is missing or cut short".into(),
        });
    }
    Err(BundleError::Damaged {
        detail: "the sha256 trailer after the archive is damaged".into(),
    })
}

/// Decompress and read the tar in memory: the files in archive order. Refuses truncated or
/// damaged input, anything but regular files, unsafe or duplicate paths, and anything over
/// `limits`.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let tar = decompress(bytes, limits)?;
    read_tar(&tar, limits)
}

fn decompress(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, BundleError> {
    if bytes.len() as u64 > limits.max_archive_bytes {
        return Err(BundleError::TooLarge {
            what: format!("the file ({} bytes)", bytes.len()),
            limit: limits.max_archive_bytes,
        });
    }
    let frame = checked_frame(bytes)?;
    let damaged = |detail: String| BundleError::Damaged { detail };
    let frame_len = zstd_safe::find_frame_compressed_size(frame).map_err(|code| {
        damaged(format!(
            "not a zstd frame: {}",
            zstd_safe::get_error_name(code)
        ))
    })?;
    if frame_len != frame.len() {
        return Err(damaged(
            "more than one zstd frame before the trailer".into(),
        ));
    }
    let size = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(damaged("the zstd frame does not record its size".into())),
        Err(_) => return Err(damaged("the zstd frame header is invalid".into())),
    };
    if size > limits.max_unpacked_bytes {
        return Err(BundleError::TooLarge {
            what: format!("the unpacked archive ({size} bytes)"),
            limit: limits.max_unpacked_bytes,
        });
    }
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(|e| damaged(e.to_string()))?;
    let tar = decompressor
        .decompress(frame, size as usize)
        .map_err(|e| damaged(format!("zstd: {e}")))?;
    if tar.len() as u64 != size {
        return Err(damaged(format!(
            "the zstd frame says {size} bytes but holds {}",
            tar.len()
        )));
    }
    Ok(tar)
}

fn read_tar(tar: &[u8], limits: &Limits) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let damaged = |detail: String| BundleError::Damaged { detail };
    let malformed = |detail: String| BundleError::Malformed { detail };
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    for entry in archive
        .entries()
        .map_err(|e| damaged(format!("tar: {e}")))?
    {
        let mut entry = entry.map_err(|e| damaged(format!("tar: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| damaged(format!("tar path: {e}")))?
            .to_string_lossy()
            .into_owned();
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            return Err(malformed(format!(
                "{path} is not a regular file (links, devices and directories are refused)"
            )));
        }
        check_path(&path).map_err(|why| malformed(format!("entry {path:?}: {why}")))?;
        if !seen.insert(path.clone()) {
            return Err(malformed(format!("{path} appears twice in the archive")));
        }
        if out.len() >= limits.max_entries {
            return Err(BundleError::TooLarge {
                what: "the number of files".into(),
                limit: limits.max_entries as u64,
            });
        }
        let size = entry.size();
        if size > limits.max_file_bytes {
            return Err(BundleError::TooLarge {
                what: format!("{path} ({size} bytes)"),
                limit: limits.max_file_bytes,
            });
        }
        total += size;
        if total > limits.max_unpacked_bytes {
            return Err(BundleError::TooLarge {
                what: "the files together".into(),
                limit: limits.max_unpacked_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(|e| damaged(format!("tar: {path}: {e}")))?;
        if bytes.len() as u64 != size {
            return Err(BundleError::Truncated {
                detail: format!("{path} ends early inside the archive"),
            });
        }
        out.push((path, bytes));
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_trailer(mut frame: Vec<u8>) -> Vec<u8> {
        let t = trailer(&frame);
        frame.extend_from_slice(&t);
        frame
    }

    #[test]
    fn the_file_is_a_plain_zstd_stream() {
        // A standard decoder reads the archive and skips the trailer.
        let tar = zstd::stream::decode_all(&sample()[..]).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        assert_eq!(archive.entries().unwrap().count(), 2);
    }

    fn sample() -> Vec<u8> {
        pack([("a.yaml", &b"a: 1\n"[..]), ("dir/b.yaml", b"b: 2\n")]).unwrap()
    }

    #[test]
    fn round_trip_is_deterministic() {
        let packed = sample();
        assert_eq!(packed, sample());
        let files = unpack(&packed, &Limits::default()).unwrap();
        assert_eq!(
            files,
            vec![
                ("a.yaml".to_string(), b"a: 1\n".to_vec()),
                ("dir/b.yaml".to_string(), b"b: 2\n".to_vec())
            ]
        );
    }

    #[test]
    fn truncation_is_reported_as_such() {
        let packed = sample();
        for cut in [0, 1, 4, packed.len() / 2, packed.len() - 1] {
            let e = unpack(&packed[..cut], &Limits::default()).unwrap_err();
            assert!(
                matches!(e, BundleError::Truncated { .. }),
                "cut at {cut}: {e}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let packed = sample();
        for i in 0..packed.len() {
            let mut bad = packed.clone();
            bad[i] ^= 0x01;
            assert!(
                unpack(&bad, &Limits::default()).is_err(),
                "flip at byte {i} of {} went unnoticed",
                packed.len()
            );
        }
    }

    #[test]
    fn appended_bytes_are_refused() {
        let mut packed = sample();
        packed.extend_from_slice(b"junk");
        assert!(matches!(
            unpack(&packed, &Limits::default()),
            Err(BundleError::Damaged { .. })
        ));
    }

    #[test]
    fn limits_apply_before_unpacking() {
        let packed = sample();
        let small = Limits {
            max_archive_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            unpack(&packed, &small),
            Err(BundleError::TooLarge { .. })
        ));
        let small = Limits {
            max_unpacked_bytes: 100,
            ..Limits::default()
        };
        assert!(matches!(
            unpack(&packed, &small),
            Err(BundleError::TooLarge { .. })
        ));
        let small = Limits {
            max_file_bytes: 2,
            ..Limits::default()
        };
        assert!(matches!(
            unpack(&packed, &small),
            Err(BundleError::TooLarge { .. })
        ));
        let small = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        assert!(matches!(
            unpack(&packed, &small),
            Err(BundleError::TooLarge { .. })
        ));
    }

    #[test]
    fn unsafe_paths_and_duplicates_are_refused() {
        for path in ["../x", "/etc/x", "a//b", "./a"] {
            // The tar builder itself refuses some of these; build the header by hand.
            let mut builder = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_size(1);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append(&header, &b"x"[..]).unwrap();
            let tar = builder.into_inner().unwrap();
            let packed = with_trailer(zstd::bulk::compress(&tar, 1).unwrap());
            let e = unpack(&packed, &Limits::default()).unwrap_err();
            assert!(matches!(e, BundleError::Malformed { .. }), "{path}: {e}");
        }
        let twice = pack([("a", &b"1"[..]), ("a", b"2")]).unwrap();
        assert!(matches!(
            unpack(&twice, &Limits::default()),
            Err(BundleError::Malformed { .. })
        ));
    }

    #[test]
    fn links_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "link", "/etc/passwd")
            .unwrap();
        let packed = with_trailer(zstd::bulk::compress(&builder.into_inner().unwrap(), 1).unwrap());
        assert!(matches!(
            unpack(&packed, &Limits::default()),
            Err(BundleError::Malformed { .. })
        ));
    }
}
