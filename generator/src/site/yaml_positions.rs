//! Positions serde_yaml's errors lack or get wrong, found in the YAML's events: the line of a
//! duplicate key (serde_yaml points at the mapping that holds it) and the alias that made the
//! document expand past serde_yaml's repetition limit (serde_yaml gives no position at all).
//! Only run when serde_yaml reported such an error.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diagnostic::Diagnostic;
use super::locate::Location;

/// The diagnostic for serde_yaml's `message` (its positions stripped) when it is a duplicate
/// key or the repetition limit, located in `text`; `None` for other errors.
pub fn positioned(message: &str, text: &str) -> Option<Diagnostic> {
    if message.contains("repetition limit exceeded") {
        let at = repetition_overflow(text);
        let mut d = Diagnostic::error(
            "",
            match at {
                Some(at) => format!(
                    "the aliases expand the document past the repetition limit (an alias bomb?): the alias at line {} column {} is where it went over",
                    at.line, at.column
                ),
                None => "the aliases expand the document past the repetition limit (an alias bomb?)".into(),
            },
            "write the values out instead of repeating them through anchors (&) and aliases (*)",
        );
        d.location = at;
        return Some(d);
    }
    // serde_yaml: "spec.storage: duplicate field `bucket`" (a struct) or "duplicate entry with
    // key \"x\"" (a map).
    if !message.contains("duplicate field `") && !message.contains("duplicate entry") {
        return None;
    }
    let (path, rest) = match message.split_once(": ") {
        Some((p, rest)) if !p.contains(' ') => (p, rest),
        _ => ("", message),
    };
    let named = rest
        .split_once('`')
        .and_then(|(_, r)| r.split_once('`'))
        .map(|(k, _)| k.to_string())
        .or_else(|| {
            rest.split_once('"')
                .and_then(|(_, r)| r.rsplit_once('"'))
                .map(|(k, _)| k.to_string())
        });
    let all = duplicates(text);
    let found = all
        .iter()
        .find(|d| d.mapping == path && Some(&d.key) == named.as_ref())
        .or_else(|| all.first())?;
    let mut d = Diagnostic::error(
        join(&found.mapping, &found.key),
        format!(
            "duplicate key `{}` at line {}, first given at line {}: a key may appear once in a mapping",
            found.key, found.second.line, found.first.line
        ),
        "remove one of the two (keep the value you mean)",
    );
    d.location = Some(found.second);
    Some(d)
}

/// A key given twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The path of the mapping, e.g. `spec.storage` (empty for the document's top mapping).
    pub mapping: String,
    pub key: String,
    pub first: Location,
    pub second: Location,
}

/// Every duplicate key of `text`, in document order (empty when the YAML does not parse).
pub fn duplicates(text: &str) -> Vec<Duplicate> {
    let mut scan = Keys::default();
    if Parser::new_from_str(text).load(&mut scan, false).is_err() {
        return Vec::new();
    }
    scan.found
}

/// serde_yaml gives up once following aliases replays more than this many times the document's
/// events (serde_yaml 0.9's `jumpcount > events.len() * 100`).
const REPETITION_FACTOR: u64 = 100;

/// Where the alias is that takes the document past serde_yaml's repetition limit: the first
/// alias, in document order, after which the aliases followed so far (each alias, and the
/// aliases inside what it replays) exceed [`REPETITION_FACTOR`] times the number of events.
pub fn repetition_overflow(text: &str) -> Option<Location> {
    let mut events = Events::default();
    Parser::new_from_str(text).load(&mut events, false).ok()?;
    let nodes = events
        .list
        .iter()
        .filter(|(e, _)| {
            !matches!(
                e,
                Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd
            )
        })
        .count() as u64;
    let limit = nodes.saturating_mul(REPETITION_FACTOR);
    // Aliases followed within each anchored node, and the open nodes' anchors and counts at
    // their start.
    let mut weight: HashMap<usize, u64> = HashMap::new();
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut total: u64 = 0;
    for (event, mark) in &events.list {
        match event {
            Event::Alias(id) => {
                total = total.saturating_add(1 + weight.get(id).copied().unwrap_or(0));
                if total > limit {
                    return Some(location(*mark));
                }
            }
            Event::Scalar(_, _, anchor, _) if *anchor > 0 => {
                weight.insert(*anchor, 0);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((*anchor, total));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop() {
                    if anchor > 0 {
                        weight.insert(anchor, total - start);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn location(mark: Marker) -> Location {
    Location {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

#[derive(Default)]
struct Events {
    list: Vec<(Event, Marker)>,
}

impl MarkedEventReceiver for Events {
    fn on_event(&mut self, event: Event, mark: Marker) {
        self.list.push((event, mark));
    }
}

enum Frame {
    /// A mapping: its path, the keys seen, and the key of the value that comes next (`None`:
    /// a key comes next).
    Mapping {
        path: String,
        keys: HashMap<String, Location>,
        value_of: Option<String>,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Keys {
    stack: Vec<Frame>,
    found: Vec<Duplicate>,
}

impl Keys {
    /// The path of the node starting now; records a key when the node is one (`None`).
    fn node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let Some(frame) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match frame {
            Frame::Mapping {
                path,
                keys,
                value_of,
            } => match value_of.take() {
                Some(key) => Some(join(path, &key)),
                None => {
                    // A complex key (a mapping or sequence as key) is never a duplicate here.
                    let key = scalar.unwrap_or("?").to_string();
                    let here = location(mark);
                    if scalar.is_some() {
                        if let Some(first) = keys.get(&key) {
                            self.found.push(Duplicate {
                                mapping: path.clone(),
                                key: key.clone(),
                                first: *first,
                                second: here,
                            });
                        } else {
                            keys.insert(key.clone(), here);
                        }
                    }
                    *value_of = Some(key);
                    None
                }
            },
            Frame::Sequence { path, index } => {
                let child = format!("{path}[{index}]");
                *index += 1;
                Some(child)
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Keys {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.node(Some(&value), mark);
            }
            Event::Alias(_) => {
                self.node(None, mark);
            }
            Event::MappingStart(..) => {
                let path = self.node(None, mark).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Mapping {
                    path,
                    keys: HashMap::new(),
                    value_of: None,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.node(None, mark).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Sequence { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_found_at_its_own_line() {
        let text = "spec:\n  storage:\n    provider: aws\n    bucket: a\n    region: x\n    bucket: b\n  hubs:\n    - name: a\n      name: b\n";
        assert_eq!(
            duplicates(text),
            vec![
                Duplicate {
                    mapping: "spec.storage".into(),
                    key: "bucket".into(),
                    first: Location { line: 4, column: 5 },
                    second: Location { line: 6, column: 5 },
                },
                Duplicate {
                    mapping: "spec.hubs[0]".into(),
                    key: "name".into(),
                    first: Location { line: 8, column: 7 },
                    second: Location { line: 9, column: 7 },
                },
            ]
        );
        assert!(duplicates("a: {b: 1, c: 2}\nb: {b: 1}\n").is_empty());
    }

    #[test]
    fn the_alias_that_exceeds_the_repetition_limit_is_found() {
        let mut text = String::from("x0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("x{i}: &a{i} [{refs}]\n"));
        }
        let at = repetition_overflow(&text).expect("a bomb");
        // 122 events, a limit of 12,200 jumps: 8,298 by line 5, and line 6's first alias
        // replays 7,381 more.
        assert_eq!(
            at,
            Location {
                line: 6,
                column: 10
            }
        );
        assert_eq!(repetition_overflow("a: &a [1, 2]\nb: *a\nc: *a\n"), None);
    }
}
