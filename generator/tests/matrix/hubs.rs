//! Per-hub and per-managed-cluster expectations: MultiClusterHub, DPA, schedules, restores, add-ons, gates.

use super::*;

pub(crate) fn hubs(site: &Site, view: &View) {
    let spec = &site.spec;
    let ns = spec.backup_namespace.as_str();
    let mut storages = BTreeSet::new();
    for hub in &spec.hubs {
        let h = hub.name.as_str();

        // MultiClusterHub: only the cluster-backup component, annotated on disconnected hubs.
        let mch = view.get(
            h,
            "MultiClusterHub",
            &spec.multi_cluster_hub.namespace,
            &spec.multi_cluster_hub.name,
        );
        assert_eq!(view.all(h, "MultiClusterHub").len(), 1, "{h}");
        assert_eq!(
            mch.at("/spec"),
            &json!({"overrides": {"components": [{"name": "cluster-backup", "enabled": true}]}}),
            "{h}: the MultiClusterHub enables cluster-backup and nothing else"
        );
        let annotation =
            mch.annotation("installer.open-cluster-management.io/oadp-subscription-spec");
        if is_disconnected(site, hub) {
            let d = spec.disconnected.as_ref().unwrap();
            let parsed: Value = serde_json::from_str(annotation.unwrap_or_else(|| {
                panic!("{h}: a disconnected hub needs the oadp-subscription-spec annotation")
            }))
            .unwrap();
            assert_eq!(parsed["source"], d.catalog_source.as_str(), "{h}");
            assert_eq!(
                parsed["sourceNamespace"],
                d.catalog_source_namespace.as_str(),
                "{h}"
            );
        } else {
            assert_eq!(annotation, None, "{h}: connected hubs are not annotated");
        }

        // DataProtectionApplication: the same storage location on every hub.
        assert_eq!(view.all(h, "DataProtectionApplication").len(), 1, "{h}");
        let dpa = view.get(h, "DataProtectionApplication", ns, &spec.velero.name);
        let location = dpa.at("/spec/backupLocations/0/velero");
        assert_eq!(dpa.at("/spec/backupLocations").as_array().unwrap().len(), 1);
        assert_eq!(
            dpa.at("/spec/backupLocations/0/name"),
            spec.storage.location_name.as_str()
        );
        assert_eq!(location["provider"], spec.storage.provider.as_str(), "{h}");
        assert_eq!(location["default"], spec.storage.default, "{h}");
        assert_eq!(
            location["objectStorage"]["bucket"],
            spec.storage.bucket.as_str()
        );
        assert_eq!(
            location["objectStorage"]
                .get("prefix")
                .and_then(Value::as_str),
            spec.storage.prefix.as_deref()
        );
        assert_eq!(
            location["credential"],
            json!({"name": spec.storage.credentials_secret.name, "key": spec.storage.credentials_secret.key})
        );
        let mut shared = location.clone();
        shared.as_object_mut().unwrap().shift_remove("accessMode");
        storages.insert(shared.to_string());
        assert_eq!(
            dpa.at("/spec/configuration/velero/defaultPlugins"),
            &json!(spec.velero.default_plugins)
        );

        let schedules = view.all(h, "BackupSchedule");
        let restores = view.all(h, "Restore");
        match hub.role {
            HubRole::Active => {
                assert_eq!(
                    schedules.len(),
                    1,
                    "{h}: the active hub has one BackupSchedule"
                );
                assert_eq!(location.get("accessMode"), None, "{h}");
                let s = view.get(h, "BackupSchedule", ns, &spec.backup.name);
                let b = &spec.backup;
                assert_eq!(s.at("/spec/veleroSchedule"), b.schedule.as_str());
                assert_eq!(s.str_at("/spec/veleroTtl"), b.ttl.as_deref());
                assert_eq!(
                    s.at("/spec/useManagedServiceAccount"),
                    b.use_managed_service_account
                );
                assert_eq!(
                    s.str_at("/spec/managedServiceAccountTTL"),
                    b.managed_service_account_ttl.as_deref()
                );
                match hub.active_since.filter(|_| resumed(hub).is_none()) {
                    None if resumed(hub).is_some() => {
                        let generation = resumed(hub).unwrap();
                        assert!(
                            restores.is_empty(),
                            "{h}: a hub given the role back by an abort activates nothing"
                        );
                        assert_eq!(wave(s), 2, "{h}: BackupSchedule wave");
                        assert_eq!(
                            s.annotation(GENERATION),
                            Some(generation.to_string().as_str()),
                            "{h}: unpausing (or recreating) the schedule is gated like a creation"
                        );
                        assert_eq!(
                            wait_for(s).unwrap_or_default(),
                            expected_resume_gates(site, generation),
                            "{h}: it backs up again only once the aborted target did not activate"
                        );
                    }
                    None => {
                        assert!(
                            restores.is_empty(),
                            "{h}: an active hub without activeSince restores nothing"
                        );
                        assert_eq!(wave(s), 2, "{h}: BackupSchedule wave");
                        assert_eq!(
                            s.annotation(WAIT_FOR),
                            None,
                            "{h}: an active hub without activeSince waits for nothing"
                        );
                    }
                    Some(generation) => {
                        assert_eq!(
                            restores.len(),
                            1,
                            "{h}: a new primary has exactly one Restore, its activation Restore"
                        );
                        let r = restores[0];
                        assert_eq!(
                            r.name(),
                            activation_restore_name(site, hub, generation),
                            "{h}"
                        );
                        assert_eq!(r.namespace(), Some(ns), "{h}");
                        activation_restore(site, hub, generation, r);
                        assert_eq!(
                            wave(s),
                            3,
                            "{h}: a new primary's BackupSchedule comes after its activation Restore"
                        );
                        assert!(wave(r) < wave(s), "{h}: Restore before BackupSchedule");
                        let gates = wait_for(s).unwrap_or_else(|| {
                            panic!("{h}: a new primary's BackupSchedule must be gated")
                        });
                        assert_eq!(
                            gates,
                            expected_schedule_gates(site, hub, generation),
                            "{h}: BackupSchedule gates"
                        );
                        for f in spec.hubs.iter().filter(|f| f.role == HubRole::Fenced) {
                            let waits = gates.contains(&Gate::Fenced {
                                cluster: f.name.clone(),
                                generation,
                            });
                            assert_eq!(
                                waits,
                                !spec.failover.old_primary_unreachable
                                    && gates_on_fenced(f, generation),
                                "{h}: the BackupSchedule waits for fenced {} (fencedSince {:?}) exactly when it was fenced at generation {generation} and the old primary is not declared unreachable; gates {gates:?}",
                                f.name,
                                f.fenced_since
                            );
                        }
                    }
                }
            }
            HubRole::Passive => {
                assert!(schedules.is_empty(), "{h}: a passive hub must not back up");
                assert_eq!(restores.len(), 1, "{h}: a passive hub has one Restore");
                assert_eq!(location.get("accessMode"), None, "{h}");
                let name = if hub.passive_sync {
                    format!("restore-acm-passive-sync-g{}", hub.passive_since)
                } else {
                    format!("restore-acm-passive-g{}", hub.passive_since)
                };
                let r = view.get(h, "Restore", ns, &name);
                assert_eq!(wave(r), 2, "{h}: Restore wave");
                if hub.passive_sync {
                    assert_eq!(r.at("/spec/syncRestoreWithNewBackups"), true, "{h}");
                    assert_eq!(
                        r.str_at("/spec/restoreSyncInterval"),
                        hub.restore_sync_interval.as_deref()
                    );
                } else {
                    assert_eq!(
                        r.at("/spec/syncRestoreWithNewBackups"),
                        &Value::Null,
                        "{h}: a one-time passive restore does not sync"
                    );
                    assert_eq!(r.at("/spec/restoreSyncInterval"), &Value::Null, "{h}");
                }
                assert_eq!(
                    r.at("/spec/veleroManagedClustersBackupName"),
                    "skip",
                    "{h}: a passive restore must not activate managed clusters"
                );
                assert_eq!(r.at("/spec/veleroCredentialsBackupName"), "latest");
                assert_eq!(r.at("/spec/veleroResourcesBackupName"), "latest");
                assert_eq!(
                    r.annotation(GENERATION),
                    None,
                    "{h}: a passive restore belongs to no failover generation"
                );
                if !patched(site, "Restore") {
                    assert_eq!(
                        r.at("/spec/cleanupBeforeRestore"),
                        hub.cleanup_before_restore.as_str()
                    );
                }
                assert!(
                    r.value
                        .pointer("/spec/veleroManagedClustersBackupSchedule")
                        .is_none(),
                    "the docs' misspelling is not a field"
                );
            }
            HubRole::Fenced => {
                // domain.md §5, §6: from ACM 2.12 a former primary's BackupSchedule is paused
                // (kept, so that an abort can unpause it); before, it is deleted.
                if spec.acm().can_pause() {
                    assert_eq!(
                        schedules.len(),
                        1,
                        "{h}: a fenced hub keeps its BackupSchedule, paused"
                    );
                    let s = schedules[0];
                    assert_eq!(
                        s.at("/spec/paused"),
                        true,
                        "{h}: a fenced hub must not back up"
                    );
                    assert_eq!(s.name(), spec.backup.name, "{h}");
                    assert_eq!(wait_for(s), None, "{h}: pausing is never gated");
                } else {
                    assert!(schedules.is_empty(), "{h}: a fenced hub must not back up");
                }
                assert!(restores.is_empty(), "{h}: a fenced hub must not restore");
                assert_eq!(
                    location["accessMode"], "ReadOnly",
                    "{h}: a fenced hub's backup location is read-only"
                );
            }
            HubRole::Decommissioned => {
                assert!(
                    schedules.is_empty(),
                    "{h}: a decommissioned hub has no BackupSchedule"
                );
                assert!(
                    restores.is_empty(),
                    "{h}: a decommissioned hub has no Restore"
                );
                assert_eq!(
                    location["accessMode"], "ReadOnly",
                    "{h}: a decommissioned hub keeps its storage location, read-only"
                );
            }
        }
        for kind in [
            "ReplicationSource",
            "ReplicationDestination",
            "PersistentVolumeClaim",
        ] {
            assert!(view.all(h, kind).is_empty(), "{h}: no {kind} on a hub");
        }
    }
    assert_eq!(
        storages.len(),
        1,
        "active and passive hubs must point at the same storage location"
    );
}

/// The `volsync` add-on in each participating cluster's namespace, on the active hub and on
/// fenced former primaries.
pub(crate) fn addons(site: &Site, view: &View) {
    let mut participating = BTreeSet::new();
    if let Some(v) = &site.spec.volsync {
        for r in &v.replications {
            for (cluster, _) in places(r) {
                participating.insert(cluster);
            }
        }
    }
    for hub in &site.spec.hubs {
        let found: BTreeSet<String> = view
            .all(&hub.name, "ManagedClusterAddOn")
            .into_iter()
            .map(|o| {
                assert_eq!(o.name(), "volsync", "{}", o.describe());
                assert_eq!(o.at("/spec"), &json!({}), "{}", o.describe());
                let channel = site
                    .spec
                    .volsync
                    .as_ref()
                    .and_then(|v| v.channel.as_deref());
                assert_eq!(
                    o.annotation("operator-subscription-channel"),
                    channel,
                    "{}: the add-on pins the VolSync channel",
                    o.describe()
                );
                o.namespace().unwrap().to_string()
            })
            .collect();
        match hub.role {
            // A fenced former primary keeps its add-ons: deleting them on a hub that may still
            // reach the managed clusters would uninstall VolSync there.
            HubRole::Active | HubRole::Fenced | HubRole::Decommissioned => assert_eq!(
                found,
                participating,
                "{}: one volsync add-on per participating cluster on the {} hub",
                hub.name,
                hub.role.as_str()
            ),
            HubRole::Passive => assert!(
                found.is_empty(),
                "{}: a passive hub holds no add-ons",
                hub.name
            ),
        }
        // Add-ons are activation data: on a new primary they wait for its activation Restore,
        // and for nothing else; everywhere else they are not gated.
        let expected = match (
            hub.role,
            hub.active_since.filter(|_| resumed(hub).is_none()),
        ) {
            (HubRole::Active, Some(generation)) => Some(vec![Gate::RestoreFinished {
                namespace: site.spec.backup_namespace.clone(),
                name: activation_restore_name(site, hub, generation),
            }]),
            _ => None,
        };
        for o in view.all(&hub.name, "ManagedClusterAddOn") {
            assert_eq!(wave(o), 3, "{}: add-on wave", o.describe());
            assert_eq!(wait_for(o), expected, "{}: add-on gates", o.describe());
        }
    }
}

/// Every gate parses and points at something that exists: a Restore on the same cluster that
/// activates managed clusters, or a fenced hub of the site; only a new primary's
/// BackupSchedule and add-ons are gated, and only activation Restores carry a generation.
pub(crate) fn gates(site: &Site, view: &View) {
    let new_primary =
        site.spec.hubs.iter().find(|h| {
            h.role == HubRole::Active && h.active_since.is_some() && resumed(h).is_none()
        });
    let resumed_hub = site
        .spec
        .hubs
        .iter()
        .find(|h| h.role == HubRole::Active && resumed(h).is_some());
    for o in &view.objects {
        let what = o.describe();
        if let Some(hub) =
            resumed_hub.filter(|h| h.name == o.cluster && o.kind() == "BackupSchedule")
        {
            assert_eq!(
                o.annotation(GENERATION),
                Some(resumed(hub).unwrap().to_string().as_str()),
                "{what}"
            );
            for gate in wait_for(o).unwrap_or_default() {
                let Gate::NotActivated {
                    cluster,
                    generation,
                } = &gate
                else {
                    panic!("{what}: a resumed hub's BackupSchedule waits only for not-activated, not {gate}");
                };
                let target = site.spec.hubs.iter().find(|h| &h.name == cluster);
                assert!(
                    target.is_some_and(
                        |t| t.role == HubRole::Passive && t.passive_since == *generation
                    ),
                    "{what}: waits for {cluster}, which did not become passive at {generation}"
                );
            }
            continue;
        }
        if let Some(generation) = o.annotation(GENERATION) {
            let hub =
                new_primary.unwrap_or_else(|| panic!("{what}: {GENERATION} without a new primary"));
            assert_eq!(o.cluster, hub.name, "{what}");
            assert_eq!(o.kind(), "Restore", "{what}");
            assert_eq!(generation, hub.active_since.unwrap().to_string(), "{what}");
        }
        let Some(gates) = wait_for(o) else {
            continue;
        };
        let hub = new_primary
            .filter(|h| h.name == o.cluster)
            .unwrap_or_else(|| panic!("{what}: only a new primary's objects are gated"));
        assert!(
            matches!(
                o.kind(),
                "BackupSchedule" | "ManagedClusterAddOn" | "Restore"
            ),
            "{what}: a {} is never gated",
            o.kind()
        );
        if o.kind() == "Restore" {
            assert!(
                o.annotation(GENERATION).is_some(),
                "{what}: only an activation Restore is gated"
            );
        }
        for gate in &gates {
            match gate {
                Gate::RestoreFinished { namespace, name } => {
                    let r = view.get(&o.cluster, "Restore", namespace, name);
                    assert_eq!(
                        r.at("/spec/veleroManagedClustersBackupName"),
                        "latest",
                        "{what} waits for {}, which does not activate managed clusters",
                        r.describe()
                    );
                    assert!(wave(r) < wave(o), "{what}: gated on a later wave");
                }
                Gate::Fenced {
                    cluster,
                    generation,
                } => {
                    let fenced = site.spec.hubs.iter().find(|h| &h.name == cluster);
                    assert_eq!(
                        fenced.map(|h| h.role),
                        Some(HubRole::Fenced),
                        "{what}: waits for {cluster}, which is not a fenced hub"
                    );
                    assert!(
                        fenced.is_some_and(|f| gates_on_fenced(f, *generation)),
                        "{what}: waits for {cluster}, fenced in an earlier failover"
                    );
                    assert_eq!(Some(*generation), hub.active_since, "{what}");
                    assert!(
                        !site.spec.failover.old_primary_unreachable,
                        "{what}: waits for {cluster}, declared unreachable"
                    );
                }
                Gate::NotActivated { .. } => {
                    panic!("{what}: only a resumed hub's BackupSchedule waits for not-activated")
                }
                Gate::ManagedClustersAvailable => assert_eq!(
                    o.kind(),
                    "BackupSchedule",
                    "{what}: only the BackupSchedule waits for the managed clusters"
                ),
                Gate::ObservabilityRestarted { generation } => {
                    assert_eq!(o.kind(), "BackupSchedule", "{what}");
                    assert_eq!(Some(*generation), hub.active_since, "{what}");
                }
                Gate::NoBackupSchedule { .. } => {
                    panic!("{what}: renders the fence gate, not the older no-backup-schedule one")
                }
                Gate::AutoImportStrategy { strategy } => {
                    assert_eq!(o.kind(), "Restore", "{what}");
                    assert_eq!(strategy, "ImportAndSync", "{what}");
                    assert!(site.spec.acm().has_auto_import_strategy(), "{what}");
                }
                Gate::AutoImportRestored { generation } => {
                    assert_eq!(o.kind(), "BackupSchedule", "{what}");
                    assert_eq!(Some(*generation), hub.active_since, "{what}");
                    assert!(site.spec.acm().has_auto_import_strategy(), "{what}");
                }
            }
        }
    }
}

pub(crate) fn managed_clusters(site: &Site, view: &View) {
    for c in &site.spec.managed_clusters {
        // A managed cluster that backs up hosted clusters with OADP holds its own DPA
        // (checked by `hosted_rules`).
        let oadp = site
            .spec
            .hosted_clusters
            .iter()
            .any(|h| h.management_cluster == c.name && h.method == HostedMethod::Oadp);
        for kind in [
            "MultiClusterHub",
            "DataProtectionApplication",
            "BackupSchedule",
            "Restore",
            "ManagedClusterAddOn",
        ] {
            if oadp && kind == "DataProtectionApplication" {
                continue;
            }
            assert!(
                view.all(&c.name, kind).is_empty(),
                "{}: a managed cluster holds no {kind}",
                c.name
            );
        }
    }
}

pub(crate) fn mover(method: Method) -> &'static str {
    match method {
        Method::RsyncTls => "rsyncTLS",
        Method::Rsync => "rsync",
        Method::Restic => "restic",
        Method::Rclone => "rclone",
    }
}
