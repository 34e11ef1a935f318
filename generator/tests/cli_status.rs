//! `hubdr status` as a user runs it: the real binary on an ordinary `git clone` of the
//! rendered repository, whose status branch the agents pushed to the remote.

mod support;

use support::status::push_status;
use support::Sandbox;

/// A signed status of `cluster` at `generation`, `pass_reason`, its BackupSchedule `phase`.
fn status_files(cluster: &str, generation: u64, reason: &str) -> Vec<(String, Vec<u8>)> {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let outcome = if reason == "Applied" {
        "Succeeded"
    } else {
        "Failed"
    };
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {cluster}\nagentVersion: 0.1.0\nupdatedAt: '{}'\nsource:\n  commit: abc\n  generation: {generation}\npass:\n  outcome: {outcome}\n  reason: {reason}\n  message: the API server https://api.{cluster}.example:6443 cannot be reached\nobserved:\n  backupSchedules:\n  - name: open-cluster-management-backup/schedule-acm\n    phase: Enabled\n",
        at.strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    let status: hubdr::status::ClusterStatus = serde_yaml::from_str(&text).unwrap();
    support::status::signed_files(&status)
}

/// The starter rendered into `origin`, cloned into `clone`.
fn rendered_and_cloned() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox.hubdr(&["render", "--out", "origin"]).expect_code(0);
    sandbox
}

fn clone(sandbox: &Sandbox) {
    sandbox
        .run_in("git", sandbox.path(), &["clone", "-q", "origin", "clone"])
        .expect_code(0);
}

#[test]
fn status_in_a_clone_reads_the_remote_tracking_branch_and_fetch_updates_it() {
    let sandbox = rendered_and_cloned();
    let mut files = status_files("hub-a", 0, "Applied");
    files.extend(status_files("hub-b", 0, "Applied"));
    files.extend(status_files("hub-x", 0, "Applied"));
    push_status(&sandbox.join("origin"), &files);
    clone(&sandbox);

    let run = sandbox.hubdr(&["status", "--repo", "clone"]);
    run.expect_code(0).expect_stdout("failover complete");
    for hub in ["hub-a ", "hub-b "] {
        let row = run.stdout.lines().find(|l| l.starts_with(hub)).unwrap();
        assert!(row.contains("Succeeded"), "{run}");
    }
    run.expect_stdout(
        "status from clusters the site does not name (an agent started with a misspelt --cluster?): hub-x",
    );
    sandbox
        .hubdr(&[
            "status",
            "--repo",
            "clone",
            "--branch",
            "origin/hubdr-status",
        ])
        .expect_code(0)
        .expect_stdout("failover complete");

    // hub-b fails after the clone: only --fetch sees it, and a stalled fleet exits 1.
    push_status(
        &sandbox.join("origin"),
        &status_files("hub-b", 0, "ApplyFailed"),
    );
    sandbox
        .hubdr(&["status", "--repo", "clone"])
        .expect_code(0)
        .expect_stdout("failover complete");
    sandbox
        .hubdr(&["status", "--repo", "clone", "--fetch"])
        .expect_code(1)
        .expect_stdout("stalled: hub-b: ApplyFailed: the API server https://api.hub-b.example:6443")
        .expect_stderr("the failover is stalled");
}

#[test]
fn status_without_a_status_branch_or_with_a_misspelt_one_fails_clearly() {
    let sandbox = rendered_and_cloned();
    sandbox
        .hubdr(&["status", "--repo", "origin"])
        .expect_code(1)
        .expect_stderr("has no status branch \"hubdr-status\"")
        .expect_stderr("--fetch");
    push_status(
        &sandbox.join("origin"),
        &status_files("hub-a", 0, "Applied"),
    );
    sandbox
        .hubdr(&["status", "--repo", "origin", "--branch", "hubdr-statsu"])
        .expect_code(1)
        .expect_stderr("has no status branch \"hubdr-statsu\"");
}

#[test]
fn an_agent_that_never_reported_stalls_a_watch_after_stall_after() {
    let sandbox = rendered_and_cloned();
    push_status(
        &sandbox.join("origin"),
        &status_files("hub-a", 0, "Applied"),
    );
    let started = std::time::Instant::now();
    let run = sandbox.hubdr(&[
        "status",
        "--repo",
        "origin",
        "--watch",
        "--interval",
        "1s",
        "--stall-after",
        "1s",
    ]);
    run.expect_code(1)
        .expect_stdout("stalled: hub-b has not reported yet")
        .expect_stdout("--cluster hub-b");
    assert!(started.elapsed().as_secs() < 20, "{run}");
    // Plain status says the same and exits 1.
    sandbox
        .hubdr(&["status", "--repo", "origin", "--stall-after", "1s"])
        .expect_code(1)
        .expect_stdout("stalled: hub-b has not reported yet");
}

#[test]
fn status_prints_json_and_filters_clusters() {
    let sandbox = rendered_and_cloned();
    let mut files = status_files("hub-a", 0, "Applied");
    files.extend(status_files("hub-b", 0, "Applied"));
    push_status(&sandbox.join("origin"), &files);
    let run = sandbox.hubdr(&["status", "--repo", "origin", "-o", "json"]);
    run.expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["apiVersion"], "hubdr.io/v1alpha1", "{run}");
    assert_eq!(doc["kind"], "StatusResult");
    assert_eq!(doc["progress"]["state"], "Complete");
    assert_eq!(doc["statusRef"], "refs/heads/hubdr-status");
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 4);

    let run = sandbox.hubdr(&["status", "--repo", "origin", "--changed-only"]);
    run.expect_code(0)
        .expect_stdout("east-1")
        .expect_stdout("west-1");
    assert!(!run.stdout.contains("hub-a "), "{run}");
    let run = sandbox.hubdr(&["status", "--repo", "origin", "--cluster", "hub-b"]);
    run.expect_code(0).expect_stdout("hub-b ");
    assert!(!run.stdout.contains("east-1 "), "{run}");
    sandbox
        .hubdr(&["status", "--repo", "origin", "--cluster", "hub-z"])
        .expect_code(2)
        .expect_stderr("--cluster hub-z: the rendered site has no such cluster");
}
