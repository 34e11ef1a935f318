//! The starter site in a sandbox, as the CLI tests use it: `hubdr init`, edits of its site
//! file, a failover through the real binary, and the sections of a commit message.

use std::fs;

use super::{Run, Sandbox};

/// A sandbox holding the starter site (`hubdr init`).
pub fn starter() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox
}

/// Edit the site file in the sandbox: each (old, new) must occur; its first occurrence is
/// replaced.
pub fn edit_site(sandbox: &Sandbox, edits: &[(&str, &str)]) {
    let path = sandbox.join("site.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "site.yaml lacks {old:?}");
        text = text.replacen(old, new, 1);
    }
    fs::write(&path, text).unwrap();
}

/// The starter after a failover made by hand: hub-a fenced, hub-b active, generation 1.
pub const FAILOVER: &[(&str, &str)] = &[
    (
        "name: hub-a\n      role: active",
        "name: hub-a\n      role: fenced",
    ),
    (
        "name: hub-b\n      role: passive",
        "name: hub-b\n      role: active",
    ),
    ("generation: 0", "generation: 1"),
];

/// `hubdr failover --to hub-b --out repo [extra...] --skip-preflight "no agents in this test"`:
/// the failover of a sandbox in which no agent reports.
pub fn failover_without_agents(sandbox: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["failover", "--to", "hub-b", "--out", "repo"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--skip-preflight", "no agents in this test"]);
    sandbox.hubdr(&args)
}

/// The lines of `cluster`'s section (`\n<cluster>:\n` up to the next blank line) of a commit
/// message or plan.
pub fn section<'a>(message: &'a str, cluster: &str) -> &'a str {
    let start = message
        .find(&format!("\n{cluster}:\n"))
        .unwrap_or_else(|| panic!("no section {cluster} in:\n{message}"));
    let rest = &message[start + cluster.len() + 3..];
    match rest.find("\n\n") {
        Some(end) => &rest[..end + 1],
        None => rest,
    }
}

/// `text`'s lines without trailing white space.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).collect()
}
