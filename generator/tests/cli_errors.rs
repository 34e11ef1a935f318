//! Error positions and refusals through the real binary: a duplicate key at its own line, an
//! alias bomb at the alias that went over the limit, `unfence` of a hub that is not fenced
//! refused before any caution is printed.

mod support;

use std::fs;

use support::Sandbox;

fn starter() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox
}

/// The starter site with `edit` applied (the old text must occur), written as `name`.
fn edited(sandbox: &Sandbox, name: &str, old: &str, new: &str) -> String {
    let text = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    assert!(text.contains(old), "site.yaml lacks {old:?}");
    let text = text.replacen(old, new, 1);
    fs::write(sandbox.join(name), &text).unwrap();
    text
}

/// The 1-based line of the `nth` (0-based) line of `text` that starts with `prefix` after its
/// indentation.
fn line_of(text: &str, prefix: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(prefix))
        .nth(nth)
        .unwrap_or_else(|| panic!("no {prefix:?} #{nth}"))
        .0
        + 1
}

#[test]
fn a_duplicate_key_points_at_the_duplicate_line_and_names_both() {
    let sandbox = starter();
    let text = edited(
        &sandbox,
        "dup.yaml",
        "    region: eu-west-1\n",
        "    region: eu-west-1\n    bucket: other\n",
    );
    let first = line_of(&text, "bucket:", 0);
    let second = line_of(&text, "bucket:", 1);
    assert!(second > first + 1, "{first} {second}");
    let run = sandbox.hubdr(&["validate", "--site", "dup.yaml"]);
    run.expect_code(2)
        .expect_stderr("error: spec.storage.bucket: duplicate key `bucket`")
        .expect_stderr(&format!("at line {second}, first given at line {first}"))
        .expect_stderr(&format!("--> dup.yaml:{second}:5\n"));
}

#[test]
fn an_alias_bomb_shows_the_position_of_the_alias_that_went_over_the_limit() {
    let sandbox = starter();
    let mut bomb = String::from("          x0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("          x{i}: &a{i} [{refs}]\n"));
    }
    let text = edited(
        &sandbox,
        "bomb.yaml",
        "spec:\n",
        &format!(
            "spec:\n  patches:\n    - target: {{cluster: hub-a, kind: DataProtectionApplication}}\n      merge:\n        spec:\n{bomb}"
        ),
    );
    let run = sandbox.hubdr(&["validate", "--site", "bomb.yaml"]);
    run.expect_code(2)
        .expect_stderr("repetition limit")
        .expect_stderr("alias bomb");
    // The position is shown, and is an alias's.
    let at = run
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> bomb.yaml:"))
        .unwrap_or_else(|| panic!("no position in:\n{run}"));
    let (line, column) = at.split_once(':').expect("line:column");
    let (line, column): (usize, usize) = (line.parse().unwrap(), column.parse().unwrap());
    let source = text.lines().nth(line - 1).unwrap();
    assert!(
        source[column - 1..].starts_with("*a"),
        "{line}:{column} is no alias: {source}"
    );
    assert!(run
        .stderr
        .contains(&format!("the alias at line {line} column {column}")));
}

/// `unfence` of the active (or a passive) hub is refused, and the refusal is all it prints:
/// no caution about restoring onto a former primary comes first.
#[test]
fn unfence_of_a_hub_that_is_not_fenced_refuses_before_any_caution() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    for (hub, role) in [("hub-a", "active"), ("hub-b", "passive")] {
        let run = sandbox.hubdr(&["unfence", hub, "--out", "repo", "--yes"]);
        run.expect_code(2);
        assert!(run.stdout.is_empty(), "{run}");
        assert!(
            run.stderr.starts_with(&format!(
                "error: {hub} is {role}, not fenced: only a fenced former primary can be unfenced\n"
            )),
            "{run}"
        );
        assert!(!run.stderr.contains("Before unfencing"), "{run}");
    }
}

/// The starter site with each (old, new) applied once, written as `name`.
fn with_edits(sandbox: &Sandbox, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "site.yaml lacks {old:?}");
        text = text.replacen(old, new, 1);
    }
    fs::write(sandbox.join(name), &text).unwrap();
    text
}

/// A site with five mistakes reports all five, each with its field path and line.
#[test]
fn every_schema_error_is_reported_at_once() {
    let sandbox = starter();
    let text = with_edits(
        &sandbox,
        "five.yaml",
        &[
            ("kind: Site\n", "kind: Site\nfoo: bar\n"),
            ("    provider: aws\n", "    provider: aws\n    extra: 1\n"),
            ("    region: eu-west-1\n", "    regoin: eu-west-1\n"),
            (
                "name: hub-b\n      role: passive",
                "name: hub-b\n      role: primary",
            ),
            ("generation: 0", "generation: x"),
        ],
    );
    let run = sandbox.hubdr(&["validate", "--site", "five.yaml"]);
    run.expect_code(2)
        .expect_stderr("five.yaml has 5 error(s); nothing was written");
    for (path, message, line_start) in [
        ("foo", "unknown field `foo`", "foo: bar"),
        ("spec.storage.extra", "unknown field `extra`", "extra: 1"),
        ("spec.storage.regoin", "unknown field `regoin`", "regoin:"),
        (
            "spec.hubs[1].role",
            "unknown variant `primary`",
            "role: primary",
        ),
        (
            "spec.failover.generation",
            "invalid type: string \"x\"",
            "generation: x",
        ),
    ] {
        let line = line_of(&text, line_start, 0);
        let shown = format!("error: {path}: {message}");
        let at = run
            .stderr
            .find(&shown)
            .unwrap_or_else(|| panic!("no {shown:?} in:\n{run}"));
        let location = run.stderr[at..].lines().nth(1).unwrap();
        assert!(
            location.starts_with(&format!("  --> five.yaml:{line}:")),
            "{path}: {location}\n{run}"
        );
    }
    assert_eq!(run.stderr.matches("\nerror: ").count() + 1, 5, "{run}");
}

/// Past 50 errors the rest are counted, not listed.
#[test]
fn at_most_fifty_errors_are_listed_and_the_rest_counted() {
    let sandbox = starter();
    let fields: String = (0..60).map(|i| format!("extra{i}: 1\n")).collect();
    with_edits(
        &sandbox,
        "many.yaml",
        &[("kind: Site\n", &format!("kind: Site\n{fields}"))],
    );
    let run = sandbox.hubdr(&["validate", "--site", "many.yaml"]);
    run.expect_code(2)
        .expect_stderr("many.yaml has 50 error(s)")
        .expect_stderr("and 10 more error(s) not listed");
    assert_eq!(
        run.stderr.matches("unknown field `extra").count(),
        50,
        "{run}"
    );
}
