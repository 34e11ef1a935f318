//! Editing a site file in place: set scalar fields while keeping the user's comments, key
//! order and formatting everywhere else. Used by `hubdr failover` and `hubdr unfence`.

use super::locate::Locator;

/// Set the scalar at `path` (e.g. `spec.hubs[1].role`) to `value` (YAML text). A missing key
/// is added to its parent mapping (block or flow style); a missing parent is an error.
pub fn set_scalar(text: &str, path: &str, value: &str) -> Result<String, String> {
    let locator = Locator::new(text);
    if let Some(start) = locator.value_start(path) {
        let start = byte_offset(text, start);
        let end = scalar_end(text, start);
        return Ok(format!("{}{value}{}", &text[..start], &text[end..]));
    }
    let (parent, key) = path
        .rsplit_once('.')
        .ok_or_else(|| format!("cannot add top-level field {path}"))?;
    let Some(parent_start) = locator.value_start(parent) else {
        return Err(format!(
            "{parent} is missing, so {key} cannot be added to it"
        ));
    };
    let parent_start = byte_offset(text, parent_start);
    if text[parent_start..].starts_with('{') {
        let close = matching_brace(text, parent_start)
            .ok_or_else(|| format!("{parent}: unbalanced {{ }}"))?;
        let inside = &text[parent_start + 1..close];
        let insertion = if inside.trim().is_empty() {
            format!("{key}: {value}")
        } else {
            format!(", {key}: {value}")
        };
        let at = close - (inside.len() - inside.trim_end().len());
        return Ok(format!("{}{insertion}{}", &text[..at], &text[at..]));
    }
    // Block mapping: add a line after the last single-line scalar sibling, at its indentation.
    let sibling = last_scalar_sibling(text, &locator, parent)
        .ok_or_else(|| format!("{parent} has no field to place {key} next to"))?;
    let location = locator.exact(&sibling).expect("siblings are located");
    let line_end = line_end_after(
        text,
        byte_offset(text, locator.value_start(&sibling).expect("scalar")),
    );
    let indent = " ".repeat(location.column - 1);
    Ok(format!(
        "{}{indent}{key}: {value}\n{}",
        &text[..line_end],
        &text[line_end..]
    ))
}

/// Insert a new block mapping `key:` with `children` before the key at `before` (a sibling).
pub fn insert_mapping_before(
    text: &str,
    before: &str,
    key: &str,
    children: &[(&str, &str)],
) -> Result<String, String> {
    let locator = Locator::new(text);
    let location = locator
        .exact(before)
        .ok_or_else(|| format!("{before} is missing"))?;
    let indent = " ".repeat(location.column - 1);
    let line_start = text
        .split_inclusive('\n')
        .take(location.line - 1)
        .map(str::len)
        .sum::<usize>();
    let mut block = format!("{indent}{key}:\n");
    for (k, v) in children {
        block.push_str(&format!("{indent}  {k}: {v}\n"));
    }
    Ok(format!(
        "{}{block}{}",
        &text[..line_start],
        &text[line_start..]
    ))
}

fn byte_offset(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map(|(b, _)| b)
        .unwrap_or(text.len())
}

/// The end of the scalar starting at `start`: a quoted string's closing quote, or the plain
/// scalar up to a flow delimiter, a comment or the end of the line.
fn scalar_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut chars = rest.char_indices();
    match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            chars.next();
            let mut escaped = false;
            for (i, c) in chars {
                if quote == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == quote && !escaped {
                    return start + i + 1;
                }
                escaped = false;
            }
            text.len()
        }
        _ => {
            let mut end = rest.len();
            let mut previous = ' ';
            for (i, c) in chars {
                if c == '\n'
                    || c == ','
                    || c == '}'
                    || c == ']'
                    || (c == '#' && previous.is_whitespace())
                {
                    end = i;
                    break;
                }
                previous = c;
            }
            start + rest[..end].trim_end().len()
        }
    }
}

fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in text[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn line_end_after(text: &str, at: usize) -> usize {
    text[at..]
        .find('\n')
        .map(|i| at + i + 1)
        .unwrap_or(text.len())
}

/// The last direct child of `parent` whose value is a scalar on one line.
fn last_scalar_sibling(text: &str, locator: &Locator, parent: &str) -> Option<String> {
    let prefix = format!("{parent}.");
    let mut best: Option<(usize, String)> = None;
    for path in locator.paths() {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        if rest.contains(['.', '[']) {
            continue;
        }
        let Some(start) = locator.value_start(path) else {
            continue;
        };
        let b = byte_offset(text, start);
        if text[b..].starts_with(['{', '[']) || text[b..].starts_with(['|', '>']) {
            continue;
        }
        if let Some(location) = locator.exact(path) {
            if best.as_ref().is_none_or(|(line, _)| location.line > *line) {
                best = Some((location.line, path.to_string()));
            }
        }
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "\
spec:
  # the hubs
  hubs:
    - name: hub-a   # primary
      role: active
    - {name: hub-b, role: passive}
    - name: hub-c
      role: \"passive\"
  failover:
    generation: 2
";

    #[test]
    fn replaces_values_keeping_comments_and_style() {
        let out = set_scalar(SITE, "spec.hubs[0].role", "fenced").unwrap();
        assert!(
            out.contains("    - name: hub-a   # primary\n      role: fenced\n"),
            "{out}"
        );
        let out = set_scalar(&out, "spec.hubs[1].role", "active").unwrap();
        assert!(out.contains("    - {name: hub-b, role: active}\n"), "{out}");
        let out = set_scalar(&out, "spec.hubs[2].role", "active").unwrap();
        assert!(out.contains("      role: active\n  failover:"), "{out}");
        let out = set_scalar(&out, "spec.failover.generation", "3").unwrap();
        assert!(out.ends_with("    generation: 3\n"), "{out}");
        assert!(out.contains("  # the hubs\n"));
    }

    #[test]
    fn adds_missing_keys_in_block_and_flow_mappings() {
        let out = set_scalar(SITE, "spec.hubs[1].activeSince", "3").unwrap();
        assert!(
            out.contains("    - {name: hub-b, role: passive, activeSince: 3}\n"),
            "{out}"
        );
        let out = set_scalar(&out, "spec.hubs[0].passiveSince", "3").unwrap();
        assert!(
            out.contains("      role: active\n      passiveSince: 3\n    - {name"),
            "{out}"
        );
        let out = set_scalar(&out, "spec.failover.oldPrimaryUnreachable", "true").unwrap();
        assert!(
            out.ends_with("    generation: 2\n    oldPrimaryUnreachable: true\n"),
            "{out}"
        );
        assert!(set_scalar(SITE, "spec.nothing.here", "1").is_err());
    }

    #[test]
    fn inserts_a_mapping_before_a_sibling() {
        let text = "spec:\n  # hubs follow\n  hubs: []\n";
        let out =
            insert_mapping_before(text, "spec.hubs", "failover", &[("generation", "1")]).unwrap();
        assert_eq!(
            out,
            "spec:\n  # hubs follow\n  failover:\n    generation: 1\n  hubs: []\n"
        );
    }
}
