//! --templates overrides, the commit author, the benchmark, kept objects in plan.

use super::*;

pub(crate) fn embedded(name: &str) -> &'static str {
    hubdr::render::templates::EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap()
}

#[test]
pub(crate) fn a_template_override_changes_the_output() {
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
pub(crate) fn a_template_with_an_undefined_variable_fails_naming_template_and_line() {
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
pub(crate) fn a_template_that_does_not_compile_is_bad_input() {
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
pub(crate) fn an_unknown_template_file_is_refused() {
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
pub(crate) fn the_commit_author_comes_from_the_author_flag_not_git_config() {
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
pub(crate) fn the_benchmark_runs_on_a_small_fleet() {
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
pub(crate) fn plan_says_the_replica_pvc_is_kept_when_it_leaves_the_site() {
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
