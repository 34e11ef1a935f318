//! Git deltas (gitformat-pack, "Deltified representation"): an object written as copies of
//! byte ranges of a similar base object plus the bytes the base lacks.
//!
//! A delta is the base's size and the result's size (7-bit little-endian groups with a
//! continuation bit), then instructions: a copy (`1oooossss`: bit k of `oooo` says offset byte
//! k follows, bit k of `sss` says size byte k follows, least significant first; a size of 0
//! means 0x10000) or an insert (`0nnnnnnn`: the next n bytes, 1 to 127).
//!
//! Rendered files of one kind differ from each other in a few values (a cluster name, a
//! schedule), so the delta is found line by line: a line the base has at the expected place, or
//! anywhere, is copied; a changed line is copied around its changed middle.

use std::collections::HashMap;

use foldhash::fast::FixedState;

/// The largest base a delta may refer to: a copy's offset is 32 bits.
const MAX_BASE_LEN: usize = u32::MAX as usize;
/// The largest size one copy instruction can carry (24 bits).
const MAX_COPY_LEN: usize = 0xff_ffff;
/// The longest insert instruction.
const MAX_INSERT_LEN: usize = 127;
/// A changed line's unchanged start or end is copied when it is at least this long (a copy
/// costs up to 5 bytes more than inserting the same bytes would).
const MIN_PARTIAL_COPY: usize = 8;

/// A base object prepared for deltas: its lines and where each line occurs.
pub(super) struct Base<'a> {
    data: &'a [u8],
    /// The start of each line, then the end of the data.
    starts: Vec<usize>,
    /// Each distinct line (with its newline) and the numbers of the lines equal to it, in order.
    lines: HashMap<&'a [u8], Vec<u32>, FixedState>,
}

impl<'a> Base<'a> {
    /// `None` when `data` is too large to be a base.
    pub fn new(data: &'a [u8]) -> Option<Self> {
        if data.len() > MAX_BASE_LEN {
            return None;
        }
        let mut starts = vec![0];
        starts.extend(
            memchr::memchr_iter(b'\n', data)
                .map(|at| at + 1)
                .filter(|end| *end < data.len()),
        );
        starts.push(data.len());
        let count = starts.len() - 1;
        let mut lines: HashMap<&[u8], Vec<u32>, FixedState> =
            HashMap::with_capacity_and_hasher(count, FixedState::default());
        for number in 0..count {
            let line = &data[starts[number]..starts[number + 1]];
            lines.entry(line).or_default().push(number as u32);
        }
        Some(Base {
            data,
            starts,
            lines,
        })
    }

    fn line_count(&self) -> usize {
        self.starts.len() - 1
    }

    fn line(&self, number: usize) -> &'a [u8] {
        &self.data[self.starts[number]..self.starts[number + 1]]
    }

    /// The delta that makes `target` from this base, or `None` when it would be longer than
    /// `max_len` bytes.
    pub fn delta(&self, target: &[u8], max_len: usize) -> Option<Vec<u8>> {
        let mut out = Encoder {
            out: Vec::with_capacity(max_len.min(1024) + 16),
            target,
            pending: Pending::None,
        };
        varint(&mut out.out, self.data.len());
        varint(&mut out.out, target.len());
        // The base line expected next, when the files run in step.
        let mut next = 0usize;
        let mut at = 0usize;
        while at < target.len() {
            let end = memchr::memchr(b'\n', &target[at..]).map_or(target.len(), |i| at + i + 1);
            let line = &target[at..end];
            if next < self.line_count() && self.line(next) == line {
                out.copy(self.starts[next], line.len());
                next += 1;
            } else if let Some(numbers) = self.lines.get(line) {
                // The first occurrence at or after the expected place, else the first.
                let number = numbers
                    .iter()
                    .find(|n| **n as usize >= next)
                    .unwrap_or(&numbers[0]);
                let number = *number as usize;
                out.copy(self.starts[number], line.len());
                next = number + 1;
            } else if next < self.line_count() {
                // A changed line: copy its unchanged start and end from the base's line.
                let old = self.line(next);
                let prefix = common_prefix(old, line);
                let suffix = common_suffix(&old[prefix..], &line[prefix..]);
                if prefix >= MIN_PARTIAL_COPY {
                    out.copy(self.starts[next], prefix);
                } else {
                    out.insert(at, at + prefix);
                }
                let middle_end = line.len() - suffix;
                if suffix >= MIN_PARTIAL_COPY {
                    out.insert(at + prefix, at + middle_end);
                    out.copy(self.starts[next] + old.len() - suffix, suffix);
                } else {
                    out.insert(at + prefix, end);
                }
                next += 1;
            } else {
                out.insert(at, end);
            }
            if out.out.len() > max_len {
                return None;
            }
            at = end;
        }
        out.flush();
        (out.out.len() <= max_len).then_some(out.out)
    }
}

/// The instruction being built: consecutive copies of adjacent base ranges, and consecutive
/// inserts, become one.
enum Pending {
    None,
    Copy { offset: usize, len: usize },
    Insert { start: usize, end: usize },
}

struct Encoder<'t> {
    out: Vec<u8>,
    target: &'t [u8],
    pending: Pending,
}

impl Encoder<'_> {
    fn copy(&mut self, offset: usize, len: usize) {
        if len == 0 {
            return;
        }
        if let Pending::Copy { offset: o, len: l } = &mut self.pending {
            if *o + *l == offset {
                *l += len;
                return;
            }
        }
        self.flush();
        self.pending = Pending::Copy { offset, len };
    }

    /// Insert the target's bytes `start..end`.
    fn insert(&mut self, start: usize, end: usize) {
        if start == end {
            return;
        }
        if let Pending::Insert { end: e, .. } = &mut self.pending {
            if *e == start {
                *e = end;
                return;
            }
        }
        self.flush();
        self.pending = Pending::Insert { start, end };
    }

    fn flush(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Copy {
                mut offset,
                mut len,
            } => {
                while len > 0 {
                    let part = len.min(MAX_COPY_LEN);
                    copy_instruction(&mut self.out, offset, part);
                    offset += part;
                    len -= part;
                }
            }
            Pending::Insert { start, end } => {
                for part in self.target[start..end].chunks(MAX_INSERT_LEN) {
                    self.out.push(part.len() as u8);
                    self.out.extend_from_slice(part);
                }
            }
        }
    }
}

fn copy_instruction(out: &mut Vec<u8>, offset: usize, len: usize) {
    let at = out.len();
    out.push(0x80);
    let mut command = 0x80u8;
    for (bit, byte) in (offset as u32).to_le_bytes().into_iter().enumerate() {
        if byte != 0 {
            command |= 1 << bit;
            out.push(byte);
        }
    }
    for (bit, byte) in (len as u32).to_le_bytes()[..3].iter().enumerate() {
        if *byte != 0 {
            command |= 0x10 << bit;
            out.push(*byte);
        }
    }
    out[at] = command;
}

fn varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Apply `delta` to `base` as git does (patch-delta.c), checking every bound.
    pub(in crate::gitrepo) fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
        fn read_varint(delta: &[u8], at: &mut usize) -> usize {
            let mut value = 0usize;
            let mut shift = 0;
            loop {
                let byte = delta[*at];
                *at += 1;
                value |= ((byte & 0x7f) as usize) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    return value;
                }
            }
        }
        let mut at = 0;
        assert_eq!(read_varint(delta, &mut at), base.len(), "base size");
        let size = read_varint(delta, &mut at);
        let mut out = Vec::with_capacity(size);
        while at < delta.len() {
            let command = delta[at];
            at += 1;
            if command & 0x80 != 0 {
                let mut offset = 0usize;
                for bit in 0..4 {
                    if command & (1 << bit) != 0 {
                        offset |= (delta[at] as usize) << (8 * bit);
                        at += 1;
                    }
                }
                let mut len = 0usize;
                for bit in 0..3 {
                    if command & (0x10 << bit) != 0 {
                        len |= (delta[at] as usize) << (8 * bit);
                        at += 1;
                    }
                }
                if len == 0 {
                    len = 0x10000;
                }
                out.extend_from_slice(&base[offset..offset + len]);
            } else {
                assert_ne!(command, 0, "command 0 is reserved");
                let len = command as usize;
                out.extend_from_slice(&delta[at..at + len]);
                at += len;
            }
        }
        assert_eq!(out.len(), size, "result size");
        out
    }

    fn roundtrip(base: &[u8], target: &[u8]) -> Vec<u8> {
        let delta = Base::new(base)
            .unwrap()
            .delta(target, usize::MAX)
            .expect("no limit");
        assert_eq!(apply(base, &delta), target);
        delta
    }

    const AGENT: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hubdr-agent\n  labels:\n    app.kubernetes.io/name: hubdr-agent\n    hubdr.io/cluster: c-00001\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: hubdr-agent-c-00001\n  namespace: hubdr-agent\n";

    #[test]
    fn files_that_differ_in_a_name_give_a_small_delta() {
        let target = AGENT.replace("c-00001", "c-04711");
        let delta = roundtrip(AGENT.as_bytes(), target.as_bytes());
        assert!(
            delta.len() < 40,
            "{} bytes for two changed names",
            delta.len()
        );
    }

    #[test]
    fn every_kind_of_change_round_trips() {
        let base = AGENT.as_bytes();
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            base.to_vec(),
            b"x".to_vec(),
            AGENT.replace("kind: Namespace\n", "").into_bytes(),
            format!("first: line\n{AGENT}last: line").into_bytes(),
            AGENT
                .replace(
                    "metadata:\n",
                    "metadata:\n  extra: a much longer line than any other here\n",
                )
                .into_bytes(),
            // Lines reordered and repeated.
            AGENT
                .lines()
                .rev()
                .chain(AGENT.lines())
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            // No final newline, and a changed last line.
            AGENT
                .trim_end()
                .replace("namespace: hubdr-agent", "namespace: other")
                .into_bytes(),
            // Bytes that are not text.
            (0..=255u8).cycle().take(700).collect(),
        ];
        for target in &cases {
            roundtrip(base, target);
            roundtrip(target, base);
        }
        roundtrip(b"", b"abc\n");
        roundtrip(b"no newline", b"no newline at all");
    }

    #[test]
    fn long_runs_are_split_into_instructions_that_fit() {
        // A copy longer than 24 bits and an insert longer than 127 bytes, at offsets whose
        // bytes are partly zero.
        let mut base: Vec<u8> = (0..MAX_COPY_LEN + 5000)
            .map(|i| {
                if i % 97 == 96 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        base.extend_from_slice(b"tail line\n");
        let mut target = base.clone();
        target.splice(0x1_0000..0x1_0000, (0..400).map(|i| b'A' + (i % 26) as u8));
        roundtrip(&base, &target);
    }

    #[test]
    fn a_delta_over_the_limit_is_refused() {
        let base = Base::new(AGENT.as_bytes()).unwrap();
        let unrelated = "something: else entirely\n".repeat(20);
        assert!(base
            .delta(unrelated.as_bytes(), unrelated.len() / 2)
            .is_none());
        assert!(base.delta(AGENT.as_bytes(), 20).is_some());
    }

    #[test]
    fn copy_instructions_encode_only_nonzero_bytes() {
        let mut out = Vec::new();
        copy_instruction(&mut out, 0x0001_0000, 0x10);
        assert_eq!(out, [0x80 | 0x04 | 0x10, 0x01, 0x10]);
        out.clear();
        copy_instruction(&mut out, 0, 0x01_0203);
        assert_eq!(out, [0x80 | 0x70, 0x03, 0x02, 0x01]);
    }
}
