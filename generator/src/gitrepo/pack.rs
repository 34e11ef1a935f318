//! Storing many new objects as one git pack file (version 2) with its pack index (version 2),
//! both built here.
//!
//! Pack (gitformat-pack): `PACK`, version 2 and the object count as 32-bit big-endian numbers;
//! per object a header (type in bits 4-6 of the first byte, the uncompressed size in 4 + 7k
//! bits, little-endian groups with a continuation bit) followed by the zlib-compressed object;
//! then the SHA-1 of everything before it. A deltified object (type 6, `OFS_DELTA`) has the
//! distance back to its base after the header and the compressed delta (see `delta`) in place
//! of the object.
//!
//! Index: `\xfftOc`, version 2; a fan-out table of 256 cumulative counts by first id byte; the
//! sorted object ids; the CRC-32 of each object's packed bytes; each object's offset in the
//! pack (31 bits, or the position in a following table of 64-bit offsets with the top bit
//! set); the pack's checksum and the SHA-1 of the index itself.
//!
//! Rendered files of one kind are nearly alike, so objects of one delta group are stored as
//! deltas against a few whole objects of the same group (never a delta of a delta, so reading
//! one costs at most one base). The groups are cut into runs that are laid out independently,
//! in parallel: a run's deltas refer only to bases earlier in the same run, so each object's
//! packed bytes and CRC are known without the rest of the pack, and nothing is read back: the
//! ids, offsets and CRCs are known when the pack is laid out.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::{Compress, Compression, FlushCompress, Status};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use git2::{ObjectType, Oid};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use super::delta::Base;
use crate::site::load::hex;

/// One object to store: its id, type and raw content.
pub(super) struct Object<'a> {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: &'a [u8],
    /// Objects of one group are expected to be alike (files of one kind); deltas are sought
    /// only within a group. `None`: stored whole.
    pub delta_group: Option<DeltaGroup<'a>>,
}

/// A delta group's name: two parts, so it can be made of slices of a path.
pub(super) type DeltaGroup<'a> = (&'a str, &'a str);

/// The most objects in one run: enough that a run's few bases serve many deltas, few enough
/// that the runs keep every thread busy.
const RUN_LEN: usize = 512;
/// The whole objects kept as bases while laying out a run (a group may hold files of several
/// shapes, such as the four replication methods, with and without options).
const BASES_PER_RUN: usize = 8;
/// Objects smaller than this are stored whole (a delta would save next to nothing).
const MIN_DELTA_TARGET: usize = 64;
/// Objects larger than this are stored whole: rendered files of one kind are small, and a
/// large file (the render index) would cost more to prepare as a base than it could save.
const MAX_DELTA_TARGET: usize = 1 << 20;
/// Deltas (and objects) up to this size are stored in zlib's stored blocks: compressing a few
/// hundred bytes saves little, and resetting a compressor costs more than copying them.
const MAX_STORED: usize = 512;

/// One object as it goes into the pack.
struct Entry {
    id: Oid,
    crc: u32,
    /// Pack header, the base's distance for a delta, and the compressed content.
    bytes: Vec<u8>,
}

/// A stored pack.
#[derive(Debug)]
pub(super) struct Stored {
    /// Its `.pack` and `.idx` files, named `pack-<hex of its checksum>` as git names them.
    pub files: Vec<PathBuf>,
    /// The pack was not there before (a pack of the same name holds the same objects).
    pub new: bool,
}

/// Store `objects` in `pack_dir` (`.git/objects/pack`) as one pack, each object once (the
/// first of repeated ids), with its index. The ids must be the objects' git ids (see
/// `trees::object_id`): they go into the index unchecked. The layout is deterministic: the
/// same objects in the same order give the same pack.
///
/// Durably: each file is written under a temporary name, fsynced and renamed, the pack before
/// its index (git finds packs by their index), then the directory is fsynced.
pub(super) fn store(pack_dir: &Path, objects: &[Object<'_>]) -> io::Result<Stored> {
    let runs: Vec<Vec<Entry>> = runs(objects)
        .par_iter()
        .with_max_len(crate::par::HEAVY)
        .map_init(
            || Compress::new(Compression::fast(), true),
            |compress, run| lay_out(compress, run),
        )
        .collect::<io::Result<_>>()?;
    let count: usize = runs.iter().map(Vec::len).sum();

    fs::create_dir_all(pack_dir)?;
    let mut pack = HashingWriter {
        out: io::BufWriter::with_capacity(1 << 20, temp_file(pack_dir)?),
        hasher: Sha1::new(),
        written: 0,
    };
    pack.write_all(b"PACK")?;
    pack.write_all(&2u32.to_be_bytes())?;
    pack.write_all(&(count as u32).to_be_bytes())?;
    // (id, crc, offset) of every object.
    let mut located: Vec<(Oid, u32, u64)> = Vec::with_capacity(count);
    for e in runs.into_iter().flatten() {
        located.push((e.id, e.crc, pack.written));
        pack.write_all(&e.bytes)?;
    }
    let checksum: [u8; 20] = pack.hasher.finalize().into();
    let mut file = pack.out.into_inner().map_err(|e| e.into_error())?;
    file.write_all(&checksum)?;
    let name = format!("pack-{}", hex(&checksum));
    let files = vec![
        pack_dir.join(format!("{name}.pack")),
        pack_dir.join(format!("{name}.idx")),
    ];
    let new = !files.iter().all(|f| f.exists());
    persist(file, &files[0])?;

    located.sort_unstable_by_key(|(id, _, _)| *id);
    let mut index_file = temp_file(pack_dir)?;
    index_file.write_all(&index(&located, &checksum))?;
    persist(index_file, &files[1])?;
    fs::File::open(pack_dir)?.sync_all()?;
    Ok(Stored { files, new })
}

/// The objects, each once, cut into runs: each delta group's objects in their order (groups
/// in the order they first appear), at most `RUN_LEN` to a run; objects without a group are
/// runs of their own kind.
fn runs<'o, 'a>(objects: &'o [Object<'a>]) -> Vec<(Option<DeltaGroup<'a>>, Vec<&'o Object<'a>>)> {
    let mut seen = HashSet::with_capacity(objects.len());
    let mut groups: Vec<(Option<DeltaGroup<'a>>, Vec<&'o Object<'a>>)> = Vec::new();
    let mut group_of: HashMap<Option<DeltaGroup<'a>>, usize> = HashMap::new();
    for object in objects.iter().filter(|o| seen.insert(o.id)) {
        let at = *group_of.entry(object.delta_group).or_insert_with(|| {
            groups.push((object.delta_group, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(object);
    }
    groups
        .into_iter()
        .flat_map(|(group, members)| {
            members
                .chunks(RUN_LEN)
                .map(|run| (group, run.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The packed entries of one run, in order: each object as a delta against one of the run's
/// bases when that is at most half its size, else whole (and then a base for the next ones, in
/// place of the base least recently used).
fn lay_out(
    compress: &mut Compress,
    (group, objects): &(Option<DeltaGroup<'_>>, Vec<&Object<'_>>),
) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::with_capacity(objects.len());
    let mut bases: Vec<RunBase<'_>> = Vec::new();
    let mut offset = 0usize;
    for (number, object) in objects.iter().enumerate() {
        let data = object.data;
        let deltifiable =
            group.is_some() && (MIN_DELTA_TARGET..=MAX_DELTA_TARGET).contains(&data.len());
        let delta = if deltifiable {
            // The most recently used bases first.
            bases.sort_by_key(|b| std::cmp::Reverse(b.last_used));
            bases
                .iter_mut()
                .find_map(|b| b.base.delta(data, data.len() / 2).map(|d| (b, d)))
        } else {
            None
        };
        let bytes = match delta {
            Some((base, delta)) => {
                base.last_used = number;
                let mut bytes = header(6, delta.len());
                distance(&mut bytes, offset - base.offset);
                compressed(compress, &delta, &mut bytes)?;
                bytes
            }
            None => {
                let mut bytes = header(type_bits(object.kind)?, data.len());
                compressed(compress, data, &mut bytes)?;
                if let Some(base) = deltifiable.then(|| Base::new(data)).flatten() {
                    if bases.len() == BASES_PER_RUN {
                        bases.pop();
                    }
                    bases.push(RunBase {
                        base,
                        offset,
                        last_used: number,
                    });
                }
                bytes
            }
        };
        offset += bytes.len();
        entries.push(entry(object.id, bytes));
    }
    Ok(entries)
}

/// A whole object of a run that later objects of the run may be deltas of.
struct RunBase<'a> {
    base: Base<'a>,
    /// The offset of its entry from the start of the run.
    offset: usize,
    /// The number in the run of the object that last used it (or of itself).
    last_used: usize,
}

fn entry(id: Oid, bytes: Vec<u8>) -> Entry {
    Entry {
        id,
        crc: crc32fast::hash(&bytes),
        bytes,
    }
}

fn type_bits(kind: ObjectType) -> io::Result<u8> {
    match kind {
        ObjectType::Commit => Ok(1),
        ObjectType::Tree => Ok(2),
        ObjectType::Blob => Ok(3),
        ObjectType::Tag => Ok(4),
        ObjectType::Any => Err(io::Error::other("a pack object must have a concrete type")),
    }
}

/// An entry's header: the type and the size of the (uncompressed) content.
fn header(type_bits: u8, mut size: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size / 2 + 32);
    let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        bytes.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    bytes.push(byte);
    bytes
}

/// An `OFS_DELTA`'s distance back to its base: big-endian 7-bit groups, each continued group
/// offset by one (so every distance has one encoding).
fn distance(out: &mut Vec<u8>, mut distance: usize) {
    let mut bytes = [0u8; 10];
    let mut at = bytes.len() - 1;
    bytes[at] = (distance & 0x7f) as u8;
    distance >>= 7;
    while distance > 0 {
        distance -= 1;
        at -= 1;
        bytes[at] = 0x80 | (distance & 0x7f) as u8;
        distance >>= 7;
    }
    out.extend_from_slice(&bytes[at..]);
}

/// Append the zlib stream of `data` to `out`: stored blocks when it is small, else compressed.
fn compressed(compress: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    if data.len() <= MAX_STORED {
        stored(data, out);
        Ok(())
    } else {
        deflate(compress, data, out)
    }
}

/// A zlib stream of stored (uncompressed) blocks.
fn stored(data: &[u8], out: &mut Vec<u8>) {
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, fastest, check bits.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        let len = block.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // The largest run that cannot overflow `b` before the modulo (zlib's NMAX).
    const RUN: usize = 5552;
    let (mut a, mut b) = (1u32, 0u32);
    for run in data.chunks(RUN) {
        for byte in run {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
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
                delta_group: None,
            })
            .collect();
        let pack_dir = dir.path().join("objects/pack");
        let stored = store(&pack_dir, &borrowed).unwrap();
        assert!(stored.new);
        let data = fs::read(&stored.files[0]).unwrap();
        let count = u32::from_be_bytes(data[8..12].try_into().unwrap());
        assert_eq!(
            count as usize,
            objects.len() - 1,
            "the repeat is stored once"
        );
        let name = format!("pack-{}", hex(&Sha1::digest(&data[..data.len() - 20])));
        assert_eq!(
            stored.files,
            [
                pack_dir.join(format!("{name}.pack")),
                pack_dir.join(format!("{name}.idx"))
            ]
        );
        // The same objects again: the same pack, not new.
        let again = store(&pack_dir, &borrowed).unwrap();
        assert_eq!((again.files, again.new), (stored.files, false));

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

        git_verify_pack(&pack_dir.join(format!("{name}.idx")));
    }

    fn git_verify_pack(idx: &Path) -> Option<String> {
        match std::process::Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(idx)
            .output()
        {
            Ok(out) => {
                assert!(
                    out.status.success(),
                    "git verify-pack: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Err(e) => {
                eprintln!("git is not installed ({e}): skipping git verify-pack");
                None
            }
        }
    }

    /// Files of one kind differ in a name and a number; some are of another shape.
    fn similar_files() -> Vec<Vec<u8>> {
        let shapes = [
            "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: NAME\n  namespace: app-NUM\nspec:\n  sourcePVC: data\n  trigger:\n    schedule: '*/NUM * * * *'\n  rsyncTLS:\n    keySecret: NAME-key\n    copyMethod: Snapshot\n",
            "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: NAME\n  namespace: app-NUM\nspec:\n  sourcePVC: data\n  restic:\n    repository: NAME-restic\n    pruneIntervalDays: NUM\n    retain:\n      daily: 7\n",
            "# a comment line that is long enough to matter\nkind: ConfigMap\ndata:\n  a: NAME\n  b: NUM\n  c: a value that does not change between files\n",
            "unrelated: NUM\n",
            "kind: Secret\nmetadata:\n  name: NAME\ntype: Opaque\nstringData:\n  key: NUM NUM NUM NUM NUM NUM NUM NUM NUM NUM\n",
        ];
        (0..1200)
            .map(|i: usize| {
                shapes[(i * 7 / 5) % shapes.len()]
                    .replace("NAME", &format!("c-{i:05}"))
                    .replace("NUM", &(i * 31 % 997).to_string())
                    .into_bytes()
            })
            .collect()
    }

    /// Objects of one delta group are stored as deltas (of whole objects only, in runs, with
    /// bases evicted when a run sees more shapes than it keeps), and every object reads back
    /// through libgit2 and `git verify-pack`.
    #[test]
    fn grouped_objects_are_stored_as_deltas_that_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let files = similar_files();
        let mut objects: Vec<Object<'_>> = files
            .iter()
            .map(|data| Object {
                id: object_id(ObjectType::Blob, data),
                kind: ObjectType::Blob,
                data,
                delta_group: Some(("clusters", "kind")),
            })
            .collect();
        // A second group and objects without one, interleaved with the first group.
        for (i, data) in files.iter().take(40).enumerate() {
            objects.insert(
                i * 3,
                Object {
                    id: object_id(ObjectType::Blob, data),
                    kind: ObjectType::Blob,
                    data,
                    delta_group: Some(("agents", "")),
                },
            );
        }
        let big: Vec<u8> = files.concat();
        objects.push(Object {
            id: object_id(ObjectType::Blob, &big),
            kind: ObjectType::Blob,
            data: &big,
            delta_group: Some(("clusters", "kind")),
        });
        let pack_dir = dir.path().join("objects/pack");
        let stored = store(&pack_dir, &objects).unwrap();

        let odb = repo.odb().unwrap();
        for object in &objects {
            let read = odb.read(object.id).unwrap();
            assert_eq!((read.kind(), read.data()), (ObjectType::Blob, object.data));
        }
        let pack_len = fs::metadata(&stored.files[0]).unwrap().len() as usize;
        let raw: usize = files.iter().map(Vec::len).sum::<usize>() + big.len();
        assert!(
            pack_len * 2 < raw,
            "the pack ({pack_len} bytes) should be far smaller than the objects ({raw} bytes)"
        );
        if let Some(listing) = git_verify_pack(&stored.files[1]) {
            // `<id> blob <size> <packed size> <offset> <depth> <base id>` for a delta.
            let deltas: Vec<&str> = listing
                .lines()
                .filter(|l| l.split_whitespace().count() == 7 && l.contains(" blob "))
                .collect();
            // Three of the five shapes (720 files) are alike enough; one is too small and one
            // changes too much. Bases that serve deltas must survive the ones that never do.
            assert!(
                deltas.len() >= 700,
                "{} of {} objects are deltas",
                deltas.len(),
                files.len()
            );
            assert!(
                deltas
                    .iter()
                    .all(|l| l.split_whitespace().nth(5) == Some("1")),
                "a delta of a delta"
            );
            let big_id = object_id(ObjectType::Blob, &big).to_string();
            let big_line = listing.lines().find(|l| l.starts_with(&big_id)).unwrap();
            assert_eq!(
                big_line.split_whitespace().count(),
                5,
                "the large object is stored whole: {big_line}"
            );
        }
    }

    #[test]
    fn stored_streams_inflate_to_their_data() {
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b""), 1);
        for len in [0usize, 1, 512, 0xffff, 0x10000, 0x2_0003] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let mut stream = Vec::new();
            stored(&data, &mut stream);
            let mut inflated = Vec::new();
            io::Read::read_to_end(
                &mut flate2::read::ZlibDecoder::new(stream.as_slice()),
                &mut inflated,
            )
            .unwrap();
            assert_eq!(inflated, data, "{len} bytes");
        }
    }

    #[test]
    fn delta_distances_use_gits_offset_encoding() {
        // Decoding as git's unpack-objects does: each continued group adds one.
        fn decode(bytes: &[u8]) -> usize {
            let mut value = (bytes[0] & 0x7f) as usize;
            for byte in &bytes[1..] {
                value = ((value + 1) << 7) | (byte & 0x7f) as usize;
            }
            value
        }
        for value in [
            1usize,
            127,
            128,
            129,
            16_511,
            16_512,
            1 << 30,
            (1 << 35) + 3,
        ] {
            let mut bytes = Vec::new();
            distance(&mut bytes, value);
            assert_eq!(decode(&bytes), value);
            assert!(bytes[..bytes.len() - 1].iter().all(|b| b & 0x80 != 0));
            assert_eq!(bytes[bytes.len() - 1] & 0x80, 0);
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
