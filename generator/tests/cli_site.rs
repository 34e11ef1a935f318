//! Site file input as a newcomer meets it, with the real binary: unquoted cron, standard
//! input, and what `render` says about the site file it does not commit.

mod support;

use std::fs;
use std::io::Write;
use std::process::Stdio;

use support::starter::{failover_without_agents, starter};

#[test]
fn an_unquoted_cron_expression_gets_a_hint_to_quote_it() {
    let sandbox = starter();
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("schedule: "))
        .unwrap()
        .to_string();
    let indent = &line[..line.len() - line.trim_start().len()];
    fs::write(
        &path,
        text.replacen(&line, &format!("{indent}schedule: */5 * * * *"), 1),
    )
    .unwrap();
    sandbox
        .hubdr(&["validate"])
        .expect_code(2)
        .expect_stderr("is a YAML alias or anchor: quote it, e.g. schedule: \"*/5 * * * *\"");
}

#[test]
fn site_dash_reads_standard_input() {
    let sandbox = starter();
    let text = fs::read(sandbox.join("site.yaml")).unwrap();
    fs::remove_file(sandbox.join("site.yaml")).unwrap();
    for args in [
        vec!["validate", "--site", "-"],
        vec!["render", "--site", "-", "--out", "repo"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hubdr"))
            .args(&args)
            .current_dir(sandbox.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", sandbox.join(".home/gitconfig"))
            .env("HOME", sandbox.join(".home"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&text).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    assert!(sandbox.join("repo/clusters/hub-a").is_dir());
}

#[test]
fn render_says_the_site_file_is_not_committed() {
    let sandbox = starter();
    sandbox
        .hubdr(&["render", "--out", "repo"])
        .expect_code(0)
        .expect_stdout("note: only the rendered files were committed; the site file site.yaml is not in repo and is not committed by hubdr");
    // Said once, when the repository is created.
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replacen("generation: 0", "generation: 1", 1)).unwrap();
    let run = sandbox.hubdr(&["render", "--out", "repo"]);
    run.expect_code(0).expect_stdout("committed");
    assert!(!run.stdout.contains("note:"), "{run}");
}

#[test]
fn validate_warns_about_a_replication_to_its_own_cluster() {
    let sandbox = starter();
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replacen(
            "destination: {cluster: west-1,",
            "destination: {cluster: east-1,",
            1,
        ),
    )
    .unwrap();
    let run = sandbox.hubdr(&["validate"]);
    run.expect_code(0)
        .expect_stderr("warning: spec.volsync.replications[0].destination.cluster: replication db copies shop/db-data to its own cluster east-1")
        .expect_stdout("2 warning(s)");
}

#[test]
fn render_creates_the_repository_on_the_sites_branch() {
    let sandbox = starter();
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replacen("    branch: main", "    branch: dr-prod", 1),
    )
    .unwrap();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let head = fs::read_to_string(sandbox.join("repo/.git/HEAD")).unwrap();
    assert_eq!(head, "ref: refs/heads/dr-prod\n");
    assert!(sandbox.join("repo/.git/refs/heads/dr-prod").is_file());
}

#[test]
fn failover_warns_when_it_commits_onto_the_branch_the_agents_pull() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    failover_without_agents(&sandbox, &[])
        .expect_code(0)
        .expect_stderr(
            "warning: hubdr failover commits onto main in repo, the branch the agents pull",
        )
        .expect_stderr("git -C repo switch -c failover");
    // On a review branch: no warning.
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    sandbox
        .run_in(
            "git",
            &sandbox.join("repo"),
            &["switch", "-q", "-c", "failover-to-hub-b"],
        )
        .expect_code(0);
    let run = failover_without_agents(&sandbox, &[]);
    run.expect_code(0);
    assert!(!run.stderr.contains("the branch the agents pull"), "{run}");
}

/// `render --no-git` keeps the README's "Safe" promise without git: a hand edit (found by the
/// digests of the last render's index) stops it unless --force; a file hubdr did not write is
/// never deleted.
#[test]
fn render_no_git_refuses_hand_edits_and_keeps_foreign_files() {
    let sandbox = starter();
    sandbox
        .hubdr(&["render", "--out", "out", "--no-git"])
        .expect_code(0);
    let dir = sandbox.join("out/clusters/hub-b");
    let edited = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "kustomization.yaml")
        .unwrap();
    let original = fs::read_to_string(&edited).unwrap();
    fs::write(&edited, "kind: HandEdited\n").unwrap();
    let notes = sandbox.join("out/clusters/RUNBOOK.md");
    fs::write(&notes, "# call the on-call\n").unwrap();
    let name = format!(
        "clusters/hub-b/{}",
        edited.file_name().unwrap().to_string_lossy()
    );

    let run = sandbox.hubdr(&["render", "--out", "out", "--no-git"]);
    run.expect_code(2)
        .expect_stderr("files changed since the last render")
        .expect_stderr(&format!(
            "hand edits of rendered files (--force overwrites them with the render):\n    {name}\n"
        ))
        .expect_stderr("--force");
    assert_eq!(fs::read_to_string(&edited).unwrap(), "kind: HandEdited\n");

    let run = sandbox.hubdr(&["render", "--out", "out", "--no-git", "--force"]);
    run.expect_code(0)
        .expect_stderr(&format!(
            "--force: overwrote 1 hand-edited rendered file(s):\n  {name}\n"
        ))
        .expect_stderr(
            "--force: left 1 file(s) hubdr did not write in place:\n  clusters/RUNBOOK.md\n",
        );
    assert_eq!(fs::read_to_string(&edited).unwrap(), original);
    assert_eq!(fs::read_to_string(&notes).unwrap(), "# call the on-call\n");

    // A site change that removes objects still removes only hubdr's files.
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        // (Roles change only through `hubdr failover`: here auto-import is turned off, which
        // removes the hubs' MultiClusterEngine files.)
        text.replacen(
            "useManagedServiceAccount: true",
            "useManagedServiceAccount: false",
            1,
        ),
    )
    .unwrap();
    sandbox
        .hubdr(&["render", "--out", "out", "--no-git"])
        .expect_code(0)
        .expect_stdout("removed");
    assert!(notes.is_file());
}
