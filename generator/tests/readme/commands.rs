//! The commands the README shows: the lines of its `sh` blocks and the first column of its
//! command table, as argument vectors.

/// The command lines of the README's ```sh blocks (indented ones too), continuation lines
/// joined, comments cut, `a && b` split.
pub fn sh_commands(text: &str) -> Vec<String> {
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
        let line = match line
            .find(" #")
            .or(line.trim_start().starts_with('#').then_some(0))
        {
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

/// The first column of the command table (`| `hubdr ...` | ... |`), optional parts taken, the
/// first of alternatives (`bash\|zsh\|fish`).
pub fn table_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("| `hubdr "))
        .filter_map(|l| l.split_once("` |").map(|(c, _)| format!("hubdr {c}")))
        .map(|c| {
            c.replace(['[', ']'], "")
                .replace("\\|zsh\\|fish", "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Splits on whitespace, keeping single- and double-quoted words whole (enough for the README).
pub fn words(cmd: &str) -> Vec<String> {
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

/// The command before any redirection, pipe or `||` / `&&` / `;`.
fn first(cmd: &str) -> &str {
    [" > ", " | ", " || ", " && ", "; "]
        .iter()
        .fold(cmd, |c, sep| c.split(sep).next().unwrap())
}

/// The argument vector of a README command of `program` (`hubdr` or `hubdr-agent`): the
/// command itself, or `cargo run ... -p <program> -- ...`.
pub fn args_of(cmd: &str, program: &str) -> Option<Vec<String>> {
    let w = words(first(cmd));
    if w.first().map(String::as_str) == Some(program) {
        return Some(w);
    }
    if w.starts_with(&["cargo".into(), "run".into()])
        && w.windows(2).any(|p| p[0] == "-p" && p[1] == program)
        && !w.iter().any(|a| a == "--bin")
    {
        let dash = w.iter().position(|a| a == "--")?;
        let mut args = vec![program.to_string()];
        args.extend(w[dash + 1..].iter().cloned());
        return Some(args);
    }
    None
}

#[test]
fn commands_are_read_as_written() {
    let text = "```sh\nhubdr render --sight x \\\n  --out y   # comment\n```\n\n   ```sh\n   hubdr plan -o json || echo \"it would change\"\n   # a comment line\n   ```\n| `hubdr completion bash\\|zsh\\|fish` | prints |\n| `hubdr status [--repo REPO]` | the fleet |\n";
    let sh = sh_commands(text);
    assert_eq!(
        sh,
        [
            "hubdr render --sight x --out y",
            "hubdr plan -o json || echo \"it would change\""
        ]
    );
    assert_eq!(
        args_of(&sh[1], "hubdr").unwrap(),
        ["hubdr", "plan", "-o", "json"]
    );
    assert_eq!(
        table_commands(text),
        ["hubdr completion bash", "hubdr status --repo REPO"]
    );
    assert_eq!(
        args_of(
            "cargo run --release -p hubdr -- render --out 'a b'",
            "hubdr"
        )
        .unwrap(),
        ["hubdr", "render", "--out", "a b"]
    );
    assert_eq!(args_of("cargo run -p hubdr-agent -- --help", "hubdr"), None);
}
