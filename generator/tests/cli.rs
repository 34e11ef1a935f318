//! The real `hubdr` binary in fresh temporary directories with a sandboxed git configuration.
//! Every assertion prints the command, cwd, exit status, stdout and stderr when it fails.

mod support;

use std::fs;
use std::path::Path;

use support::starter::{edit_site, lines, section, starter, FAILOVER};
use support::Sandbox;

const DISCONNECTED: &[(&str, &str)] = &[(
    "  managedClusters:",
    "  disconnected:\n    catalogSource: redhat-operator-index\n  managedClusters:",
)];

// ---------------------------------------------------------------------------------------------
// init and validate
// ---------------------------------------------------------------------------------------------

#[test]
fn init_writes_a_starter_that_validates_and_renders() {
    let sandbox = Sandbox::new();
    sandbox
        .hubdr(&["init"])
        .expect_code(0)
        .expect_stdout("wrote site.yaml");
    let text = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    assert!(text.starts_with("# hubdr site file"), "{text}");
    let (loaded, rendered) = support::render_file(&sandbox.join("site.yaml"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let run = sandbox.hubdr(&["validate"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "site.yaml is valid: 2 hub(s), 2 managed cluster(s), 1 replication(s), {} object(s) to render, 0 warning(s)\n",
            rendered.objects.len()
        ),
        "{run}"
    );
    assert!(run.stderr.is_empty(), "{run}");
    assert_eq!(sandbox.listing(), ["site.yaml"], "validate writes nothing");

    sandbox
        .hubdr(&["render", "--out", "repo"])
        .expect_code(0)
        .expect_stdout("repo: committed ");
    assert_eq!(support::read_tree(&sandbox.join("repo")), rendered.tree);
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.join("site.yaml"), "# mine\n").unwrap();
    sandbox
        .hubdr(&["init"])
        .expect_code(2)
        .expect_stderr("site.yaml already exists")
        .expect_stderr("--force");
    assert_eq!(
        fs::read_to_string(sandbox.join("site.yaml")).unwrap(),
        "# mine\n"
    );

    sandbox
        .hubdr(&["init", "--out", "other.yaml"])
        .expect_code(0);
    assert!(sandbox.join("other.yaml").is_file());

    sandbox.hubdr(&["init", "--force"]).expect_code(0);
    assert_eq!(
        fs::read(sandbox.join("site.yaml")).unwrap(),
        fs::read(sandbox.join("other.yaml")).unwrap(),
        "--force replaces the file with the starter"
    );
}

#[test]
fn validate_counts_warnings_and_a_missing_site_file_is_bad_input() {
    let sandbox = starter();
    edit_site(
        &sandbox,
        &[("      apiServer: https://api.west-1.example.com:6443\n", "")],
    );
    sandbox
        .hubdr(&["validate"])
        .expect_code(0)
        .expect_stdout("1 warning(s)")
        .expect_stderr("warning: spec.managedClusters[1].apiServer: ");

    sandbox
        .hubdr(&["validate", "--site", "nowhere.yaml"])
        .expect_code(2)
        .expect_stderr("cannot read site file nowhere.yaml")
        .expect_stderr("fix: ");
}

// ---------------------------------------------------------------------------------------------
// render
// ---------------------------------------------------------------------------------------------

#[test]
fn render_creates_the_repository_with_one_commit_listing_changes_per_cluster() {
    let sandbox = starter();
    let run = sandbox.hubdr(&["render", "--out", "repo"]);
    run.expect_code(0);
    let repo = sandbox.join("repo");
    let commits = support::commits(&repo);
    assert_eq!(commits.len(), 1, "{run}");
    let message = &commits[0].1;
    assert!(
        message.starts_with("hubdr render: my-site generation 0: 12 object(s) in 4 cluster(s)\n"),
        "{message}"
    );
    assert_eq!(
        lines(section(message, "hub-a")),
        [
            "  + BackupSchedule open-cluster-management-backup/schedule-acm",
            "  + DataProtectionApplication open-cluster-management-backup/velero",
            "  + kustomization.yaml",
            "  + ManagedClusterAddOn east-1/volsync",
            "  + ManagedClusterAddOn west-1/volsync",
            "  + MultiClusterEngine multiclusterengine",
            "  + MultiClusterHub open-cluster-management/multiclusterhub",
        ],
        "{message}"
    );
    assert!(section(message, "hub-b")
        .contains("  + Restore open-cluster-management-backup/restore-acm-passive-sync-g0\n"));
    assert!(section(message, "east-1").contains("  + ReplicationSource shop/db\n"));
    assert!(section(message, "west-1").contains("  + ReplicationDestination shop/db\n"));
    assert!(section(message, "repository").contains("  + argocd/applicationset.yaml\n"));
    // The command prints the same per-cluster list.
    run.expect_stdout("hub-a:\n  + BackupSchedule open-cluster-management-backup/schedule-acm\n");

    let (_, rendered) = support::render_file(&sandbox.join("site.yaml"));
    assert_eq!(support::head_tree(&repo), rendered.tree);
    assert!(
        support::git_status(&repo).is_empty(),
        "{:?}",
        support::git_status(&repo)
    );
}

#[test]
fn a_second_render_without_changes_makes_no_commit() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let repo = sandbox.join("repo");
    let before = support::commits(&repo);
    let stamps = support::stamps(&repo, false);
    let run = sandbox.hubdr(&["render", "--out", "repo"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "repo: up to date, nothing to commit\n", "{run}");
    assert_eq!(support::commits(&repo), before);
    assert_eq!(
        support::stamps(&repo, false),
        stamps,
        "no file was rewritten"
    );
}

#[test]
fn render_refuses_hand_edited_files_and_force_overrides_them() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let repo = sandbox.join("repo");
    let edited = repo.join(
        "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml",
    );
    let original = fs::read_to_string(&edited).unwrap();
    let hand = original.replace("CleanupRestored", "CleanupAll");
    assert_ne!(hand, original);
    fs::write(&edited, &hand).unwrap();
    let extra = repo.join("clusters/hub-a/extra.yaml");
    fs::write(&extra, "kind: ConfigMap\n").unwrap();
    let commits = support::commits(&repo);

    let run = sandbox.hubdr(&["render", "--out", "repo"]);
    run.expect_code(2)
        .expect_stderr("uncommitted changes")
        .expect_stderr(
            "hand edits of rendered files (--force overwrites them with the render):\n    clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml\n",
        )
        .expect_stderr(
            "files hubdr did not write (never deleted, also not with --force):\n    clusters/hub-a/extra.yaml\n",
        )
        .expect_stderr("--force");
    assert_eq!(fs::read_to_string(&edited).unwrap(), hand, "not touched");
    assert!(extra.is_file(), "not touched");
    assert_eq!(support::commits(&repo), commits);

    let run = sandbox.hubdr(&["render", "--out", "repo", "--force"]);
    run.expect_code(0)
        .expect_stderr("--force: overwrote 1 hand-edited rendered file(s):\n  clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml\n")
        .expect_stderr("--force: left 1 file(s) hubdr did not write in place:\n  clusters/hub-a/extra.yaml\n");
    assert_eq!(
        fs::read_to_string(&edited).unwrap(),
        original,
        "--force overwrites the hand edit\n{run}"
    );
    assert_eq!(
        fs::read_to_string(&extra).unwrap(),
        "kind: ConfigMap\n",
        "--force never deletes a file hubdr did not write\n{run}"
    );
    let status = support::git_status(&repo);
    assert!(
        status.len() == 1 && status[0].ends_with(" clusters/hub-a/extra.yaml"),
        "only the file hubdr did not write is left uncommitted: {status:?}"
    );
    assert_eq!(
        support::commits(&repo),
        commits,
        "the render equals HEAD: no commit"
    );
    fs::remove_file(&extra).unwrap();

    // With a site change, --force also commits.
    fs::write(&edited, &hand).unwrap();
    edit_site(&sandbox, DISCONNECTED);
    sandbox
        .hubdr(&["render", "--out", "repo", "--force"])
        .expect_code(0);
    assert_eq!(
        fs::read_to_string(&edited).unwrap(),
        original,
        "the hand edit is overwritten"
    );
    assert_eq!(support::commits(&repo).len(), 2);
    assert!(support::git_status(&repo).is_empty());
}

#[test]
fn render_into_a_non_empty_directory_that_is_not_a_repository_touches_nothing() {
    let sandbox = starter();
    let dir = sandbox.join("notes");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("todo.txt"), "buy milk\n").unwrap();
    let before = support::stamps(&dir, true);
    let run = sandbox.hubdr(&["render", "--out", "notes"]);
    run.expect_code(2)
        .expect_stderr("notes exists, is not empty and is not a git repository");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(!dir.join(".git").exists(), "{run}");
    assert_eq!(
        support::stamps(&dir, true),
        before,
        "nothing touched\n{run}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("todo.txt")).unwrap(),
        "buy milk\n"
    );
}

#[test]
fn render_refuses_a_malformed_author() {
    let sandbox = starter();
    sandbox
        .hubdr(&["render", "--out", "repo", "--author", "nobody"])
        .expect_code(2)
        .expect_stderr("--author \"nobody\" is not \"Name <email>\"");
    assert!(!sandbox.join("repo").exists());
    let run = sandbox.hubdr(&[
        "render",
        "--out",
        "repo",
        "--author",
        "Platform Team <platform@example.com>",
    ]);
    run.expect_code(0);
    support::sandbox_git_env();
    let repo = git2::Repository::open(sandbox.join("repo")).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.author().name(), Some("Platform Team"));
    assert_eq!(head.author().email(), Some("platform@example.com"));
}

#[test]
fn render_no_git_writes_a_plain_directory() {
    let sandbox = starter();
    sandbox
        .hubdr(&["render", "--out", "plain", "--no-git"])
        .expect_code(0);
    let dir = sandbox.join("plain");
    assert!(!dir.join(".git").exists());
    let (_, rendered) = support::render_file(&sandbox.join("site.yaml"));
    assert_eq!(support::read_tree(&dir), rendered.tree);
    let stamps = support::stamps(&dir, false);
    sandbox
        .hubdr(&["render", "--out", "plain", "--no-git"])
        .expect_code(0)
        .expect_stdout("0 file(s) written, 0 removed");
    assert_eq!(support::stamps(&dir, false), stamps);
}

/// In the crate root: its snapshot keeps its name (`cli__plan_markdown`).
#[test]
fn plan_markdown_is_a_pull_request_description() {
    let sandbox = planned();
    let run = sandbox.hubdr(&["plan", "--out", "repo", "--markdown"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("## Plan for site my-site (generation 1)\n"),
        "{run}"
    );
    support::snapshots().bind(|| insta::assert_snapshot!("plan_markdown", run.stdout));
}

#[path = "cli/plan.rs"]
mod plan;
#[allow(unused_imports)]
use plan::*;
#[path = "cli/templates.rs"]
mod templates;
#[allow(unused_imports)]
use templates::*;
