//! Every `hubdr` command the README shows (in its command table and its `sh` blocks) is one
//! the CLI accepts, and the scripting examples run as written.

mod support;

use clap::Parser;
use hubdr::cli::Cli;
use support::Sandbox;

fn readme() -> String {
    std::fs::read_to_string(support::manifest_dir().join("../README.md")).unwrap()
}

/// The `hubdr ...` command lines of the README's `sh` blocks (continuations joined,
/// comments, pipes and redirections cut).
fn sh_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        pending.push_str(line.trim_end_matches('\\'));
        if line.ends_with('\\') {
            continue;
        }
        let command = std::mem::take(&mut pending);
        let command = ["#", "||", ">", "&&", "|"]
            .iter()
            .fold(command.as_str(), |c, cut| c.split(cut).next().unwrap())
            .trim()
            .to_string();
        if command.starts_with("hubdr ") {
            out.push(command);
        }
    }
    out
}

/// The first column of the command table, as a runnable line: optional parts taken, the first
/// of alternatives, numbers for `N`.
fn table_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("| `hubdr "))
        .filter_map(|l| l.split_once("` |").map(|(c, _)| format!("hubdr {c}")))
        .filter(|c| !c.contains("..."))
        .map(|c| {
            c.replace(['[', ']'], "")
                .replace("\\|zsh\\|fish", "")
                .split_whitespace()
                .map(|w| if w == "N" { "1" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn every_readme_command_is_accepted_by_the_cli() {
    let text = readme();
    let mut commands = sh_commands(&text);
    commands.extend(table_commands(&text));
    assert!(commands.len() >= 20, "{commands:#?}");
    for c in &commands {
        let words: Vec<&str> = c.split_whitespace().collect();
        if let Err(e) = Cli::try_parse_from(&words) {
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

#[test]
fn the_readme_scripting_and_install_examples_run() {
    let text = readme();
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let mut ran = 0;
    for c in sh_commands(&text) {
        let words: Vec<&str> = c.split_whitespace().skip(1).collect();
        let runnable = matches!(
            words.first(),
            Some(&"plan") | Some(&"--version") | Some(&"completion")
        ) || (words.first() == Some(&"status") && words.contains(&"repo"));
        if !runnable {
            continue;
        }
        let run = sandbox.hubdr(&words);
        if words.first() == Some(&"status") {
            // No agent has reported in the sandbox: a clear error, not a crash.
            run.expect_code(1).expect_stderr("has no status branch");
        } else {
            run.expect_code(0);
        }
        ran += 1;
    }
    assert!(ran >= 5, "ran {ran}");
}
