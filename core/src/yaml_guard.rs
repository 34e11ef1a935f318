//! A linear pre-scan of untrusted YAML, run before serde_yaml sees it. It refuses:
//!
//! * nesting deeper than a limit. libyaml (serde_yaml's parser) walks its stack of open flow
//!   collections on every token, so `[[[[...` or `{a: {a: ...` of 200 KB takes minutes; the
//!   limit keeps every parse linear in the input size.
//! * tags other than the YAML core schema's (`!!str`, `!!int`, ...) and `%TAG` directives:
//!   serde_yaml drops or reinterprets custom tags such as `!foo` or `!!python/object`
//!   silently.
//!
//! To find where collections and tags really start, the scan follows libyaml's scanner token by
//! token (`unsafe-libyaml`'s scanner.rs: indentation, simple keys, plain, quoted and block
//! scalars, comments, directives and document markers), keeping only what decides where the
//! next token starts. So nothing hides a bracket from it that libyaml would read as one, and a
//! bracket inside a string or a comment does not count. Where libyaml would stop with a syntax
//! error the scan carries on (serde_yaml reports the error; later text is still checked for the
//! other YAML readers that see it). Depth counts open block collections (by indentation) and
//! open flow collections.

use std::fmt;

/// The tags a document may carry: the YAML core schema's, which serde_yaml reads as written.
const CORE_TAGS: [&str; 7] = [
    "!!str", "!!int", "!!float", "!!bool", "!!null", "!!seq", "!!map",
];

/// libyaml forgets a possible simple key this many bytes after it starts.
const SIMPLE_KEY_SPAN: usize = 1024;

/// Why a document was refused, and where (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub problem: Problem,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Collections nest deeper than `limit` levels.
    TooDeep { limit: usize },
    /// A tag outside the core schema.
    Tag { tag: String },
    /// A `%TAG` directive, which can give any tag a core-looking name.
    TagDirective,
}

impl Refusal {
    /// What to do about it, for messages.
    pub fn fix(&self) -> &'static str {
        match self.problem {
            Problem::TooDeep { .. } => {
                "flatten the document: no hubdr input needs more than a dozen levels"
            }
            Problem::Tag { .. } => "remove the tag (quote the value if it must stay a string)",
            Problem::TagDirective => "remove the %TAG line and the tags that use it",
        }
    }

    /// The message without the position.
    pub fn message(&self) -> String {
        match &self.problem {
            Problem::TooDeep { limit } => {
                format!("the YAML nests deeper than {limit} levels, the limit for hubdr's inputs")
            }
            Problem::Tag { tag } => format!(
                "the YAML tag {tag} is not accepted (only the core tags {} are)",
                CORE_TAGS.join(", ")
            ),
            Problem::TagDirective => "%TAG directives are not accepted".to_string(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (line {} column {})",
            self.message(),
            self.line,
            self.column
        )
    }
}

/// What the scan saw: the deepest nesting, in all and of flow collections alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nesting {
    pub depth: usize,
    pub flow: usize,
}

/// `text` scanned with the limit of [`crate::limits::YAML_MAX_DEPTH`].
pub fn check(text: &str) -> Result<Nesting, Refusal> {
    check_with(text, crate::limits::YAML_MAX_DEPTH)
}

/// `text` scanned: its nesting, or the first reason to refuse it.
pub fn check_with(text: &str, max_depth: usize) -> Result<Nesting, Refusal> {
    let mut scan = Scan {
        b: text.as_bytes(),
        pos: 0,
        line: 0,
        col: 0,
        flow: 0,
        indent: -1,
        indents: Vec::new(),
        allowed: true,
        key: None,
        max_depth,
        seen: Nesting::default(),
    };
    scan.run()?;
    Ok(scan.seen)
}

/// A possible simple key in block context (libyaml's slot for flow level 0): where it starts.
#[derive(Clone, Copy)]
struct Key {
    line: usize,
    pos: usize,
    col: usize,
    /// The deepest flow nesting inside it so far.
    flow: usize,
}

struct Scan<'a> {
    b: &'a [u8],
    /// Byte offset.
    pos: usize,
    /// 0-based line and column (in characters), as libyaml counts them.
    line: usize,
    col: usize,
    flow: usize,
    /// The current block indentation (-1 before the first block collection) and the outer ones.
    indent: isize,
    indents: Vec<isize>,
    /// libyaml's `simple_key_allowed`.
    allowed: bool,
    key: Option<Key>,
    max_depth: usize,
    seen: Nesting,
}

impl Scan<'_> {
    fn at(&self, ahead: usize) -> u8 {
        self.b.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// The width of the line break `ahead` bytes on (CR LF counts whole), or 0.
    fn break_at(&self, ahead: usize) -> usize {
        match (self.at(ahead), self.at(ahead + 1), self.at(ahead + 2)) {
            (b'\r', b'\n', _) => 2,
            (b'\r' | b'\n', _, _) => 1,
            (0xC2, 0x85, _) => 2,
            (0xE2, 0x80, 0xA8 | 0xA9) => 3,
            _ => 0,
        }
    }

    fn is_break(&self) -> bool {
        self.break_at(0) > 0
    }

    fn is_blank_at(&self, ahead: usize) -> bool {
        matches!(self.at(ahead), b' ' | b'\t')
    }

    /// Blank, line break or end of input.
    fn is_blankz_at(&self, ahead: usize) -> bool {
        self.pos + ahead >= self.b.len() || self.is_blank_at(ahead) || self.break_at(ahead) > 0
    }

    fn is_breakz(&self) -> bool {
        self.end() || self.is_break()
    }

    /// Move over one character.
    fn skip(&mut self) {
        let width = match self.at(0) {
            b if b < 0x80 => 1,
            b if b < 0xE0 => 2,
            b if b < 0xF0 => 3,
            _ => 4,
        };
        self.pos = (self.pos + width).min(self.b.len());
        self.col += 1;
    }

    /// Move over the plain ASCII characters here (printable, no space) that are none of
    /// `stops`: the common case of a scalar or comment, in one go.
    fn skip_plain_ascii(&mut self, stops: &[u8]) {
        let n = self.b[self.pos..]
            .iter()
            .take_while(|&&b| (b'!'..=b'~').contains(&b) && !stops.contains(&b))
            .count();
        self.pos += n;
        self.col += n;
    }

    /// Move to the end of the line (before its break, or to the end of input).
    fn skip_to_break(&mut self) {
        loop {
            let n = self.b[self.pos..]
                .iter()
                .take_while(|&&b| (b' '..0x80).contains(&b) || b == b'\t')
                .count();
            self.pos += n;
            self.col += n;
            if self.is_breakz() {
                return;
            }
            self.skip();
        }
    }

    /// Move over the line break here.
    fn skip_line(&mut self) {
        let width = self.break_at(0);
        if width > 0 {
            self.pos += width;
            self.line += 1;
            self.col = 0;
        }
    }

    fn document_marker(&self) -> bool {
        self.col == 0
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && self.is_blankz_at(3)
    }

    fn refuse(&self, problem: Problem, line: usize, col: usize) -> Refusal {
        Refusal {
            problem,
            line: line + 1,
            column: col + 1,
        }
    }

    /// Check the nesting now, with `inner` more flow levels: a simple key's block mapping
    /// starts before its key (libyaml inserts the mapping's token there), so the flow
    /// collections inside the key count as nested in it.
    fn check_depth(&mut self, inner: usize) -> Result<(), Refusal> {
        let flow = self.flow + inner;
        let depth = self.indents.len() + flow;
        self.seen.depth = self.seen.depth.max(depth);
        self.seen.flow = self.seen.flow.max(flow);
        if let Some(key) = &mut self.key {
            key.flow = key.flow.max(self.flow);
        }
        if depth > self.max_depth {
            return Err(self.refuse(
                Problem::TooDeep {
                    limit: self.max_depth,
                },
                self.line,
                self.col,
            ));
        }
        Ok(())
    }

    /// Open a block collection at `column` unless one is open there (block context only);
    /// `inner`: the flow levels of its key, for a mapping started by a simple key.
    fn roll_indent(&mut self, column: usize, inner: usize) -> Result<(), Refusal> {
        if self.flow == 0 && self.indent < column as isize {
            self.indents.push(self.indent);
            self.indent = column as isize;
            self.check_depth(inner)?;
        }
        Ok(())
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.flow == 0 {
            while self.indent > column {
                self.indent = self.indents.pop().unwrap_or(-1);
            }
        }
    }

    /// libyaml's `save_simple_key`, for the block-context slot (the only one that moves the
    /// indentation).
    fn save_key(&mut self) {
        if self.allowed && self.flow == 0 {
            self.key = Some(Key {
                line: self.line,
                pos: self.pos,
                col: self.col,
                flow: 0,
            });
        }
    }

    fn remove_key(&mut self) {
        if self.flow == 0 {
            self.key = None;
        }
    }

    fn run(&mut self) -> Result<(), Refusal> {
        loop {
            self.skip_to_next_token();
            if self
                .key
                .is_some_and(|k| k.line < self.line || k.pos + SIMPLE_KEY_SPAN < self.pos)
            {
                self.key = None;
            }
            self.unroll_indent(self.col as isize);
            if self.end() {
                return Ok(());
            }
            let c = self.at(0);
            if self.col == 0 && c == b'%' {
                self.directive()?;
                continue;
            }
            if self.document_marker() {
                self.unroll_indent(-1);
                self.key = None;
                self.allowed = false;
                self.pos += 3;
                self.col += 3;
                continue;
            }
            let flow = self.flow > 0;
            let blankz_next = self.is_blankz_at(1);
            match c {
                b'[' | b'{' => {
                    self.save_key();
                    self.flow += 1;
                    self.check_depth(0)?;
                    self.allowed = true;
                    self.skip();
                }
                b']' | b'}' => {
                    self.remove_key();
                    self.flow = self.flow.saturating_sub(1);
                    self.allowed = false;
                    self.skip();
                }
                b',' => {
                    self.remove_key();
                    self.allowed = true;
                    self.skip();
                }
                b'-' if blankz_next => {
                    if !flow {
                        self.roll_indent(self.col, 0)?;
                    }
                    self.remove_key();
                    self.allowed = true;
                    self.skip();
                }
                b'?' if flow || blankz_next => {
                    if !flow {
                        self.roll_indent(self.col, 0)?;
                    }
                    self.remove_key();
                    self.allowed = !flow;
                    self.skip();
                }
                b':' if flow || blankz_next => {
                    if !flow {
                        match self.key.take() {
                            Some(key) => {
                                self.roll_indent(key.col, key.flow)?;
                                self.allowed = false;
                            }
                            None => {
                                self.roll_indent(self.col, 0)?;
                                self.allowed = true;
                            }
                        }
                    } else {
                        self.allowed = false;
                    }
                    self.skip();
                }
                b'*' | b'&' => {
                    self.save_key();
                    self.allowed = false;
                    self.skip();
                    while self.at(0).is_ascii_alphanumeric() || matches!(self.at(0), b'_' | b'-') {
                        self.skip();
                    }
                }
                b'!' => {
                    self.save_key();
                    self.allowed = false;
                    self.tag()?;
                }
                b'|' | b'>' if !flow => {
                    self.remove_key();
                    self.allowed = true;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.save_key();
                    self.allowed = false;
                    self.quoted(c);
                }
                _ if self.plain_start(c, flow, blankz_next) => {
                    self.save_key();
                    self.allowed = false;
                    self.plain();
                }
                // A character that cannot start a token: libyaml stops here.
                _ => self.skip(),
            }
        }
    }

    /// libyaml's `scan_to_next_token`: spaces (and tabs where they cannot be indentation),
    /// comments and line breaks.
    fn skip_to_next_token(&mut self) {
        loop {
            if self.col == 0 && self.b[self.pos..].starts_with(b"\xEF\xBB\xBF") {
                self.skip();
            }
            while self.at(0) == b' ' || ((self.flow > 0 || !self.allowed) && self.at(0) == b'\t') {
                self.skip();
            }
            if self.at(0) == b'#' {
                self.skip_to_break();
            }
            if !self.is_break() {
                return;
            }
            self.skip_line();
            if self.flow == 0 {
                self.allowed = true;
            }
        }
    }

    fn plain_start(&self, c: u8, flow: bool, blankz_next: bool) -> bool {
        let indicator = matches!(
            c,
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        );
        !(self.is_blankz_at(0) || indicator)
            || (c == b'-' && !self.is_blank_at(1))
            || (!flow && matches!(c, b'?' | b':') && !blankz_next)
    }

    /// A directive line (`%` at column 0): `%TAG` is refused, the rest skipped to the line end.
    fn directive(&mut self) -> Result<(), Refusal> {
        self.unroll_indent(-1);
        self.key = None;
        self.allowed = false;
        let (line, col) = (self.line, self.col);
        self.skip();
        let start = self.pos;
        while self.at(0).is_ascii_alphanumeric() || matches!(self.at(0), b'_' | b'-') {
            self.skip();
        }
        if &self.b[start..self.pos] == b"TAG" {
            return Err(self.refuse(Problem::TagDirective, line, col));
        }
        self.skip_to_break();
        self.skip_line();
        Ok(())
    }

    /// A tag: refused unless it is a core tag. libyaml requires a blank (or a `,` in a flow
    /// collection) after it; anything else it refuses too.
    fn tag(&mut self) -> Result<(), Refusal> {
        let (line, col, start) = (self.line, self.col, self.pos);
        let flow = self.flow > 0;
        while !(self.is_blankz_at(0) || (flow && self.at(0) == b',')) {
            self.skip();
        }
        let tag = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
        if CORE_TAGS.contains(&tag.as_str()) {
            return Ok(());
        }
        Err(self.refuse(Problem::Tag { tag }, line, col))
    }

    /// A quoted scalar, over as many lines as it takes; libyaml refuses a document marker or
    /// the end of input inside one.
    fn quoted(&mut self, quote: u8) {
        let single = quote == b'\'';
        self.skip();
        loop {
            if self.document_marker() || self.end() {
                return;
            }
            while !self.is_blankz_at(0) {
                self.skip_plain_ascii(b"'\"\\");
                if self.is_blankz_at(0) {
                    break;
                }
                match self.at(0) {
                    b'\'' if single && self.at(1) == b'\'' => {
                        self.skip();
                        self.skip();
                    }
                    c if c == quote => break,
                    b'\\' if !single && self.break_at(1) > 0 => {
                        self.skip();
                        self.skip_line();
                    }
                    b'\\' if !single => {
                        self.skip();
                        self.skip();
                    }
                    _ => self.skip(),
                }
            }
            if self.at(0) == quote {
                self.skip();
                return;
            }
            while self.is_blank_at(0) || self.is_break() {
                if self.is_break() {
                    self.skip_line();
                } else {
                    self.skip();
                }
            }
        }
    }

    /// A plain scalar: it ends at `: `, at ` #`, at a flow indicator inside a flow collection,
    /// at a document marker, and in block context at a line indented no deeper than the
    /// current block collection.
    fn plain(&mut self) {
        let indent = self.indent + 1;
        let flow = self.flow > 0;
        let mut leading_blanks = false;
        'scalar: loop {
            if self.document_marker() || self.at(0) == b'#' {
                break;
            }
            while !self.is_blankz_at(0) {
                self.skip_plain_ascii(b":,[]{}");
                if self.is_blankz_at(0) {
                    break;
                }
                let c = self.at(0);
                if flow
                    && c == b':'
                    && matches!(self.at(1), b',' | b'?' | b'[' | b']' | b'{' | b'}')
                {
                    // libyaml: "found unexpected ':'".
                    break 'scalar;
                }
                if (c == b':' && self.is_blankz_at(1))
                    || (flow && matches!(c, b',' | b'[' | b']' | b'{' | b'}'))
                {
                    break;
                }
                self.skip();
            }
            if !(self.is_blank_at(0) || self.is_break()) {
                break;
            }
            while self.is_blank_at(0) || self.is_break() {
                if self.is_break() {
                    self.skip_line();
                    leading_blanks = true;
                } else {
                    if leading_blanks && (self.col as isize) < indent && self.at(0) == b'\t' {
                        // libyaml: "found a tab character that violates indentation".
                        break 'scalar;
                    }
                    self.skip();
                }
            }
            if !flow && (self.col as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.allowed = true;
        }
    }

    /// A literal or folded block scalar: its header line, then every line indented at least as
    /// far as its content (given by an indentation indicator, else by its first non-empty
    /// line, and always deeper than the block collection it belongs to).
    fn block_scalar(&mut self) {
        self.skip();
        let mut increment = 0;
        let digit = |c: u8| c.is_ascii_digit();
        if matches!(self.at(0), b'+' | b'-') {
            self.skip();
            if digit(self.at(0)) {
                if self.at(0) == b'0' {
                    return;
                }
                increment = isize::from(self.at(0) - b'0');
                self.skip();
            }
        } else if digit(self.at(0)) {
            if self.at(0) == b'0' {
                return;
            }
            increment = isize::from(self.at(0) - b'0');
            self.skip();
            if matches!(self.at(0), b'+' | b'-') {
                self.skip();
            }
        }
        while self.is_blank_at(0) {
            self.skip();
        }
        if self.at(0) == b'#' {
            self.skip_to_break();
        }
        if !self.is_breakz() {
            // libyaml: "did not find expected comment or line break".
            return;
        }
        self.skip_line();
        let mut indent = match increment {
            0 => 0,
            n if self.indent >= 0 => self.indent + n,
            n => n,
        };
        if !self.block_breaks(&mut indent) {
            return;
        }
        while self.col as isize == indent && !self.end() {
            self.skip_to_break();
            if self.end() {
                return;
            }
            self.skip_line();
            if !self.block_breaks(&mut indent) {
                return;
            }
        }
    }

    /// libyaml's `scan_block_scalar_breaks`: the indentation and empty lines before a content
    /// line; settles the content indentation when it is not known yet. False where libyaml
    /// refuses a tab in the indentation.
    fn block_breaks(&mut self, indent: &mut isize) -> bool {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.col as isize);
            if (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b'\t' {
                return false;
            }
            if !self.is_break() {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        true
    }
}
