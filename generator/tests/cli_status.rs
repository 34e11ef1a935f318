//! `hubdr status` as a user runs it: the real binary on an ordinary `git clone` of the
//! rendered repository, whose status branch the agents pushed to the remote.

mod support;

use std::path::Path;

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

/// Replace `refs/hubdr/heartbeat/<cluster>` of the repository at `repo` with a parentless
/// commit made `age_secs` ago, as the agent's heartbeat does.
fn beat(repo: &Path, cluster: &str, age_secs: i64) {
    let repo = git2::Repository::open(repo).unwrap();
    let at = jiff::Timestamp::now().as_second() - age_secs;
    let sig = git2::Signature::new("agent", "agent@localhost", &git2::Time::new(at, 0)).unwrap();
    let tree = repo
        .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
        .unwrap();
    let refname = format!("refs/hubdr/heartbeat/{cluster}");
    let commit = repo
        .commit(None, &sig, &sig, "heartbeat", &tree, &[])
        .unwrap();
    repo.reference(&refname, commit, true, "heartbeat").unwrap();
}

#[test]
fn a_complete_cluster_whose_heartbeat_is_old_is_stalled() {
    let sandbox = rendered_and_cloned();
    let mut files = status_files("hub-a", 0, "Applied");
    files.extend(status_files("hub-b", 0, "Applied"));
    push_status(&sandbox.join("origin"), &files);
    beat(&sandbox.join("origin"), "hub-a", 2 * 3600);
    beat(&sandbox.join("origin"), "hub-b", 120);

    // The default: three of the rendered heartbeat intervals (10m): hub-a's 2h is too old.
    let run = sandbox.hubdr(&["status", "--repo", "origin"]);
    run.expect_code(1)
        .expect_stdout("HEARTBEAT")
        .expect_stdout("2h ago (stalled)")
        .expect_stdout("2m ago")
        .expect_stdout("stalled: hub-a: its agent's last heartbeat was 2h ago (allowed: 30m)");
    let run = sandbox.hubdr(&["status", "--repo", "origin", "-o", "json"]);
    run.expect_code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["progress"]["state"], "Stalled", "{run}");
    assert_eq!(doc["heartbeatStallAfterSeconds"], 1800, "{run}");
    let clusters = doc["clusters"].as_array().unwrap();
    let hub = |name: &str| clusters.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(hub("hub-a")["heartbeat"]["stalled"], true, "{run}");
    assert!(hub("hub-a")["heartbeat"]["ageSeconds"].as_i64().unwrap() >= 7200);
    assert_eq!(hub("hub-b")["heartbeat"]["stalled"], false, "{run}");
    assert!(hub("hub-b")["heartbeat"]["at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(hub("east-1")["heartbeat"].is_null(), "{run}");

    // `--stall-after` sets the limit: 3h allows hub-a's 2h.
    sandbox
        .hubdr(&["status", "--repo", "origin", "--stall-after", "3h"])
        .expect_code(0)
        .expect_stdout("failover complete");

    // In a clone, `--fetch` brings the heartbeats too: hub-a beats again and is no longer stalled.
    clone(&sandbox);
    beat(&sandbox.join("origin"), "hub-a", 180);
    sandbox
        .hubdr(&["status", "--repo", "clone", "--fetch"])
        .expect_code(0)
        .expect_stdout("3m ago")
        .expect_stdout("failover complete");
}
