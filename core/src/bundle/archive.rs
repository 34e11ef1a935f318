//! The archive: a deterministic tar of regular files, compressed as one zstd frame that
//! records its content size and a checksum, sealed by a sha256 trailer (see `frame`).
//! Reading streams under [`Limits`] (see `entries`) and never touches the filesystem.

use std::io::Cursor;

use zstd::zstd_safe;

pub use super::entries::check_path;
use super::{entries, frame, BundleError};

/// Size limits applied before and while unpacking, so a hostile file cannot exhaust memory.
/// Every one of them holds while the archive streams, before the bytes over it are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The compressed file.
    pub max_archive_bytes: u64,
    /// The tar inside it: counted as zstd decompresses it.
    pub max_unpacked_bytes: u64,
    /// One file in the tar.
    pub max_file_bytes: u64,
    /// The manifest, read before its signature is checked.
    pub max_manifest_bytes: u64,
    /// Files in the tar.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_archive_bytes: 256 << 20,
            max_unpacked_bytes: 1 << 30,
            max_file_bytes: 16 << 20,
            max_manifest_bytes: 16 << 20,
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
    Ok(frame::seal(compressor.compress(&tar)?))
}

/// Read every entry into memory (each under `limits.max_file_bytes`), in archive order, with
/// the checks of [`entries::read`]. For small archives and tests; bundles are verified by
/// streaming, see `verify`.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let mut out = Vec::new();
    entries::read(Cursor::new(bytes), bytes.len() as u64, limits, |entry| {
        entry.check()?;
        let path = entry.path().to_string();
        let (content, _) = entry.read(limits.max_file_bytes)?;
        out.push((path, content));
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_trailer(frame: Vec<u8>) -> Vec<u8> {
        frame::seal(frame)
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
            Err(BundleError::DeclaredTooLarge { .. })
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
            Err(BundleError::TooManyEntries { limit: 1 })
        ));
    }

    #[test]
    fn long_names_round_trip() {
        let long = format!("clusters/{}/x.yaml", "a".repeat(300));
        let packed = pack([(long.as_str(), &b"x: 1\n"[..])]).unwrap();
        assert_eq!(
            unpack(&packed, &Limits::default()).unwrap(),
            vec![(long, b"x: 1\n".to_vec())]
        );
    }

    #[test]
    fn data_after_the_tar_is_refused_and_zero_padding_is_not() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, "a", &b"x"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut padded = tar.clone();
        padded.extend_from_slice(&[0; 9216]);
        let packed = with_trailer(zstd::bulk::compress(&padded, 1).unwrap());
        assert_eq!(unpack(&packed, &Limits::default()).unwrap().len(), 1);
        let mut hidden = tar;
        hidden.extend_from_slice(b"hidden after the end");
        let packed = with_trailer(zstd::bulk::compress(&hidden, 1).unwrap());
        let e = unpack(&packed, &Limits::default()).unwrap_err();
        assert!(matches!(e, BundleError::Malformed { .. }), "{e}");
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
            assert!(
                matches!(&e, BundleError::UnsafeEntry { path: p, .. } if p == path),
                "{path}: {e}"
            );
        }
        let twice = pack([("a", &b"1"[..]), ("a", b"2")]).unwrap();
        let e = unpack(&twice, &Limits::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("the name appears twice in the archive"),
            "{e}"
        );
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
        let e = unpack(&packed, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("it is a symbolic link"), "{e}");
    }
}
