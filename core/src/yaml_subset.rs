//! A fast parser for the small YAML subset that hubdr's templates produce.
//!
//! # Contract
//!
//! [`parse`] returns `Some(v)` only when `v` is exactly what
//! `serde_yaml::from_str::<serde_json::Value>(text)` returns: the same values and, since
//! serde_json keeps insertion order, the same key order in every map. It returns `None` for
//! anything outside the subset below and for anything it is not sure about, including every
//! text serde_yaml rejects: `None` means "ask serde_yaml", never "invalid", so parse errors
//! always come from serde_yaml.
//!
//! # Why
//!
//! Every rendered template is parsed back into a value before it is checked, patched and
//! written. serde_yaml's parser (libyaml: a token queue, an event per node, a copy of every
//! scalar) is a large share of a big render. Templates write a narrow dialect, one construct
//! per line, which this module reads by slicing the input line by line.
//!
//! # The subset
//!
//! * One document whose root is a block mapping or a block sequence at column 0; no `---`,
//!   `...` or `%` directives. Blank lines and comment lines anywhere.
//! * Block mappings (`key: value`, `key:` with the value on the next lines) and block
//!   sequences (`- value`), indented with spaces, including `- key: value` compact mappings,
//!   `- - value`, and sequences at the indentation of their key (`key:\n- a`).
//! * Keys: plain keys made of `[A-Za-z0-9._/-]` (not starting with `-`) or quoted keys, at
//!   most `MAX_KEY_LEN` (512) bytes, unique within their mapping.
//! * Single-line scalars: double-quoted strings that are JSON strings (only JSON's escapes),
//!   single-quoted strings, and plain scalars whose type is certain: `null`/`~` and the bool
//!   spellings serde_yaml knows, decimal integers without a leading zero that fit in a `u64`
//!   (or an `i64` when negative), and strings that cannot be read as anything else (they start
//!   with a letter, `/` or `_`, or start with a digit and cannot be numbers, as in `10Gi`,
//!   `0 * * * *` or `0.1.0`). A `#` after a space starts a comment.
//! * Single-line flow collections that are JSON (what `| tojson` writes): parsed by
//!   serde_json, accepted when every number is an integer and the text is short.
//!
//! Everything else falls back: anchors, aliases, tags, block scalars (`|`, `>`), multi-line
//! scalars, tabs, carriage returns, characters libyaml rejects or reads as line breaks,
//! `? ` keys, floats and every other doubtful plain scalar (`0x1f`, `1e3`, `0755`, `-0`,
//! `.5`, `+1`, `-a`, `1e-3`), YAML-only escapes and surrogate escapes in double quotes,
//! duplicate keys (serde_yaml takes them, keeping the last value in the first key's place),
//! and very deep documents.

use serde_json::{Map, Value};

/// Nesting deeper than this is left to serde_yaml (whose recursion limit is 128 levels).
const MAX_DEPTH: usize = 48;
/// Longer keys are left to serde_yaml: libyaml requires an implicit key to end within 1024
/// characters of its start.
const MAX_KEY_LEN: usize = 512;
/// Longer flow collections are left to serde_yaml (their keys are implicit keys too).
const MAX_FLOW_LEN: usize = 512;
/// A sequence of at least this many entries, in a text of at least this many lines from it on,
/// has its entries parsed in parallel.
const PARALLEL_MIN_ITEMS: usize = 256;
const PARALLEL_MIN_LINES: usize = 1024;

/// `text` as a value, when it is certainly within the subset; see the module documentation.
pub fn parse(text: &str) -> Option<Value> {
    if !characters_allowed(text) {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 24 + 1);
    for raw in text.split('\n') {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = raw.len() - content.len();
        if indent == 0 && ["---", "...", "%"].iter().any(|m| content.starts_with(m)) {
            return None;
        }
        lines.push(Line {
            indent,
            text: content,
        });
    }
    if lines.first()?.indent != 0 {
        return None;
    }
    let mut parser = Parser { lines, pos: 0 };
    let value = parser.node(0, 0)?;
    (parser.pos == parser.lines.len()).then_some(value)
}

/// Only printable characters libyaml accepts and never reads as a line break, tab or BOM;
/// line breaks are `\n` only.
fn characters_allowed(text: &str) -> bool {
    if text
        .bytes()
        .all(|b| b == b'\n' || (b' '..=b'~').contains(&b))
    {
        return true;
    }
    text.chars().all(|c| {
        matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
    })
}

/// A line with content: its indentation and the text after it (never empty, no comment line).
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }

    /// The block collection that starts on the current line, at column `indent`.
    fn node(&mut self, indent: usize, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        if is_entry(self.peek()?.text) {
            self.sequence(indent, depth)
        } else {
            self.mapping(indent, depth)
        }
    }

    /// The value of a key or entry with nothing after its indicator: the block on the next
    /// lines when it is indented deeper, a sequence at the key's own indentation (`key:\n- a`),
    /// or null.
    fn nested(&mut self, indent: usize, depth: usize, key: bool) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent => self.node(next.indent, depth + 1),
            Some(next) if key && next.indent == indent && is_entry(next.text) => {
                self.sequence(indent, depth + 1)
            }
            _ => Some(Value::Null),
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let items = match self.item_ranges(indent) {
            Some(ranges) => self.items_in_parallel(&ranges, indent, depth)?,
            None => {
                let mut items = Vec::new();
                while let Some(line) = self.peek() {
                    if line.indent != indent || !is_entry(line.text) {
                        break;
                    }
                    items.push(self.item(line, indent, depth)?);
                }
                items
            }
        };
        // A deeper line here would continue a scalar or be an error.
        if self.peek().is_some_and(|next| next.indent > indent) {
            return None;
        }
        Some(Value::Array(items))
    }

    /// The entry on the current line (`line`) and what belongs to it.
    fn item(&mut self, line: Line<'a>, indent: usize, depth: usize) -> Option<Value> {
        let rest = line.text[1..].trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            self.pos += 1;
            self.nested(indent, depth, false)
        } else if is_entry(rest) || key_colon(rest)?.is_some() {
            // `- - a` or `- key: value`: the rest of the line starts a collection at its
            // own column, which continues on the next lines.
            let column = indent + line.text.len() - rest.len();
            self.lines[self.pos] = Line {
                indent: column,
                text: rest,
            };
            self.node(column, depth + 1)
        } else {
            self.pos += 1;
            inline_value(rest, depth + 1)
        }
    }

    /// For a long sequence (a fleet's clusters), the lines of each of its entries: from an
    /// entry at the sequence's indentation to the next, up to the first line that is less
    /// indented or at that indentation but no entry. `None` for a short sequence.
    fn item_ranges(&self, indent: usize) -> Option<Vec<std::ops::Range<usize>>> {
        if self.lines.len() - self.pos < PARALLEL_MIN_LINES {
            return None;
        }
        let mut starts = Vec::new();
        let mut end = self.pos;
        while let Some(line) = self.lines.get(end) {
            if line.indent < indent || (line.indent == indent && !is_entry(line.text)) {
                break;
            }
            if line.indent == indent {
                starts.push(end);
            }
            end += 1;
        }
        if starts.len() < PARALLEL_MIN_ITEMS {
            return None;
        }
        let ends = starts.iter().skip(1).copied().chain([end]);
        Some(starts.iter().zip(ends).map(|(s, e)| *s..e).collect())
    }

    /// The entries of `ranges` (see [`Self::item_ranges`]), each parsed on its own lines in
    /// parallel: what an entry is depends on its lines only. An entry that does not take all
    /// its lines leaves a deeper line behind, which the sequential parse refuses too.
    fn items_in_parallel(
        &mut self,
        ranges: &[std::ops::Range<usize>],
        indent: usize,
        depth: usize,
    ) -> Option<Vec<Value>> {
        use rayon::prelude::*;
        let lines = &self.lines;
        let items = ranges
            .par_iter()
            .with_min_len(64)
            .map(|range| {
                let mut entry = Parser {
                    lines: lines[range.clone()].to_vec(),
                    pos: 0,
                };
                let value = entry.item(entry.lines[0], indent, depth)?;
                (entry.pos == entry.lines.len()).then_some(value)
            })
            .collect::<Option<Vec<Value>>>()?;
        self.pos = ranges.last().map_or(self.pos, |r| r.end);
        Some(items)
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || is_entry(line.text) {
                break;
            }
            let colon = key_colon(line.text)??;
            let key = key_value(&line.text[..colon])?;
            let rest = line.text[colon + 1..].trim_start_matches(' ');
            self.pos += 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.nested(indent, depth, true)?
            } else {
                inline_value(rest, depth + 1)?
            };
            if map.insert(key, value).is_some() {
                return None;
            }
        }
        // A deeper line would continue a scalar or be an error; an entry at this indentation
        // after a key's value is an error.
        if self.peek().is_some_and(|next| next.indent >= indent) {
            return None;
        }
        Some(Value::Object(map))
    }
}

/// A block sequence entry: `-` alone or followed by a space.
fn is_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-')
}

/// For a line that is `key:` or `key: ...`, the index of the `:`; `Some(None)` when the line
/// is not a key line of the subset; `None` when unsure.
fn key_colon(text: &str) -> Option<Option<usize>> {
    let end = match text.as_bytes()[0] {
        b'"' => text.len() - double_quoted(text)?.1.len(),
        b'\'' => text.len() - single_quoted(text)?.1.len(),
        b'-' => return Some(None),
        _ => text
            .bytes()
            .position(|b| !is_key_char(b))
            .unwrap_or(text.len()),
    };
    let after = &text.as_bytes()[end..];
    let is_key =
        end > 0 && after.first() == Some(&b':') && matches!(after.get(1), None | Some(b' '));
    if is_key && end > MAX_KEY_LEN {
        return None;
    }
    Some(is_key.then_some(end))
}

/// The string a key's text stands for (the text before its `:`, checked by [`key_colon`]).
fn key_value(text: &str) -> Option<String> {
    match text.as_bytes()[0] {
        b'"' => Some(double_quoted(text)?.0),
        b'\'' => Some(single_quoted(text)?.0),
        _ => Some(text.to_owned()),
    }
}

/// A value on the line of its key or entry (`text` is not empty and starts with no space).
fn inline_value(text: &str, depth: usize) -> Option<Value> {
    match text.as_bytes()[0] {
        b'"' => {
            let (value, tail) = double_quoted(text)?;
            tail_ok(tail).then_some(Value::String(value))
        }
        b'\'' => {
            let (value, tail) = single_quoted(text)?;
            tail_ok(tail).then_some(Value::String(value))
        }
        b'[' | b'{' => flow(text, depth),
        _ => plain(plain_text(text)?),
    }
}

/// The plain scalar at the start of `text`: up to a comment (` #`), without trailing spaces.
/// `None` when a `: ` or a final `:` would make it a key: an error after a key, a mapping in
/// an entry.
fn plain_text(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    for i in 1..bytes.len() {
        match (bytes[i - 1], bytes[i]) {
            (b' ', b'#') => {
                end = i - 1;
                break;
            }
            (b':', b' ') => return None,
            _ => {}
        }
    }
    let scalar = text[..end].trim_end_matches(' ');
    (!scalar.ends_with(':')).then_some(scalar)
}

/// What may follow a scalar or flow collection on its line: spaces, then perhaps a comment.
fn tail_ok(tail: &str) -> bool {
    let rest = tail.trim_start_matches(' ');
    rest.is_empty() || (rest.len() < tail.len() && rest.starts_with('#'))
}

/// A double-quoted scalar at the start of `text` that is also a JSON string: its value and the
/// text after its closing quote. `None` for YAML-only escapes, surrogate escapes (which libyaml
/// rejects and JSON pairs up) and a scalar that does not end on this line.
fn double_quoted(text: &str) -> Option<(String, &str)> {
    let body = &text[1..];
    let bytes = body.as_bytes();
    let mut out = String::new();
    let (mut start, mut i) = (0, 0);
    loop {
        match *bytes.get(i)? {
            b'"' => {
                out.push_str(&body[start..i]);
                return Some((out, &body[i + 1..]));
            }
            b'\\' => {
                out.push_str(&body[start..i]);
                let (c, len) = match *bytes.get(i + 1)? {
                    b'"' => ('"', 2),
                    b'\\' => ('\\', 2),
                    b'/' => ('/', 2),
                    b'b' => ('\u{8}', 2),
                    b'f' => ('\u{c}', 2),
                    b'n' => ('\n', 2),
                    b'r' => ('\r', 2),
                    b't' => ('\t', 2),
                    b'u' => {
                        let hex = bytes.get(i + 2..i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        let code = hex.iter().fold(0, |acc, &h| {
                            acc * 16 + (h as char).to_digit(16).unwrap_or(0)
                        });
                        // char::from_u32 refuses surrogates.
                        (char::from_u32(code)?, 6)
                    }
                    _ => return None,
                };
                out.push(c);
                i += len;
                start = i;
            }
            _ => i += 1,
        }
    }
}

/// A single-quoted scalar at the start of `text`: its value (`''` is a quote) and the text
/// after its closing quote; `None` when it does not end on this line.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let body = &text[1..];
    let bytes = body.as_bytes();
    let mut out = String::new();
    let (mut start, mut i) = (0, 0);
    loop {
        if *bytes.get(i)? == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push_str(&body[start..=i]);
                i += 2;
                start = i;
            } else {
                out.push_str(&body[start..i]);
                return Some((out, &body[i + 1..]));
            }
        } else {
            i += 1;
        }
    }
}

/// A plain scalar's value (see [`plain_text`]), when its type is certain.
fn plain(text: &str) -> Option<Value> {
    match text {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let bytes = text.as_bytes();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // serde_yaml: u64 when it fits, else i64 for negatives; leading zeros make strings
        // and `-0` reads as 0: leave those to it, and the integers that do not fit.
        return match (digits.as_bytes()[0], digits.len() < text.len()) {
            (b'0', false) if digits.len() == 1 => Some(Value::from(0u64)),
            (b'1'..=b'9', false) => text.parse::<u64>().ok().map(Value::from),
            (b'1'..=b'9', true) => text.parse::<i64>().ok().map(Value::from),
            _ => None,
        };
    }
    // Strings: serde_yaml reads a scalar as a string when it is not null, a bool, an integer
    // (decimal, `0x`, `0o`, `0b`, with a sign) or a finite float (Rust's syntax, `.inf` and
    // `.nan`). A letter, `/` or `_` cannot start any of those but `inf`/`nan`-like words, which
    // are not finite.
    let first = bytes[0];
    let string = first.is_ascii_alphabetic()
        || first == b'/'
        || first == b'_'
        || (first.is_ascii_digit() && !number_like(bytes));
    string.then(|| Value::String(text.to_owned()))
}

/// Whether a scalar that starts with a digit might be a number: made of hex digits, `x`, `o`,
/// `.` (once), and `+`/`-` only right after an exponent's `e` (a sign can also start a number,
/// but the first character is a digit). `0.1.0`, `2024-01-01` or `10Gi` cannot be numbers.
fn number_like(bytes: &[u8]) -> bool {
    let mut dots = 0;
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'.' => {
            dots += 1;
            dots == 1
        }
        b'+' | b'-' => i > 0 && matches!(bytes[i - 1], b'e' | b'E'),
        _ => b.is_ascii_hexdigit() || matches!(b, b'x' | b'o'),
    })
}

/// A single-line flow collection: JSON (see [`json_flow`]), or the plain-scalar flow people
/// write in site files (see [`Flow`]).
fn flow(text: &str, depth: usize) -> Option<Value> {
    if text.len() > MAX_FLOW_LEN || has_surrogate_escape(text) {
        return None;
    }
    json_flow(text, depth).or_else(|| {
        let mut flow = Flow { text, pos: 0 };
        let value = flow.collection(depth)?;
        tail_ok(&text[flow.pos..]).then_some(value)
    })
}

/// A single-line JSON array or object, as `| tojson` writes it, read by serde_json: YAML reads
/// JSON text the same way when its numbers are integers (serde_json reads `-0` and integers
/// beyond 64 bits as floats, which this refuses too) and it has no surrogate escape.
fn json_flow(text: &str, depth: usize) -> Option<Value> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Unique>();
    let Unique(value) = stream.next()?.ok()?;
    if !tail_ok(&text[stream.byte_offset()..]) || !json_ok(&value, depth) {
        return None;
    }
    Some(value)
}

/// A JSON value whose objects repeat no key. serde_json keeps the last of a repeated key, as
/// serde_yaml does for a value, but serde_yaml refuses a repeated field of a struct: a site
/// taken from the value must not see the repeat vanish.
struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some((key, Unique(value))) = entries.next_entry::<String, Unique>()? {
            if map.insert(key, value).is_some() {
                return Err(serde::de::Error::custom("a repeated key"));
            }
        }
        Ok(Value::Object(map))
    }
}

/// A flow collection on one line with plain or quoted scalars, as in `[openshift, aws]` or
/// `{name: creds, key: cloud}`: entries separated by `, ` (spaces optional), mapping keys as in
/// block mappings followed by `: `, scalars as in block context (their type certain). `None`
/// for anything more: empty or trailing entries, a `key: value` pair in a sequence, a `:` that
/// may start a value, comments or `#` inside, duplicate keys.
struct Flow<'a> {
    text: &'a str,
    pos: usize,
}

impl Flow<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// The collection at the current position (`[` or `{`).
    fn collection(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let close = match self.peek()? {
            b'[' => b']',
            b'{' => b'}',
            _ => return None,
        };
        self.pos += 1;
        self.skip_spaces();
        let mut items = Vec::new();
        let mut map = Map::new();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if close == b']' {
                    items.push(self.node(depth + 1)?);
                } else {
                    let key = self.key()?;
                    let value = self.node(depth + 1)?;
                    if map.insert(key, value).is_some() {
                        return None;
                    }
                }
                self.skip_spaces();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        self.skip_spaces();
                    }
                    b if b == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        Some(if close == b']' {
            Value::Array(items)
        } else {
            Value::Object(map)
        })
    }

    /// A mapping key and its `: `.
    fn key(&mut self) -> Option<String> {
        let rest = &self.text[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let colon = key_colon(rest)??;
        let key = key_value(&rest[..colon])?;
        // `key_colon` accepts a `:` at the end of the text; here a space must follow.
        if rest.as_bytes().get(colon + 1) != Some(&b' ') {
            return None;
        }
        self.pos += colon + 2;
        self.skip_spaces();
        Some(key)
    }

    /// A collection or scalar at the current position.
    fn node(&mut self, depth: usize) -> Option<Value> {
        let rest = &self.text[self.pos..];
        let (value, after) = match *rest.as_bytes().first()? {
            b'[' | b'{' => return self.collection(depth),
            b'"' => {
                let (value, after) = double_quoted(rest)?;
                (Value::String(value), after)
            }
            b'\'' => {
                let (value, after) = single_quoted(rest)?;
                (Value::String(value), after)
            }
            _ => {
                let bytes = rest.as_bytes();
                let mut end = 0;
                while end < bytes.len() {
                    match bytes[end] {
                        b',' | b']' | b'}' => break,
                        b'[' | b'{' | b'#' => return None,
                        // Inside a scalar only before a letter, digit or `/` (`http://x:80`):
                        // libyaml reads `:` before a space, an indicator or the end as a value
                        // indicator, and refuses it before `?`.
                        b':' if !bytes
                            .get(end + 1)
                            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'/') =>
                        {
                            return None
                        }
                        _ => end += 1,
                    }
                }
                let scalar = rest[..end].trim_end_matches(' ');
                if scalar.is_empty() {
                    return None;
                }
                (plain(scalar)?, &rest[end..])
            }
        };
        self.pos = self.text.len() - after.len();
        Some(value)
    }
}

fn has_surrogate_escape(text: &str) -> bool {
    text.match_indices("\\u").any(|(i, _)| {
        let b = text.as_bytes();
        matches!(b.get(i + 2), Some(b'd' | b'D'))
            && matches!(b.get(i + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
    })
}

fn json_ok(value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::Number(n) => n.is_u64() || n.is_i64(),
        Value::Array(items) => items.iter().all(|v| json_ok(v, depth + 1)),
        Value::Object(map) => map.values().all(|v| json_ok(v, depth + 1)),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}
#[cfg(test)]
mod tests;
