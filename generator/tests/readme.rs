//! The README's commands cannot rot: every `hubdr` command in its `sh` blocks parses with
//! today's command line, and the render of "The two commands" is run for real.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use hubdr::cli::Cli;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The command lines of the README's ```sh blocks, continuation lines joined, comments cut.
fn sh_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = match line.find(" #").or(line.starts_with('#').then_some(0)) {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let cmd = std::mem::take(&mut pending).trim().to_string();
        if !cmd.is_empty() {
            out.extend(cmd.split("&&").map(|c| c.trim().to_string()));
        }
    }
    out
}

/// Splits on whitespace, keeping single- and double-quoted words whole (enough for the README).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The `hubdr` argument vector of a README command: `hubdr ...` or `cargo run ... -p hubdr -- ...`.
fn hubdr_args(cmd: &str) -> Option<Vec<String>> {
    // The command before any redirection, pipe or `||` / `&&` / `;`.
    let first = [" > ", " | ", " || ", " && ", "; "]
        .iter()
        .fold(cmd, |c, sep| c.split(sep).next().unwrap());
    let w = words(first);
    if w.first().map(String::as_str) == Some("hubdr") {
        return Some(w);
    }
    if w.starts_with(&["cargo".into(), "run".into()])
        && w.windows(2).any(|p| p[0] == "-p" && p[1] == "hubdr")
        && !w.iter().any(|a| a == "--bin")
    {
        let dash = w.iter().position(|a| a == "--")?;
        let mut args = vec!["hubdr".to_string()];
        args.extend(w[dash + 1..].iter().cloned());
        return Some(args);
    }
    None
}

#[test]
fn every_hubdr_command_in_the_readme_parses() {
    let commands: Vec<Vec<String>> = sh_commands(&readme())
        .iter()
        .filter_map(|c| hubdr_args(c))
        .collect();
    // The render of "The two commands", failover, keygen, bundle create/verify, status import.
    assert!(commands.len() >= 6, "README commands found: {commands:?}");
    for args in &commands {
        match Cli::try_parse_from(args) {
            Ok(_) => {}
            // `--version` and `--help` answer by "failing" with their text.
            Err(e)
                if matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayVersion | clap::error::ErrorKind::DisplayHelp
                ) => {}
            Err(e) => panic!("README command `{}` does not parse: {e}", args.join(" ")),
        }
    }
}

#[test]
fn the_two_commands_are_there_and_the_render_runs() {
    let text = readme();
    let render = "cargo run --release -p hubdr -- render --site repos-example/site.yaml --out /tmp/hubdr-example";
    assert!(text.contains(render), "the README lost its render command");
    assert!(
        text.contains("cargo test --workspace"),
        "the README lost its test command"
    );
    let out = tempfile::tempdir().unwrap();
    let mut args = hubdr_args(render).unwrap();
    *args.last_mut().unwrap() = out.path().join("repo").display().to_string();
    let status = Command::new(env!("CARGO_BIN_EXE_hubdr"))
        .args(&args[1..])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(out.path().join("repo/.hubdr/index.yaml").is_file());
}

#[test]
fn a_bad_command_would_be_caught() {
    let cmds = sh_commands("```sh\nhubdr render --sight x \\\n  --out y   # comment\n```\n");
    assert_eq!(cmds, ["hubdr render --sight x --out y"]);
    assert!(Cli::try_parse_from(hubdr_args(&cmds[0]).unwrap()).is_err());
}
