//! Storing many new objects as one git pack file (version 2, whole objects, no deltas) with its
//! pack index (version 2), both built here.
//!
//! Pack (gitformat-pack): `PACK`, version 2 and the object count as 32-bit big-endian numbers;
//! per object a header (type in bits 4-6 of the first byte, the uncompressed size in 4 + 7k
//! bits, little-endian groups with a continuation bit) followed by the zlib-compressed object;
//! then the SHA-1 of everything before it.
//!
//! Index: `\xfftOc`, version 2; a fan-out table of 256 cumulative counts by first id byte; the
//! sorted object ids; the CRC-32 of each object's packed bytes; each object's offset in the
//! pack (31 bits, or the position in a following table of 64-bit offsets with the top bit
//! set); the pack's checksum and the SHA-1 of the index itself.
//!
//! Each object is compressed on its own (in parallel), so nothing is read back: the ids,
//! offsets and CRCs are known when the pack is laid out.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use flate2::{Compress, Compression, FlushCompress, Status};
use git2::{ObjectType, Oid};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

/// One object to store: its id, type and raw content.
pub(super) struct Object<'a> {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: &'a [u8],
}

/// One object as it goes into the pack.
struct Entry {
    id: Oid,
    crc: u32,
    /// Pack header and compressed content.
    bytes: Vec<u8>,
}

/// Store `objects` in `pack_dir` (`.git/objects/pack`) as one pack, each object once (the
/// first of repeated ids), in the given order, with its index; return the pack's name
/// (`pack-<hex of its checksum>`, as git names it). The ids must be the objects' git ids (see
/// `trees::object_id`): they go into the index unchecked.
///
/// Durably: each file is written under a temporary name, fsynced and renamed, the pack before
/// its index (git finds packs by their index), then the directory is fsynced.
pub(super) fn store(pack_dir: &Path, objects: &[Object<'_>]) -> io::Result<String> {
    let mut seen = HashSet::with_capacity(objects.len());
    let unique: Vec<&Object<'_>> = objects.iter().filter(|o| seen.insert(o.id)).collect();
    let entries: Vec<Entry> = unique
        .par_iter()
        .map_init(
            || Compress::new(Compression::fast(), true),
            |compress, object| entry(compress, object),
        )
        .collect::<io::Result<_>>()?;

    fs::create_dir_all(pack_dir)?;
    let mut pack = HashingWriter {
        out: io::BufWriter::with_capacity(1 << 20, temp_file(pack_dir)?),
        hasher: Sha1::new(),
        written: 0,
    };
    pack.write_all(b"PACK")?;
    pack.write_all(&2u32.to_be_bytes())?;
    pack.write_all(&(entries.len() as u32).to_be_bytes())?;
    // (id, crc, offset) of every object.
    let mut located: Vec<(Oid, u32, u64)> = Vec::with_capacity(entries.len());
    for e in entries {
        located.push((e.id, e.crc, pack.written));
        pack.write_all(&e.bytes)?;
    }
    let checksum: [u8; 20] = pack.hasher.finalize().into();
    let mut file = pack.out.into_inner().map_err(|e| e.into_error())?;
    file.write_all(&checksum)?;
    let name = format!("pack-{}", hex(&checksum));
    persist(file, &pack_dir.join(format!("{name}.pack")))?;

    located.sort_unstable_by_key(|(id, _, _)| *id);
    let mut index_file = temp_file(pack_dir)?;
    index_file.write_all(&index(&located, &checksum))?;
    persist(index_file, &pack_dir.join(format!("{name}.idx")))?;
    fs::File::open(pack_dir)?.sync_all()?;
    Ok(name)
}

/// Writes through, hashing and counting what it writes.
struct HashingWriter<W> {
    out: W,
    hasher: Sha1,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn entry(compress: &mut Compress, object: &Object<'_>) -> io::Result<Entry> {
    let type_bits: u8 = match object.kind {
        ObjectType::Commit => 1,
        ObjectType::Tree => 2,
        ObjectType::Blob => 3,
        ObjectType::Tag => 4,
        ObjectType::Any => {
            return Err(io::Error::other("a pack object must have a concrete type"));
        }
    };
    let data = object.data;
    let mut bytes = Vec::with_capacity(data.len() / 2 + 32);
    let mut size = data.len();
    let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        bytes.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    bytes.push(byte);
    deflate(compress, data, &mut bytes)?;
    Ok(Entry {
        id: object.id,
        crc: crc32fast::hash(&bytes),
        bytes,
    })
}

/// Append the zlib stream of `data` to `out`. Level 1: most of the size gain for a fraction of
/// the time of the default level. `compress` is reused between objects (reset, not rebuilt:
/// building a compressor allocates and clears its tables).
fn deflate(compress: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    compress.reset();
    let start = compress.total_in();
    loop {
        out.reserve(data.len() / 8 + 64);
        let consumed = (compress.total_in() - start) as usize;
        let status = compress
            .compress_vec(&data[consumed..], out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        if status == Status::StreamEnd {
            return Ok(());
        }
    }
}

/// The version 2 index of a pack whose objects are `located` (id, CRC-32, offset; sorted by id).
fn index(located: &[(Oid, u32, u64)], pack_checksum: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 256 * 4 + located.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fan_out = [0u32; 256];
    for (id, _, _) in located {
        fan_out[id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0u32;
    for count in fan_out {
        total += count;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in located {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in located {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, _, offset) in located {
        if *offset < 0x8000_0000 {
            out.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            out.extend_from_slice(&(0x8000_0000 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum);
    let own: [u8; 20] = Sha1::digest(&out).into();
    out.extend_from_slice(&own);
    out
}

fn temp_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix("tmp_pack_")
        .tempfile_in(dir)
}

/// fsync `tmp`, make it read-only (as git makes pack files) and rename it to `target`.
fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))?;
    }
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::trees::object_id;
    use super::*;

    fn objects() -> Vec<(ObjectType, Vec<u8>)> {
        // Sizes around the header's 4- and 11-bit boundaries, an empty object and one that
        // zlib cannot shrink.
        let mut objects: Vec<(ObjectType, Vec<u8>)> = [0usize, 1, 15, 16, 127, 2047, 2048, 70_000]
            .iter()
            .map(|n| (ObjectType::Blob, (0..*n).map(|i| (i % 251) as u8).collect()))
            .collect();
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        objects.push((ObjectType::Blob, noise));
        let blob = object_id(ObjectType::Blob, &objects[3].1);
        let mut tree = b"100644 a.yaml\0".to_vec();
        tree.extend_from_slice(blob.as_bytes());
        let tree_id = object_id(ObjectType::Tree, &tree);
        objects.push((ObjectType::Tree, tree));
        let commit = format!(
            "tree {tree_id}\nauthor a <a@example.com> 0 +0000\ncommitter a <a@example.com> 0 +0000\n\nm\n"
        );
        objects.push((ObjectType::Commit, commit.into_bytes()));
        // A repeat: stored once.
        objects.push(objects[4].clone());
        objects
    }

    /// libgit2 reads every object of a stored pack back through the index written here, and
    /// `git verify-pack` (when git is installed) checks the CRCs, offsets and checksums.
    #[test]
    fn a_stored_pack_reads_back_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let objects = objects();
        let borrowed: Vec<Object<'_>> = objects
            .iter()
            .map(|(kind, data)| Object {
                id: object_id(*kind, data),
                kind: *kind,
                data,
            })
            .collect();
        let pack_dir = dir.path().join("objects/pack");
        let name = store(&pack_dir, &borrowed).unwrap();
        let data = fs::read(pack_dir.join(format!("{name}.pack"))).unwrap();
        let count = u32::from_be_bytes(data[8..12].try_into().unwrap());
        assert_eq!(
            count as usize,
            objects.len() - 1,
            "the repeat is stored once"
        );
        assert_eq!(
            format!("pack-{}", hex(&Sha1::digest(&data[..data.len() - 20]))),
            name
        );

        let odb = repo.odb().unwrap();
        for (kind, data) in &objects {
            let read = odb.read(object_id(*kind, data)).unwrap();
            assert_eq!((read.kind(), read.data()), (*kind, data.as_slice()));
        }
        let leftovers: Vec<_> = fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tmp_"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let idx = pack_dir.join(format!("{name}.idx"));
        match std::process::Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(&idx)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "git verify-pack: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("git is not installed ({e}): skipping git verify-pack"),
        }
    }

    #[test]
    fn large_offsets_go_to_the_64_bit_table() {
        let id = |b: u8| Oid::from_bytes(&[b; 20]).unwrap();
        let located = [(id(1), 7, 12), (id(2), 8, 0x8000_0000), (id(3), 9, 1 << 40)];
        let index = index(&located, &[0xaa; 20]);
        let offsets = 8 + 256 * 4 + 3 * 20 + 3 * 4;
        let word = |at: usize| u32::from_be_bytes(index[at..at + 4].try_into().unwrap());
        assert_eq!(word(offsets), 12);
        assert_eq!(word(offsets + 4), 0x8000_0000);
        assert_eq!(word(offsets + 8), 0x8000_0001);
        let large = offsets + 12;
        let long = |at: usize| u64::from_be_bytes(index[at..at + 8].try_into().unwrap());
        assert_eq!(long(large), 0x8000_0000);
        assert_eq!(long(large + 8), 1 << 40);
        assert_eq!(&index[large + 16..large + 36], &[0xaa; 20]);
        assert_eq!(index.len(), large + 16 + 40);
        // The fan-out counts objects up to each first byte.
        assert_eq!(word(8), 0);
        assert_eq!(word(8 + 4), 1);
        assert_eq!(word(8 + 3 * 4), 3);
        assert_eq!(word(8 + 255 * 4), 3);
    }
}
