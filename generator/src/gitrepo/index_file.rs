//! Writing the index file (`.git/index`, gitformat-index version 2) of a large commit here
//! rather than entry by entry through libgit2, whose `git_index_add` costs about 2 µs an entry
//! (a fleet-sized first render adds 28,000).
//!
//! Version 2: `DIRC`, the version and the entry count as 32-bit big-endian numbers; the entries
//! sorted by path, each its stat data (ctime and mtime as seconds and nanoseconds, dev, ino,
//! mode, uid, gid, size: 32-bit big-endian), its object id, 16 bits of flags (assume-valid,
//! extended, two stage bits, twelve bits of path length), the path, and 1 to 8 NULs that make
//! the entry a multiple of 8 bytes long; then extensions; then the SHA-1 of all of it.
//!
//! Only caches are ever dropped: the file is replaced only when the index it replaces is
//! version 2 and holds nothing but cache extensions (see [`replaceable`]); otherwise the
//! caller updates the index through libgit2.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use git2::IndexEntry;
use rayon::prelude::*;
use sha1::{Digest, Sha1};

const SIGNATURE: &[u8; 4] = b"DIRC";
const VERSION: u32 = 2;
/// The bytes of an entry before its path.
const ENTRY_FIXED: usize = 62;
/// Flags: the stage bits and the extended bit (version 3 and later).
const STAGE_MASK: u16 = 0x3000;
const EXTENDED: u16 = 0x4000;
/// The largest path length the flags can carry; longer paths say this and end at their NUL.
const NAME_MASK: u16 = 0x0fff;
/// Extensions that only speed git up and that git rebuilds when they are missing: the cached
/// trees, the untracked cache, the file system monitor's token, and the offset tables for
/// reading with threads.
const CACHE_EXTENSIONS: [&[u8; 4]; 5] = [b"TREE", b"UNTR", b"FSMN", b"EOIE", b"IEOT"];

/// Whether the index file at `path` may be replaced by [`write`] without losing anything but
/// caches: it is missing, or it is a well-formed version 2 index whose extensions are all
/// caches (not, for example, resolve-undo data or a split index). Any doubt says no.
pub(super) fn replaceable(path: &Path) -> bool {
    match fs::read(path) {
        Ok(bytes) => only_caches(&bytes).unwrap_or(false),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

fn only_caches(bytes: &[u8]) -> Option<bool> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    if bytes.get(..4)? != SIGNATURE || word(4)? != VERSION {
        return Some(false);
    }
    let count = word(8)? as usize;
    let end = bytes.len().checked_sub(20)?;
    let mut at = 12;
    for _ in 0..count {
        let flags = u16::from_be_bytes(bytes.get(at + 60..at + 62)?.try_into().ok()?);
        if flags & EXTENDED != 0 {
            return Some(false);
        }
        let name_len = match flags & NAME_MASK {
            NAME_MASK => bytes
                .get(at + ENTRY_FIXED..end)?
                .iter()
                .position(|b| *b == 0)?,
            len => len as usize,
        };
        at += entry_len(name_len);
    }
    while at < end {
        let signature = bytes.get(at..at + 4)?;
        if !CACHE_EXTENSIONS.iter().any(|c| c.as_slice() == signature) {
            return Some(false);
        }
        at += 8 + word(at + 4)? as usize;
    }
    Some(at == end)
}

/// The length of an entry whose path is `name_len` bytes: the fixed part, the path and 1 to 8
/// NULs, a multiple of 8.
fn entry_len(name_len: usize) -> usize {
    (ENTRY_FIXED + name_len + 8) & !7
}

/// The bytes of a version 2 index of `entries`, which must be sorted by path, each path once
/// (no conflict stages), without extended flags. `None` when they are not.
pub(super) fn encode(entries: &[&IndexEntry]) -> Option<Vec<u8>> {
    let sorted = entries.windows(2).all(|w| w[0].path < w[1].path);
    let plain = entries
        .iter()
        .all(|e| e.flags & (STAGE_MASK | EXTENDED) == 0 && e.flags_extended == 0);
    if !sorted || !plain || entries.len() > u32::MAX as usize {
        return None;
    }
    let mut out = Vec::with_capacity(12 + entries.len() * 128 + 20);
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let chunks: Vec<Vec<u8>> = entries
        .par_chunks(1024)
        .with_max_len(crate::par::HEAVY)
        .map(|chunk| {
            let mut bytes = Vec::with_capacity(chunk.len() * 128);
            for entry in chunk {
                encode_entry(entry, &mut bytes);
            }
            bytes
        })
        .collect();
    for chunk in chunks {
        out.extend_from_slice(&chunk);
    }
    let checksum = Sha1::digest(&out);
    out.extend_from_slice(&checksum);
    Some(out)
}

fn encode_entry(entry: &IndexEntry, out: &mut Vec<u8>) {
    let start = out.len();
    for word in [
        entry.ctime.seconds() as u32,
        entry.ctime.nanoseconds(),
        entry.mtime.seconds() as u32,
        entry.mtime.nanoseconds(),
        entry.dev,
        entry.ino,
        entry.mode,
        entry.uid,
        entry.gid,
        entry.file_size,
    ] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(entry.id.as_bytes());
    let name_len = entry.path.len().min(NAME_MASK as usize) as u16;
    out.extend_from_slice(&((entry.flags & !NAME_MASK) | name_len).to_be_bytes());
    out.extend_from_slice(&entry.path);
    out.resize(start + entry_len(entry.path.len()), 0);
}

/// Replace the index file at `path` with `bytes` as git does: written to `<path>.lock`, created
/// exclusively (so a concurrent git command holding the lock makes this fail rather than lose
/// its update), then renamed over `path`.
pub(super) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let lock = std::path::PathBuf::from(lock);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)?;
    let written = file.write_all(bytes).and_then(|()| fs::rename(&lock, path));
    if written.is_err() {
        let _ = fs::remove_file(&lock);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{IndexTime, Oid};

    fn entry(path: &[u8], n: u32) -> IndexEntry {
        IndexEntry {
            ctime: IndexTime::new(1_700_000_000 + n as i32, 123_456 + n),
            mtime: IndexTime::new(1_700_000_100 + n as i32, 654_321 + n),
            dev: 2049,
            ino: 1000 + n,
            mode: if n.is_multiple_of(5) {
                0o100755
            } else {
                0o100644
            },
            uid: 1000,
            gid: 100 + n,
            file_size: 10 * n,
            id: Oid::from_bytes(&[n as u8 + 1; 20]).unwrap(),
            flags: 0,
            flags_extended: 0,
            path: path.to_vec(),
        }
    }

    /// Paths of every padding length, nested directories, a name that sorts between a
    /// directory and its files, and a path longer than the flags can say.
    fn entries() -> Vec<IndexEntry> {
        let mut paths: Vec<Vec<u8>> = (1..=9)
            .map(|n| format!("clusters/c-1/{}.yaml", "x".repeat(n)).into_bytes())
            .collect();
        paths.push(b"a.b".to_vec());
        paths.push(b"a/b".to_vec());
        paths.push(b"a-b".to_vec());
        paths.push(format!("deep/{}", "n".repeat(5000)).into_bytes());
        paths.sort();
        paths
            .iter()
            .enumerate()
            .map(|(n, p)| entry(p, n as u32))
            .collect()
    }

    /// The entries are byte for byte what libgit2 writes for the same entries, and libgit2
    /// reads them back unchanged.
    #[test]
    fn entries_are_encoded_as_libgit2_encodes_them() {
        let dir = tempfile::tempdir().unwrap();
        let entries = entries();
        let theirs_path = dir.path().join("theirs");
        let mut theirs = git2::Index::open(&theirs_path).unwrap();
        for e in &entries {
            theirs.add(e).unwrap();
        }
        theirs.write().unwrap();
        let theirs_bytes = fs::read(&theirs_path).unwrap();

        let refs: Vec<&IndexEntry> = entries.iter().collect();
        let ours = encode(&refs).unwrap();
        let entries_end = ours.len() - 20;
        assert_eq!(&ours[..entries_end], &theirs_bytes[..entries_end]);
        assert_eq!(
            &ours[entries_end..],
            Sha1::digest(&ours[..entries_end]).as_slice()
        );
        assert!(only_caches(&ours).unwrap());

        fs::create_dir(dir.path().join("git")).unwrap();
        write(&dir.path().join("git/index"), &ours).unwrap();
        let read = git2::Index::open(&dir.path().join("git/index")).unwrap();
        let back: Vec<IndexEntry> = read.iter().collect();
        assert_eq!(back.len(), entries.len());
        for (a, b) in back.iter().zip(&entries) {
            assert_eq!(
                (&a.path, a.id, a.mode, a.file_size, a.ino, a.gid),
                (&b.path, b.id, b.mode, b.file_size, b.ino, b.gid)
            );
            assert_eq!(
                (a.mtime.seconds(), a.mtime.nanoseconds()),
                (b.mtime.seconds(), b.mtime.nanoseconds())
            );
        }
        assert!(!dir.path().join("git/index.lock").exists());
    }

    #[test]
    fn unsorted_or_staged_entries_are_refused() {
        let entries = entries();
        let mut refs: Vec<&IndexEntry> = entries.iter().collect();
        refs.swap(0, 1);
        assert!(encode(&refs).is_none());
        let mut staged = self::entries();
        staged[0].flags |= 0x1000;
        assert!(encode(&staged.iter().collect::<Vec<_>>()).is_none());
        let mut extended = self::entries();
        extended[0].flags_extended = 0x2000;
        assert!(encode(&extended.iter().collect::<Vec<_>>()).is_none());
        let twice = [&entries[0], &entries[0]];
        assert!(encode(&twice).is_none());
    }

    #[test]
    fn only_indexes_with_nothing_but_caches_are_replaced() {
        let entries = entries();
        let refs: Vec<&IndexEntry> = entries.iter().collect();
        let plain = encode(&refs).unwrap();
        let with = |signature: &[u8; 4]| {
            let mut bytes = plain[..plain.len() - 20].to_vec();
            bytes.extend_from_slice(signature);
            bytes.extend_from_slice(&3u32.to_be_bytes());
            bytes.extend_from_slice(b"abc");
            let checksum = Sha1::digest(&bytes);
            bytes.extend_from_slice(&checksum);
            bytes
        };
        assert_eq!(only_caches(&plain), Some(true));
        assert_eq!(only_caches(&with(b"TREE")), Some(true));
        assert_eq!(only_caches(&with(b"UNTR")), Some(true));
        assert_eq!(only_caches(&with(b"REUC")), Some(false));
        assert_eq!(only_caches(&with(b"link")), Some(false));
        let mut v3 = plain.clone();
        v3[7] = 3;
        assert_eq!(only_caches(&v3), Some(false));
        assert_ne!(only_caches(&plain[..plain.len() - 30]), Some(true));
        assert_ne!(only_caches(b"DIRC"), Some(true));

        let dir = tempfile::tempdir().unwrap();
        assert!(replaceable(&dir.path().join("index")), "a missing index");
        fs::write(dir.path().join("index"), with(b"REUC")).unwrap();
        assert!(!replaceable(&dir.path().join("index")));
    }

    #[test]
    fn a_held_lock_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.lock"), b"theirs").unwrap();
        let err = write(&dir.path().join("index"), b"ours").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dir.path().join("index.lock")).unwrap(), b"theirs");
        assert!(!dir.path().join("index").exists());
    }
}
