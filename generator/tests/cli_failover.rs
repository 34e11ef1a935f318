//! `hubdr failover` and `hubdr render` around failovers, through the real binary: the failover
//! commit, the refusal of hand-made role changes and lower generations, and a fleet's plan that
//! fits a pull request description.

mod support;

use std::fmt::Write as _;
use std::fs;

use support::starter::{edit_site, failover_without_agents, lines, section, starter, FAILOVER};
use support::Sandbox;

/// Swapping roles by hand (or lowering the generation, as a `git revert` of a failover's site
/// change does) is refused by `hubdr render`, naming the commands that sequence the change;
/// nothing is written.
#[test]
fn render_refuses_a_hand_edited_failover_and_a_lower_generation() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let repo = sandbox.join("repo");
    let commits = support::commits(&repo);
    let original = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    edit_site(&sandbox, FAILOVER);
    sandbox
        .hubdr(&["render", "--out", "repo"])
        .expect_code(2)
        .expect_stderr("hub roles differ from the committed render (.hubdr/index.yaml): hub-a: active -> fenced, hub-b: passive -> active")
        .expect_stderr("`hubdr failover --to HUB`")
        .expect_stderr("nothing was written");
    assert_eq!(support::commits(&repo), commits);
    sandbox
        .hubdr(&["render", "--no-git", "--out", "repo"])
        .expect_code(2)
        .expect_stderr("hub roles differ");
    assert!(support::git_status(&repo).is_empty(), "nothing was written");

    // A real failover, then its site change undone (git revert): a lower generation.
    fs::write(sandbox.join("site.yaml"), &original).unwrap();
    failover_without_agents(&sandbox, &[]).expect_code(0);
    let commits = support::commits(&repo);
    fs::write(sandbox.join("site.yaml"), &original).unwrap();
    sandbox
        .hubdr(&["render", "--out", "repo"])
        .expect_code(2)
        .expect_stderr(
            "failover.generation 0 is lower than 1, the generation of the committed render",
        )
        .expect_stderr("`hubdr failover --abort`");
    assert_eq!(support::commits(&repo), commits);
}

#[test]
fn a_failover_makes_one_commit_listing_removed_and_added_objects_per_cluster() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    // No agent has reported: the preflight fails, and nothing changes without a reason.
    let site = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    sandbox
        .hubdr(&["failover", "--to", "hub-b", "--out", "repo"])
        .expect_code(2)
        .expect_stderr("FAIL  -      status-branch")
        .expect_stderr("the preflight of the failover to hub-b failed")
        .expect_stderr("--skip-preflight");
    assert_eq!(fs::read_to_string(sandbox.join("site.yaml")).unwrap(), site);
    let run = sandbox.hubdr(&[
        "failover",
        "--to",
        "hub-b",
        "--out",
        "repo",
        "--skip-preflight",
        "a drill on a lab site",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Preflight skipped: a drill on a lab site"),
        "{run}"
    );
    let repo = sandbox.join("repo");
    let commits = support::commits(&repo);
    assert_eq!(commits.len(), 2, "{run}");
    let message = &commits[0].1;
    assert!(
        message.starts_with("hubdr render: my-site generation 1: "),
        "{message}"
    );
    assert!(
        message.contains(
            "\n\nPreflight skipped: a drill on a lab site\nFailed checks:\n- - status-branch: "
        ),
        "{message}"
    );
    assert_eq!(
        lines(section(message, "hub-a")),
        [
            "  ~ BackupSchedule open-cluster-management-backup/schedule-acm",
            "  ~ DataProtectionApplication open-cluster-management-backup/velero",
        ],
        "{message}"
    );
    assert_eq!(
        lines(section(message, "hub-b")),
        [
            "  + BackupSchedule open-cluster-management-backup/schedule-acm",
            "  ~ kustomization.yaml",
            "  + ManagedClusterAddOn east-1/volsync",
            "  + ManagedClusterAddOn west-1/volsync",
            "  ~ Restore open-cluster-management-backup/restore-acm-passive-sync-g0",
        ],
        "{message}"
    );
    assert!(
        !message.contains("\neast-1:") && !message.contains("\nwest-1:"),
        "managed clusters did not change:\n{message}"
    );
    let head = support::head_tree(&repo);
    // ACM 2.15 (the default): the old primary keeps its BackupSchedule, paused.
    let hub_a_schedule = String::from_utf8(
        head["clusters/hub-a/backupschedule.open-cluster-management-backup.schedule-acm.yaml"]
            .clone(),
    )
    .unwrap();
    assert!(
        hub_a_schedule.contains("  paused: true\n"),
        "{hub_a_schedule}"
    );
    assert!(head.contains_key(
        "clusters/hub-b/backupschedule.open-cluster-management-backup.schedule-acm.yaml"
    ));
    let hub_a_dpa = String::from_utf8(
        head["clusters/hub-a/dataprotectionapplication.open-cluster-management-backup.velero.yaml"]
            .clone(),
    )
    .unwrap();
    assert!(hub_a_dpa.contains("accessMode: ReadOnly"), "{hub_a_dpa}");
    assert_eq!(support::read_tree(&repo), head, "the worktree is HEAD");
    assert!(support::git_status(&repo).is_empty());
}

/// A fleet of `clusters` managed clusters, each with a restic backup (so each hub renders a
/// volsync add-on per cluster), two hubs, imported clusters without auto-import.
fn fleet_site(clusters: usize) -> String {
    let mut y = String::from(
        "apiVersion: hubdr.io/v1alpha1
kind: Site
metadata:
  name: fleet
spec:
  git:
    url: https://git.example.com/platform/acm-dr.git
  storage:
    provider: aws
    bucket: acm-backups
    region: eu-west-1
    credentialsSecret: {name: cloud-credentials}
  backup:
    schedule: \"0 */2 * * *\"
  hubs:
    - name: hub-a
      role: active
    - name: hub-b
      role: passive
  failover:
    generation: 0
  managedClusters:
",
    );
    for c in 0..clusters {
        let _ = writeln!(y, "    - name: c-{c}");
    }
    y.push_str("  volsync:\n    replications:\n");
    for c in 0..clusters {
        let _ = writeln!(
            y,
            "      - {{name: data-{c}, method: restic, schedule: \"0 * * * *\", repositorySecret: restic-c-{c}, source: {{cluster: c-{c}, namespace: app, pvc: data}}}}"
        );
    }
    y
}

/// `--markdown` for a 5,000-cluster fleet fits a pull request description (65,536 characters);
/// the full per-object list is in a file beside the site file.
#[test]
fn a_fleet_failover_plan_fits_a_pull_request_with_the_full_list_beside_it() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.join("site.yaml"), fleet_site(5000)).unwrap();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let run = failover_without_agents(&sandbox, &["--markdown"]);
    run.expect_code(0);
    let description = &run.stdout;
    assert!(
        description.len() <= 65_536,
        "{} characters",
        description.len()
    );
    for expected in [
        "## Plan for site fleet (generation 1)",
        "The full per-object list (and every prerequisite) is in `failover-plan-g1.md`.",
        "### hub-b (hub, active)",
        "and 4982 more (4981 `+`, 1 `~`)",
        "5000 managed clusters: 5000 unchanged, 0 with changes.",
        // The same summary as `plan --markdown`: per cluster group and kind, the prerequisites.
        "### Changes per cluster group and kind",
        "| active hubs | 1 of 1 | ManagedClusterAddOn | 5000 | 0 | 0 |",
        "### Prerequisites",
        "## Preflight (from the agents' status branch)",
        "Preflight skipped: no agents in this test",
        "must be re-imported (or given an auto-import-secret): c-0, c-1,",
        "and 4980 more.",
    ] {
        assert!(
            description.contains(expected),
            "{expected:?} not in:\n{description}"
        );
    }
    let full = fs::read_to_string(sandbox.join("failover-plan-g1.md")).unwrap();
    assert!(full.len() > 65_536);
    for c in [0, 2500, 4999] {
        assert!(
            full.contains(&format!("- `+` ManagedClusterAddOn c-{c}/volsync\n")),
            "c-{c}"
        );
    }
    assert!(full.ends_with(&description[description.find("## Preflight").unwrap()..]));
}

/// What the guarded edits read from a repository without a status branch.
const NO_STATUS: &str = "repo has no status: neither a status branch \"hubdr-status\" (nor origin/hubdr-status) nor status refs refs/hubdr/status/*: fetch them with `git fetch origin hubdr-status:hubdr-status '+refs/hubdr/status/*:refs/hubdr/status/*' '+refs/hubdr/heartbeat/*:refs/hubdr/heartbeat/*'`";

/// `failover --retry`, `--abort` and `decommission` take the same guarded steps: each is
/// refused first by its own plan, then, with nothing on the status branch, by the status
/// branch they cannot read, each naming the command to run again; nothing changes.
#[test]
fn the_guarded_edits_refuse_by_plan_then_by_the_unreadable_status_branch() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let repo = sandbox.join("repo");
    // The command; its refusal before the failover (error, fix); after it, with no status
    // branch (the start of the error, the fix).
    let commands: [(&[&str], [&str; 2], [&str; 2]); 3] = [
        (
            &["failover", "--retry", "--out", "repo"],
            [
                "error: no takeover is in progress at generation 0: the active hub hub-a did not take over in a failover, so there is no activation to retry",
                "\n  fix: start a failover with `hubdr failover --to HUB` instead",
            ],
            [
                &format!("error: {NO_STATUS}"),
                "\n  fix: fetch the status branch the agents report to, then retry\n",
            ],
        ),
        (
            &["failover", "--abort", "--out", "repo"],
            [
                "error: no failover is in progress at generation 0: no hub took over at it, so there is nothing to abort",
                "\n  fix: abort only a failover in progress; otherwise fail over again with `hubdr failover --to HUB`",
            ],
            [
                &format!("error: {NO_STATUS}"),
                "\n  fix: fetch the status branch the agents report to, then abort\n",
            ],
        ),
        (
            &["decommission", "hub-a", "--out", "repo"],
            [
                "error: hub-a is active, not fenced: only a fenced former primary can be decommissioned; fail over to another hub first (`hubdr failover --to HUB`)",
                "\n  fix: name a fenced former primary (see spec.hubs)",
            ],
            [
                &format!("error: cannot decommission hub-a: {NO_STATUS}"),
                "\n  fix: fetch the status branch the agents report to, then decommission\n",
            ],
        ),
    ];
    for (args, [error, fix], _) in commands {
        sandbox
            .hubdr(args)
            .expect_code(2)
            .expect_stderr(error)
            .expect_stderr(fix);
    }

    failover_without_agents(&sandbox, &[]).expect_code(0);
    let site = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    let commits = support::commits(&repo);
    for (args, _, [error, fix]) in commands {
        let run = sandbox.hubdr(args);
        run.expect_code(2).expect_stderr(error).expect_stderr(fix);
        assert!(
            !run.stderr.contains("render drift") && run.stdout.is_empty(),
            "{run}"
        );
    }
    assert_eq!(fs::read_to_string(sandbox.join("site.yaml")).unwrap(), site);
    assert_eq!(support::commits(&repo), commits);
}
