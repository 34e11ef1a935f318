//! Domain rules checked on every matrix site: secrets, ownership and layout, the index, restores and gates.

use super::*;

pub(crate) fn domain_rules(loaded: &LoadedSite, tree: &Tree) {
    let site = &loaded.site;
    let view = View::of(tree);
    no_secret_material(tree);
    ownership_and_layout(site, tree, &view);
    index_matches(loaded, tree);
    agent_rules::check_install(site, tree);
    hubs(site, &view);
    addons(site, &view);
    gates(site, &view);
    managed_clusters(site, &view);
    replications(site, &view);
    applicationset(site, tree);
    hosted_rules::check(site, tree);
}

/// No Secret, no Secret data, no key material anywhere in the repository.
pub(crate) fn no_secret_material(tree: &Tree) {
    fn walk(path: &str, key: &str, v: &Value, file: &str) {
        assert!(
            !matches!(key, "data" | "stringData" | "binaryData"),
            "{file}: {path} carries data; credentials never go into git"
        );
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(&format!("{path}.{k}"), k, v, file);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), "", v, file);
                }
            }
            Value::String(s) => assert!(
                hubdr::site::units::check_psk_line(s).is_err(),
                "{file}: {path} looks like a pre-shared key"
            ),
            _ => {}
        }
    }
    for (path, bytes) in tree {
        for value in documents(path, bytes) {
            assert_ne!(
                value.get("kind").and_then(Value::as_str),
                Some("Secret"),
                "{path}: hubdr never renders Secrets"
            );
            if path.starts_with("clusters/") || path.starts_with("agents/") {
                walk("", "", &value, path);
            }
        }
    }
}

/// Labels, waves, file names and kustomizations.
pub(crate) fn ownership_and_layout(site: &Site, tree: &Tree, view: &View) {
    let clusters: Vec<&str> = site
        .spec
        .hubs
        .iter()
        .map(|h| h.name.as_str())
        .chain(site.spec.managed_clusters.iter().map(|c| c.name.as_str()))
        .collect();
    for path in tree.keys() {
        let ok = path == ".hubdr/index.yaml"
            || path == "argocd/applicationset.yaml"
            || clusters.iter().any(|c| {
                path.starts_with(&format!("clusters/{c}/")) || *path == format!("agents/{c}.yaml")
            });
        assert!(ok, "{path}: not a file hubdr should render");
        assert!(
            tree[path].starts_with(b"# "),
            "{path}: rendered files start with a do-not-edit comment"
        );
    }
    for o in &view.objects {
        let what = o.describe();
        assert_eq!(
            o.label("app.kubernetes.io/managed-by"),
            Some("hubdr"),
            "{what}"
        );
        assert_eq!(
            o.label("hubdr.io/site"),
            Some(site.metadata.name.as_str()),
            "{what}"
        );
        assert_eq!(
            o.label("hubdr.io/cluster"),
            Some(o.cluster.as_str()),
            "{what}"
        );
        let wave = o.annotation("hubdr.io/wave");
        assert!(
            wave.is_some_and(|w| w.parse::<i32>().is_ok()),
            "{what}: wave"
        );
        assert_eq!(
            o.annotation("argocd.argoproj.io/sync-wave"),
            wave,
            "{what}: the Argo CD sync wave mirrors hubdr.io/wave"
        );
        let expected_file = match o.namespace() {
            Some(ns) => format!("{}.{ns}.{}.yaml", o.kind().to_lowercase(), o.name()),
            None => format!("{}.{}.yaml", o.kind().to_lowercase(), o.name()),
        };
        assert_eq!(
            o.file,
            format!("clusters/{}/{expected_file}", o.cluster),
            "file name"
        );
    }
    for cluster in clusters {
        let path = format!("clusters/{cluster}/kustomization.yaml");
        let bytes = tree
            .get(&path)
            .unwrap_or_else(|| panic!("{path} is missing"));
        let k: Value = serde_yaml::from_slice(bytes).unwrap();
        assert_eq!(k["kind"], "Kustomization", "{path}");
        let resources: Vec<String> = k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        let mut listed = resources.clone();
        listed.sort();
        let mut present: Vec<String> = view
            .objects
            .iter()
            .filter(|o| o.cluster == cluster)
            .map(|o| o.file.rsplit('/').next().unwrap().to_string())
            .collect();
        present.sort();
        assert_eq!(
            listed, present,
            "{path} lists exactly the cluster's objects"
        );
        let waves: Vec<i32> = resources
            .iter()
            .map(|r| {
                let o = view
                    .objects
                    .iter()
                    .find(|o| o.file == format!("clusters/{cluster}/{r}"))
                    .unwrap();
                o.annotation("hubdr.io/wave").unwrap().parse().unwrap()
            })
            .collect();
        assert!(
            waves.windows(2).all(|w| w[0] <= w[1]),
            "{path}: resources must be in wave order, got waves {waves:?}"
        );
    }
}

/// `.hubdr/index.yaml` lists every other file with its sha256, and the site's clusters.
pub(crate) fn index_matches(loaded: &LoadedSite, tree: &Tree) {
    let site = &loaded.site;
    let index =
        hubdr::index::RenderIndex::parse(std::str::from_utf8(&tree[".hubdr/index.yaml"]).unwrap())
            .unwrap();
    assert_eq!(index.site, site.metadata.name);
    assert_eq!(index.site_hash, loaded.hash);
    assert_eq!(index.generation, site.spec.failover.generation);
    assert_eq!(index.templates, "embedded");
    let expected: BTreeMap<String, String> = tree
        .iter()
        .filter(|(p, _)| *p != ".hubdr/index.yaml")
        .map(|(p, b)| (p.clone(), hex(&Sha256::digest(b))))
        .collect();
    assert_eq!(index.files, expected, "index digests");
    for hub in &site.spec.hubs {
        let entry = &index.clusters[&hub.name];
        assert_eq!(entry.kind, "hub");
        assert_eq!(entry.role.as_deref(), Some(hub.role.as_str()));
        let has = |kind: &str, name: &str| {
            entry
                .prerequisites
                .iter()
                .any(|p| p.kind == kind && p.name == name)
        };
        assert!(
            has("Secret", &site.spec.storage.credentials_secret.name),
            "{}: the storage credentials Secret is a prerequisite",
            hub.name
        );
        if let Some(d) = &site.spec.disconnected {
            assert_eq!(
                has("CatalogSource", &d.catalog_source),
                is_disconnected(site, hub),
                "{}: the CatalogSource is a prerequisite exactly on disconnected hubs",
                hub.name
            );
        }
    }
    for c in &site.spec.managed_clusters {
        assert_eq!(index.clusters[&c.name].kind, "managed");
        assert_eq!(index.clusters[&c.name].role, None);
    }
    // Every cluster's agent pulls the repository with the credentials Secret in its namespace.
    let agent = &site.spec.agent;
    let keys = git_credential_keys(site);
    for (name, entry) in &index.clusters {
        let secrets: Vec<&hubdr::index::Prerequisite> = entry
            .prerequisites
            .iter()
            .filter(|p| p.kind == "Secret" && p.namespace == agent.namespace)
            .collect();
        assert_eq!(
            secrets.len(),
            1,
            "{name}: one Secret prerequisite in the agent's namespace: {secrets:?}"
        );
        assert_eq!(secrets[0].name, agent.git_credentials_secret, "{name}");
        assert_eq!(secrets[0].keys, keys, "{name}: the git Secret's keys");
    }
    assert_eq!(
        index.clusters.len(),
        site.spec.hubs.len() + site.spec.managed_clusters.len()
    );
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) const WAIT_FOR: &str = "hubdr.io/wait-for";
pub(crate) const GENERATION: &str = "hubdr.io/generation";

#[track_caller]
pub(crate) fn wave(o: &Obj) -> i32 {
    o.annotation("hubdr.io/wave").unwrap().parse().unwrap()
}

/// The object's `hubdr.io/wait-for` gates, parsed; `None` when it is not gated.
#[track_caller]
pub(crate) fn wait_for(o: &Obj) -> Option<Vec<Gate>> {
    o.annotation(WAIT_FOR).map(|text| {
        let gates = hubdr::gates::parse(text)
            .unwrap_or_else(|e| panic!("{}: {WAIT_FOR} {text:?}: {e}", o.describe()));
        assert!(!gates.is_empty(), "{}: empty {WAIT_FOR}", o.describe());
        gates
    })
}

/// design.md, "Failover, step by step": a syncing hub activates through its passive-sync
/// Restore, a hub that was not syncing through a new `restore-acm-activate-g<N>`; a retry
/// (`failover.attempt` > 1) through a new Restore of its own, as a Restore runs once.
pub(crate) fn activation_restore_name(site: &Site, hub: &Hub, generation: u64) -> String {
    match site.spec.failover.attempt {
        1 if hub.passive_sync => format!("restore-acm-passive-sync-g{}", hub.passive_since),
        1 => format!("restore-acm-activate-g{generation}"),
        n => format!("restore-acm-activate-g{generation}-a{n}"),
    }
}

/// The activation Restore of `hub`, which took over at `generation`.
pub(crate) fn activation_restore(site: &Site, hub: &Hub, generation: u64, r: &Obj) {
    let h = r.describe();
    assert_eq!(
        r.at("/spec/veleroManagedClustersBackupName"),
        "latest",
        "{h}: the activation Restore activates the managed clusters"
    );
    assert_eq!(r.at("/spec/veleroCredentialsBackupName"), "latest", "{h}");
    assert_eq!(r.at("/spec/veleroResourcesBackupName"), "latest", "{h}");
    assert_eq!(
        r.annotation(GENERATION),
        Some(generation.to_string().as_str()),
        "{h}: the activation Restore names its failover generation"
    );
    assert_eq!(
        wait_for(r).unwrap_or_default(),
        expected_restore_gates(site, generation),
        "{h}: the activation Restore waits for the old primary's fence (design.md: fence before activation)"
    );
    assert_eq!(wave(r), 2, "{h}: Restore wave");
    if hub.passive_sync && site.spec.failover.attempt == 1 {
        // The same Restore as while passive, so the operator ends its sync by activating.
        assert_eq!(r.at("/spec/syncRestoreWithNewBackups"), true, "{h}");
        assert_eq!(
            r.str_at("/spec/restoreSyncInterval"),
            hub.restore_sync_interval.as_deref(),
            "{h}"
        );
    } else {
        assert_eq!(r.at("/spec/syncRestoreWithNewBackups"), &Value::Null, "{h}");
        assert_eq!(r.at("/spec/restoreSyncInterval"), &Value::Null, "{h}");
    }
    if !patched(site, "Restore") {
        assert_eq!(
            r.at("/spec/cleanupBeforeRestore"),
            hub.cleanup_before_restore.as_str(),
            "{h}"
        );
    }
}

/// The generation at which an aborted failover gave `hub` the role back (`resumedSince` newer
/// than its `activeSince`): such a hub activates nothing.
pub(crate) fn resumed(hub: &Hub) -> Option<u64> {
    hub.resumed_since
        .filter(|r| hub.active_since.is_none_or(|a| a < *r))
}

/// What the BackupSchedule of a hub resumed at `generation` waits for: the aborted target (the
/// hub that became passive at that generation) reporting it did not activate.
pub(crate) fn expected_resume_gates(site: &Site, generation: u64) -> Vec<Gate> {
    site.spec
        .hubs
        .iter()
        .filter(|h| h.role == HubRole::Passive && h.passive_since == generation)
        .map(|h| Gate::NotActivated {
            cluster: h.name.clone(),
            generation,
        })
        .collect()
}

/// Whether the new primary of `generation` waits for fenced hub `h`'s status: the old primary
/// of this failover (fenced at this generation) does; a hub fenced in an earlier failover does
/// not; a fenced hub with no recorded `fencedSince` (a hand edit) does, to be safe.
pub(crate) fn gates_on_fenced(h: &Hub, generation: u64) -> bool {
    h.role == HubRole::Fenced && h.fenced_since.is_none_or(|g| g == generation)
}

/// What a new primary's BackupSchedule waits for: its activation Restore, and the hubs fenced
/// at its generation unless the old primary is declared unreachable.
pub(crate) fn expected_schedule_gates(site: &Site, hub: &Hub, generation: u64) -> Vec<Gate> {
    let mut gates = vec![Gate::RestoreFinished {
        namespace: site.spec.backup_namespace.clone(),
        name: activation_restore_name(site, hub, generation),
    }];
    if !site.spec.failover.old_primary_unreachable {
        gates.extend(
            site.spec
                .hubs
                .iter()
                .filter(|h| gates_on_fenced(h, generation))
                .map(|h| Gate::Fenced {
                    cluster: h.name.clone(),
                    generation,
                }),
        );
    }
    // design.md step 3: verified (every managed cluster back, the observability API restarted)
    // before it backs up.
    gates.push(Gate::ManagedClustersAvailable);
    gates.push(Gate::ObservabilityRestarted { generation });
    // ACM 2.14+: the auto-import strategy put back after the verification.
    if site.spec.acm().has_auto_import_strategy() {
        gates.push(Gate::AutoImportRestored { generation });
    }
    gates
}

/// What a new primary's activation Restore waits for: the hubs fenced at its generation,
/// unless the old primary is declared unreachable (the seeds: fence before activating).
pub(crate) fn expected_restore_gates(site: &Site, generation: u64) -> Vec<Gate> {
    let mut gates: Vec<Gate> = if site.spec.failover.old_primary_unreachable {
        Vec::new()
    } else {
        site.spec
            .hubs
            .iter()
            .filter(|h| gates_on_fenced(h, generation))
            .map(|h| Gate::Fenced {
                cluster: h.name.clone(),
                generation,
            })
            .collect()
    };
    // ACM 2.14+: ImportAndSync in place before the activation.
    if site.spec.acm().has_auto_import_strategy() {
        gates.push(Gate::AutoImportStrategy {
            strategy: "ImportAndSync".into(),
        });
    }
    gates
}
