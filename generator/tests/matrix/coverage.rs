//! The matrix covers every option: every site field and every option value is set by some matrix site.

use super::*;

/// Field paths of a value, with sequence indices folded (`spec.hubs[].name`). Mappings whose keys
/// are user data (config maps, resource lists, patch bodies) are leaves.
pub(crate) fn field_paths(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    const LEAVES: [&str; 5] = ["config", "limits", "requests", "merge", "json"];
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.insert(p.clone());
                if !LEAVES.contains(&k.as_str()) {
                    field_paths(v, &p, out);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                field_paths(v, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Every field the model knows (serialized, so defaults and `null`s show) is written out
/// explicitly in at least one matrix file.
#[test]
pub(crate) fn matrix_sets_every_site_field() {
    let mut model = BTreeSet::new();
    let mut written = BTreeSet::new();
    for name in MATRIX {
        let loaded = load(name);
        field_paths(&serde_json::to_value(&loaded.site).unwrap(), "", &mut model);
        let raw: Value = serde_yaml::from_str(&loaded.text).unwrap();
        field_paths(&raw, "", &mut written);
    }
    // `destination` (rsync) and `destinations` (rclone) share one type: cover its fields once.
    let fold = |paths: BTreeSet<String>| -> BTreeSet<String> {
        paths
            .into_iter()
            .map(|p| p.replace(".destinations[]", ".destination"))
            .collect()
    };
    let (model, written) = (fold(model), fold(written));
    let missing: Vec<&String> = model.difference(&written).collect();
    assert!(
        missing.is_empty(),
        "no matrix site sets these fields: {missing:#?}"
    );
    let unknown: Vec<&String> = written.difference(&model).collect();
    assert!(
        unknown.is_empty(),
        "fields the model does not know: {unknown:#?}"
    );
}

/// Every value of every enumerated option, and both sides of every optional behaviour.
#[test]
pub(crate) fn matrix_covers_every_option_value() {
    let sites: Vec<Site> = MATRIX.iter().map(|n| load(n).site).collect();
    let hubs = || sites.iter().flat_map(|s| &s.spec.hubs);
    let reps = || {
        sites
            .iter()
            .filter_map(|s| s.spec.volsync.as_ref())
            .flat_map(|v| &v.replications)
    };
    let dests = || reps().flat_map(|r| r.destination.iter().chain(&r.destinations));
    let set = |items: Vec<String>| items.into_iter().collect::<BTreeSet<_>>();

    assert_eq!(
        set(hubs().map(|h| h.role.as_str().to_string()).collect()),
        set(vec!["active".into(), "passive".into(), "fenced".into()])
    );
    assert_eq!(
        set(hubs().map(|h| h.cleanup_before_restore.clone()).collect()),
        set(vec![
            "None".into(),
            "CleanupRestored".into(),
            "CleanupAll".into()
        ])
    );
    assert!(hubs().any(|h| h.passive_since > 0 && h.role == HubRole::Passive));
    assert!(hubs().any(|h| h.disconnected == Some(false)));
    assert!(hubs().any(|h| h.argocd_cluster.is_some()));
    assert_eq!(
        set(sites
            .iter()
            .filter_map(|s| s.spec.velero.node_agent.as_ref())
            .map(|a| a.uploader_type.clone())
            .collect()),
        set(vec!["kopia".into(), "restic".into()])
    );
    let snapshot_locations = || {
        sites
            .iter()
            .flat_map(|s| &s.spec.storage.snapshot_locations)
    };
    assert!(snapshot_locations().any(|l| l.credentials_secret.is_some()));
    assert!(snapshot_locations().any(|l| l.credentials_secret.is_none()));
    assert!(sites
        .iter()
        .any(|s| s.spec.storage.config.contains_key("s3Url")));
    assert!(sites
        .iter()
        .any(|s| s.spec.storage.config.contains_key("s3ForcePathStyle")));
    assert!(sites.iter().any(|s| !s.spec.storage.default));
    assert!(sites
        .iter()
        .any(|s| s.spec.failover.old_primary_unreachable));
    // Both activation variants, and the fenced-hub gate both skipped and present.
    let new_primaries = || {
        sites.iter().flat_map(|s| {
            s.spec
                .hubs
                .iter()
                .filter(|h| h.role == HubRole::Active && h.active_since.is_some())
                .map(move |h| (s, h))
        })
    };
    assert!(
        new_primaries().any(|(_, h)| h.passive_sync),
        "activation of a syncing hub"
    );
    assert!(
        new_primaries().any(|(_, h)| !h.passive_sync),
        "activation with a new Restore"
    );
    for unreachable in [true, false] {
        assert!(
            new_primaries().any(
                |(s, _)| s.spec.failover.old_primary_unreachable == unreachable
                    && s.spec.hubs.iter().any(|h| h.role == HubRole::Fenced)
            ),
            "a new primary with a fenced hub and oldPrimaryUnreachable: {unreachable}"
        );
    }
    assert!(
        new_primaries().any(|(s, _)| s.spec.volsync.is_some()),
        "gated add-ons"
    );
    assert!(
        sites
            .iter()
            .any(|s| s.spec.volsync.is_some()
                && s.spec.hubs.iter().any(|h| h.role == HubRole::Fenced)),
        "add-ons kept on a fenced hub"
    );
    assert!(hubs().any(|h| h.role == HubRole::Active && h.active_since.is_none()));
    assert!(hubs().any(|h| h.role == HubRole::Passive && !h.passive_sync));
    assert!(
        hubs().any(|h| h.role == HubRole::Fenced && h.fenced_since.is_some()),
        "a fenced hub as `hubdr failover` leaves it"
    );
    // The agents' git credentials both ways (token file, ssh key), each with its own settings.
    let defaults = hubdr::site::AgentSettings::default();
    for keys in [&["token"][..], &["ssh-privatekey", "known_hosts"][..]] {
        assert!(
            sites.iter().any(|s| git_credential_keys(s) == keys
                && s.spec.agent.namespace != defaults.namespace
                && s.spec.agent.git_credentials_secret != defaults.git_credentials_secret),
            "a site whose agents read {keys:?} from their own Secret in their own namespace"
        );
    }
    assert!(sites.iter().any(|s| s.spec.agent.image != defaults.image
        && s.spec.agent.interval != defaults.interval
        && s.spec.agent.heartbeat != defaults.heartbeat));
    assert!(sites.iter().any(|s| s.spec.git.branch != "main"));
    let clusters = || sites.iter().flat_map(|s| &s.spec.managed_clusters);
    assert!(clusters().any(|c| c.api_server.is_some()));
    assert!(clusters().any(|c| c.api_server.is_none()));
    assert!(clusters().any(|c| c.argocd_cluster.is_some()));
    assert!(sites.iter().any(|s| s.spec.argocd.automated.is_some()));

    assert_eq!(
        set(reps().map(|r| r.method.as_str().to_string()).collect()),
        set(vec![
            "rsync-tls".into(),
            "rsync".into(),
            "restic".into(),
            "rclone".into()
        ])
    );
    assert_eq!(
        set(dests().filter_map(|d| d.service_type.clone()).collect()),
        set(vec!["LoadBalancer".into(), "ClusterIP".into()])
    );
    let rsync_like =
        || dests().filter(|d| d.schedule.is_none() && d.schedule_offset_minutes.is_none());
    assert!(
        rsync_like().any(|d| d.address.is_some()),
        "explicit address"
    );
    assert!(rsync_like().any(|d| d.address.is_none()), "late binding");
    assert!(dests().any(|d| d
        .pvc
        .as_ref()
        .is_some_and(|p| p.storage_class_name.is_some())));
    assert!(dests().any(|d| d
        .pvc
        .as_ref()
        .is_some_and(|p| p.storage_class_name.is_none())));
    let rclone_dests = || {
        reps()
            .filter(|r| r.method == Method::Rclone)
            .flat_map(|r| &r.destinations)
    };
    assert!(
        rclone_dests().any(|d| d.schedule.is_some()),
        "explicit schedule"
    );
    assert!(
        rclone_dests().any(|d| d.schedule_offset_minutes.is_some()),
        "offset"
    );
    assert!(
        rclone_dests().any(|d| d.schedule.is_none() && d.schedule_offset_minutes.is_none()),
        "default offset"
    );
    assert!(reps().any(|r| r.retain.as_ref().is_some_and(|t| t.within.is_some())));
    assert!(reps().any(|r| r.restore.is_some()));
    assert!(reps().any(|r| r.privileged_movers));
    let patches = || sites.iter().flat_map(|s| &s.spec.patches);
    assert!(patches().any(|p| p.merge.is_some()));
    assert!(patches().any(|p| p.json.is_some()));
    for field in [
        |t: &hubdr::site::PatchTarget| t.cluster.clone(),
        |t: &hubdr::site::PatchTarget| t.kind.clone(),
        |t: &hubdr::site::PatchTarget| t.name.clone(),
        |t: &hubdr::site::PatchTarget| t.namespace.clone(),
    ] {
        assert!(
            patches().any(|p| field(&p.target).is_some_and(|v| v.contains('*'))),
            "every target field is used with a glob"
        );
    }
}
