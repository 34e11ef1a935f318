//! The README's commands cannot rot. Every `hubdr` and `hubdr-agent` command it shows (the
//! lines of its `sh` blocks and the first column of its command table):
//!
//! - `hubdr` commands parse with today's command line ([`every_hubdr_command_parses`]);
//! - each is run: here, in a sandbox with the starter site rendered, as written (placeholders
//!   such as `REPO` or `HUB` filled in) ([`every_hubdr_command_runs_as_written`]), or, when it
//!   needs running agents, a status branch or a disconnected site, by the test named for it in
//!   [`ELSEWHERE`], which the test checks exists and runs it ([`every_command_is_exercised`]).
//!
//! Other programs in the README (`git`, `cargo install`, `podman`, `cp`) are not checked.
//!
//! Every relative link of the README and of `docs/*.md` resolves: the file exists and the
//! anchor is one of its headings ([`every_relative_link_resolves`]).

mod support;

#[path = "readme/commands.rs"]
mod commands;

#[path = "readme/links.rs"]
mod links;

use std::path::Path;

use clap::Parser;
use hubdr::cli::Cli;
use support::Sandbox;

use commands::{args_of, sh_commands, table_commands};

fn readme() -> String {
    std::fs::read_to_string(support::manifest_dir().join("../README.md")).unwrap()
}

/// Every `hubdr` / `hubdr-agent` command of the README, as written.
fn readme_commands() -> Vec<String> {
    let text = readme();
    let mut all = sh_commands(&text);
    all.extend(table_commands(&text));
    all.into_iter()
        .filter(|c| args_of(c, "hubdr").is_some() || args_of(c, "hubdr-agent").is_some())
        .collect()
}

/// README commands run by another test: (what the command contains, the test file from the
/// workspace root, what that file contains where it runs the command).
const ELSEWHERE: &[(&str, &str, &str)] = &[
    // The agents' status and a second run: the fleet tests run the whole failover.
    (
        "hubdr failover --retry",
        "tests/tests/failover/activation.rs",
        "\"--retry\"",
    ),
    (
        "hubdr failover --abort",
        "tests/tests/failover/abort.rs",
        "\"--abort\"",
    ),
    (
        "hubdr decommission",
        "tests/tests/failover/decommission.rs",
        "\"decommission\"",
    ),
    // `--watch` waits for agents (none report in the sandbox); `--fetch` needs an origin.
    (
        "hubdr status --repo REPO --fetch --watch",
        "generator/tests/cli_status.rs",
        "\"--watch\"",
    ),
    // A signed status export of a disconnected site.
    (
        "hubdr status import",
        "reconciler/tests/support/agents.rs",
        "\"import\"",
    ),
    // A status that reports etcd backups (the sandbox's starter site declares none).
    (
        "hubdr etcd restore-plan",
        "generator/tests/cli_etcd.rs",
        "\"restore-plan\"",
    ),
    // The agent against a (fake) cluster.
    (
        "hubdr-agent --repo",
        "reconciler/tests/agent_redaction.rs",
        "\"--token-file\"",
    ),
    (
        "hubdr-agent --source inbox:",
        "reconciler/tests/agent_inbox.rs",
        "inbox:",
    ),
    (
        "hubdr-agent export-status",
        "reconciler/tests/agent_binary.rs",
        "\"export-status\"",
    ),
];

/// The README command with its placeholders filled in for the sandbox.
fn concrete(cmd: &str) -> Vec<String> {
    let cmd = cmd.replace(
        "render ... --no-git",
        "render --site site.yaml --out plain --no-git",
    );
    let mut args = args_of(&cmd, "hubdr").expect("a hubdr command");
    // The hub `unfence` turns back: the one the sandbox's failover fenced.
    let hub = if args.get(1).is_some_and(|a| a == "unfence") {
        "hub-a"
    } else {
        "hub-b"
    };
    for a in args.iter_mut() {
        *a = match a.as_str() {
            "REPO" | "CENTRAL" => "repo".into(),
            "HUB" | "NAME" => hub.into(),
            "KEY" => "keys/bundles".into(),
            "KEY.pub" => "keys/bundles.pub".into(),
            "FILE" => "hub-b.tar.zst".into(),
            "REASON" => "no agents run in this sandbox".into(),
            // The starter site's generation.
            "N" => "0".into(),
            _ => a.clone(),
        };
    }
    args
}

fn elsewhere(cmd: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    ELSEWHERE.iter().find(|(pattern, ..)| cmd.contains(pattern))
}

#[test]
fn every_hubdr_command_parses() {
    let commands: Vec<String> = readme_commands()
        .into_iter()
        .filter(|c| args_of(c, "hubdr").is_some())
        .collect();
    assert!(commands.len() >= 20, "{commands:#?}");
    for c in &commands {
        if let Err(e) = Cli::try_parse_from(concrete(c)) {
            // --version and --help print and "fail" by design.
            if !matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayVersion | clap::error::ErrorKind::DisplayHelp
            ) {
                panic!("README command {c:?} is refused:\n{e}");
            }
        }
    }
}

/// A sandbox with the starter site rendered into `repo` and `acm-dr`, a bundle key pair in
/// `keys/bundles` and hub-b's bundle in `hub-b.tar.zst`.
fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    sandbox.hubdr(&["render", "--out", "acm-dr"]).expect_code(0);
    sandbox
        .hubdr(&["keygen", "-o", "keys/bundles"])
        .expect_code(0);
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "repo",
            "--cluster",
            "hub-b",
            "--key",
            "keys/bundles",
            "-o",
            "hub-b.tar.zst",
        ])
        .expect_code(0);
    sandbox
}

#[test]
fn every_hubdr_command_runs_as_written() {
    let root = support::manifest_dir().join("..");
    let mut ran = Vec::new();
    for c in readme_commands() {
        if elsewhere(&c).is_some() || args_of(&c, "hubdr").is_none() {
            continue;
        }
        let sandbox = sandbox();
        let mut args = concrete(&c);
        // The example render of "The two commands": from the workspace root, into the sandbox.
        let cwd = if args.iter().any(|a| a == "repos-example/site.yaml") {
            let out = sandbox.join("example").display().to_string();
            let at = args.iter().position(|a| a == "--out").unwrap() + 1;
            args[at] = out;
            root.clone()
        } else if args.windows(2).any(|w| w == ["--out", "."]) {
            // `--out .`: run in the repository, with the site file in it.
            std::fs::copy(sandbox.join("site.yaml"), sandbox.join("repo/site.yaml")).unwrap();
            sandbox.join("repo")
        } else {
            sandbox.path().to_path_buf()
        };
        if args[1] == "keygen" {
            // As on a new machine: no key yet.
            std::fs::remove_dir_all(sandbox.join("keys")).unwrap();
        }
        if args[1] == "unfence" {
            // A fenced hub to turn back: hub-a, after the failover to hub-b.
            sandbox
                .hubdr(&[
                    "failover",
                    "--to",
                    "hub-b",
                    "--out",
                    "repo",
                    "--skip-preflight",
                    "no agents",
                ])
                .expect_code(0);
        }
        let words: Vec<&str> = args[1..].iter().map(String::as_str).collect();
        let run = sandbox.hubdr_in(&cwd, &words);
        match words.first() {
            // No agent has reported in the sandbox: a clear error, not a crash.
            Some(&"status") => {
                run.expect_code(1).expect_stderr("status branch");
            }
            // Without --skip-preflight a failover needs the agents' status: refused, saying so.
            Some(&"failover") if !words.contains(&"--skip-preflight") => {
                run.expect_code(2)
                    .expect_stderr("Preflight (from the agents' status branch)");
            }
            _ => {
                run.expect_code(0);
            }
        }
        if words.contains(&"repos-example/site.yaml") {
            assert!(sandbox.join("example/.hubdr/index.yaml").is_file());
        }
        ran.push(c);
    }
    assert!(ran.len() >= 15, "{ran:#?}");
}

#[test]
fn every_command_is_exercised() {
    let root = support::manifest_dir().join("..");
    let commands = readme_commands();
    for (pattern, file, needle) in ELSEWHERE {
        assert!(
            commands.iter().any(|c| c.contains(pattern)),
            "ELSEWHERE names {pattern:?}, which the README no longer shows: take it off"
        );
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{file} (runs {pattern:?}): {e}"));
        assert!(
            text.contains(needle),
            "{file} no longer runs {pattern:?} (no {needle} in it)"
        );
    }
    // An agent command not run elsewhere would run nowhere: the sandbox has no cluster.
    for c in commands
        .iter()
        .filter(|c| args_of(c, "hubdr-agent").is_some())
    {
        assert!(
            elsewhere(c).is_some(),
            "README command {c:?}: no test runs it; add one and name it in ELSEWHERE"
        );
    }
    let text = readme();
    assert!(
        text.contains("cargo test --workspace"),
        "the README lost its test command"
    );
    assert!(Path::new(&root).join("repos-example/site.yaml").is_file());
}

#[test]
fn every_relative_link_resolves() {
    let root = support::manifest_dir().join("..").canonicalize().unwrap();
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in links::markdown_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, target) in links::links(&text) {
            checked += 1;
            if let Some(why) = links::broken(&file, &target) {
                let name = file.strip_prefix(&root).unwrap_or(&file).display();
                problems.push(format!("{name}:{line}: ({target}): {why}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links (fix the link, or the heading it points to):\n{}",
        problems.join("\n")
    );
    // The README and the docs link to each other: finding none would mean the reader broke.
    assert!(checked >= 10, "only {checked} links found");
}
