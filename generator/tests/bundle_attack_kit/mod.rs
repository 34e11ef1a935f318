//! Hostile bundles, built the way an attacker who can write files builds them: tar headers and
//! zstd frames by hand, so that no limit of the tar or zstd libraries gets in the way, and a
//! correct sha256 trailer, so that every attack reaches the archive reader.
//!
//! Gigabytes of zeros cost nothing to build: each 128 KiB of them is one zstd RLE block of 4
//! bytes, so a bundle that decompresses to 1.5 GiB is about 50 KB.
//!
//! Shared by `generator/tests/bundle_attacks.rs` and `reconciler/tests/agent_inbox.rs`.

#![allow(dead_code)]

use sha2::{Digest, Sha256};

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

const BLOCK: u64 = 128 << 10;

/// Part of a decompressed stream.
#[derive(Debug, Clone)]
pub enum Part {
    Bytes(Vec<u8>),
    Zeros(u64),
}

/// A tar stream, in parts.
#[derive(Debug, Clone, Default)]
pub struct Tar {
    parts: Vec<Part>,
}

impl Tar {
    pub fn new() -> Self {
        Tar::default()
    }

    /// A regular file.
    pub fn file(self, path: &str, content: &[u8]) -> Self {
        self.entry(path, REGULAR, "", content)
    }

    /// Every entry of `entries`, in order.
    pub fn files(self, entries: &[(String, Vec<u8>)]) -> Self {
        entries
            .iter()
            .fold(self, |tar, (path, content)| tar.file(path, content))
    }

    /// A regular file of `size` zero bytes: costs the bundle nothing.
    pub fn huge(mut self, path: &str, size: u64) -> Self {
        self.parts
            .push(Part::Bytes(header(path.as_bytes(), size, REGULAR, "")));
        self.parts.push(Part::Zeros(padded(size)));
        self
    }

    /// Any entry: links (with their target), directories, PAX headers.
    pub fn entry(mut self, path: &str, kind: u8, link: &str, content: &[u8]) -> Self {
        self.parts.push(Part::Bytes(header(
            path.as_bytes(),
            content.len() as u64,
            kind,
            link,
        )));
        let mut body = content.to_vec();
        body.resize(padded(content.len() as u64) as usize, 0);
        self.parts.push(Part::Bytes(body));
        self
    }

    /// A GNU long-name entry whose name is `size` zero bytes.
    pub fn long_name(self, size: u64) -> Self {
        let mut tar = self;
        tar.parts.push(Part::Bytes(header(
            b"././@LongLink",
            size,
            GNU_LONG_NAME,
            "",
        )));
        tar.parts.push(Part::Zeros(padded(size)));
        tar
    }

    /// The end-of-archive marker: two zero blocks.
    pub fn end(self) -> Self {
        self.zeros(1024)
    }

    /// `n` zero bytes.
    pub fn zeros(mut self, n: u64) -> Self {
        self.parts.push(Part::Zeros(n));
        self
    }

    pub fn len(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Bytes(b) => b.len() as u64,
                Part::Zeros(n) => *n,
            })
            .sum()
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(512) * 512
}

/// A GNU tar header, checksummed; the name is copied as it is (no checks).
fn header(name: &[u8], size: u64, kind: u8, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..265].copy_from_slice(b"ustar  \0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Tar entry types.
pub const REGULAR: u8 = b'0';
pub const HARD_LINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const DIRECTORY: u8 = b'5';
pub const PAX: u8 = b'x';
const GNU_LONG_NAME: u8 = b'L';

/// What the zstd frame header says about the content size.
#[derive(Debug, Clone, Copy)]
pub enum Declared {
    /// The real size.
    Honest,
    /// A size of the attacker's choice.
    Lie(u64),
}

/// A bundle file: `tar` as one zstd frame (raw blocks, RLE blocks for zeros, 1 MiB window, no
/// checksum), then the sha256 trailer `hubdr bundle create` writes.
pub fn bundle(tar: &Tar, declared: Declared) -> Vec<u8> {
    let size = match declared {
        Declared::Honest => tar.len(),
        Declared::Lie(size) => size,
    };
    let mut frame = Vec::new();
    frame.extend_from_slice(&0xFD2F_B528u32.to_le_bytes());
    frame.push(0xC0); // 8-byte content size, not single segment, no checksum, no dictionary
    frame.push(10 << 3); // window 2^(10 + 10) = 1 MiB
    frame.extend_from_slice(&size.to_le_bytes());
    let mut blocks: Vec<(u32, Vec<u8>)> = Vec::new(); // (header without the last bit, body)
    for part in &tar.parts {
        match part {
            Part::Bytes(bytes) => {
                for chunk in bytes.chunks(BLOCK as usize) {
                    blocks.push(((chunk.len() as u32) << 3, chunk.to_vec()));
                }
            }
            Part::Zeros(n) => {
                let mut left = *n;
                while left > 0 {
                    let size = left.min(BLOCK);
                    blocks.push((((size as u32) << 3) | (1 << 1), vec![0]));
                    left -= size;
                }
            }
        }
    }
    if blocks.is_empty() {
        blocks.push((0, Vec::new()));
    }
    let last = blocks.len() - 1;
    for (i, (header, body)) in blocks.into_iter().enumerate() {
        let header = header | u32::from(i == last);
        frame.extend_from_slice(&header.to_le_bytes()[..3]);
        frame.extend_from_slice(&body);
    }
    seal(frame)
}

/// `frame` followed by the trailer: a zstd skippable frame with `hubdr-sha256:` and its digest.
pub fn seal(mut frame: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&frame);
    frame.extend_from_slice(&0x184D_2A5Eu32.to_le_bytes());
    frame.extend_from_slice(&(13u32 + 32).to_le_bytes());
    frame.extend_from_slice(b"hubdr-sha256:");
    frame.extend_from_slice(&digest);
    frame
}

/// The entries of a good bundle, in archive order.
pub fn entries_of(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
    hubdr::bundle::archive::unpack(bundle, &hubdr::bundle::Limits::default()).unwrap()
}
