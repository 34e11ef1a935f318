//! Helpers shared by the `agent_*` integration tests: a fake API server with the upstream
//! CRDs, the example site rendered by the real `hubdr` library, a bare git remote the agent
//! fetches from and reports to, and readers for what ended up in the cluster.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Signature};
use hubdr::render::manifest::{ANNOTATION_PRUNE, LABEL_CLUSTER};
use hubdr::render::{ObjectId, Rendered};
use hubdr::status::signature::AgentKey;
use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use hubdr_agent::apply::ApplyOptions;
use hubdr_agent::changeset::{Action, ChangeSet};
use hubdr_agent::config::Allowlist;
use hubdr_agent::git::{Credentials, GitSource, Identity, RetryPolicy, StatusWriter};
use hubdr_agent::inventory::{Inventory, INVENTORY_KEY};
use hubdr_agent::kubeapi::{ClusterApi, Retry};
use hubdr_agent::reconcile::{self, PassConfig, PassReport};
use hubdr_agent::runner::Agent;
use kube::core::GroupVersionKind;
use kubefake::{FakeApiServer, WriteRecord};
use serde_json::Value;

mod agents;
// The git helpers of the `git_*` tests: the sandbox, and the commits written into `Remote`.
#[path = "../git_common/mod.rs"]
mod git_common;
#[allow(unused_imports)] // Not every test binary uses them.
pub use agents::*;
pub use git_common::sandbox;

/// The agent's own namespace in these tests (holds the inventory ConfigMap).
pub const AGENT_NAMESPACE: &str = "hubdr-agent";

/// The example site of the repository (two hubs, three managed clusters, four replications).
pub const EXAMPLE_SITE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../repos-example/site.yaml"
));

// ---------------------------------------------------------------------------------------
// The fake cluster

/// `shared/crds` beside the workspace.
pub fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds")
}

/// A kubeconfig file in `dir` for `server`, without credentials: its path.
pub fn kubeconfig(dir: &Path, server: &FakeApiServer) -> String {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
         users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: nobody}}\n\
         current-context: fake\n",
        server.url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A fake API server serving the upstream CRDs, with the agent's namespace.
pub async fn fake() -> FakeApiServer {
    let server = FakeApiServer::start()
        .await
        .expect("the fake API server starts");
    server
        .load_crds_from_dir(crds_dir())
        .expect("the upstream CRDs load");
    server.ensure_namespace(AGENT_NAMESPACE);
    // Installed an hour ago: the etcd backup is not due yet (its checks pass).
    openshift(
        &server,
        &[(
            "Completed",
            "4.16.3",
            jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1),
        )],
    );
    server
}

/// Make the fake an OpenShift cluster for the etcd backups: batch/v1 CronJob and Job and core
/// Pods served, and ClusterVersion `version` with `history` (newest first: state, version,
/// completion time).
pub fn openshift(server: &FakeApiServer, history: &[(&str, &str, jiff::Timestamp)]) {
    for (group, kind, plural) in [
        ("batch", "CronJob", "cronjobs"),
        ("batch", "Job", "jobs"),
        ("", "Pod", "pods"),
    ] {
        server.register_resource(kubefake::ResourceInfo::namespaced_v1(group, kind, plural));
    }
    set_cluster_version(server, history);
}

/// Replace ClusterVersion `version`'s history (newest first: state, version, completion time).
pub fn set_cluster_version(server: &FakeApiServer, history: &[(&str, &str, jiff::Timestamp)]) {
    let history: Vec<Value> = history
        .iter()
        .map(|(state, version, at)| {
            serde_json::json!({"state": state, "version": version, "startedTime": (*at - jiff::SignedDuration::from_mins(40)).to_string(),
                "completionTime": at.to_string(), "verified": true, "image": format!("quay.io/openshift-release-dev/ocp-release:{version}")})
        })
        .collect();
    let gvk = gvk_of("config.openshift.io/v1", "ClusterVersion");
    if server.get(&gvk, None, "version").is_none() {
        server
            .put_object(serde_json::json!({"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
                "metadata": {"name": "version"}, "spec": {"clusterID": "5c8e6f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6"}}))
            .expect("the ClusterVersion is stored");
    }
    server
        .set_status(
            &gvk,
            None,
            "version",
            serde_json::json!({
                "history": history,
                "desired": {"version": history.first().and_then(|h| h["version"].as_str()),
                    "image": history.first().and_then(|h| h["image"].as_str())},
                "availableUpdates": null,
                "observedGeneration": 1,
                "versionHash": "x9Ut5zzvbzo=",
            }),
        )
        .expect("the ClusterVersion status is set");
}

/// Create the namespaces `objects` live in that the repository does not render itself (on a
/// real cluster they exist before hubdr: the application's namespace, a managed cluster's
/// namespace on the hub).
pub fn ensure_prerequisite_namespaces(server: &FakeApiServer, objects: &[Value]) {
    let rendered: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .filter_map(|o| o.pointer("/metadata/name")?.as_str())
        .collect();
    for o in objects {
        if let Some(ns) = o.pointer("/metadata/namespace").and_then(Value::as_str) {
            if !rendered.contains(ns) {
                server.ensure_namespace(ns);
            }
        }
    }
}

/// Small delays, so retry tests stay fast.
pub fn retry() -> Retry {
    Retry {
        attempts: 3,
        first_delay: Duration::from_millis(2),
    }
}

/// A kube client configured like the agent's (`start.rs`): kube's own retry layer off, so
/// the agent's retry policy is the only one.
pub fn client(server: &FakeApiServer) -> kube::Client {
    let mut config = server.config();
    config.default_retry = false;
    kube::Client::try_from(config).expect("a kube client for the fake API server")
}

pub fn cluster_api(server: &FakeApiServer) -> ClusterApi {
    ClusterApi::new(client(server), retry())
}

pub fn pass_config(cluster: &str) -> PassConfig {
    PassConfig {
        cluster: cluster.into(),
        namespace: AGENT_NAMESPACE.into(),
        allowlist: Allowlist::default_kinds(),
        apply: ApplyOptions {
            establish_timeout: Duration::from_secs(5),
            ..ApplyOptions::default()
        },
        prune: Default::default(),
    }
}

/// Plan `objects` and run one production pass (no late-bound values).
pub async fn run_pass(api: &mut ClusterApi, config: &PassConfig, objects: &[Value]) -> PassReport {
    run_pass_blocked(api, config, objects, &HashMap::new()).await
}

pub async fn run_pass_blocked(
    api: &mut ClusterApi,
    config: &PassConfig,
    objects: &[Value],
    blocked: &HashMap<ObjectId, String>,
) -> PassReport {
    let mut changes = ChangeSet::default();
    let planned = reconcile::plan(objects, &config.allowlist, &mut changes);
    reconcile::pass(api, config, &planned, blocked, changes).await
}

/// `"Kind ns/name" -> action` of a pass (the last result when an object appears twice).
pub fn results(changes: &ChangeSet) -> BTreeMap<String, Action> {
    changes
        .changes
        .iter()
        .map(|c| (c.id.to_string(), c.action.clone()))
        .collect()
}

/// The action for one object, by its display name (`ReplicationSource shop/orders-db`).
pub fn action<'a>(changes: &'a ChangeSet, object: &str) -> &'a Action {
    let mut found = changes
        .changes
        .iter()
        .filter(|c| c.id.to_string() == object);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("{object} is not in the change set:\n{}", describe(changes)));
    assert!(
        found.next().is_none(),
        "{object} appears twice in the change set:\n{}",
        describe(changes)
    );
    &first.action
}

pub fn describe(changes: &ChangeSet) -> String {
    changes.changes.iter().map(|c| format!("  {c}\n")).collect()
}

pub fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

/// The live object for a desired one, or `None`.
pub fn live(server: &FakeApiServer, object: &Value) -> Option<Value> {
    let id = ObjectId::of(object).unwrap();
    server.get(
        &gvk_of(&id.api_version, &id.kind),
        id.namespace.as_deref(),
        &id.name,
    )
}

pub fn live_by_id(server: &FakeApiServer, id: &ObjectId) -> Option<Value> {
    server.get(
        &gvk_of(&id.api_version, &id.kind),
        id.namespace.as_deref(),
        &id.name,
    )
}

/// Every object in the fake carrying `hubdr.io/cluster=<cluster>`, as `Kind ns/name`.
pub fn labelled(server: &FakeApiServer, cluster: &str) -> BTreeSet<String> {
    server
        .objects_snapshot()
        .iter()
        .filter(|o| {
            o.pointer("/metadata/labels")
                .and_then(|l| l.get(LABEL_CLUSTER))
                .and_then(Value::as_str)
                == Some(cluster)
        })
        .map(|o| ObjectId::of(o).unwrap().to_string())
        .collect()
}

/// Whether an object is annotated `hubdr.io/prune: disabled`.
pub fn prune_disabled(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_PRUNE))
        .and_then(Value::as_str)
        == Some("disabled")
}

/// The inventory the agent keeps in its ConfigMap, as `Kind ns/name`.
pub fn stored_inventory(server: &FakeApiServer, config: &PassConfig) -> BTreeSet<String> {
    let cm = server
        .get(
            &gvk_of("v1", "ConfigMap"),
            Some(&config.namespace),
            &config.inventory_name(),
        )
        .expect("the inventory ConfigMap exists");
    let text = cm["data"][INVENTORY_KEY]
        .as_str()
        .expect("the ConfigMap holds the inventory");
    Inventory::from_yaml(text)
        .unwrap()
        .entries()
        .map(|e| e.id().to_string())
        .collect()
}

/// Display names of `objects`.
pub fn ids(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| ObjectId::of(o).unwrap().to_string())
        .collect()
}

/// Write calls that were not dry runs (mutations, no-op applies and failures alike).
pub fn real_writes(server: &FakeApiServer) -> Vec<WriteRecord> {
    server.writes().into_iter().filter(|w| !w.dry_run).collect()
}

/// Write calls other than the agent creating its own status signing key Secret (on its first
/// start, whatever the pass brings).
pub fn writes_but_own_key(server: &FakeApiServer) -> Vec<WriteRecord> {
    server
        .writes()
        .into_iter()
        .filter(|w| !(w.plural == "secrets" && w.name.starts_with("hubdr-status-key-")))
        .collect()
}

/// Write calls to one object (by plural and name).
pub fn writes_to(server: &FakeApiServer, plural: &str, name: &str) -> Vec<WriteRecord> {
    server
        .writes()
        .into_iter()
        .filter(|w| w.plural == plural && w.name == name)
        .collect()
}

/// The key the agent of `cluster` created in its Secret on `server`.
pub fn agent_key(server: &FakeApiServer, cluster: &str) -> AgentKey {
    let secret = server
        .get(
            &gvk_of("v1", "Secret"),
            Some(AGENT_NAMESPACE),
            &hubdr::status::status_key_secret(cluster),
        )
        .expect("the agent created its key Secret");
    hubdr_agent::status_key::key_of(&secret).expect("a key")
}

// ---------------------------------------------------------------------------------------
// The site and its rendering

/// Render a site text with the real `hubdr` library and embedded templates.
pub fn render(site: &str) -> Rendered {
    let loaded = hubdr::site::load_str(site, Path::new("site.yaml"))
        .unwrap_or_else(|e| panic!("the site is valid: {e:?}"));
    hubdr::render::render(&loaded, &hubdr::render::Templates::embedded()).expect("the site renders")
}

/// The objects of one cluster directory, parsed from the rendered files (what the agent reads).
pub fn cluster_objects(rendered: &Rendered, cluster: &str) -> Vec<Value> {
    let dir = format!("clusters/{cluster}/");
    rendered
        .tree
        .iter()
        .filter(|(path, _)| path.starts_with(&dir) && !path.ends_with("/kustomization.yaml"))
        .map(|(_, bytes)| serde_yaml::from_slice(bytes).expect("rendered files are YAML"))
        .collect()
}

/// `text` with `from` replaced by `to`, which must occur exactly once.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in the site"
    );
    text.replacen(from, to, 1)
}

/// The example site without the replication named `name` (a `- name:` item of `replications`).
pub fn without_replication(site: &str, name: &str) -> String {
    let start = site
        .find(&format!("      - name: {name}\n"))
        .unwrap_or_else(|| panic!("replication {name} in the site"));
    let rest = &site[start + 1..];
    let end = [rest.find("\n      - name: "), rest.find("\n  argocd:")]
        .into_iter()
        .flatten()
        .min()
        .map(|i| start + 1 + i + 1)
        .unwrap_or(site.len());
    format!("{}{}", &site[..start], &site[end..])
}

// ---------------------------------------------------------------------------------------
// Git

/// A file to write (`Some`) or remove (`None`) when tampering with status.
type TamperedFile<'a> = (&'a str, Option<Vec<u8>>);

/// A bare repository the agent fetches from (`main`) and reports to (`hubdr-status`).
pub struct Remote {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub repo: Repository,
}

impl Remote {
    pub fn new() -> Self {
        sandbox();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.git");
        let repo = git_common::bare(&path);
        Remote { dir, path, repo }
    }

    pub fn url(&self) -> String {
        git_common::file_url(&self.path)
    }

    /// Commit exactly `files` (the whole tree) on `main`.
    pub fn commit(&self, files: &BTreeMap<String, Vec<u8>>, message: &str) -> Oid {
        git_common::commit_files(&self.repo, "main", files, message)
    }

    pub fn tip(&self, branch: &str) -> Option<Oid> {
        git_common::tip(&self.repo, branch)
    }

    /// Commits on `branch`, newest first. For the status branch: every status commit, of the
    /// shared branch and of every cluster's status ref.
    pub fn history(&self, branch: &str) -> Vec<Oid> {
        let mut walk = self.repo.revwalk().unwrap();
        let mut any = false;
        if let Some(tip) = self.tip(branch) {
            walk.push(tip).unwrap();
            any = true;
        }
        if branch == STATUS_BRANCH {
            for (_, tip) in self.status_refs() {
                walk.push(tip).unwrap();
                any = true;
            }
        }
        if !any {
            return Vec::new();
        }
        walk.map(Result::unwrap).collect()
    }

    /// Every `refs/hubdr/status/*` ref and its target.
    pub fn status_refs(&self) -> Vec<(String, Oid)> {
        self.repo
            .references_glob("refs/hubdr/status/*")
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.name().unwrap().to_string(), r.target().unwrap())
            })
            .collect()
    }

    /// Where every status ref and the status branch point (see [`Remote::restore_status`]).
    pub fn status_snapshot(&self) -> Vec<(String, Oid)> {
        let mut refs = self.status_refs();
        if let Some(tip) = self.tip(STATUS_BRANCH) {
            refs.push((format!("refs/heads/{STATUS_BRANCH}"), tip));
        }
        refs
    }

    /// Move the status refs and branch back to a snapshot (undo a tampering).
    pub fn restore_status(&self, snapshot: &[(String, Oid)]) {
        for (name, oid) in snapshot {
            self.repo.reference(name, *oid, true, "restore").unwrap();
        }
    }

    /// `clusters/<cluster>.yaml` as readers see it (its status ref merged with the status branch).
    pub fn status_file(&self, cluster: &str) -> Option<ClusterStatus> {
        let view =
            hubdr::status::refs::read(&self.repo, &format!("refs/heads/{STATUS_BRANCH}")).unwrap();
        let id = view.files.get(&hubdr::status::status_path(cluster))?;
        let blob = self.repo.find_blob(*id).unwrap();
        Some(
            ClusterStatus::parse(std::str::from_utf8(blob.content()).unwrap())
                .expect("a ClusterStatus"),
        )
    }

    /// Publish a status file for `cluster` UNSIGNED, as no agent does (readers ignore it): an
    /// old agent, or someone else with write access to the status branch.
    pub fn publish_status(&self, status: &ClusterStatus) {
        let writer = self.status_writer(
            &self
                .dir
                .path()
                .join(format!("cache-{}-fixture", status.cluster)),
            &status.cluster,
        );
        let _ = writer
            .publish(&status.cluster, status.to_yaml().as_bytes())
            .expect("the status lands");
    }

    /// Publish a status file for `cluster` signed with `key`, as that cluster's agent would
    /// (the first signed status pins the key).
    pub fn publish_signed_status(&self, status: &ClusterStatus, key: &AgentKey) {
        let writer = self.status_writer(
            &self
                .dir
                .path()
                .join(format!("cache-{}-fixture", status.cluster)),
            &status.cluster,
        );
        let _ = writer
            .publish_signed(&status.cluster, status.to_yaml().as_bytes(), key)
            .expect("the status lands");
    }

    /// Commit `files` as they are (`None` removes a file) where readers take them from: onto
    /// the cluster's status ref when it has one, else onto the status branch. What anyone with
    /// write access to the repository can do.
    pub fn tamper_status_branch(&self, files: &[(&str, Option<Vec<u8>>)]) -> Oid {
        let cluster_of = |path: &str| {
            let name = path.rsplit_once('/').map_or(path, |(_, n)| n);
            name.split_once('.').map_or(name, |(c, _)| c).to_string()
        };
        let mut by_ref: BTreeMap<String, Vec<TamperedFile<'_>>> = BTreeMap::new();
        for (path, bytes) in files {
            let own = format!("refs/hubdr/status/{}", cluster_of(path));
            let refname = if self.repo.find_reference(&own).is_ok() {
                own
            } else {
                format!("refs/heads/{STATUS_BRANCH}")
            };
            by_ref
                .entry(refname)
                .or_default()
                .push((path, bytes.clone()));
        }
        let mut last = None;
        for (refname, files) in by_ref {
            last = Some(self.tamper_ref(&refname, &files));
        }
        last.expect("something to tamper with")
    }

    fn tamper_ref(&self, refname: &str, files: &[TamperedFile<'_>]) -> Oid {
        let parent = self
            .repo
            .find_reference(refname)
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let base = match &parent {
            Some(c) => c.tree().unwrap(),
            None => self
                .repo
                .find_tree(self.repo.treebuilder(None).unwrap().write().unwrap())
                .unwrap(),
        };
        let mut update = TreeUpdateBuilder::new();
        for (path, bytes) in files {
            match bytes {
                Some(b) => update.upsert(*path, self.repo.blob(b).unwrap(), FileMode::Blob),
                None => update.remove(*path),
            };
        }
        let tree = self
            .repo
            .find_tree(update.create_updated(&self.repo, &base).unwrap())
            .unwrap();
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let sig = Signature::now("mallory", "mallory@example.com").unwrap();
        self.repo
            .commit(Some(refname), &sig, &sig, "tamper", &tree, &parents)
            .unwrap()
    }

    /// Move `branch` to `commit` (undo a tampering).
    pub fn reset(&self, branch: &str, commit: Oid) {
        self.repo
            .reference(&format!("refs/heads/{branch}"), commit, true, "reset")
            .unwrap();
    }

    fn status_writer(&self, cache: &Path, cluster: &str) -> StatusWriter {
        StatusWriter::new(
            self.url(),
            STATUS_BRANCH,
            cache,
            Credentials::None,
            Identity::new(
                format!("hubdr-agent {cluster}"),
                format!("hubdr-agent+{cluster}@localhost"),
            ),
        )
        .with_retry(RetryPolicy {
            max_attempts: 20,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
        })
    }

    /// An agent for `cluster` against `server`, fetching `main` and reporting to the status
    /// branch of this remote, with its caches under `cache`.
    pub fn agent(&self, cluster: &str, server: &FakeApiServer, cache: &Path) -> Agent {
        self.agent_with(pass_config(cluster), server, cache)
    }

    pub fn agent_with(&self, config: PassConfig, server: &FakeApiServer, cache: &Path) -> Agent {
        self.agent_beating(config, server, cache, Duration::from_secs(3600))
    }

    /// [`Remote::agent_with`] with a heartbeat every `heartbeat` (an hour there).
    pub fn agent_beating(
        &self,
        config: PassConfig,
        server: &FakeApiServer,
        cache: &Path,
        heartbeat: Duration,
    ) -> Agent {
        let cluster = config.cluster.clone();
        Agent::new(
            config,
            GitSource::new(self.url(), "main", cache.join("source"), Credentials::None),
            Some(GitSource::new(
                self.url(),
                STATUS_BRANCH,
                cache.join("status-read"),
                Credentials::None,
            )),
            Some(self.status_writer(&cache.join("status-write"), &cluster)),
            cluster_api(server),
            Duration::from_secs(30),
            heartbeat,
            None,
        )
    }
}

/// A new [`Remote`] with the example site's render committed on `main`: the remote, the
/// render and its commit.
pub fn example_remote() -> (Remote, Rendered, Oid) {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    let commit = remote.commit(&rendered.tree, "render");
    (remote, rendered, commit)
}

impl Default for Remote {
    fn default() -> Self {
        Self::new()
    }
}
