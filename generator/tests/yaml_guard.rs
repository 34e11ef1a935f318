//! The pre-scan of untrusted YAML (`hubdr::yaml_guard`): nesting counted where libyaml
//! counts it, nothing hidden from it by strings, comments or block scalars, custom tags refused.

use hubdr::yaml_guard::{check, check_with, Nesting, Problem, Refusal};
fn depth(text: &str) -> Nesting {
    check_with(text, usize::MAX).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn nest(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn counts_block_and_flow_nesting() {
    assert_eq!(depth("a: 1\n"), Nesting { depth: 1, flow: 0 });
    assert_eq!(depth("a:\n  b:\n    c: [1, {d: 2}]\n").depth, 5);
    assert_eq!(depth("a:\n  b:\n    c: [1, {d: 2}]\n").flow, 2);
    assert_eq!(depth("- - - a\n").depth, 3);
    assert_eq!(depth("[[[a]], [b]]").flow, 3);
    assert_eq!(depth("").depth, 0);
    assert_eq!(depth("plain text\n").depth, 0);
}

#[test]
fn deep_nesting_is_refused_where_it_passes_the_limit() {
    let text = format!("a: {}\n", nest(100_000));
    let refusal = check(&text).unwrap_err();
    assert_eq!(refusal.problem, Problem::TooDeep { limit: 64 });
    // `a:` is one level: the 64th bracket, at column 4 + 63, makes 65.
    assert_eq!((refusal.line, refusal.column), (1, 67));
    let maps = format!("a: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000));
    assert!(matches!(
        check(&maps).unwrap_err().problem,
        Problem::TooDeep { .. }
    ));
    let block: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(check(&block).is_err());
    assert!(check(&format!("{}a\n", "- ".repeat(100))).is_err());
    assert!(check(&format!("a: {}\n", nest(63))).is_ok());
}

#[test]
fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
    let deep = "[".repeat(100);
    for text in [
        format!("a: '{deep}'\n"),
        format!("a: \"{deep}\"\n"),
        format!("a: \"x\\\"{deep}\"\n"),
        format!("a: 'it''s {deep}'\n"),
        format!("a: x{deep}\n"),
        format!("a: x\n  {deep} continued\n"),
        format!("a: 1 # {deep}\n"),
        format!("# {deep}\na: 1\n"),
        format!("a: |\n  {deep}\n  more\nb: 1\n"),
        format!("a: >-\n\n   {deep}\n   x\nb: 1\n"),
        format!("- |2\n   {deep}\n"),
        format!("a: \"multi\n  line {deep}\"\n"),
    ] {
        assert!(depth(&text).flow <= 1, "{text:?}: {:?}", depth(&text));
    }
}

#[test]
fn brackets_that_only_look_hidden_count() {
    let deep = nest(100);
    for text in [
        // The quote is inside a plain scalar: not a string start.
        format!("a: don't\nb: {deep}\n"),
        format!("a: x\n  \"\nb: {deep}\nc: \"\n"),
        // The block scalar ends at the less indented line.
        format!("a:\n  b: |\n      text\n  c: {deep}\n"),
        format!("- a: |\n  b: {deep}\n"),
        // `#` without a space before it does not start a comment.
        format!("a: x#{deep}\nb: {deep}\n"),
        // A comment ends at its line.
        format!("a: 1 # \"\nb: {deep}\n"),
        // Flow plain scalars end at flow indicators; quotes inside them are text.
        format!("a: [it's, {deep}, 'x']\n"),
        // A tab is not indentation for a block scalar's content.
        format!("a: |\n\t{deep}\n"),
        // Windows line ends and Unicode line breaks end lines too.
        format!("a: |\r\n  x\r\nb: {deep}\r\n"),
        format!("a: 'x'\u{2028}b: {deep}\n"),
        format!("a: x # c\u{85}b: {deep}\n"),
        // Document markers end block scalars and strings.
        format!("a: |\n x\n---\n{deep}\n"),
        format!("a: 'x\n---\n{deep}\n"),
    ] {
        assert!(
            matches!(
                check(&text),
                Err(Refusal {
                    problem: Problem::TooDeep { .. },
                    ..
                })
            ),
            "{text:?} must be refused: {:?}",
            check(&text)
        );
    }
}

#[test]
fn custom_tags_and_tag_directives_are_refused() {
    for (text, tag, column) in [
        ("a: !foo x\n", "!foo", 4),
        (
            "a: !!python/object:os.system x\n",
            "!!python/object:os.system",
            4,
        ),
        (
            "- !<tag:example.com,2000:x> 1\n",
            "!<tag:example.com,2000:x>",
            3,
        ),
        ("a: [1, !e x]\n", "!e", 8),
        ("!x\na: 1\n", "!x", 1),
        ("a: ! 1\n", "!", 4),
    ] {
        let refusal = check(text).unwrap_err();
        assert_eq!(
            refusal.problem,
            Problem::Tag { tag: tag.into() },
            "{text:?}"
        );
        assert_eq!((refusal.line, refusal.column), (1, column), "{text:?}");
    }
    let directive = check("%TAG !! tag:example.com,2000:\n---\na: !!str x\n").unwrap_err();
    assert_eq!(
        (directive.problem, directive.line),
        (Problem::TagDirective, 1)
    );
    // Core tags, and `!` that is not a tag, are fine.
    assert!(check("a: !!str 1\nb: !!int \"2\"\nc: [!!null , x]\n").is_ok());
    assert!(check("%YAML 1.1\n---\na: x!y\nb: 'no !tag'\nc: \"!\"\n# !x\n").is_ok());
    assert!(check("a: |\n  !tag in text\n").is_ok());
}

#[test]
fn the_messages_name_the_limit_and_the_fix() {
    let refusal = check(&nest(65)).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "the YAML nests deeper than 64 levels, the limit for hubdr's inputs (line 1 column 65)"
    );
    assert!(refusal.fix().starts_with("flatten"));
    let tag = check("a: !foo 1").unwrap_err();
    assert!(
        tag.to_string()
            .starts_with("the YAML tag !foo is not accepted"),
        "{tag}"
    );
    assert!(tag.fix().starts_with("remove the tag"));
}

/// Nesting as yaml-rust2's scanner (a port of libyaml's, like the guard) sees it, or `None`
/// when it refuses the text. yaml-rust2 also emits flow mapping tokens for the single-pair
/// mappings of flow sequences (`[a: b]`), which libyaml's parser makes without its scanner's
/// flow level changing: only the tokens of actual brackets count.
fn reference_nesting(text: &str) -> Option<Nesting> {
    use yaml_rust2::scanner::{Scanner, TokenType};
    let chars: Vec<char> = text.chars().collect();
    let bracket = |index: usize, c: char| chars.get(index) == Some(&c);
    let mut scanner = Scanner::new(text.chars());
    let (mut blocks, mut flow, mut seen) = (0usize, 0usize, Nesting::default());
    for token in scanner.by_ref() {
        let at = token.0.index();
        match token.1 {
            TokenType::BlockSequenceStart | TokenType::BlockMappingStart => blocks += 1,
            TokenType::BlockEnd => blocks = blocks.saturating_sub(1),
            TokenType::FlowSequenceStart => flow += 1,
            TokenType::FlowMappingStart if bracket(at, '{') => flow += 1,
            TokenType::FlowSequenceEnd => flow = flow.saturating_sub(1),
            TokenType::FlowMappingEnd if bracket(at, '}') => flow = flow.saturating_sub(1),
            _ => {}
        }
        seen.depth = seen.depth.max(blocks + flow);
        seen.flow = seen.flow.max(flow);
    }
    scanner.get_error().is_none().then_some(seen)
}

/// Whether serde_yaml (libyaml) reads every document of `text`.
fn libyaml_accepts(text: &str) -> bool {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .all(|document| serde_yaml::Value::deserialize(document).is_ok())
}

/// A small deterministic random source (xorshift), so failures reproduce.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Scalars that look like structure: brackets, quotes, `#` and `:` inside strings.
const SCALARS: &[&str] = &[
    "a",
    "b1",
    "x#[y",
    "it's",
    "a:b",
    "[",
    "'[{'",
    "'it''s ]'",
    "\"[\\\"{\"",
    "\"a\\\\\"",
    "\"l1\n  l2 [\"",
    "'l1\n\n  l2 ]'",
    "é",
    "-x",
    "?x",
    ":x",
    "&anchor v",
    "!!str s",
    "~",
];
const COMMENTS: &[&str] = &["", " # c", " # [{'\"", " #|"];

/// A random document of block and flow collections and every kind of scalar, `depth` deep at
/// most, at indentation `indent`.
fn block(rng: &mut Random, depth: usize, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let sequence = rng.below(2) == 0;
    for i in 0..1 + rng.below(3) {
        let lead = if sequence {
            "- ".to_string()
        } else {
            format!("k{i}: ")
        };
        out.push_str(&format!("{pad}{lead}"));
        match rng.below(if depth == 0 { 3 } else { 5 }) {
            0 => out.push_str(&format!("{}{}\n", rng.pick(SCALARS), rng.pick(COMMENTS))),
            1 => out.push_str(&format!("{}{}\n", flow(rng, 3), rng.pick(COMMENTS))),
            2 => {
                let header = rng.pick(&["|", ">-", "|2", "|+"]);
                let inner = " ".repeat(indent + 2 + rng.below(2));
                out.push_str(&format!("{header}{}\n", rng.pick(COMMENTS)));
                for _ in 0..1 + rng.below(3) {
                    let line = rng.pick(&["[[{", "'\"", "# x", "", "a: [b"]);
                    out.push_str(&format!("{inner}{line}\n"));
                }
            }
            _ => {
                out.push_str(&format!("{}\n", rng.pick(COMMENTS)));
                let step = 1 + rng.below(3);
                out.push_str(&block(rng, depth - 1, indent + step));
            }
        }
    }
    out
}

fn flow(rng: &mut Random, depth: usize) -> String {
    if depth == 0 || rng.below(3) == 0 {
        return rng.pick(SCALARS).replace(['[', '{', ']', '}', ','], "");
    }
    let items: Vec<String> = (0..rng.below(4)).map(|_| flow(rng, depth - 1)).collect();
    if rng.below(2) == 0 {
        format!("[{}]", items.join(rng.pick(&[", ", ",", ",\n  "])))
    } else {
        let pairs: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, v)| format!("k{i}: {v}"))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    }
}

/// `text` with a random piece inserted at a random place, or a random range removed. (No
/// Unicode line breaks: libyaml ends lines at them, yaml-rust2 does not; unit tests above
/// cover them.)
fn mutate(rng: &mut Random, text: &str) -> String {
    const PIECES: &[&str] = &[
        "[", "]", "{", "}", ",", ": ", "- ", "? ", "'", "\"", "#", " #", "|\n", ">", "\n", "\n  ",
        " ", "\t", "\\", "---\n", "&x ", "*x", "\r\n", "x",
    ];
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len() + 1);
    let (head, tail): (String, String) =
        (chars[..at].iter().collect(), chars[at..].iter().collect());
    if rng.below(3) == 0 {
        let cut = rng.below(tail.chars().count().min(6) + 1);
        format!("{head}{}", tail.chars().skip(cut).collect::<String>())
    } else {
        format!("{head}{}{tail}", rng.pick(PIECES))
    }
}

/// Whether every anchor or alias name is followed by a blank or the end: libyaml's names are
/// `[0-9A-Za-z_-]`, yaml-rust2's take any other characters too (`&a:`), so elsewhere they
/// read different tokens.
fn anchors_end_at_blanks(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        if b != b'&' && b != b'*' {
            return true;
        }
        let name = bytes[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
            .count();
        matches!(
            bytes.get(i + 1 + name),
            None | Some(b' ' | b'\n' | b'\r' | b'\t')
        )
    })
}

/// Random documents, and random edits of them: wherever libyaml and yaml-rust2 both read one,
/// the guard counts the same nesting as the reference scanner.
#[test]
fn nesting_agrees_with_a_reference_scanner_on_random_documents() {
    let mut rng = Random(0x9E37_79B9_7F4A_7C15);
    let (mut compared, mut edited, mut deepest) = (0, 0, 0);
    for round in 0..6_000 {
        let depth = 1 + rng.below(5);
        let mut text = block(&mut rng, depth, 0);
        let edits = if round % 2 == 0 { 0 } else { 1 + rng.below(3) };
        for _ in 0..edits {
            text = mutate(&mut rng, &text);
        }
        let guard = check_with(&text, usize::MAX);
        if !anchors_end_at_blanks(&text) {
            continue;
        }
        let Some(reference) = reference_nesting(&text) else {
            continue;
        };
        if !libyaml_accepts(&text) {
            continue;
        }
        let guard = match guard {
            Ok(nesting) => nesting,
            // An edit made a tag; refusing it is right.
            Err(Refusal {
                problem: Problem::Tag { .. },
                ..
            }) => continue,
            Err(e) => panic!("{text:?} refused: {e}"),
        };
        assert_eq!(guard, reference, "{text:?}");
        compared += 1;
        edited += usize::from(edits > 0);
        deepest = deepest.max(guard.depth);
    }
    assert!(
        compared > 2_000 && edited > 300,
        "only {compared} documents compared ({edited} edited)"
    );
    assert!(deepest >= 6, "the documents nest: {deepest}");
}

/// Every YAML file of the repository (the example site, its rendered tree, the test sites but
/// the attacks):
/// within the limit, and counted as the reference scanner counts.
#[test]
fn the_repository_yaml_files_are_within_the_limit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs = vec![
        root.join("repos-example"),
        root.join("generator/tests/data"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // Hostile by design.
                if !path.ends_with("attacks") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 40, "{}", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(reference) = reference_nesting(&text) else {
            continue;
        };
        let name = path.display();
        let nesting = check(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(nesting, reference, "{name}");
    }
}
