//! Every schema error of a site file at once, not only the first. serde stops at the first
//! error, so the document's YAML value is repaired one error at a time and read again: an
//! unknown field is removed, a value of the wrong type (or a missing field) is replaced by a
//! stand-in of the right type, found by trying a few. Each error keeps the path serde gave it
//! and is located in the original text. Runs only when the site did not parse.

use serde_yaml::{Mapping, Value};

use super::diagnostic::Diagnostic;
use super::locate::Locator;
use super::model::Site;

/// At most this many errors are listed; the rest are counted ("and N more").
pub const MAX_ERRORS: usize = 50;

/// At most this many reads of the repaired document, and for at most this long (a fleet's
/// site file takes a while each): past either, the errors found so far are listed.
const MAX_READS: usize = 400;
const MAX_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// The errors after `first` (which the caller made from the original text), each located in
/// `text`, and how many more were found past [`MAX_ERRORS`] (`None`: counting stopped early,
/// there may be more). `to_diagnostic` turns a serde_yaml error into a diagnostic.
pub fn more_errors(
    text: &str,
    first: &Diagnostic,
    locator: &Locator,
    to_diagnostic: &dyn Fn(&serde_yaml::Error) -> Diagnostic,
) -> (Vec<Diagnostic>, Option<usize>) {
    let Ok(mut value) = serde_yaml::from_str::<Value>(text) else {
        return (Vec::new(), Some(0));
    };
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut more = 0usize;
    let mut reads = 0usize;
    // Where stand-ins were put: errors inside them are repaired, never reported.
    let mut stand_ins: Vec<String> = Vec::new();
    let mut current = first.clone();
    let started = std::time::Instant::now();
    loop {
        let Some(replaced) = repair(&mut value, &current, &mut reads, to_diagnostic) else {
            // Nothing to repair it with: later errors may hide behind this one.
            return (found, None);
        };
        stand_ins.extend(replaced);
        let Some(error) = read(&value, &mut reads) else {
            return (found, Some(more));
        };
        let mut d = to_diagnostic(&error);
        if d.path == current.path && d.message == current.message {
            return (found, None);
        }
        d.location = locator.find(&d.path);
        current = d.clone();
        if !stand_ins.iter().any(|s| within(&d.path, s)) {
            if found.len() + 1 < MAX_ERRORS {
                found.push(d);
            } else {
                more += 1;
            }
        }
        if reads >= MAX_READS || started.elapsed() > MAX_TIME {
            return (found, None);
        }
    }
}

/// Whether `path` is `at` or inside it.
fn within(path: &str, at: &str) -> bool {
    path.strip_prefix(at)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Read the site from `value`; its first error, `None` when it reads.
fn read(value: &Value, reads: &mut usize) -> Option<serde_yaml::Error> {
    *reads += 1;
    let text = serde_yaml::to_string(value).ok()?;
    serde_yaml::from_str::<Site>(&text).err()
}

/// Change `value` so that `error` goes away: `Some` with the path of the stand-in put in, if
/// any; `None` when no change does.
fn repair(
    value: &mut Value,
    error: &Diagnostic,
    reads: &mut usize,
    to_diagnostic: &dyn Fn(&serde_yaml::Error) -> Diagnostic,
) -> Option<Option<String>> {
    let message = error.message.as_str();
    if message.starts_with("unknown field `") {
        // The path names the unknown field itself.
        let (parent, key) = split_last(&error.path);
        return match (lookup(value, &parent), key) {
            (Some(Value::Mapping(map)), Segment::Key(key)) => {
                map.remove(key.as_str()).map(|_| None)
            }
            _ => None,
        };
    }
    let target = match backquoted(message, "missing field `") {
        Some(field) if error.path.is_empty() => field.to_string(),
        Some(field) => format!("{}.{field}", error.path),
        // A value of the wrong type, or one some field's own parser refused (a cron, ...).
        None => error.path.clone(),
    };
    if target.is_empty() {
        return None;
    }
    let original = lookup_path(value, &target).cloned();
    for candidate in stand_ins(message) {
        if !set(value, &target, candidate) {
            return None;
        }
        let Some(e) = read(value, reads) else {
            return Some(Some(target));
        };
        let d = to_diagnostic(&e);
        let same = d.path == error.path && d.message == error.message;
        // The stand-in itself refused (a missing field inside it is another matter).
        let refused = d.path == target && !d.message.starts_with("missing field");
        if !same && !refused {
            return Some(Some(target));
        }
        if *reads >= MAX_READS {
            break;
        }
    }
    match original {
        Some(v) => {
            set(value, &target, v);
        }
        None => remove(value, &target),
    }
    None
}

/// Values to try in place of a wrong one: the variant serde expected first, then one of each
/// type.
fn stand_ins(message: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some((_, expected)) = message.split_once("expected one of `") {
        if let Some((variant, _)) = expected.split_once('`') {
            out.push(Value::String(variant.to_string()));
        }
    } else if let Some(variant) = backquoted(message, "expected `") {
        out.push(Value::String(variant.to_string()));
    }
    out.extend([
        Value::String(String::new()),
        Value::Number(0.into()),
        Value::Bool(false),
        Value::Sequence(Vec::new()),
        Value::Mapping(Mapping::new()),
        Value::String("0 * * * *".into()),
        Value::String("1h".into()),
        Value::String("1Gi".into()),
        Value::String("a".into()),
        Value::Null,
    ]);
    out
}

fn backquoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(&rest[..rest.find('`')?])
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `spec.hubs[1].role` -> `spec`, `hubs`, `[1]`, `role`.
fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_string()));
        }
        while let Some(open) = rest.strip_prefix('[') {
            let Some(close) = open.find(']') else { break };
            if let Ok(i) = open[..close].parse() {
                out.push(Segment::Index(i));
            }
            rest = &open[close + 1..];
        }
    }
    out
}

fn split_last(path: &str) -> (Vec<Segment>, Segment) {
    let mut all = segments(path);
    let last = all.pop().unwrap_or(Segment::Key(String::new()));
    (all, last)
}

fn lookup<'a>(value: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    let mut here = value;
    for segment in path {
        here = match (segment, here) {
            (Segment::Key(k), Value::Mapping(map)) => map.get_mut(k.as_str())?,
            (Segment::Index(i), Value::Sequence(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(here)
}

fn lookup_path<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    lookup(value, &segments(path))
}

/// Set the value at `path` (its parent must exist); `false` when it cannot be set.
fn set(value: &mut Value, path: &str, new: Value) -> bool {
    let (parent, last) = split_last(path);
    match (lookup(value, &parent), last) {
        (Some(Value::Mapping(map)), Segment::Key(k)) => {
            map.insert(Value::String(k), new);
            true
        }
        (Some(Value::Sequence(items)), Segment::Index(i)) if i < items.len() => {
            items[i] = new;
            true
        }
        _ => false,
    }
}

fn remove(value: &mut Value, path: &str) {
    let (parent, last) = split_last(path);
    if let (Some(Value::Mapping(map)), Segment::Key(k)) = (lookup(value, &parent), last) {
        map.remove(k.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            segments("spec.hubs[1].role"),
            vec![
                Segment::Key("spec".into()),
                Segment::Key("hubs".into()),
                Segment::Index(1),
                Segment::Key("role".into()),
            ]
        );
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn values_are_found_set_and_removed_by_path() {
        let mut v: Value = serde_yaml::from_str("a:\n  b: [1, {c: 2}]\n").unwrap();
        assert_eq!(
            lookup_path(&mut v, "a.b[1].c").cloned(),
            Some(Value::Number(2.into()))
        );
        assert!(set(&mut v, "a.b[1].d", Value::Bool(true)));
        assert!(set(&mut v, "a.b[0]", Value::Null));
        assert!(!set(&mut v, "a.b[5]", Value::Null));
        remove(&mut v, "a.b[1].c");
        assert_eq!(
            serde_yaml::to_string(&v).unwrap(),
            "a:\n  b:\n  - null\n  - d: true\n"
        );
    }
}
