//! The compressed container of a bundle: one zstd frame that records its content size, followed
//! by a zstd skippable frame holding the sha256 of the compressed frame. zstd ignores some bits
//! of a frame (reserved header bits, unused table entries), so the trailer is what makes every
//! changed byte of the file count; `zstd -d` and `tar --zstd` skip it, so a bundle stays a
//! plain `.tar.zst`.
//!
//! Reading is in two streaming passes over the file, neither of which holds more than a block
//! in memory: [`check`] hashes the file against its trailer and walks the frame's block
//! headers (telling a file cut short from a changed one), then [`open`] hands out a decoder
//! whose output is counted against the decompressed-size limit as it is produced.

use std::io::{self, BufReader, Read, Seek, SeekFrom, Take};

use sha2::{Digest, Sha256};

use super::{size_text, BundleError, Limits};

const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// The largest zstd block, compressed or not (RFC 8878, 3.1.1.2.3).
const MAX_BLOCK: u64 = 128 << 10;
/// The decoder refuses frames that need a larger window than this. `hubdr bundle create`
/// compresses at level 6, whose window is at most 2 MiB.
pub const MAX_WINDOW_LOG: u32 = 23;

/// A skippable frame (magic `0x184D2A5E`) holding `hubdr-sha256:` and the digest of the frame.
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

/// `frame` followed by its trailer: the bytes of a bundle file.
pub fn seal(mut frame: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&frame);
    frame.extend_from_slice(&trailer_header());
    frame.extend_from_slice(&digest);
    frame
}

/// What the frame header declares, once the trailer vouched for every byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Compressed bytes of the frame (the file without its trailer).
    pub len: u64,
    pub content_size: Option<u64>,
    pub window: u64,
}

/// The first pass: the file (of `len` bytes) is one zstd frame followed by an intact trailer.
/// Streams the file once; nothing is decompressed.
pub fn check<R: Read + Seek>(source: &mut R, len: u64) -> Result<FrameInfo, BundleError> {
    let damaged = |detail: String| BundleError::Damaged { detail };
    let io_error = |e: io::Error| damaged(format!("reading the file: {e}"));
    if len == 0 {
        return Err(BundleError::Truncated {
            detail: "the file is empty".into(),
        });
    }
    let header = trailer_header();
    let trailer_at = len.saturating_sub(TRAILER_LEN as u64);
    if len > TRAILER_LEN as u64 {
        let mut tail = [0u8; TRAILER_LEN];
        source
            .seek(SeekFrom::Start(trailer_at))
            .and_then(|_| source.read_exact(&mut tail))
            .map_err(io_error)?;
        if tail[..TRAILER_HEADER_LEN] == header[..] {
            source.seek(SeekFrom::Start(0)).map_err(io_error)?;
            let mut body = Hashing::new(source.take(trailer_at));
            let walked = walk(&mut body);
            io::copy(&mut body, &mut io::sink()).map_err(io_error)?;
            if body.hasher.finalize()[..] != tail[TRAILER_HEADER_LEN..] {
                return Err(damaged("the file does not match its sha256 trailer".into()));
            }
            return match walked {
                Ok(frame) if frame.len == trailer_at => Ok(frame),
                Ok(_) => Err(damaged(
                    "more than one zstd frame before the trailer".into(),
                )),
                Err(Walk::Ends(what)) => Err(damaged(format!("the zstd frame ends inside {what}"))),
                Err(Walk::Bad(detail)) => Err(damaged(format!("not a zstd frame: {detail}"))),
            };
        }
    }
    // No intact trailer at the end: was the file cut short, or changed?
    source.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let mut whole = source.take(len);
    let frame = match walk(&mut whole) {
        Ok(frame) => frame,
        Err(Walk::Ends(what)) => {
            return Err(BundleError::Truncated {
                detail: format!("the zstd frame ends early, inside {what}"),
            })
        }
        Err(Walk::Bad(detail)) => return Err(damaged(format!("not a zstd frame: {detail}"))),
    };
    let rest = len - frame.len;
    let mut after = Vec::new();
    whole
        .take(TRAILER_HEADER_LEN as u64)
        .read_to_end(&mut after)
        .map_err(io_error)?;
    if rest < TRAILER_LEN as u64 && after[..] == header[..after.len()] {
        return Err(BundleError::Truncated {
            detail: "the sha256 trailer after the archive is missing or cut short".into(),
        });
    }
    Err(damaged(
        "the sha256 trailer after the archive is damaged".into(),
    ))
}

/// The decoder of a checked file: the second pass. Refuses frames that do not declare their
/// size, declare more than the limit, or need a window over 2^[`MAX_WINDOW_LOG`] bytes.
pub fn open<R: Read + Seek>(
    mut source: R,
    frame: &FrameInfo,
    limits: &Limits,
) -> Result<Decoder<R>, BundleError> {
    let damaged = |detail: String| BundleError::Damaged { detail };
    let Some(declared) = frame.content_size else {
        return Err(damaged("the zstd frame does not record its size".into()));
    };
    if declared > limits.max_unpacked_bytes {
        return Err(BundleError::DeclaredTooLarge {
            declared,
            limit: limits.max_unpacked_bytes,
        });
    }
    if frame.window > 1 << MAX_WINDOW_LOG {
        return Err(damaged(format!(
            "the zstd frame needs a {} window, over the {} that bundles use",
            size_text(frame.window),
            size_text(1 << MAX_WINDOW_LOG)
        )));
    }
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| damaged(format!("reading the file: {e}")))?;
    let mut decoder =
        zstd::stream::read::Decoder::with_buffer(BufReader::new(source.take(frame.len)))
            .map_err(|e| damaged(format!("zstd: {e}")))?
            .single_frame();
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| damaged(format!("zstd: {e}")))?;
    Ok(Decoder {
        inner: decoder,
        produced: 0,
        limit: limits.max_unpacked_bytes,
        failure: None,
    })
}

/// Why a [`Decoder`] stopped with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// More than the limit came out; `after` bytes were produced.
    OverLimit { after: u64 },
    /// zstd refused the data.
    Corrupt(String),
}

/// Decompressed bytes, counted: reading past the limit is an error, recorded in `failure`.
pub struct Decoder<R: Read> {
    inner: zstd::stream::read::Decoder<'static, BufReader<Take<R>>>,
    produced: u64,
    limit: u64,
    failure: Option<Failure>,
}

impl<R: Read> Decoder<R> {
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Why the last read failed, if it did.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// After the last byte: nothing of the file may follow the frame.
    pub fn finish(self) -> Result<(), BundleError> {
        use std::io::BufRead;
        let mut rest = self.inner.finish();
        match rest.fill_buf() {
            Ok([]) => Ok(()),
            Ok(_) => Err(BundleError::Damaged {
                detail: "more than one zstd frame before the trailer".into(),
            }),
            Err(e) => Err(BundleError::Damaged {
                detail: format!("reading the file: {e}"),
            }),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(failure) = &self.failure {
            return Err(io::Error::other(format!("{failure:?}")));
        }
        let room = self.limit - self.produced;
        let result = if room == 0 {
            // At the limit: only the end of the stream is acceptable.
            let mut one = [0u8; 1];
            match self.inner.read(&mut one) {
                Ok(0) => Ok(0),
                Ok(_) => {
                    self.failure = Some(Failure::OverLimit {
                        after: self.produced,
                    });
                    return Err(io::Error::other("the decompressed size is over the limit"));
                }
                Err(e) => Err(e),
            }
        } else {
            let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            self.inner.read(&mut buf[..n])
        };
        match result {
            Ok(n) => {
                self.produced += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failure = Some(Failure::Corrupt(e.to_string()));
                Err(e)
            }
        }
    }
}

/// Reads through, hashing what passes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Why walking a frame stopped.
#[derive(Debug, PartialEq, Eq)]
enum Walk {
    /// The input ended inside this part of the frame.
    Ends(&'static str),
    /// Not a frame a bundle can hold.
    Bad(String),
}

/// Walk one zstd frame's structure (RFC 8878): header, block headers, checksum, skipping the
/// block contents. Reads sequentially; holds nothing.
fn walk<R: Read>(input: &mut R) -> Result<FrameInfo, Walk> {
    let mut at = Position { input, pos: 0 };
    if at.le(4, "its magic number")? != u64::from(ZSTD_MAGIC) {
        return Err(Walk::Bad(
            "it does not start with the zstd magic number".into(),
        ));
    }
    let descriptor = at.le(1, "its header")? as u8;
    let single_segment = descriptor & 0x20 != 0;
    if descriptor & 0x08 != 0 {
        return Err(Walk::Bad("a reserved header bit is set".into()));
    }
    let mut window = 0;
    if !single_segment {
        let byte = at.le(1, "its header")?;
        let base = 1u64 << (10 + (byte >> 3));
        window = base + (base / 8) * (byte & 7);
    }
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 3)];
    if dictionary > 0 && at.le(dictionary, "its header")? != 0 {
        return Err(Walk::Bad("it needs a dictionary".into()));
    }
    let content_size = match (descriptor >> 6, single_segment) {
        (0, false) => None,
        (0, true) => Some(at.le(1, "its header")?),
        (1, _) => Some(at.le(2, "its header")? + 256),
        (2, _) => Some(at.le(4, "its header")?),
        _ => Some(at.le(8, "its header")?),
    };
    if single_segment {
        window = content_size.unwrap_or(0);
    }
    loop {
        let header = at.le(3, "a block header")?;
        let size = header >> 3;
        if size > MAX_BLOCK {
            return Err(Walk::Bad(format!(
                "a block of {size} bytes, over the {MAX_BLOCK} zstd allows"
            )));
        }
        let stored = match (header >> 1) & 3 {
            0 | 2 => size,
            1 => 1,
            _ => return Err(Walk::Bad("a block of the reserved type".into())),
        };
        at.skip(stored, "a block")?;
        if header & 1 != 0 {
            break;
        }
    }
    if descriptor & 0x04 != 0 {
        at.skip(4, "its checksum")?;
    }
    Ok(FrameInfo {
        len: at.pos,
        content_size,
        window,
    })
}

/// A reader and how far into it the walk is.
struct Position<'a, R> {
    input: &'a mut R,
    pos: u64,
}

impl<R: Read> Position<'_, R> {
    /// The next `n` (at most 8) bytes as a little-endian number.
    fn le(&mut self, n: usize, what: &'static str) -> Result<u64, Walk> {
        let mut buf = [0u8; 8];
        self.input
            .read_exact(&mut buf[..n])
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => Walk::Ends(what),
                _ => Walk::Bad(e.to_string()),
            })?;
        self.pos += n as u64;
        Ok(u64::from_le_bytes(buf))
    }

    fn skip(&mut self, n: u64, what: &'static str) -> Result<(), Walk> {
        let skipped = io::copy(&mut self.input.by_ref().take(n), &mut io::sink())
            .map_err(|e| Walk::Bad(e.to_string()))?;
        self.pos += skipped;
        if skipped == n {
            Ok(())
        } else {
            Err(Walk::Ends(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn compressed(content: &[u8], checksum: bool) -> Vec<u8> {
        let mut c = zstd::bulk::Compressor::new(6).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(checksum))
            .unwrap();
        c.compress(content).unwrap()
    }

    #[test]
    fn the_walk_agrees_with_zstd_on_frame_sizes() {
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for content in [&b""[..], b"a", &[7u8; 300], &big] {
            for checksum in [false, true] {
                let frame = compressed(content, checksum);
                let info = walk(&mut &frame[..]).unwrap();
                assert_eq!(info.len, frame.len() as u64);
                assert_eq!(info.content_size, Some(content.len() as u64));
                assert!(info.window <= 1 << MAX_WINDOW_LOG, "{}", info.window);
            }
        }
    }

    #[test]
    fn check_finds_the_frame_behind_an_intact_trailer() {
        let frame = compressed(b"hello", true);
        let file = seal(frame.clone());
        let info = check(&mut Cursor::new(&file), file.len() as u64).unwrap();
        assert_eq!(info.len, frame.len() as u64);
        let mut decoder = open(Cursor::new(&file), &info, &Limits::default()).unwrap();
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(decoder.produced(), 5);
        decoder.finish().unwrap();
    }

    #[test]
    fn the_decoder_stops_at_the_limit() {
        let content = vec![0u8; 10_000];
        let file = seal(compressed(&content, true));
        let info = check(&mut Cursor::new(&file), file.len() as u64).unwrap();
        let limits = Limits {
            max_unpacked_bytes: 4096,
            ..Limits::default()
        };
        // The honest header is refused before decoding.
        assert!(matches!(
            open(Cursor::new(&file), &info, &limits),
            Err(BundleError::DeclaredTooLarge {
                declared: 10_000,
                limit: 4096
            })
        ));
        // A header that lies is caught while reading.
        let lying = FrameInfo {
            content_size: Some(100),
            ..info
        };
        let mut decoder = open(Cursor::new(&file), &lying, &limits).unwrap();
        let mut out = Vec::new();
        assert!(decoder.read_to_end(&mut out).is_err());
        assert_eq!(out.len(), 4096);
        assert_eq!(decoder.failure(), Some(&Failure::OverLimit { after: 4096 }));
    }
}
