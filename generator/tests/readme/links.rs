//! The relative links of the README and `docs/*.md`: every `[text](path)` and
//! `[text](path#anchor)` outside code names a file that exists and, with an anchor, a heading of
//! that Markdown file, spelt as GitHub spells its anchors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The lines of `text` outside fenced code blocks (indented fences too), numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// `line` without its inline code spans (`` `...` ``).
fn without_code(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join("")
}

/// The targets of the links of `text` outside code, with their line numbers.
pub fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let line = without_code(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push((n, rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, spaces become `-`, every character but letters,
/// digits, `-` and `_` is dropped (`` `spec.storage` — the ... `` gives `specstorage--the-...`).
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of the headings of a Markdown text; a repeated heading gets `-1`, `-2`, ...
pub fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let level = line.chars().take_while(|&c| c == '#').count();
        let Some(heading) = line[level..].strip_prefix(' ') else {
            continue;
        };
        if !(1..=6).contains(&level) {
            continue;
        }
        let base = slug(heading);
        let count = seen.entry(base.clone()).or_insert(0);
        out.push(match *count {
            0 => base,
            n => format!("{base}-{n}"),
        });
        *count += 1;
    }
    out
}

/// The README and every `docs/*.md` of the workspace at `root`.
pub fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// What is wrong with the link `target` found in `file` (`None`: it resolves). External links
/// (`https:`, `http:`, `mailto:`) are not checked.
pub fn broken(file: &Path, target: &str) -> Option<String> {
    if ["https:", "http:", "mailto:"]
        .iter()
        .any(|s| target.starts_with(s))
    {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let linked = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().unwrap().join(path)
    };
    if !linked.exists() {
        return Some(format!("{} does not exist", linked.display()));
    }
    let anchor = anchor?;
    if linked.extension().is_none_or(|e| e != "md") {
        return Some(format!(
            "an anchor into {}, which is not Markdown",
            linked.display()
        ));
    }
    let text = std::fs::read_to_string(&linked).unwrap();
    let anchors = anchors(&text);
    if anchors.iter().any(|a| a == anchor) {
        return None;
    }
    Some(format!(
        "{} has no heading #{anchor}; its anchors are: {}",
        linked.display(),
        anchors.join(", ")
    ))
}

#[test]
fn links_are_read_outside_code() {
    let text = "See [a](docs/a.md#x) and `[b](no.md)`.\n```sh\n[c](no.md)\n```\n   ```yaml\n   [d](no.md)\n   ```\n| [e](#y) | [f](https://example.com) |\n";
    assert_eq!(
        links(text),
        [
            (1, "docs/a.md#x".to_string()),
            (8, "#y".to_string()),
            (8, "https://example.com".to_string())
        ]
    );
}

#[test]
fn anchors_are_githubs() {
    let text = "# hubdr\n## The agent's pass\n```sh\n# not a heading\n```\n### `spec.storage` — the backup storage location (DataProtectionApplication `backupLocations[0]`)\n### `spec.hostedClusters` — HyperShift (seed 004 §4.1)\n## Limits\n## Limits\n#no-heading\n";
    assert_eq!(
        anchors(text),
        [
            "hubdr",
            "the-agents-pass",
            "specstorage--the-backup-storage-location-dataprotectionapplication-backuplocations0",
            "spechostedclusters--hypershift-seed-004-41",
            "limits",
            "limits-1",
        ]
    );
}
