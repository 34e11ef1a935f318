//! Site-specific expectations: storage, patches, defaults, failover.

use super::*;

#[test]
pub(crate) fn full_storage_options_reach_the_dpa() {
    let (_, rendered) = support::render_file(&site_path("full-storage"));
    let view = View::of(&rendered.tree);
    for hub in ["hub-a", "hub-b", "hub-c"] {
        let dpa = view.get(hub, "DataProtectionApplication", "acm-backup", "dpa-hub");
        assert_eq!(
            dpa.at("/spec/backupLocations/0/velero/config"),
            &json!({
                "region": "eu-west-1",
                "profile": "backup",
                "kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/502b409c-4da1-419f-a16e-eexample",
                "s3Url": "https://s3.eu-west-1.example.com",
                "s3ForcePathStyle": "true",
            })
        );
        assert_eq!(
            dpa.at("/spec/snapshotLocations"),
            &json!([
                {"name": "ebs", "velero": {"provider": "aws",
                    "config": {"region": "eu-west-1", "profile": "snapshots", "enableSharedConfig": "true"},
                    "credential": {"name": "ebs-credentials", "key": "cloud"}}},
                {"name": "ebs-secondary", "velero": {"provider": "aws", "config": {"region": "eu-central-1"}}},
            ])
        );
        assert_eq!(
            dpa.at("/spec/configuration/velero/podConfig/resourceAllocations"),
            &json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "256Mi"}})
        );
        assert_eq!(
            dpa.at("/spec/configuration/nodeAgent"),
            &json!({"enable": true, "uploaderType": "kopia"})
        );
        view.get(hub, "MultiClusterHub", "ocm", "mch");
    }
    view.get(
        "hub-b",
        "Restore",
        "acm-backup",
        "restore-acm-passive-sync-g0",
    );
    view.get(
        "hub-c",
        "Restore",
        "acm-backup",
        "restore-acm-passive-sync-g2",
    );
}

#[test]
pub(crate) fn full_storage_warns_about_cleanup_all_and_missing_api_servers() {
    let loaded = load("full-storage");
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| format!("{} @ {:?}", w.path, w.location.map(|l| l.line)))
        .collect();
    assert_eq!(
        warnings,
        vec![
            // A passive-sync hub with cleanupBeforeRestore: None (domain_rules).
            "spec.hubs[1].cleanupBeforeRestore @ Some(64)".to_string(),
            "spec.hubs[2].cleanupBeforeRestore @ Some(68)".to_string(),
            "spec.managedClusters[2].apiServer @ Some(79)".to_string(),
        ]
    );
}

#[test]
pub(crate) fn patches_are_applied_to_their_targets_only() {
    let (_, rendered) = support::render_file(&site_path("patches"));
    let view = View::of(&rendered.tree);
    let ns = "open-cluster-management-backup";
    for hub in ["hub-a", "hub-b"] {
        let dpa = view.get(hub, "DataProtectionApplication", ns, "velero");
        assert_eq!(
            dpa.label("team"),
            Some("platform"),
            "{hub}: merge patch on hub-*"
        );
        assert_eq!(dpa.at("/spec/configuration/velero/logLevel"), "debug");
        assert_eq!(dpa.label("app.kubernetes.io/managed-by"), Some("hubdr"));
    }
    let spare = view.get("spare-1", "DataProtectionApplication", ns, "velero");
    assert_eq!(spare.label("team"), None, "hub-* must not match spare-1");
    for hub in ["hub-b", "spare-1"] {
        let r = view.get(hub, "Restore", ns, "restore-acm-passive-sync-g0");
        assert_eq!(r.at("/spec/cleanupBeforeRestore"), "CleanupAll");
        assert_eq!(r.label("restore-tier"), Some("passive"));
    }
    let src = view.get("east-1", "ReplicationSource", "shop", "db");
    let dst = view.get("west-1", "ReplicationDestination", "shop", "db");
    assert_eq!(src.annotation("owner"), Some("shop-team"));
    assert_eq!(dst.annotation("owner"), Some("shop-team"));
    assert_eq!(
        dst.at("/spec/rsyncTLS/accessModes"),
        &Value::Null,
        "json remove"
    );
    assert_eq!(src.at("/spec/rsyncTLS/copyMethod"), "Snapshot");
    let addon = view.get("hub-a", "ManagedClusterAddOn", "east-1", "volsync");
    assert_eq!(
        addon.annotation("owner"),
        None,
        "namespace glob sh* must not match east-1"
    );
}

/// A patch that renames an object onto another object's file is refused, naming the file; one
/// that moves it into another namespace is refused, naming the patch.
#[test]
pub(crate) fn a_patch_that_makes_two_objects_share_a_file_is_refused() {
    let mut loaded = load("volsync-rsync");
    let onto_db: hubdr::site::Patch = serde_json::from_value(json!({
        "target": {"cluster": "east-1", "kind": "ReplicationSource", "name": "cache"},
        "json": [{"op": "replace", "path": "/metadata/name", "value": "db"}],
    }))
    .unwrap();
    loaded.site.spec.patches.push(onto_db);
    let err = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "clusters/east-1/replicationsource.shop.db.yaml: two rendered objects share \
         this file (ReplicationSource shop/db)"
    );

    let mut loaded = load("patches");
    let onto_west: hubdr::site::Patch = serde_json::from_value(json!({
        "target": {"cluster": "hub-a", "kind": "ManagedClusterAddOn", "namespace": "east-1"},
        "json": [{"op": "replace", "path": "/metadata/namespace", "value": "west-1"}],
    }))
    .unwrap();
    loaded.site.spec.patches.push(onto_west);
    let err = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.patches[4]: moves ManagedClusterAddOn east-1/volsync in cluster hub-a to namespace \
         west-1: a patch may not change an object's namespace"
    );
}

/// `hubdr failover --abort` of the volsync-rsync failover (ACM 2.11): hub-a active again with
/// its BackupSchedule recreated only once hub-b reports generation 2 without an activation;
/// hub-b passive again with a new one-time passive Restore; nothing activates.
#[test]
pub(crate) fn an_abort_renders_the_way_back_with_its_own_gates() {
    let text = std::fs::read_to_string(site_path("volsync-rsync")).unwrap();
    let loaded = hubdr::site::load_str(&text, std::path::Path::new("site.yaml")).unwrap();
    let before: Vec<String> = loaded.warnings.iter().map(|w| w.path.clone()).collect();
    let abort = hubdr::failover::abort::plan(&loaded.site).unwrap();
    let text = hubdr::failover::abort::apply(&text, &loaded.site, &abort).unwrap();
    let loaded = hubdr::site::load_str(&text, std::path::Path::new("site.yaml"))
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    // The site's own warnings (undeclared networks, a local copy) stay; the abort adds none.
    let after: Vec<String> = loaded.warnings.iter().map(|w| w.path.clone()).collect();
    assert_eq!(after, before, "{:?}", loaded.warnings);
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).unwrap();
    domain_rules(&loaded, &rendered.tree);
    let view = View::of(&rendered.tree);
    let ns = "open-cluster-management-backup";
    let schedule = view.get("hub-a", "BackupSchedule", ns, "schedule-acm");
    assert_eq!(schedule.annotation(WAIT_FOR), Some("not-activated:hub-b@2"));
    assert!(view.all("hub-a", "Restore").is_empty());
    assert!(view.all("hub-b", "BackupSchedule").is_empty());
    let restores: Vec<&str> = view
        .all("hub-b", "Restore")
        .iter()
        .map(|r| r.name())
        .collect();
    assert_eq!(restores, ["restore-acm-passive-g2"]);
    // A declared-unreachable old primary leaves nothing to go back to.
    let unreachable = std::fs::read_to_string(site_path("disconnected-failover")).unwrap();
    let loaded = hubdr::site::load_str(&unreachable, std::path::Path::new("site.yaml")).unwrap();
    assert!(hubdr::failover::abort::plan(&loaded.site)
        .unwrap_err()
        .contains("declared unreachable"));
}

#[test]
pub(crate) fn minimal_site_gets_the_documented_defaults() {
    let (_, rendered) = support::render_file(&site_path("minimal"));
    let view = View::of(&rendered.tree);
    let dpa = view.get(
        "hub-a",
        "DataProtectionApplication",
        "open-cluster-management-backup",
        "velero",
    );
    assert_eq!(
        dpa.at("/spec/configuration/velero/defaultPlugins"),
        &json!(["openshift", "aws"])
    );
    assert_eq!(dpa.at("/spec/backupLocations/0/name"), "default");
    assert_eq!(dpa.at("/spec/backupLocations/0/velero/default"), true);
    assert_eq!(
        dpa.at("/spec/backupLocations/0/velero/credential/key"),
        "cloud"
    );
    let s = view.get(
        "hub-a",
        "BackupSchedule",
        "open-cluster-management-backup",
        "schedule-acm",
    );
    assert_eq!(
        s.at("/spec/veleroTtl"),
        &Value::Null,
        "Velero's default TTL applies"
    );
    assert_eq!(s.at("/spec/useManagedServiceAccount"), false);
    view.get(
        "hub-a",
        "MultiClusterHub",
        "open-cluster-management",
        "multiclusterhub",
    );
    let a: Value = serde_yaml::from_slice(&rendered.tree["argocd/applicationset.yaml"]).unwrap();
    assert_eq!(a["metadata"]["namespace"], "openshift-gitops");
    assert_eq!(a["spec"]["template"]["spec"]["project"], "default");
    assert_eq!(
        a["spec"]["template"]["spec"]["source"]["targetRevision"],
        "main"
    );
}

/// design.md, "Failover, step by step": the new primary activates the managed clusters and only
/// then starts its BackupSchedule, gated on the old primary's schedule being gone (or the old
/// primary declared unreachable). Here the new primary was syncing, so its passive-sync Restore
/// is switched to activate, and the old primary is declared unreachable.
/// `hubdr failover --retry` (`failover.attempt: 2`): the new attempt activates with a Restore of
/// its own, the first attempt's (the switched passive-sync Restore) is no longer rendered, and
/// the BackupSchedule and add-ons wait for the new one.
#[test]
pub(crate) fn a_retry_activates_with_a_restore_of_its_own() {
    let text = std::fs::read_to_string(site_path("disconnected-failover")).unwrap();
    let text = text.replacen(
        "    oldPrimaryUnreachable: true\n",
        "    oldPrimaryUnreachable: true\n    attempt: 2\n",
        1,
    );
    let loaded = hubdr::site::load_str(&text, std::path::Path::new("site.yaml")).unwrap();
    assert_eq!(loaded.site.spec.failover.attempt, 2);
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).unwrap();
    domain_rules(&loaded, &rendered.tree);
    let view = View::of(&rendered.tree);
    let ns = "open-cluster-management-backup";
    let restores: Vec<&str> = view
        .all("hub-b", "Restore")
        .iter()
        .map(|r| r.name())
        .collect();
    assert_eq!(restores, ["restore-acm-activate-g3-a2"]);
    let schedule = view.get("hub-b", "BackupSchedule", ns, "schedule-acm");
    assert_eq!(
        schedule.annotation(WAIT_FOR),
        Some("restore-finished:open-cluster-management-backup/restore-acm-activate-g3-a2; managed-clusters-available; observability-restarted:3; auto-import-restored:3")
    );
}

#[test]
pub(crate) fn failover_activates_the_new_primary_before_its_backup_schedule() {
    let (loaded, rendered) = support::render_file(&site_path("disconnected-failover"));
    let view = View::of(&rendered.tree);
    assert_eq!(loaded.site.spec.failover.generation, 3);
    assert!(loaded.site.spec.failover.old_primary_unreachable);
    let ns = "open-cluster-management-backup";

    let restores = view.all("hub-b", "Restore");
    assert_eq!(restores.len(), 1, "hub-b: one activation Restore");
    let activation = view.get("hub-b", "Restore", ns, "restore-acm-passive-sync-g0");
    assert_eq!(activation.annotation(GENERATION), Some("3"));
    assert_eq!(
        activation.at("/spec"),
        &json!({
            "cleanupBeforeRestore": "CleanupRestored",
            "syncRestoreWithNewBackups": true,
            "veleroManagedClustersBackupName": "latest",
            "veleroCredentialsBackupName": "latest",
            "veleroResourcesBackupName": "latest",
        }),
        "the passive-sync Restore switched to activate the managed clusters"
    );
    assert_eq!(wave(activation), 2);

    let schedule = view.get("hub-b", "BackupSchedule", ns, "schedule-acm");
    assert_eq!(
        wave(schedule),
        3,
        "the BackupSchedule comes after the Restore"
    );
    assert_eq!(
        schedule.annotation(WAIT_FOR),
        Some("restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0; managed-clusters-available; observability-restarted:3; auto-import-restored:3"),
        "hub-a is declared unreachable, so hub-b does not wait for it"
    );

    // The fenced old primary (ACM 2.15, the default): its BackupSchedule paused, no Restore, a
    // read-only location.
    let paused = view.get("hub-a", "BackupSchedule", ns, "schedule-acm");
    assert_eq!(paused.at("/spec/paused"), true);
    assert!(view.all("hub-a", "Restore").is_empty());
    let dpa = view.get("hub-a", "DataProtectionApplication", ns, "velero");
    assert_eq!(
        dpa.at("/spec/backupLocations/0/velero/accessMode"),
        "ReadOnly"
    );

    // The other passive hubs keep their Restores, ungated.
    let hub_c = view.get("hub-c", "Restore", ns, "restore-acm-passive-sync-g1");
    assert_eq!(hub_c.at("/spec/syncRestoreWithNewBackups"), true);
    assert_eq!(hub_c.at("/spec/veleroManagedClustersBackupName"), "skip");
    let hub_d = view.get("hub-d", "Restore", ns, "restore-acm-passive-g3");
    assert_eq!(
        hub_d.at("/spec"),
        &json!({
            "cleanupBeforeRestore": "CleanupRestored",
            "veleroManagedClustersBackupName": "skip",
            "veleroCredentialsBackupName": "latest",
            "veleroResourcesBackupName": "latest",
        }),
        "passiveSync: false gives a one-time passive restore"
    );
    for o in &view.objects {
        if o.cluster != "hub-b" {
            assert_eq!(o.annotation(WAIT_FOR), None, "{}", o.describe());
            assert_eq!(o.annotation(GENERATION), None, "{}", o.describe());
        }
    }
}

/// A new primary that was not syncing gets a new `restore-acm-activate-g<N>`; with the old
/// primary reachable its BackupSchedule also waits for the fenced hub's status, its add-ons wait
/// for the activation only, and the fenced hub keeps its add-ons untouched.
#[test]
pub(crate) fn failover_from_a_one_time_passive_hub_waits_for_the_fenced_old_primary() {
    let (loaded, rendered) = support::render_file(&site_path("volsync-rsync"));
    let view = View::of(&rendered.tree);
    assert_eq!(loaded.site.spec.failover.generation, 1);
    assert!(!loaded.site.spec.failover.old_primary_unreachable);
    let ns = "open-cluster-management-backup";

    let restores = view.all("hub-b", "Restore");
    assert_eq!(restores.len(), 1, "hub-b: only the activation Restore");
    let activation = view.get("hub-b", "Restore", ns, "restore-acm-activate-g1");
    assert_eq!(activation.annotation(GENERATION), Some("1"));
    assert_eq!(
        activation.at("/spec"),
        &json!({
            "cleanupBeforeRestore": "CleanupRestored",
            "veleroManagedClustersBackupName": "latest",
            "veleroCredentialsBackupName": "latest",
            "veleroResourcesBackupName": "latest",
        })
    );
    assert!(
        view.find("hub-b", "Restore", ns, "restore-acm-passive-g0")
            .is_none(),
        "the one-time passive restore is replaced"
    );

    let schedule = view.get("hub-b", "BackupSchedule", ns, "schedule-acm");
    assert_eq!(wave(schedule), 3);
    assert_eq!(
        schedule.annotation(WAIT_FOR),
        Some("restore-finished:open-cluster-management-backup/restore-acm-activate-g1; fenced:hub-a@1; managed-clusters-available; observability-restarted:1")
    );
    assert_eq!(
        wait_for(schedule).unwrap(),
        [
            Gate::RestoreFinished {
                namespace: ns.into(),
                name: "restore-acm-activate-g1".into()
            },
            Gate::Fenced {
                cluster: "hub-a".into(),
                generation: 1
            },
            Gate::ManagedClustersAvailable,
            Gate::ObservabilityRestarted { generation: 1 },
        ]
    );

    let clusters = ["east-1", "west-1", "north-1"];
    for cluster in clusters {
        let addon = view.get("hub-b", "ManagedClusterAddOn", cluster, "volsync");
        assert_eq!(
            addon.annotation(WAIT_FOR),
            Some("restore-finished:open-cluster-management-backup/restore-acm-activate-g1"),
            "{}",
            addon.describe()
        );
        let kept = view.get("hub-a", "ManagedClusterAddOn", cluster, "volsync");
        assert_eq!(
            kept.value.pointer("/metadata/annotations").map(|a| {
                let mut keys: Vec<&String> = a.as_object().unwrap().keys().collect();
                keys.sort();
                keys
            }),
            Some(vec![
                &"argocd.argoproj.io/sync-wave".to_string(),
                &"hubdr.io/wave".to_string(),
                &"operator-subscription-channel".to_string(),
            ]),
            "{}: a fenced hub's add-on is unchanged and not gated",
            kept.describe()
        );
    }
    assert_eq!(
        view.all("hub-a", "ManagedClusterAddOn").len(),
        clusters.len()
    );
    assert_eq!(
        view.all("hub-b", "ManagedClusterAddOn").len(),
        clusters.len()
    );
    // ACM 2.11: the fenced hub's BackupSchedule is deleted, not kept paused.
    assert_eq!(loaded.site.spec.acm().to_string(), "2.11");
    assert!(view.all("hub-a", "BackupSchedule").is_empty());
    assert!(view.all("hub-a", "Restore").is_empty());
}

/// The failover edit applied to the pre-failover site renders what the matrix site holds: the
/// matrix data is what `hubdr failover` writes, not a hand-made approximation.
#[test]
pub(crate) fn failover_edit_of_the_pre_failover_site_renders_the_matrix_site() {
    let after = std::fs::read_to_string(site_path("volsync-rsync")).unwrap();
    let before = after
        .replace(
            "    - name: hub-a\n      role: fenced\n      fencedSince: 1\n",
            "    - name: hub-a\n      role: active\n",
        )
        .replace(
            "      role: active\n      passiveSync: false\n      activeSince: 1\n",
            "      role: passive\n      passiveSync: false\n",
        )
        .replace(
            "    generation: 1\n    oldPrimaryUnreachable: false\n",
            "    generation: 0\n",
        );
    assert_ne!(before, after);
    let edited = hubdr::failover::edit_site(&before, "hub-b", false).unwrap();
    let render = |text: &str| {
        let loaded = hubdr::site::load_str(text, std::path::Path::new("site.yaml"))
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
            .unwrap()
            .tree
    };
    assert_eq!(
        render(&edited),
        render(&after),
        "hubdr failover --to hub-b gives another render than the matrix site:\n{edited}"
    );
}

/// Two failovers in a row (hub-a to hub-b, then hub-b to hub-c), as `hubdr failover` writes
/// them: each old primary records the generation it was fenced at. The new primary's
/// BackupSchedule waits only for the hub fenced at its own generation; hub-a, fenced one failover
/// earlier, already deleted its schedule (or does so first thing when it comes back).
#[test]
pub(crate) fn only_the_hub_fenced_at_this_generation_gates_the_new_primary() {
    const BASE: &str = "\
apiVersion: hubdr.io/v1alpha1
kind: Site
metadata:
  name: twice
spec:
  git:
    url: https://git.example.com/platform/acm-dr.git
  storage:
    provider: aws
    bucket: acm-backups
    region: us-east-1
    credentialsSecret:
      name: cloud-credentials
  backup:
    schedule: \"0 */4 * * *\"
  hubs:
    - name: hub-a
      role: active
    - name: hub-b
      role: passive
    - name: hub-c
      role: passive
";
    let ns = "open-cluster-management-backup";
    let first = hubdr::failover::edit_site(BASE, "hub-b", false).unwrap();
    let render = |text: &str| {
        let loaded = hubdr::site::load_str(text, std::path::Path::new("site.yaml"))
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        domain_rules(&loaded, &rendered.tree);
        (loaded, rendered.tree)
    };
    let schedule_gates = |tree: &Tree| {
        let view = View::of(tree);
        wait_for(view.get("hub-c", "BackupSchedule", ns, "schedule-acm"))
            .expect("a new primary's BackupSchedule is gated")
    };
    let activation = Gate::RestoreFinished {
        namespace: ns.into(),
        name: "restore-acm-passive-sync-g0".into(),
    };
    let no_schedule = |cluster: &str| Gate::Fenced {
        cluster: cluster.into(),
        generation: 2,
    };

    let second = hubdr::failover::edit_site(&first, "hub-c", false).unwrap();
    let (loaded, tree) = render(&second);
    // (Whether hub-b keeps the activeSince of its own takeover is left open here.)
    let roles: Vec<(&str, HubRole, Option<u64>)> = loaded
        .site
        .spec
        .hubs
        .iter()
        .map(|h| (h.name.as_str(), h.role, h.fenced_since))
        .collect();
    assert_eq!(
        roles,
        [
            ("hub-a", HubRole::Fenced, Some(1)),
            ("hub-b", HubRole::Fenced, Some(2)),
            ("hub-c", HubRole::Active, None),
        ],
        "{second}"
    );
    assert_eq!(loaded.site.spec.hubs[2].active_since, Some(2), "{second}");
    assert_eq!(
        schedule_gates(&tree),
        [
            activation.clone(),
            no_schedule("hub-b"),
            Gate::ManagedClustersAvailable,
            Gate::ObservabilityRestarted { generation: 2 },
            Gate::AutoImportRestored { generation: 2 }
        ],
        "only hub-b, fenced at generation 2, is waited for\n{second}"
    );

    // A fenced hub without fencedSince (fenced by hand, or before hubdr recorded it): waited
    // for, to be safe.
    let unrecorded = second.replacen("      fencedSince: 1\n", "", 1);
    assert_ne!(unrecorded, second);
    let (_, tree) = render(&unrecorded);
    assert_eq!(
        schedule_gates(&tree),
        [
            activation.clone(),
            no_schedule("hub-a"),
            no_schedule("hub-b"),
            Gate::ManagedClustersAvailable,
            Gate::ObservabilityRestarted { generation: 2 },
            Gate::AutoImportRestored { generation: 2 }
        ],
        "{unrecorded}"
    );

    // The old primary declared unreachable: no hub's status is waited for.
    let unreachable = hubdr::failover::edit_site(&first, "hub-c", true).unwrap();
    let (_, tree) = render(&unreachable);
    assert_eq!(
        schedule_gates(&tree),
        [
            activation,
            Gate::ManagedClustersAvailable,
            Gate::ObservabilityRestarted { generation: 2 },
            Gate::AutoImportRestored { generation: 2 }
        ],
        "{unreachable}"
    );
}
