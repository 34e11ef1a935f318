//! The real `hubdr` binary in fresh temporary directories with a sandboxed git configuration.
//! Every assertion prints the command, cwd, exit status, stdout and stderr when it fails.

mod support;

use std::fs;
use std::path::Path;

use support::Sandbox;

/// A sandbox holding the starter site (`hubdr init`).
fn starter() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox
}

/// Edit the site file in the sandbox: each (old, new) must occur.
fn edit_site(sandbox: &Sandbox, edits: &[(&str, &str)]) {
    let path = sandbox.join("site.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "site.yaml lacks {old:?}");
        text = text.replacen(old, new, 1);
    }
    fs::write(&path, text).unwrap();
}

/// The starter after a failover: hub-a fenced, hub-b active, generation 1.
const FAILOVER: &[(&str, &str)] = &[
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

const DISCONNECTED: &[(&str, &str)] = &[(
    "  managedClusters:",
    "  disconnected:\n    catalogSource: redhat-operator-index\n  managedClusters:",
)];

fn section<'a>(message: &'a str, cluster: &str) -> &'a str {
    let start = message
        .find(&format!("\n{cluster}:\n"))
        .unwrap_or_else(|| panic!("no section {cluster} in:\n{message}"));
    let rest = &message[start + cluster.len() + 3..];
    match rest.find("\n\n") {
        Some(end) => &rest[..end + 1],
        None => rest,
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).collect()
}

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
        message.starts_with("hubdr render: my-site generation 0: 10 object(s) in 4 cluster(s)\n"),
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
            "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml",
        )
        .expect_stderr("clusters/hub-a/extra.yaml")
        .expect_stderr("--force");
    assert_eq!(fs::read_to_string(&edited).unwrap(), hand, "not touched");
    assert!(extra.is_file(), "not touched");
    assert_eq!(support::commits(&repo), commits);

    let run = sandbox.hubdr(&["render", "--out", "repo", "--force"]);
    run.expect_code(0);
    assert_eq!(
        fs::read_to_string(&edited).unwrap(),
        original,
        "--force overwrites the hand edit\n{run}"
    );
    assert!(
        !extra.exists(),
        "--force removes files hubdr does not render\n{run}"
    );
    assert!(
        support::git_status(&repo).is_empty(),
        "{:?}",
        support::git_status(&repo)
    );
    assert_eq!(
        support::commits(&repo),
        commits,
        "the render equals HEAD: no commit"
    );

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

// ---------------------------------------------------------------------------------------------
// plan
// ---------------------------------------------------------------------------------------------

/// A rendered starter repo, then the site changed to a disconnected failover.
fn planned() -> Sandbox {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    edit_site(&sandbox, FAILOVER);
    edit_site(&sandbox, DISCONNECTED);
    sandbox
}

/// Every cluster's agent pulls the (https) repository with a token from this Secret.
const GIT_SECRET: &str = "    Secret hubdr-agent/hubdr-git-credentials keys [token]: hubdr-agent's access to the git repository";

#[test]
fn plan_lists_changes_and_prerequisites_per_cluster_and_writes_nothing() {
    let sandbox = planned();
    let repo = sandbox.join("repo");
    let head = support::commits(&repo);
    let before = support::stamps(&repo, true);

    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0);
    let out = &run.stdout;
    assert!(
        out.starts_with(
            "Plan for site my-site (generation 1): 3 to create, 4 to change, 1 to remove\n"
        ),
        "{run}"
    );
    let cluster = |name: &str| -> Vec<&str> {
        let start = out
            .find(&format!("\n{name} ("))
            .unwrap_or_else(|| panic!("no {name}\n{run}"));
        let rest = &out[start + 1..];
        rest[..rest.find("\n\n").unwrap()].lines().collect()
    };
    assert_eq!(
        cluster("hub-a"),
        [
            "hub-a (hub, fenced)",
            "  ~ BackupSchedule open-cluster-management-backup/schedule-acm",
            "  ~ DataProtectionApplication open-cluster-management-backup/velero",
            "  ~ MultiClusterHub open-cluster-management/multiclusterhub",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    CatalogSource openshift-marketplace/redhat-operator-index: OADP operator install on a disconnected hub",
            GIT_SECRET,
            "    Secret open-cluster-management-backup/cloud-credentials keys [cloud]: DataProtectionApplication backup location credentials",
        ],
        "{run}"
    );
    assert_eq!(
        cluster("hub-b"),
        [
            "hub-b (hub, active)",
            "  + BackupSchedule open-cluster-management-backup/schedule-acm",
            "  + ManagedClusterAddOn east-1/volsync",
            "  + ManagedClusterAddOn west-1/volsync",
            "  ~ MultiClusterHub open-cluster-management/multiclusterhub",
            "  - Restore open-cluster-management-backup/restore-acm-passive-sync-g0",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    CatalogSource openshift-marketplace/redhat-operator-index: OADP operator install on a disconnected hub",
            GIT_SECRET,
            "    Secret open-cluster-management-backup/cloud-credentials keys [cloud]: DataProtectionApplication backup location credentials",
        ],
        "{run}"
    );
    assert_eq!(
        cluster("east-1"),
        [
            "east-1 (managed)",
            "  no changes",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    PersistentVolumeClaim shop/db-data: replication db (rsync-tls): the volume to protect",
            GIT_SECRET,
            "    Secret shop/db-psk keys [psk.txt]: replication db (rsync-tls)",
        ],
        "{run}"
    );
    assert!(
        cluster("west-1")
            .contains(&"    Secret shop/db-psk keys [psk.txt]: replication db (rsync-tls)"),
        "{run}"
    );
    assert!(cluster("west-1").contains(&GIT_SECRET), "{run}");
    // FAILOVER is a hand edit: hub-b has no activeSince, so its schedule is not gated.
    run.expect_stderr(
        "warning: spec.hubs[1].role: a hub is fenced but the active hub has no activeSince",
    );

    assert_eq!(support::commits(&repo), head, "plan commits nothing");
    assert_eq!(
        support::stamps(&repo, true),
        before,
        "plan writes nothing\n{run}"
    );
    assert!(support::git_status(&repo).is_empty());
}

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

#[test]
fn plan_without_a_repository_shows_everything_new_and_creates_nothing() {
    let sandbox = starter();
    let run = sandbox.hubdr(&["plan", "--out", "missing"]);
    run.expect_code(0).expect_stdout(
        "Plan for site my-site (generation 0): 10 to create, 0 to change, 0 to remove\n",
    );
    assert!(
        !run.stdout.contains("  ~ ") && !run.stdout.contains("  - "),
        "{run}"
    );
    assert!(!sandbox.join("missing").exists(), "{run}");
    assert_eq!(sandbox.listing(), ["site.yaml"]);
}

#[test]
fn plan_after_render_has_nothing_to_do() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0)
        .expect_stdout("0 to create, 0 to change, 0 to remove\n");
    assert_eq!(run.stdout.matches("  no changes\n").count(), 4, "{run}");
}

/// Two more replications east-1 -> west-1 beside the starter's `db`.
const MORE_REPLICATIONS: &[(&str, &str)] = &[(
    "        destination: {cluster: west-1, namespace: shop, capacity: 10Gi}\n",
    "        destination: {cluster: west-1, namespace: shop, capacity: 10Gi}
      - {name: cache, method: rsync-tls, schedule: \"*/15 * * * *\", pskSecret: db-psk,
         source: {cluster: east-1, namespace: shop, pvc: cache-data},
         destination: {cluster: west-1, namespace: shop, capacity: 1Gi}}
      - {name: logs, method: rsync-tls, schedule: \"*/15 * * * *\", pskSecret: db-psk,
         source: {cluster: east-1, namespace: shop, pvc: logs-data},
         destination: {cluster: west-1, namespace: shop, capacity: 1Gi}}
",
)];

#[test]
fn plan_shows_the_prune_guard_of_clusters_that_would_lose_most_of_their_objects() {
    let sandbox = starter();
    edit_site(&sandbox, MORE_REPLICATIONS);
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let quiet = sandbox.hubdr(&["plan", "--out", "repo"]);
    assert!(!quiet.stdout.contains("Prune guard"), "{quiet}");

    // Two of the three replications go: east-1 loses 2 of its 3 ReplicationSources.
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find("      - {name: cache").unwrap();
    assert!(
        text[start..].trim_end().ends_with("capacity: 1Gi}}"),
        "the last lines"
    );
    fs::write(&path, &text[..start]).unwrap();
    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0);

    let guard = &run.stdout[run
        .stdout
        .find("Prune guard")
        .unwrap_or_else(|| panic!("no prune guard\n{run}"))..];
    assert!(
        guard.starts_with(
            "Prune guard: these agents will hold pruning (status reason PruneGuard):\n"
        ),
        "{run}"
    );
    assert!(
        guard.contains("  east-1: 2 of the 3 object(s) this agent owns would be deleted (more than 50%), so nothing is pruned; if that is intended, run the agent once with --allow-mass-prune\n"),
        "{run}"
    );
    assert!(guard.contains("  west-1: 2 of the 3 object(s)"), "{run}");
    assert!(!guard.contains("hub-"), "the hubs lose nothing: {run}");

    // The same in a pull request description.
    let markdown = sandbox.hubdr(&["plan", "--out", "repo", "--markdown"]);
    assert!(
        markdown
            .stdout
            .contains("### Prune guard: these agents will hold pruning (status reason PruneGuard)\n\n- **east-1**: 2 of the 3"),
        "{markdown}"
    );
}

// ---------------------------------------------------------------------------------------------
// --templates
// ---------------------------------------------------------------------------------------------

fn embedded(name: &str) -> &'static str {
    hubdr::render::templates::EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap()
}

#[test]
fn a_template_override_changes_the_output() {
    let sandbox = starter();
    let dir = sandbox.join("templates");
    fs::create_dir(&dir).unwrap();
    let restore = embedded("restore.yaml.j2");
    let changed = restore.replace(
        "  namespace: {{ namespace }}\n",
        "  namespace: {{ namespace }}\n  labels:\n    tier: passive-sync\n",
    );
    assert_ne!(changed, restore);
    fs::write(dir.join("restore.yaml.j2"), changed).unwrap();

    sandbox
        .hubdr(&["render", "--out", "repo", "--templates", "templates"])
        .expect_code(0);
    let repo = sandbox.join("repo");
    let restore_file = fs::read_to_string(repo.join(
        "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml",
    ))
    .unwrap();
    assert!(
        restore_file.contains("    tier: passive-sync\n"),
        "{restore_file}"
    );
    assert!(
        restore_file.contains("    app.kubernetes.io/managed-by: hubdr\n"),
        "hubdr's labels are merged with the template's: {restore_file}"
    );
    let index = fs::read_to_string(repo.join(".hubdr/index.yaml")).unwrap();
    assert!(index.contains("templates: sha256:"), "{index}");
    let (_, embedded_render) = support::render_file(&sandbox.join("site.yaml"));
    let on_disk = support::read_tree(&repo);
    let differ: Vec<&String> = on_disk
        .iter()
        .filter(|(p, b)| embedded_render.tree.get(*p) != Some(*b))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        differ,
        [
            ".hubdr/index.yaml",
            "clusters/hub-b/restore.open-cluster-management-backup.restore-acm-passive-sync-g0.yaml"
        ],
        "only the overridden template's output (and the index) change"
    );
    if support::shared_available() {
        support::validate_manifests(&repo)
            .expect_code(0)
            .expect_stdout(" 0 failed");
    }

    // Back to the embedded templates: the change is reverted in a new commit.
    sandbox
        .hubdr(&["render", "--out", "repo"])
        .expect_code(0)
        .expect_stdout("~ Restore open-cluster-management-backup/restore-acm-passive-sync-g0");
    assert_eq!(support::read_tree(&repo), embedded_render.tree);
}

#[test]
fn a_template_with_an_undefined_variable_fails_naming_template_and_line() {
    let sandbox = starter();
    let dir = sandbox.join("templates");
    fs::create_dir(&dir).unwrap();
    let text = embedded("backupschedule.yaml.j2").replace(
        "  veleroSchedule: {{ schedule | tojson }}\n",
        "  veleroSchedule: {{ schedule | tojson }}\n  paused: {{ pause_backups }}\n",
    );
    let line = text
        .lines()
        .position(|l| l.contains("pause_backups"))
        .unwrap()
        + 1;
    fs::write(dir.join("backupschedule.yaml.j2"), text).unwrap();
    let run = sandbox.hubdr(&["render", "--out", "repo", "--templates", "templates"]);
    run.expect_code(2)
        .expect_stderr("template backupschedule.yaml.j2 for cluster hub-a")
        .expect_stderr(&format!("backupschedule.yaml.j2:{line}: undefined value"))
        .expect_stderr("fix: ");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(!sandbox.join("repo").exists(), "nothing written\n{run}");
}

#[test]
fn a_template_that_does_not_compile_is_bad_input() {
    let sandbox = starter();
    let dir = sandbox.join("templates");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("namespace.yaml.j2"), "kind: Namespace\n{% if %}\n").unwrap();
    sandbox
        .hubdr(&["validate", "--templates", "templates"])
        .expect_code(2)
        .expect_stderr("template namespace.yaml.j2 does not compile")
        .expect_stderr("namespace.yaml.j2:2")
        .expect_stderr("fix: ");
}

#[test]
fn an_unknown_template_file_is_refused() {
    let sandbox = starter();
    let dir = sandbox.join("templates");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("restores.yaml.j2"), embedded("restore.yaml.j2")).unwrap();
    let run = sandbox.hubdr(&["render", "--out", "repo", "--templates", "templates"]);
    run.expect_code(2)
        .expect_stderr("restores.yaml.j2 is not a template hubdr uses")
        .expect_stderr("restore.yaml.j2")
        .expect_stderr("fix: ");
    assert!(!sandbox.join("repo").exists(), "{run}");
    assert_eq!(sandbox.listing(), ["site.yaml", "templates"]);
}

#[test]
fn the_commit_author_comes_from_the_author_flag_not_git_config() {
    let sandbox = starter();
    let home = sandbox.join(".home");
    fs::write(
        home.join("gitconfig"),
        "[user]\n\tname = Leaked\n\temail = leaked@example.com\n",
    )
    .unwrap();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    support::sandbox_git_env();
    let repo = git2::Repository::open(sandbox.join("repo")).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(
        head.author().name(),
        Some("hubdr"),
        "the author comes from --author, never from git config"
    );
    assert_eq!(Path::new(repo.workdir().unwrap()), sandbox.join("repo"));
}

/// `hubdr-bench` runs end to end on a small fleet and prints every row it promises, with no
/// file written by the no-change re-renders and git's own checkout of the same files.
#[test]
fn the_benchmark_runs_on_a_small_fleet() {
    let sandbox = Sandbox::new();
    let keep = sandbox.join("bench");
    let args = [
        "--clusters",
        "30",
        "--replications",
        "12",
        "--runs",
        "2",
        "--keep",
        keep.to_str().unwrap(),
    ];
    let run = sandbox.run_in(env!("CARGO_BIN_EXE_hubdr-bench"), sandbox.path(), &args);
    run.expect_code(0)
        .expect_stdout("2 hub(s), 30 managed cluster(s), 12 replication(s)")
        .expect_stdout("full render into a fresh repository")
        .expect_stdout("no-change re-render without the stamp")
        .expect_stdout("peak RSS (VmHWM)")
        .expect_stdout(&format!(
            "repositories in {}",
            keep.canonicalize().unwrap().display()
        ));
    let written = run
        .stdout
        .lines()
        .find(|l| l.starts_with("files written by the no-change re-renders"))
        .unwrap_or_else(|| panic!("no files-written row\n{run}"));
    assert!(
        written.ends_with(" 0  (changed mtime/inode/size; git diff: 0 change(s))"),
        "{written}"
    );
    // git's checkout wrote the same files as the render, in each run.
    run.expect_stdout("for scale: git checkout, same files");
    for i in 0..2 {
        let rendered = support::read_tree(&keep.join(format!("repo-{i}")));
        let checked_out = support::read_tree(&keep.join(format!("repo-{i}.git-checkout")));
        assert!(rendered.len() > 60, "{} files", rendered.len());
        assert_eq!(rendered, checked_out);
    }
}

/// The replica PVC, rendered `hubdr.io/prune: disabled` because it holds data (seed §1.2.2),
/// leaves the site: the plan says it stays in the cluster.
#[test]
fn plan_says_the_replica_pvc_is_kept_when_it_leaves_the_site() {
    let sandbox = Sandbox::new();
    let example = support::manifest_dir().join("../repos-example/site.yaml");
    let text = fs::read_to_string(&example).unwrap();
    fs::write(sandbox.join("site.yaml"), &text).unwrap();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    // The replication keeps its destination but no longer asks for a replica PVC.
    let start = text
        .find("          pvc:\n")
        .expect("the example has a replica PVC");
    let end = start + "          pvc:\n            name: orders-db-replica\n".len();
    assert_eq!(
        &text[start..end],
        "          pvc:\n            name: orders-db-replica\n"
    );
    fs::write(
        sandbox.join("site.yaml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0).expect_stdout(
        "  - PersistentVolumeClaim shop/orders-db-replica (left in the cluster, not deleted: hubdr.io/prune: disabled; it holds data)",
    );
}
