//! A fast YAML emitter for [`serde_json::Value`] whose output is byte-identical
//! to `serde_yaml::to_string` (serde_yaml 0.9.34 on unsafe-libyaml 0.2.11).
//!
//! # Why
//!
//! Serializing rendered objects with serde_yaml goes through libyaml's emitter:
//! one event per node, a queue with look-ahead, a heap-allocated copy of every
//! scalar and a per-character output state machine. That is a large share of
//! `hubdr render` CPU time. Every rendered file and golden snapshot is produced
//! by serde_yaml, so a replacement must not change a single byte.
//!
//! # How
//!
//! [`write`] walks the value tree and replays exactly what serde_yaml asks
//! libyaml to do, writing straight into a `String`:
//!
//! * Layout: the emitter state that decides line breaks and indentation
//!   (`column`, `whitespace`, `indention`, the indentation level of the
//!   current block) is tracked as libyaml tracks it, and the block mapping,
//!   block sequence, simple-key / complex-key (`? key`) and empty-collection
//!   (`{}`, `[]`) rules are ported from `yaml_emitter_emit_block_*`. Hence
//!   `key:\n- a` (sequences in mappings are not indented), `- a: 1\n  b: 2`,
//!   `- - a`, and `? <key>` for keys longer than 128 bytes or with line breaks.
//! * Scalar style: serde_yaml picks the *requested* style (`Literal` for strings
//!   with `\n`, `SingleQuoted` for strings that would read back as null, a
//!   bool or a number, `Any` otherwise; `Plain` for null, bools and numbers)
//!   and libyaml then downgrades it from an analysis of the characters
//!   (`yaml_emitter_analyze_scalar` and `yaml_emitter_select_scalar_style`).
//!   Both steps are ported here.
//! * Fast path: a string that starts with an ASCII letter, contains only
//!   `[A-Za-z0-9._/-]` and is not one of `null Null NULL true True TRUE false
//!   False FALSE` is always written plain, without the full analysis. That
//!   covers most Kubernetes names, label keys, kinds and API versions.
//! * Plain, single-quoted and literal block scalars (`|`, `|-`, `|+`, with the
//!   `2` indentation indicator when the text starts with a space or a line
//!   break) are written natively.
//! * Fallback: double-quoted scalars (strings with a tab, carriage return,
//!   NUL, DEL, U+0085, U+FEFF or another character libyaml does not print;
//!   multi-line strings with a trailing space or a space right before a line
//!   break) and floating-point numbers are rare in manifests and their text
//!   does not depend on where they stand in the document (line breaks are
//!   escaped, the width is unlimited), so they are produced by serde_yaml
//!   itself on the lone scalar and spliced in.
//!
//! Map keys come out in the map's iteration order (insertion order: serde_json
//! is built with `preserve_order`), as serde_yaml does.
//!
//! The tests in `generator/tests/yaml_emit.rs` compare the output byte for byte
//! with serde_yaml on random documents built from a hostile alphabet and on
//! every rendered example file and snapshot.

use serde_json::{Map, Value};

mod yaml11;
pub use yaml11::yaml11_reads_as_non_string;
use yaml11::YAML11_WORDS;

/// `value` as YAML, the same bytes as `serde_yaml::to_string(value).unwrap()`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(512);
    write(&mut out, value);
    out
}

/// Append `value` as YAML to `out`, the same bytes as
/// `serde_yaml::to_string(value).unwrap()`.
pub fn write(out: &mut String, value: &Value) {
    let mut emitter = Emitter {
        out,
        column: 0,
        whitespace: true,
        indention: true,
    };
    // libyaml starts at indentation -1 (no block open yet); the document is
    // implicit, so nothing precedes the root node.
    emitter.node(value, -1, false, false);
    // Implicit document end: terminate the last line.
    emitter.write_indent(-1);
}

/// Append the string `s` as it is written alone, as a whole document, up to the document's
/// end: for a string written on one line, the bytes of `to_string(&Value::String(s))` without
/// its final line break.
pub fn write_lone_string(out: &mut String, s: &str) {
    let mut emitter = Emitter {
        out,
        column: 0,
        whitespace: true,
        indention: true,
    };
    emitter.string(s, -1, false);
}

/// libyaml's `best_indent`.
const INDENT: i32 = 2;

/// Keys longer than this many bytes are written as complex keys (`? key`).
const MAX_SIMPLE_KEY_LEN: usize = 128;

/// The part of libyaml's emitter state that decides layout. `column` counts
/// characters (not bytes) on the current line; `whitespace` says the last
/// thing written was whitespace; `indention` says only indentation was written
/// on the current line so far.
struct Emitter<'a> {
    out: &'a mut String,
    column: usize,
    whitespace: bool,
    indention: bool,
}

/// The scalar style serde_yaml asks for / libyaml settles on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Any,
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Result of `yaml_emitter_analyze_scalar` (the block-context parts).
#[derive(Clone, Copy, Debug)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
    /// Characters in the scalar (libyaml's column advance).
    chars: usize,
}

impl Emitter<'_> {
    /// `yaml_emitter_emit_node` for one value. `indent` is the emitter's
    /// current indentation (-1 at the root); `mapping` and `simple_key` are
    /// libyaml's `mapping_context` and `simple_key_context`.
    fn node(&mut self, value: &Value, indent: i32, mapping: bool, simple_key: bool) {
        match value {
            Value::Null => self.plain_static("null"),
            Value::Bool(true) => self.plain_static("true"),
            Value::Bool(false) => self.plain_static("false"),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.string(s, indent, simple_key),
            Value::Array(items) => self.sequence(items, indent, mapping),
            Value::Object(map) => self.mapping(map, indent),
        }
    }

    fn sequence(&mut self, items: &[Value], indent: i32, mapping: bool) {
        if items.is_empty() {
            self.write_indicator("[", true, true, false);
            self.write_indicator("]", false, false, false);
            return;
        }
        // yaml_emitter_increase_indent(flow = false, indentless = mapping_context && !indention)
        let indentless = mapping && !self.indention;
        let indent = if indent < 0 {
            0
        } else if indentless {
            indent
        } else {
            indent + INDENT
        };
        for item in items {
            self.write_indent(indent);
            self.write_indicator("-", true, false, true);
            self.node(item, indent, false, false);
        }
    }

    fn mapping(&mut self, map: &Map<String, Value>, indent: i32) {
        if map.is_empty() {
            self.write_indicator("{", true, true, false);
            self.write_indicator("}", false, false, false);
            return;
        }
        let indent = if indent < 0 { 0 } else { indent + INDENT };
        for (key, value) in map {
            self.write_indent(indent);
            let fast = key.len() <= MAX_SIMPLE_KEY_LEN && is_fast_plain(key);
            let analysis = if fast { None } else { Some(analyze(key)) };
            match analysis {
                None => {
                    self.write_plain(key, key.len());
                    self.write_indicator(":", false, false, false);
                }
                // yaml_emitter_check_simple_key
                Some(analysis) if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY_LEN => {
                    self.string_analyzed(key, analysis, indent, true);
                    self.write_indicator(":", false, false, false);
                }
                Some(analysis) => {
                    self.write_indicator("?", true, false, true);
                    self.string_analyzed(key, analysis, indent, false);
                    self.write_indent(indent);
                    self.write_indicator(":", true, false, true);
                }
            }
            self.node(value, indent, true, false);
        }
    }

    fn number(&mut self, n: &serde_json::Number) {
        self.space_before_plain();
        let start = self.out.len();
        if let Some(u) = n.as_u64() {
            push_decimal(self.out, u);
        } else if let Some(i) = n.as_i64() {
            self.out.push('-');
            push_decimal(self.out, i.unsigned_abs());
        } else {
            // Floats: serde_yaml formats them with ryu; let it do so.
            let f = n.as_f64().unwrap_or(f64::NAN);
            let text = serde_yaml::to_string(&f).expect("floats always serialize");
            self.out.push_str(text.strip_suffix('\n').unwrap_or(&text));
        }
        self.column += self.out.len() - start;
        self.whitespace = false;
        self.indention = false;
    }

    /// A string node: serde_yaml's style request, then libyaml's analysis.
    fn string(&mut self, s: &str, indent: i32, simple_key: bool) {
        if is_fast_plain(s) {
            self.write_plain(s, s.len());
            return;
        }
        let analysis = analyze(s);
        self.string_analyzed(s, analysis, indent, simple_key);
    }

    fn string_analyzed(&mut self, s: &str, analysis: Analysis, indent: i32, simple_key: bool) {
        if has_unicode_break(s) {
            // libyaml would write these line breaks raw (plain, single-quoted or literal), and a
            // YAML 1.1 reader folds them: escape them in a double-quoted scalar instead.
            self.double_quoted_escaped(s);
            return;
        }
        let requested = requested_style(s);
        let style = select_style(requested, &analysis, s.is_empty(), simple_key);
        // yaml_emitter_emit_scalar: increase_indent(flow = true, indentless = false)
        let indent = if indent < 0 { INDENT } else { indent + INDENT };
        match style {
            Style::Plain | Style::Any => self.write_plain(s, analysis.chars),
            Style::SingleQuoted => self.single_quoted(s, indent),
            Style::Literal => self.literal(s, indent),
            Style::DoubleQuoted => self.double_quoted(s),
        }
    }

    fn plain_static(&mut self, s: &str) {
        self.write_plain(s, s.len());
    }

    /// `yaml_emitter_write_plain_scalar` for a scalar of `chars` characters
    /// without line breaks (plain style is never chosen for those).
    fn write_plain(&mut self, s: &str, chars: usize) {
        if !s.is_empty() {
            self.space_before_plain();
        }
        self.out.push_str(s);
        self.column += chars;
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_plain_scalar` writes a space first unless the last
    /// output was whitespace.
    fn space_before_plain(&mut self) {
        if !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// `WRITE_BREAK`: `\n` is written as the configured line break, any other
    /// break character is copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    /// `yaml_emitter_write_indent`.
    fn write_indent(&mut self, indent: i32) {
        let indent = indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// `yaml_emitter_write_indicator`.
    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.len();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// `yaml_emitter_write_single_quoted_scalar` (the width is unlimited, so
    /// no folding at spaces).
    fn single_quoted(&mut self, s: &str, indent: i32) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in s.chars() {
            if c == ' ' {
                self.out.push(' ');
                self.column += 1;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.out.push('\'');
                    self.column += 1;
                }
                self.out.push(c);
                self.column += 1;
                self.indention = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent(indent);
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_literal_scalar` with its block scalar hints.
    fn literal(&mut self, s: &str, indent: i32) {
        self.write_indicator("|", true, false, false);
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            // Indentation indicator: best_indent.
            self.write_indicator("2", false, false, false);
        }
        let mut rev = s.chars().rev();
        let chomp = match rev.next() {
            None => Some("-"),
            Some(last) if !is_break(last) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(before) if is_break(before) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in s.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.out.push(c);
                self.column += 1;
                self.indention = false;
                breaks = false;
            }
        }
    }

    /// A double-quoted scalar written here, with libyaml's escapes (the same bytes libyaml's
    /// `yaml_emitter_write_double_quoted_scalar` writes with an unlimited width).
    fn double_quoted_escaped(&mut self, s: &str) {
        let start = self.out.len();
        if !self.whitespace {
            self.out.push(' ');
        }
        self.out.push('"');
        for c in s.chars() {
            push_double_quoted_char(self.out, c);
        }
        self.out.push('"');
        self.column += self.out[start..].chars().count();
        self.whitespace = false;
        self.indention = false;
    }

    /// Double-quoted scalars are spliced from serde_yaml's own output for the
    /// lone string: with an unlimited width libyaml escapes every line break,
    /// so the text is one line and does not depend on the surrounding
    /// indentation.
    fn double_quoted(&mut self, s: &str) {
        let text = serde_yaml::to_string(s).expect("strings always serialize");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        debug_assert!(
            text.starts_with('"') && text.ends_with('"') && !text.contains('\n'),
            "serde_yaml did not double-quote {s:?}: {text:?}"
        );
        if !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(text);
        // Every byte libyaml puts (quotes, escapes) and every character it
        // copies advances the column by one.
        self.column += text.chars().count();
        self.whitespace = false;
        self.indention = false;
    }
}

/// Append `n` in decimal (what itoa, used by serde_yaml, writes).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[pos..].iter().map(|&b| char::from(b)));
}

/// One character inside a double-quoted scalar, escaped as libyaml escapes it.
fn push_double_quoted_char(out: &mut String, c: char) {
    let escape = match c {
        '\0' => Some('0'),
        '\u{7}' => Some('a'),
        '\u{8}' => Some('b'),
        '\t' => Some('t'),
        '\n' => Some('n'),
        '\u{b}' => Some('v'),
        '\u{c}' => Some('f'),
        '\r' => Some('r'),
        '\u{1b}' => Some('e'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\u{85}' => Some('N'),
        '\u{2028}' => Some('L'),
        '\u{2029}' => Some('P'),
        _ => None,
    };
    if let Some(e) = escape {
        out.push('\\');
        out.push(e);
    } else if !is_printable(c) || c == '\u{feff}' {
        let v = c as u32;
        let (prefix, width) = if v <= 0xFF {
            ('x', 2)
        } else if v <= 0xFFFF {
            ('u', 4)
        } else {
            ('U', 8)
        };
        out.push('\\');
        out.push(prefix);
        out.push_str(&format!("{v:0width$X}"));
    } else {
        out.push(c);
    }
}

/// Whether `s` holds a line break other than `\r` and `\n` (NEL, LINE SEPARATOR, PARAGRAPH
/// SEPARATOR): always written escaped.
fn has_unicode_break(s: &str) -> bool {
    s.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

/// Strings that are certainly written plain: start with an ASCII letter, only
/// `[A-Za-z0-9._/-]`, and not a word that reads back as null or a bool (in YAML 1.2 or 1.1).
fn is_fast_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() => {}
        _ => return false,
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
    {
        return false;
    }
    !matches!(
        s,
        "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) && !YAML11_WORDS.contains(&s)
}

/// The style serde_yaml's `serialize_str` requests.
fn requested_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if reads_as_non_string(s) || yaml11_reads_as_non_string(s) {
        Style::SingleQuoted
    } else {
        Style::Any
    }
}

/// `yaml_emitter_select_scalar_style` in block context (flow_level is always 0
/// where scalars are written: flow style only appears for empty collections).
fn select_style(requested: Style, a: &Analysis, empty: bool, simple_key: bool) -> Style {
    let mut style = requested;
    if style == Style::Any {
        style = Style::Plain;
    }
    if simple_key && a.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain {
        if !a.block_plain_allowed {
            style = Style::SingleQuoted;
        }
        if empty && simple_key {
            style = Style::SingleQuoted;
        }
    }
    if style == Style::SingleQuoted && !a.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// serde_yaml's `InferScalarStyle`: strings that a plain scalar would turn into
/// null, a bool, an integer or a float (or that are digits with a leading zero)
/// are single-quoted.
fn reads_as_non_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true;
    };
    // Integers and finite floats start with a digit, a sign or a dot; the
    // remaining cases are the fixed words below.
    let numeric = first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.');
    matches!(
        s,
        "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) || numeric && reads_as_number(s)
}

/// serde_yaml's integer and float checks (`visit_int`, `digits_but_not_number`,
/// `parse_f64`).
fn reads_as_number(s: &str) -> bool {
    parse_unsigned_int(s, u128::from_str_radix).is_some()
        || parse_negative_int(s, i128::from_str_radix).is_some()
        || digits_but_not_number(s)
        || parse_f64(s)
}

type FromStrRadix<T> = fn(&str, u32) -> Result<T, std::num::ParseIntError>;

/// serde_yaml `de::parse_unsigned_int` (u128 accepts everything u64 does).
fn parse_unsigned_int<T>(scalar: &str, from_str_radix: FromStrRadix<T>) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) {
        return None;
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

/// serde_yaml `de::parse_negative_int` (i128 accepts everything i64 does).
fn parse_negative_int<T>(scalar: &str, from_str_radix: FromStrRadix<T>) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix) {
            let negative = format!("-{rest}");
            if let Ok(int) = from_str_radix(&negative, radix) {
                return Some(int);
            }
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(scalar, 10).ok()
}

/// serde_yaml `de::parse_f64` succeeds.
fn parse_f64(scalar: &str) -> bool {
    let unpositive = if let Some(unpositive) = scalar.strip_prefix('+') {
        if unpositive.starts_with(['+', '-']) {
            return false;
        }
        unpositive
    } else {
        scalar
    };
    if matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(
            scalar,
            "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN"
        )
    {
        return true;
    }
    unpositive.parse::<f64>().is_ok_and(f64::is_finite)
}

/// serde_yaml `de::digits_but_not_number`: leading zero(s) followed by digits.
fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}

/// libyaml `IS_BREAK`.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml `IS_BLANKZ` (the NUL terminator after the value counts as well).
fn is_blankz(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\0') || is_break(c)
}

/// libyaml `IS_PRINTABLE`.
fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD | 0x10000..=0x10_FFFF)
}

/// `yaml_emitter_analyze_scalar`, keeping what block context needs.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
            chars: 0,
        };
    }
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    let mut preceded_by_whitespace = true;
    let mut chars = 0usize;

    let mut iter = s.chars();
    let mut current = iter.next();
    let mut next = iter.next();
    let mut first = true;
    while let Some(c) = current {
        chars += 1;
        let followed_by_whitespace = next.is_none_or(is_blankz);
        let last = next.is_none();
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(c);
        current = next;
        next = iter.next();
        first = false;
    }

    let mut block_plain_allowed = true;
    let mut single_quoted_allowed = true;
    let mut block_allowed = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        block_plain_allowed = false;
    }
    if trailing_space {
        block_allowed = false;
    }
    if break_space {
        block_plain_allowed = false;
        single_quoted_allowed = false;
    }
    if space_break || special_characters {
        block_plain_allowed = false;
        single_quoted_allowed = false;
        block_allowed = false;
    }
    if line_breaks || block_indicators {
        block_plain_allowed = false;
    }
    Analysis {
        multiline: line_breaks,
        block_plain_allowed,
        single_quoted_allowed,
        block_allowed,
        chars,
    }
}
#[cfg(test)]
mod tests;
