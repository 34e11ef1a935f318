//! Maps field paths such as `spec.hubs[1].role` to the line and column where they appear
//! in the site file, so validation errors can point at the source.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in the site file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Field path -> location of its key (for mapping entries) or value (for sequence items).
#[derive(Debug, Default)]
pub struct Locator {
    locations: HashMap<String, Location>,
    /// Character offset where each scalar value or mapping starts (for in-place edits).
    starts: HashMap<String, usize>,
}

impl Locator {
    /// Index `text`. Unparseable YAML yields an empty locator: serde reports the syntax error.
    pub fn new(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        Self {
            locations: builder.locations,
            starts: builder.starts,
        }
    }

    /// Where the value at exactly `path` starts, as a character offset (scalars and mappings).
    pub fn value_start(&self, path: &str) -> Option<usize> {
        self.starts.get(path).copied()
    }

    /// Every located path.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.locations.keys().map(String::as_str)
    }

    /// Where exactly `path`'s key is (no fallback to ancestors).
    pub fn exact(&self, path: &str) -> Option<Location> {
        self.locations.get(path).copied()
    }

    /// Where `path` is, or where its nearest existing ancestor is (a missing field is reported at
    /// the mapping that lacks it).
    pub fn find(&self, path: &str) -> Option<Location> {
        let mut current = path;
        loop {
            if let Some(location) = self.locations.get(current) {
                return Some(*location);
            }
            current = parent(current)?;
        }
    }
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

enum Frame {
    Mapping { expecting_key: bool, key: String },
    Sequence { index: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Frame, String)>,
    locations: HashMap<String, Location>,
    starts: HashMap<String, usize>,
}

impl Builder {
    /// The path of the node that is about to start, advancing the parent frame.
    fn child_path(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        let Some((frame, path)) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match frame {
            Frame::Mapping { expecting_key, key } => {
                if *expecting_key {
                    *expecting_key = false;
                    *key = scalar.unwrap_or_default().to_string();
                    let child = join_key(path, key);
                    self.locations.entry(child).or_insert(location(mark));
                    // A block mapping's start event is marked after its first key (at the first
                    // value); a mapping starts no later than its first key.
                    let here = location(mark);
                    if let Some(start) = self.locations.get_mut(path.as_str()) {
                        if (here.line, here.column) < (start.line, start.column) {
                            *start = here;
                        }
                    }
                    None
                } else {
                    *expecting_key = true;
                    Some(join_key(path, key))
                }
            }
            Frame::Sequence { index } => {
                let child = format!("{path}[{index}]");
                *index += 1;
                self.locations
                    .entry(child.clone())
                    .or_insert(location(mark));
                Some(child)
            }
        }
    }
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn location(mark: Marker) -> Location {
    Location {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                if let Some(path) = self.child_path(mark, Some(&value)) {
                    self.starts.insert(path, mark.index());
                }
            }
            Event::Alias(_) => {
                self.child_path(mark, None);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.child_path(mark, None) {
                    self.locations.entry(path.clone()).or_insert(location(mark));
                    self.starts.insert(path.clone(), mark.index());
                    let frame = Frame::Mapping {
                        expecting_key: true,
                        key: String::new(),
                    };
                    self.stack.push((frame, path));
                } else {
                    // A complex (non-scalar) mapping key: track it so the stack stays balanced.
                    self.stack.push((
                        Frame::Mapping {
                            expecting_key: true,
                            key: String::new(),
                        },
                        String::from("?"),
                    ));
                }
            }
            Event::SequenceStart(..) => {
                let path = self
                    .child_path(mark, None)
                    .unwrap_or_else(|| String::from("?"));
                self.locations.entry(path.clone()).or_insert(location(mark));
                self.stack.push((Frame::Sequence { index: 0 }, path));
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

    const TEXT: &str = "\
apiVersion: hubdr.io/v1alpha1
spec:
  hubs:
    - name: hub-a
      role: active
    - name: hub-b
      role: passive
  backup: {schedule: \"0 * * * *\", ttl: 10h}
";

    #[test]
    fn finds_nested_keys_and_sequence_items() {
        let locator = Locator::new(TEXT);
        assert_eq!(
            locator.find("spec.hubs[1].role"),
            Some(Location { line: 7, column: 7 })
        );
        assert_eq!(
            locator.find("spec.hubs[1]"),
            Some(Location { line: 6, column: 7 })
        );
        assert_eq!(locator.find("spec.backup.ttl").map(|l| l.line), Some(8));
        assert_eq!(locator.find("apiVersion").map(|l| l.line), Some(1));
    }

    #[test]
    fn missing_field_falls_back_to_its_parent() {
        let locator = Locator::new(TEXT);
        assert_eq!(
            locator
                .find("spec.hubs[0].restoreSyncInterval")
                .map(|l| l.line),
            Some(4)
        );
        assert_eq!(locator.find("spec.nothing.here").map(|l| l.line), Some(2));
    }

    #[test]
    fn broken_yaml_gives_no_locations() {
        assert_eq!(Locator::new("a: [1, 2").find("a"), None);
    }
}
