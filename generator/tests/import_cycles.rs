//! No import cycles between modules, in every crate of the workspace (the members listed in the
//! workspace's `Cargo.toml`, each one's `src`).
//!
//! A module is a source file (`a.rs` and `a/mod.rs` are module `a`, `a/b.rs` is `a::b`). An
//! edge `a -> b` is any path `crate::b::...`, `super::...` or `self::...` in `a` (in `use`
//! statements, grouped or not, and inline) that names module `b` or an item in it. Edges
//! between a module and its own ancestors are containment, not imports, and are left out
//! (a parent re-exports its children; a child reads its parent's items).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The members of the workspace whose `Cargo.toml` is `manifest` (`members = [...]`).
fn workspace_members(manifest: &str) -> Vec<String> {
    let start = manifest
        .find("members")
        .and_then(|i| manifest[i..].find('[').map(|j| i + j + 1))
        .expect("the workspace Cargo.toml lists its members");
    let end = start + manifest[start..].find(']').expect("the members list ends");
    manifest[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

type Module = Vec<String>;

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.len() > 1 && parts[0] == "bin" {
        return vec![format!("bin:{}", parts[1..].join("/"))];
    }
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without comments (line comments, doc comments, block comments).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand)
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// Every path in `text` that starts with `crate::`, `super::` or `self::`.
fn paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` statements, grouped.
    for stmt in text.split(';') {
        if let Some(i) = stmt.find("use ") {
            let before = &stmt[..i];
            if before.trim().is_empty()
                || before.trim_end().ends_with(')')
                || before.ends_with("pub ")
            {
                out.extend(expand(stmt[i + 4..].trim()));
            }
        }
    }
    // Inline paths.
    let bytes = text.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in text.match_indices(start) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let end = text[i..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(text.len(), |e| i + e);
            out.push(text[i..end].trim_end_matches(':').to_string());
        }
    }
    out
}

/// The module a path from `from` names: the longest known module prefix of its resolution.
fn target(path: &str, from: &Module, known: &BTreeSet<Module>) -> Option<Module> {
    let mut segs: Vec<&str> = path
        .split("::")
        .map(|s| s.split(" as ").next().unwrap())
        .collect();
    let mut base: Module = match *segs.first()? {
        "crate" => Vec::new(),
        "self" | "super" => from.clone(),
        _ => return None,
    };
    while segs.first() == Some(&"super") {
        base.pop();
        segs.remove(0);
    }
    if matches!(segs.first(), Some(&"crate" | &"self")) {
        segs.remove(0);
    }
    let mut best = None;
    let mut cur = base.clone();
    if known.contains(&cur) {
        best = Some(cur.clone());
    }
    for s in segs {
        if s == "*" {
            break;
        }
        cur.push(s.to_string());
        if known.contains(&cur) {
            best = Some(cur.clone());
        }
    }
    best
}

/// The import graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let known: BTreeSet<Module> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let text = strip_comments(&fs::read_to_string(file).unwrap());
        for p in paths(&text) {
            let Some(to) = target(&p, &from, &known) else {
                continue;
            };
            if to.starts_with(&from) || from.starts_with(&to) {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan), each sorted.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(next) = s.edges.get(v) {
            for w in next {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                scc.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    let mut all: BTreeSet<&Module> = edges.keys().collect();
    all.extend(edges.values().flatten());
    for v in all {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The edges between the modules of `scc`, as `a -> b` lines (what to look at to break it).
fn cycle_edges(edges: &BTreeMap<Module, BTreeSet<Module>>, scc: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (from, to) in edges {
        let from = from.join("::");
        if !scc.contains(&from) {
            continue;
        }
        for to in to.iter().map(|t| t.join("::")).filter(|t| scc.contains(t)) {
            out.push(format!("    {from} -> {to}"));
        }
    }
    out
}

#[test]
fn no_crate_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let members = workspace_members(&fs::read_to_string(root.join("Cargo.toml")).unwrap());
    for expected in ["core", "generator", "reconciler", "kubefake", "tests"] {
        assert!(
            members.iter().any(|m| m == expected),
            "workspace member {expected} not found in {members:?}"
        );
    }
    let mut found = Vec::new();
    for member in &members {
        let src = root.join(member).join("src");
        assert!(src.is_dir(), "{}: no such directory", src.display());
        let edges = graph(&src);
        for scc in cycles(&edges) {
            found.push(format!("{member}/src: {}", scc.join(" <-> ")));
            found.extend(cycle_edges(&edges, &scc));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles between modules (move what both sides need into a module of its own):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_workspace_members_are_read() {
    let manifest = "[workspace]\nresolver = \"2\"\nmembers = [\"core\", \"generator\",\n  \"kubefake\"]\n\n[workspace.package]\nversion = \"0.1.0\"\n";
    assert_eq!(
        workspace_members(manifest),
        ["core", "generator", "kubefake"]
    );
}

#[test]
fn a_cycle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir_all(src.join("render")).unwrap();
    fs::create_dir_all(src.join("site")).unwrap();
    fs::write(src.join("lib.rs"), "pub mod render;\npub mod site;\n").unwrap();
    fs::write(src.join("render/mod.rs"), "pub mod desired;\n").unwrap();
    fs::write(
        src.join("site/mod.rs"),
        "pub mod validate;\npub mod units;\n",
    )
    .unwrap();
    fs::write(
        src.join("render/desired.rs"),
        "use crate::site::{units, validate::destinations};\n",
    )
    .unwrap();
    fs::write(
        src.join("site/validate.rs"),
        "use super::units; // crate::render is only in a comment\nfn f() { crate::render::desired::offset(); }\n",
    )
    .unwrap();
    fs::write(src.join("site/units.rs"), "use super::super::render;\n").unwrap();
    let edges = graph(src);
    assert_eq!(
        cycles(&edges),
        [vec![
            "render::desired".to_string(),
            "site::validate".to_string()
        ]]
    );
    // Without the inline call, no cycle is left.
    fs::write(src.join("site/validate.rs"), "use super::units;\n").unwrap();
    fs::write(src.join("site/units.rs"), "").unwrap();
    assert!(cycles(&graph(src)).is_empty());
}
