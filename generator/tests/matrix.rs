//! The site matrix: `tests/data/matrix/*.yaml` together use every site option. Each site is
//! rendered in memory, checked against the domain rules (domain.md), validated against the
//! upstream CRDs (`../shared/tools/validate-manifests`), snapshotted, and rendered again to
//! prove determinism, in memory and through the CLI into a git repository.

mod agent_rules;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hubdr::gates::Gate;
use hubdr::gitrepo::Tree;
use hubdr::site::{Hub, HubRole, LoadedSite, Method, Replication, Site};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use agent_rules::{documents, git_credential_keys};
use support::Sandbox;

macro_rules! matrix {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check_site($file);
            }
        )*
        const MATRIX: &[&str] = &[$($file),*];
    };
}

matrix! {
    minimal => "minimal",
    full_storage => "full-storage",
    disconnected_failover => "disconnected-failover",
    volsync_rsync => "volsync-rsync",
    volsync_restic_rclone => "volsync-restic-rclone",
    patches => "patches",
}

fn site_path(name: &str) -> PathBuf {
    support::data("matrix").join(format!("{name}.yaml"))
}

fn load(name: &str) -> LoadedSite {
    hubdr::site::load_file(&site_path(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

/// Everything checked for one matrix site.
fn check_site(name: &str) {
    let (loaded, rendered) = support::render_file(&site_path(name));

    // Determinism: a second render in memory is byte-identical.
    let (_, again) = support::render_file(&site_path(name));
    assert_eq!(
        rendered.tree, again.tree,
        "{name}: two renders of the same site differ"
    );

    domain_rules(&loaded, &rendered.tree);

    let text = support::tree_text(&rendered.tree);
    let text = redact_tool_version(&text);
    support::snapshots().bind(|| insta::assert_snapshot!(name, text));

    if !support::shared_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    support::write_tree(dir.path(), &rendered.tree);
    let run = support::validate_manifests(dir.path());
    run.expect_code(0);
    let summary = run.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" 0 failed"),
        "{name}: validate-manifests summary is {summary:?}\n{run}"
    );
    let passed: usize = summary
        .split(" passed")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let custom_resources = rendered
        .objects
        .iter()
        .filter(|o| o.id.api_version != "v1")
        .count();
    assert_eq!(
        passed, custom_resources,
        "{name}: every custom resource must be checked against a CRD, not skipped\n{run}"
    );
}

fn redact_tool_version(text: &str) -> String {
    let version = format!("toolVersion: {}\n", hubdr::render::TOOL_VERSION);
    text.replace(&version, "toolVersion: '[version]'\n")
}

#[test]
fn every_matrix_file_has_a_test() {
    let on_disk = support::yaml_stems(&support::data("matrix"));
    let mut listed: Vec<String> = MATRIX.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add the new matrix file to the matrix! macro"
    );
}

// ---------------------------------------------------------------------------------------------
// The rendered tree as objects
// ---------------------------------------------------------------------------------------------

struct Obj {
    cluster: String,
    file: String,
    value: Value,
}

impl Obj {
    fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Value::as_str)
    }
    fn kind(&self) -> &str {
        self.str_at("/kind").unwrap()
    }
    fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap()
    }
    fn namespace(&self) -> Option<&str> {
        self.str_at("/metadata/namespace")
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/labels")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
    fn at(&self, pointer: &str) -> &Value {
        self.value.pointer(pointer).unwrap_or(&Value::Null)
    }
    fn describe(&self) -> String {
        format!("{} ({})", self.file, self.cluster)
    }
}

struct View {
    objects: Vec<Obj>,
}

impl View {
    fn of(tree: &Tree) -> View {
        let objects = tree
            .iter()
            .filter_map(|(path, bytes)| {
                let rest = path.strip_prefix("clusters/")?;
                let (cluster, file) = rest.split_once('/')?;
                if file == "kustomization.yaml" {
                    return None;
                }
                let value: Value = serde_yaml::from_slice(bytes)
                    .unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
                Some(Obj {
                    cluster: cluster.into(),
                    file: path.clone(),
                    value,
                })
            })
            .collect();
        View { objects }
    }

    fn all(&self, cluster: &str, kind: &str) -> Vec<&Obj> {
        self.objects
            .iter()
            .filter(|o| o.cluster == cluster && o.kind() == kind)
            .collect()
    }

    fn find(&self, cluster: &str, kind: &str, namespace: &str, name: &str) -> Option<&Obj> {
        self.objects.iter().find(|o| {
            o.cluster == cluster
                && o.kind() == kind
                && o.namespace() == Some(namespace)
                && o.name() == name
        })
    }

    #[track_caller]
    fn get(&self, cluster: &str, kind: &str, namespace: &str, name: &str) -> &Obj {
        self.find(cluster, kind, namespace, name)
            .unwrap_or_else(|| {
                panic!(
                    "no {kind} {namespace}/{name} in cluster {cluster}; the cluster has: {:?}",
                    self.objects
                        .iter()
                        .filter(|o| o.cluster == cluster)
                        .map(|o| &o.file)
                        .collect::<Vec<_>>()
                )
            })
    }
}

/// Whether some patch may target objects of `kind` (their patched fields are checked by the
/// patch tests, not by the generic rules).
fn patched(site: &Site, kind: &str) -> bool {
    site.spec.patches.iter().any(|p| {
        p.target
            .kind
            .as_deref()
            .is_none_or(|k| hubdr::render::patch::glob(k, kind))
    })
}

fn is_disconnected(site: &Site, hub: &hubdr::site::Hub) -> bool {
    site.spec.disconnected.is_some() && hub.disconnected != Some(false)
}

/// Every (cluster, namespace) a replication runs a mover in, and its clusters.
fn places(r: &Replication) -> Vec<(String, String)> {
    let mut out = vec![(r.source.cluster.clone(), r.source.namespace.clone())];
    for d in r.destination.iter().chain(&r.destinations) {
        out.push((d.cluster.clone(), d.namespace.clone()));
    }
    if let Some(restore) = &r.restore {
        out.push((restore.cluster.clone(), restore.namespace.clone()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Domain rules, checked on every matrix site
// ---------------------------------------------------------------------------------------------

fn domain_rules(loaded: &LoadedSite, tree: &Tree) {
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
}

/// No Secret, no Secret data, no key material anywhere in the repository.
fn no_secret_material(tree: &Tree) {
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
fn ownership_and_layout(site: &Site, tree: &Tree, view: &View) {
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
fn index_matches(loaded: &LoadedSite, tree: &Tree) {
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const WAIT_FOR: &str = "hubdr.io/wait-for";
const GENERATION: &str = "hubdr.io/generation";

#[track_caller]
fn wave(o: &Obj) -> i32 {
    o.annotation("hubdr.io/wave").unwrap().parse().unwrap()
}

/// The object's `hubdr.io/wait-for` gates, parsed; `None` when it is not gated.
#[track_caller]
fn wait_for(o: &Obj) -> Option<Vec<Gate>> {
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
fn activation_restore_name(site: &Site, hub: &Hub, generation: u64) -> String {
    match site.spec.failover.attempt {
        1 if hub.passive_sync => format!("restore-acm-passive-sync-g{}", hub.passive_since),
        1 => format!("restore-acm-activate-g{generation}"),
        n => format!("restore-acm-activate-g{generation}-a{n}"),
    }
}

/// The activation Restore of `hub`, which took over at `generation`.
fn activation_restore(site: &Site, hub: &Hub, generation: u64, r: &Obj) {
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
fn resumed(hub: &Hub) -> Option<u64> {
    hub.resumed_since
        .filter(|r| hub.active_since.is_none_or(|a| a < *r))
}

/// What the BackupSchedule of a hub resumed at `generation` waits for: the aborted target (the
/// hub that became passive at that generation) reporting it did not activate.
fn expected_resume_gates(site: &Site, generation: u64) -> Vec<Gate> {
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
fn gates_on_fenced(h: &Hub, generation: u64) -> bool {
    h.role == HubRole::Fenced && h.fenced_since.is_none_or(|g| g == generation)
}

/// What a new primary's BackupSchedule waits for: its activation Restore, and the hubs fenced
/// at its generation unless the old primary is declared unreachable.
fn expected_schedule_gates(site: &Site, hub: &Hub, generation: u64) -> Vec<Gate> {
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
    gates
}

/// What a new primary's activation Restore waits for: the hubs fenced at its generation,
/// unless the old primary is declared unreachable (the seeds: fence before activating).
fn expected_restore_gates(site: &Site, generation: u64) -> Vec<Gate> {
    if site.spec.failover.old_primary_unreachable {
        return Vec::new();
    }
    site.spec
        .hubs
        .iter()
        .filter(|h| gates_on_fenced(h, generation))
        .map(|h| Gate::Fenced {
            cluster: h.name.clone(),
            generation,
        })
        .collect()
}

fn hubs(site: &Site, view: &View) {
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
fn addons(site: &Site, view: &View) {
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
fn gates(site: &Site, view: &View) {
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
            }
        }
    }
}

fn managed_clusters(site: &Site, view: &View) {
    for c in &site.spec.managed_clusters {
        for kind in [
            "MultiClusterHub",
            "DataProtectionApplication",
            "BackupSchedule",
            "Restore",
            "ManagedClusterAddOn",
        ] {
            assert!(
                view.all(&c.name, kind).is_empty(),
                "{}: a managed cluster holds no {kind}",
                c.name
            );
        }
    }
}

fn mover(method: Method) -> &'static str {
    match method {
        Method::RsyncTls => "rsyncTLS",
        Method::Rsync => "rsync",
        Method::Restic => "restic",
        Method::Rclone => "rclone",
    }
}

fn replications(site: &Site, view: &View) {
    let Some(volsync) = &site.spec.volsync else {
        for o in &view.objects {
            assert!(
                !o.kind().starts_with("Replication"),
                "{}: no VolSync without spec.volsync",
                o.describe()
            );
        }
        return;
    };
    let mut privileged = BTreeSet::new();
    let patched = patched(site, "ReplicationDestination");
    for r in &volsync.replications {
        let m = mover(r.method);
        let s = &r.source;
        let src = view.get(&s.cluster, "ReplicationSource", &s.namespace, &r.name);
        let what = src.describe();
        assert_eq!(src.at("/spec/sourcePVC"), s.pvc.as_str(), "{what}");
        assert_eq!(
            src.at("/spec/trigger/schedule"),
            r.schedule.as_str(),
            "{what}"
        );
        let copy_default = if r.method == Method::Restic {
            "Clone"
        } else {
            "Snapshot"
        };
        assert_eq!(
            src.str_at(&format!("/spec/{m}/copyMethod")),
            Some(s.copy_method.as_deref().unwrap_or(copy_default)),
            "{what}"
        );
        for (field, value) in [
            ("storageClassName", &s.storage_class_name),
            ("volumeSnapshotClassName", &s.volume_snapshot_class_name),
        ] {
            assert_eq!(
                src.str_at(&format!("/spec/{m}/{field}")),
                value.as_deref(),
                "{what}: {field}"
            );
        }
        match r.method {
            Method::RsyncTls | Method::Rsync => {
                let d = r.destination.as_ref().unwrap();
                let secret_field = if r.method == Method::RsyncTls {
                    "keySecret"
                } else {
                    "sshKeys"
                };
                let secret = r
                    .psk_secret
                    .as_ref()
                    .or(r.ssh_keys_secret.as_ref())
                    .unwrap();
                assert_eq!(
                    src.at(&format!("/spec/{m}/{secret_field}")),
                    secret.as_str()
                );
                let dst = view.get(&d.cluster, "ReplicationDestination", &d.namespace, &r.name);
                assert_eq!(
                    dst.at(&format!("/spec/{m}/{secret_field}")),
                    secret.as_str()
                );
                assert_eq!(dst.at("/spec/trigger"), &Value::Null, "{}", dst.describe());
                let service = d.service_type.clone().unwrap_or_else(|| {
                    if d.cluster == s.cluster {
                        "ClusterIP"
                    } else {
                        "LoadBalancer"
                    }
                    .into()
                });
                assert_eq!(
                    dst.at(&format!("/spec/{m}/serviceType")),
                    service.as_str(),
                    "{}",
                    dst.describe()
                );
                assert_eq!(
                    dst.str_at(&format!("/spec/{m}/capacity")),
                    d.capacity.as_deref()
                );
                let late = src.annotation("hubdr.io/late-bind");
                match &d.address {
                    Some(address) => {
                        assert_eq!(src.at(&format!("/spec/{m}/address")), address.as_str());
                        assert_eq!(late, None, "{what}: a fixed address needs no late binding");
                    }
                    None => {
                        assert_eq!(src.at(&format!("/spec/{m}/address")), &Value::Null);
                        assert_eq!(
                            late,
                            Some(
                                format!(
                                    "spec.{m}.address={}/ReplicationDestination/{}/{}#status.{m}.address",
                                    d.cluster, d.namespace, r.name
                                )
                                .as_str()
                            ),
                            "{what}: the source binds the address the destination publishes"
                        );
                    }
                }
                destination_common(view, r, d, dst, patched);
            }
            Method::Restic => {
                let repo = r.repository_secret.as_deref().unwrap();
                assert_eq!(src.at("/spec/restic/repository"), repo, "{what}");
                assert_eq!(
                    src.at("/spec/restic/pruneIntervalDays").as_i64(),
                    r.prune_interval_days
                );
                if let Some(retain) = &r.retain {
                    let got = src.at("/spec/restic/retain");
                    for (k, v) in [
                        ("hourly", retain.hourly),
                        ("daily", retain.daily),
                        ("weekly", retain.weekly),
                        ("monthly", retain.monthly),
                        ("yearly", retain.yearly),
                    ] {
                        assert_eq!(got.get(k).and_then(Value::as_i64), v.map(i64::from), "{k}");
                    }
                    assert_eq!(
                        got.get("within").and_then(Value::as_str),
                        retain.within.as_deref()
                    );
                }
                if let Some(restore) = &r.restore {
                    let name = format!("{}-restore", r.name);
                    let Some(run) = &restore.run else {
                        assert!(
                            view.find(
                                &restore.cluster,
                                "ReplicationDestination",
                                &restore.namespace,
                                &name
                            )
                            .is_none(),
                            "{what}: a restore without a requested run renders nothing"
                        );
                        continue;
                    };
                    let rd = view.get(
                        &restore.cluster,
                        "ReplicationDestination",
                        &restore.namespace,
                        &name,
                    );
                    let w = rd.describe();
                    assert_eq!(
                        rd.at("/spec/trigger"),
                        &json!({"manual": run}),
                        "{w}: a restore runs once per requested run id, on a manual trigger"
                    );
                    assert_eq!(rd.at("/spec/restic/repository"), repo, "{w}");
                    assert_eq!(
                        rd.at("/spec/restic/destinationPVC"),
                        restore.destination_pvc.as_str(),
                        "{w}"
                    );
                    assert_eq!(rd.at("/spec/restic/copyMethod"), "Direct", "{w}");
                }
            }
            Method::Rclone => {
                let c = r.rclone.as_ref().unwrap();
                let expected = json!({
                    "rcloneConfigSection": c.config_section,
                    "rcloneDestPath": c.dest_path,
                    "rcloneConfig": c.config_secret,
                });
                for (k, v) in expected.as_object().unwrap() {
                    assert_eq!(&src.at("/spec/rclone")[k], v, "{what}: {k}");
                }
                for d in &r.destinations {
                    let dst = view.get(&d.cluster, "ReplicationDestination", &d.namespace, &r.name);
                    for (k, v) in expected.as_object().unwrap() {
                        assert_eq!(&dst.at("/spec/rclone")[k], v, "{}: {k}", dst.describe());
                    }
                    let schedule = dst.str_at("/spec/trigger/schedule").unwrap();
                    assert_ne!(
                        schedule.trim(),
                        r.schedule.trim(),
                        "{}: rclone destinations run after the source",
                        dst.describe()
                    );
                    let expected_schedule = match &d.schedule {
                        Some(s) => s.clone(),
                        None => shifted(&r.schedule, d.schedule_offset_minutes),
                    };
                    assert_eq!(schedule, expected_schedule, "{}", dst.describe());
                    destination_common(view, r, d, dst, patched);
                }
            }
        }
        if r.privileged_movers {
            privileged.extend(places(r));
        }
    }
    for (cluster, namespace) in &privileged {
        let ns = view
            .objects
            .iter()
            .find(|o| o.cluster == *cluster && o.kind() == "Namespace" && o.name() == namespace)
            .unwrap_or_else(|| {
                panic!("{cluster}: Namespace {namespace} must allow privileged movers")
            });
        assert_eq!(
            ns.annotation("volsync.backube/privileged-movers"),
            Some("true")
        );
        assert_eq!(
            ns.annotation("hubdr.io/prune"),
            Some("disabled"),
            "hubdr must never delete an application namespace"
        );
    }
    let namespaces = view
        .objects
        .iter()
        .filter(|o| o.kind() == "Namespace")
        .count();
    assert_eq!(
        namespaces,
        privileged.len(),
        "only privileged-mover namespaces are rendered"
    );
}

/// Capacity, access modes, classes and the replica PVC of one destination.
fn destination_common(
    view: &View,
    r: &Replication,
    d: &hubdr::site::ReplicationDestinationSpec,
    dst: &Obj,
    patched: bool,
) {
    let m = mover(r.method);
    let w = dst.describe();
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/capacity")),
        d.capacity.as_deref(),
        "{w}"
    );
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/copyMethod")),
        Some(d.copy_method.as_deref().unwrap_or("Snapshot")),
        "{w}"
    );
    let modes = if d.access_modes.is_empty() {
        vec!["ReadWriteOnce".to_string()]
    } else {
        d.access_modes.clone()
    };
    if !patched {
        assert_eq!(
            dst.at(&format!("/spec/{m}/accessModes")),
            &json!(modes),
            "{w}"
        );
    }
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/storageClassName")),
        d.storage_class_name.as_deref(),
        "{w}"
    );
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/volumeSnapshotClassName")),
        d.volume_snapshot_class_name.as_deref(),
        "{w}"
    );
    let pvcs: Vec<&Obj> = view
        .all(&d.cluster, "PersistentVolumeClaim")
        .into_iter()
        .filter(|p| {
            p.at("/spec/dataSourceRef/name") == r.name.as_str()
                && p.namespace() == Some(&d.namespace)
        })
        .collect();
    match &d.pvc {
        None => assert!(pvcs.is_empty(), "{w}: no replica PVC was asked for"),
        Some(pvc) => {
            assert_eq!(pvcs.len(), 1, "{w}: one replica PVC");
            let p = pvcs[0];
            assert_eq!(p.name(), pvc.name);
            assert_eq!(
                p.at("/spec/dataSourceRef"),
                &json!({"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": r.name}),
                "{}: the replica is filled from the ReplicationDestination",
                p.describe()
            );
            assert_eq!(
                p.at("/spec/resources/requests/storage"),
                d.capacity.as_deref().unwrap()
            );
            assert_eq!(
                p.str_at("/spec/storageClassName"),
                pvc.storage_class_name
                    .as_deref()
                    .or(d.storage_class_name.as_deref())
            );
            assert_eq!(p.at("/spec/accessModes"), &json!(modes));
            let pvc_wave: i32 = p.annotation("hubdr.io/wave").unwrap().parse().unwrap();
            let rd_wave: i32 = dst.annotation("hubdr.io/wave").unwrap().parse().unwrap();
            assert!(
                pvc_wave > rd_wave,
                "the replica PVC comes after its ReplicationDestination"
            );
        }
    }
}

/// The source schedule's minutes shifted by `offset` (default: half the smallest gap).
fn shifted(source: &str, offset: Option<u32>) -> String {
    let fields: Vec<&str> = source.split_whitespace().collect();
    let minutes: Vec<u32> = match fields[0].strip_prefix("*/") {
        Some(step) => (0..60).step_by(step.parse().unwrap()).collect(),
        None => fields[0].split(',').map(|m| m.parse().unwrap()).collect(),
    };
    let mut gaps: Vec<u32> = minutes.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.push(60 - minutes[minutes.len() - 1] + minutes[0]);
    let offset = offset.unwrap_or(gaps.iter().min().unwrap() / 2);
    let mut out: Vec<u32> = minutes.iter().map(|m| (m + offset) % 60).collect();
    out.sort_unstable();
    let list: Vec<String> = out.iter().map(u32::to_string).collect();
    format!("{} {}", list.join(","), fields[1..].join(" "))
}

#[test]
fn shifted_schedules_follow_the_documented_example() {
    assert_eq!(
        shifted("*/6 * * * *", None),
        "3,9,15,21,27,33,39,45,51,57 * * * *"
    );
    assert_eq!(shifted("0,30 2 * * *", Some(5)), "5,35 2 * * *");
}

fn applicationset(site: &Site, tree: &Tree) {
    let a: Value = serde_yaml::from_slice(&tree["argocd/applicationset.yaml"]).unwrap();
    let spec = &site.spec;
    assert_eq!(a["kind"], "ApplicationSet");
    assert_eq!(a["metadata"]["namespace"], spec.argocd.namespace.as_str());
    assert_eq!(
        a["metadata"]["name"],
        format!("hubdr-{}", site.metadata.name)
    );
    let elements = &a["spec"]["generators"][0]["list"]["elements"];
    let expected: Vec<Value> = spec
        .hubs
        .iter()
        .map(|h| (&h.name, &h.argocd_cluster))
        .chain(
            spec.managed_clusters
                .iter()
                .map(|c| (&c.name, &c.argocd_cluster)),
        )
        .map(|(name, dest)| json!({"cluster": name, "destination": dest.as_ref().unwrap_or(name)}))
        .collect();
    assert_eq!(elements, &json!(expected), "one Application per cluster");
    let template = &a["spec"]["template"]["spec"];
    assert_eq!(template["project"], spec.argocd.project.as_str());
    assert_eq!(
        template["source"]["repoURL"],
        spec.git.url.as_deref().unwrap()
    );
    assert_eq!(
        template["source"]["targetRevision"],
        spec.git.branch.as_str()
    );
    assert_eq!(template["source"]["path"], "clusters/{{ .cluster }}");
    let automated = &template["syncPolicy"]["automated"];
    match &spec.argocd.automated {
        None => assert!(automated.is_null()),
        Some(auto) => {
            assert_eq!(automated["prune"], auto.prune);
            assert_eq!(automated["selfHeal"], auto.self_heal);
        }
    }
    let options = template["syncPolicy"]["syncOptions"].as_array().unwrap();
    assert!(options.contains(&json!("ServerSideApply=true")));
}

// ---------------------------------------------------------------------------------------------
// The matrix covers every option
// ---------------------------------------------------------------------------------------------

/// Field paths of a value, with sequence indices folded (`spec.hubs[].name`). Mappings whose keys
/// are user data (config maps, resource lists, patch bodies) are leaves.
fn field_paths(value: &Value, path: &str, out: &mut BTreeSet<String>) {
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
fn matrix_sets_every_site_field() {
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
fn matrix_covers_every_option_value() {
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

// ---------------------------------------------------------------------------------------------
// Site-specific expectations
// ---------------------------------------------------------------------------------------------

#[test]
fn full_storage_options_reach_the_dpa() {
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
fn full_storage_warns_about_cleanup_all_and_missing_api_servers() {
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
fn patches_are_applied_to_their_targets_only() {
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
fn a_patch_that_makes_two_objects_share_a_file_is_refused() {
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
fn an_abort_renders_the_way_back_with_its_own_gates() {
    let text = std::fs::read_to_string(site_path("volsync-rsync")).unwrap();
    let loaded = hubdr::site::load_str(&text, std::path::Path::new("site.yaml")).unwrap();
    let abort = hubdr::failover::abort::plan(&loaded.site).unwrap();
    let text = hubdr::failover::abort::apply(&text, &loaded.site, &abort).unwrap();
    let loaded = hubdr::site::load_str(&text, std::path::Path::new("site.yaml"))
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    // The site's own warnings (undeclared networks) stay; the abort adds none.
    assert!(
        loaded.warnings.iter().all(|w| w.path.ends_with(".network")),
        "{:?}",
        loaded.warnings
    );
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
fn minimal_site_gets_the_documented_defaults() {
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
fn a_retry_activates_with_a_restore_of_its_own() {
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
        Some("restore-finished:open-cluster-management-backup/restore-acm-activate-g3-a2; managed-clusters-available; observability-restarted:3")
    );
}

#[test]
fn failover_activates_the_new_primary_before_its_backup_schedule() {
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
        Some("restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0; managed-clusters-available; observability-restarted:3"),
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
fn failover_from_a_one_time_passive_hub_waits_for_the_fenced_old_primary() {
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
fn failover_edit_of_the_pre_failover_site_renders_the_matrix_site() {
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
fn only_the_hub_fenced_at_this_generation_gates_the_new_primary() {
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
            Gate::ObservabilityRestarted { generation: 2 }
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
            Gate::ObservabilityRestarted { generation: 2 }
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
            Gate::ObservabilityRestarted { generation: 2 }
        ],
        "{unreachable}"
    );
}

// ---------------------------------------------------------------------------------------------
// Determinism through the CLI
// ---------------------------------------------------------------------------------------------

/// `hubdr render` writes exactly the library's tree, and a second render into the same repository
/// commits nothing and rewrites no file.
#[test]
fn cli_render_matches_the_library_and_a_rerender_writes_nothing() {
    for name in MATRIX {
        let sandbox = Sandbox::new();
        let site = site_path(name);
        let site = site.to_str().unwrap();
        let repo = sandbox.join("repo");
        sandbox
            .hubdr(&["render", "--site", site, "--out", "repo"])
            .expect_code(0)
            .expect_stdout("committed");
        let (_, rendered) = support::render_file(&site_path(name));
        assert_eq!(
            support::read_tree(&repo),
            rendered.tree,
            "{name}: the CLI wrote something else than the library renders"
        );
        assert_eq!(support::head_tree(&repo), rendered.tree, "{name}: HEAD");
        let before = support::stamps(&repo, true);
        let commits = support::commits(&repo);
        assert_eq!(commits.len(), 1, "{name}");

        sandbox
            .hubdr(&["render", "--site", site, "--out", "repo"])
            .expect_code(0)
            .expect_stdout("up to date, nothing to commit");
        assert_eq!(
            support::commits(&repo),
            commits,
            "{name}: a no-op render committed"
        );
        let after = support::stamps(&repo, true);
        let touched: Vec<&String> = after
            .iter()
            .filter(|(p, s)| before.get(*p) != Some(*s))
            .map(|(p, _)| p)
            .chain(before.keys().filter(|p| !after.contains_key(*p)))
            .collect();
        assert!(
            touched.is_empty(),
            "{name}: a render with nothing to change touched {touched:?}"
        );
        assert!(
            support::git_status(&repo).is_empty(),
            "{name}: worktree clean"
        );
    }
}

/// Commit messages and plans name added objects from the rendered manifests instead of parsing
/// their files again: the names are the same either way, for every object of every matrix site.
#[test]
fn change_lists_from_manifests_equal_those_from_parsed_files() {
    for name in MATRIX {
        let (_, rendered) = support::render_file(&site_path(name));
        let empty = Tree::new();
        let all = hubdr::changes::diff_trees(&empty, &rendered.tree);
        let no_old = |_: &str| None;
        let parsed = hubdr::changes::by_cluster(&all, &rendered.tree, &no_old);
        let named = hubdr::changes::by_cluster_rendered(&all, &rendered, &no_old);
        assert_eq!(named, parsed, "{name}");
        let objects: usize = named
            .values()
            .flatten()
            .filter(|c| !c.what.ends_with(".yaml"))
            .count();
        assert_eq!(objects, rendered.objects.len(), "{name}");
    }
}
