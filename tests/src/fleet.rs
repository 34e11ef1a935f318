//! The harness: one fake API server per cluster (with the upstream CRDs), a fake operator per
//! hub on one shared storage location, the real `hubdr-agent` for every cluster, and ONE real
//! git repository on disk, rendered by the `hubdr` library, that the agents fetch from and
//! report to (status branch `hubdr-status` in the same repository).
//!
//! The render goes into a working tree (`hubdr render --out`) and is pushed to a bare
//! repository, the one the agents use as their remote: agents only push status to bare
//! repositories, as to a git server.
//!
//! Steps are explicit: [`Fleet::pass`] runs one agent pass, [`Fleet::tick`] fires every
//! running hub's cron. After every step the harness waits until each cluster's recorder has
//! handled every change its API server made ([`Fleet::settle`]): the fake operators react
//! synchronously in their recorder task, so after settling nothing is in flight, and the
//! timeline's order across clusters is the order of the steps. No test waits on a clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use hubdr_agent::apply::ApplyOptions;
use hubdr_agent::config::Allowlist;
use hubdr_agent::git::{Credentials, GitSource, Identity, RetryPolicy, StatusWriter};
use hubdr_agent::kubeapi::{ClusterApi, Retry};
use hubdr_agent::reconcile::PassConfig;
use hubdr_agent::runner::Agent;
use kube::core::GroupVersionKind;
use kubefake::FakeApiServer;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::operator::{Behaviour, Operator, BACKUP_NS};
use crate::storage::Storage;
use crate::timeline::{Event, Timeline};

pub const AGENT_NAMESPACE: &str = "hubdr-agent";

/// `shared/crds` beside the workspace.
pub fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds")
}

/// Point HOME and the git configuration at an empty directory before libgit2 first reads
/// them, so the user's git configuration cannot leak into the tests.
pub fn sandbox() {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = tempfile::Builder::new()
            .prefix("hubdr-e2e-home-")
            .tempdir()
            .expect("temp home")
            .keep();
        std::fs::create_dir_all(home.join(".config")).expect("config dir");
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", home.join(".gitconfig"));
        home
    });
}

/// One cluster: its API server, its agent, its recorder (and operator, for hubs).
pub struct Member {
    pub name: String,
    pub server: FakeApiServer,
    /// `None` while a test runs it elsewhere (e.g. as a tokio task).
    pub agent: Option<Agent>,
    pub operator: Option<Arc<Operator>>,
    processed: Arc<AtomicU64>,
    recorder: JoinHandle<()>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.recorder.abort();
    }
}

pub struct Fleet {
    pub dir: tempfile::TempDir,
    /// The bare repository the agents fetch from and report to (`main` and `hubdr-status`).
    pub repo: PathBuf,
    /// Where `hubdr render` writes and commits before the push.
    pub workdir: PathBuf,
    /// The current site file text.
    pub site: String,
    pub timeline: Timeline,
    pub storage: Storage,
    pub members: BTreeMap<String, Member>,
}

impl Fleet {
    /// Start every cluster of `site`, render and commit it. `None` (with a message) when the
    /// upstream CRDs are not beside the workspace.
    pub async fn start(site: &str) -> Option<Fleet> {
        if !crds_dir().is_dir() {
            let why = format!("the upstream CRDs are not at {}", crds_dir().display());
            // CI sets HUBDR_REQUIRE_SHARED: there a safety scenario must run, never skip.
            assert!(
                std::env::var_os("HUBDR_REQUIRE_SHARED").is_none(),
                "{why}, and HUBDR_REQUIRE_SHARED is set: the end-to-end scenarios must not skip"
            );
            println!("skipped: {why}");
            return None;
        }
        sandbox();
        let loaded =
            hubdr::site::load_str(site, Path::new("site.yaml")).expect("the e2e site is valid");
        let hubs: Vec<String> = loaded
            .site
            .spec
            .hubs
            .iter()
            .map(|h| h.name.clone())
            .collect();
        let managed: Vec<String> = loaded
            .site
            .spec
            .managed_clusters
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let timeline = Timeline::default();
        let storage = Storage::new(timeline.clone());
        let repo = dir.path().join("acm-dr.git");
        git2::Repository::init_bare(&repo).expect("a bare repository");
        let workdir = dir.path().join("render");
        let mut fleet = Fleet {
            repo,
            workdir,
            dir,
            site: String::new(),
            timeline,
            storage,
            members: BTreeMap::new(),
        };
        fleet.publish(site);
        for name in hubs.iter().chain(&managed) {
            let hub = hubs.contains(name);
            let operator = hub.then(|| {
                Arc::new(Operator::new(
                    name,
                    fleet.storage.clone(),
                    fleet.timeline.clone(),
                    managed.clone(),
                ))
            });
            // The primary already manages the managed clusters: their namespaces exist there.
            let primary = loaded
                .site
                .spec
                .hubs
                .iter()
                .any(|h| &h.name == name && h.role == hubdr::site::HubRole::Active);
            let namespaces = if primary { managed.clone() } else { Vec::new() };
            let member = fleet.start_member(name, operator, &namespaces).await;
            fleet.members.insert(name.clone(), member);
        }
        Some(fleet)
    }

    async fn start_member(
        &self,
        name: &str,
        operator: Option<Arc<Operator>>,
        namespaces: &[String],
    ) -> Member {
        let server = FakeApiServer::start()
            .await
            .expect("the fake API server starts");
        server
            .load_crds_from_dir(crds_dir())
            .expect("the upstream CRDs load");
        server.register_resource(crate::fixtures::pod_kind());
        // Record (and operate) from the very first change on.
        let processed = Arc::new(AtomicU64::new(0));
        let recorder = {
            let (timeline, operator, processed, cluster) = (
                self.timeline.clone(),
                operator.clone(),
                processed.clone(),
                name.to_string(),
            );
            server.on_change(move |api, ev| {
                let seq = timeline.record(Event::Object {
                    cluster: cluster.clone(),
                    change: ev.kind,
                    kind: ev.object_kind.clone(),
                    group: ev.group.clone(),
                    namespace: ev.namespace.clone(),
                    name: ev.name.clone(),
                    object: ev.object.clone(),
                });
                if let Some(op) = &operator {
                    op.on_event(api, ev, seq);
                }
                processed.store(ev.resource_version, Ordering::SeqCst);
            })
        };
        server.ensure_namespace(AGENT_NAMESPACE);
        if operator.is_some() {
            // What exists on a hub before hubdr: ACM, OADP and Velero running, the namespaces.
            server.ensure_namespace("open-cluster-management");
            server.ensure_namespace(BACKUP_NS);
            // Where the import controller reads its ConfigMap (ACM 2.14+).
            server.ensure_namespace(crate::operator::MCE_NS);
            for pod in [
                "cluster-backup-chart-clusterbackup-7d9f",
                "openshift-adp-controller-manager-5b8c",
                "velero-6c4d",
            ] {
                server
                    .put_object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": BACKUP_NS},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Running"}}))
                    .expect("a pod");
            }
            crate::fixtures::hub(&server, namespaces);
        } else {
            server.ensure_namespace("finance");
        }
        for ns in namespaces {
            server.ensure_namespace(ns);
        }
        let agent = agent(
            name,
            &server,
            &self.repo,
            &self.dir.path().join(format!("cache-{name}")),
        );
        Member {
            name: name.into(),
            server,
            agent: Some(agent),
            operator,
            processed,
            recorder,
        }
    }

    /// Render `site` with the `hubdr` library, commit it and push it to the repository's
    /// `main` (the merged pull request).
    pub fn publish(&mut self, site: &str) {
        self.publish_as(site, hubdr::transition::Verb::Render);
    }

    /// [`Fleet::publish`] by the command `verb` (one that may change roles).
    pub fn publish_as(&mut self, site: &str, verb: hubdr::transition::Verb) {
        let loaded = hubdr::site::load_str(site, Path::new("site.yaml"))
            .unwrap_or_else(|e| panic!("the site is valid: {e}\n{site}"));
        let args = hubdr::cli::SiteArgs {
            site: "site.yaml".into(),
            templates: None,
        };
        let rendered = hubdr::commands::render_loaded(&args, &loaded).expect("the site renders");
        hubdr::commands::render::commit_rendered_as(
            &loaded,
            &rendered,
            &self.workdir,
            false,
            ("e2e", "e2e@example.com"),
            verb,
        )
        .unwrap_or_else(|e| panic!("the render commits: {e}"));
        self.push_render();
        self.site = site.to_string();
        self.timeline.mark(format!(
            "site published: generation {}",
            loaded.site.spec.failover.generation
        ));
    }

    /// Push the render repository's `main` to the agents' repository (the merge).
    fn push_render(&self) {
        let work = git2::Repository::open(&self.workdir).expect("the render repository");
        let mut remote = work
            .remote_anonymous(&self.repo.to_string_lossy())
            .expect("a remote");
        remote
            .push(&["+refs/heads/main:refs/heads/main"], None)
            .expect("the render is pushed");
    }

    /// Run `hubdr <args> --site <site.yaml> --out <render repository>` as a person would in the
    /// repository holding the render, with the agents' status branch fetched into it; when the
    /// command changed the site, push the render (the merged pull request). Returns the
    /// command's result (exit code) and what it printed (stdout, then stderr).
    pub fn hubdr(&mut self, args: &[&str]) -> (Result<(), i32>, String) {
        let site = self.site.clone();
        self.hubdr_on(&site, args)
    }

    /// [`Fleet::hubdr`] with the site file holding `site` (a person's edit of it).
    pub fn hubdr_on(&mut self, site: &str, args: &[&str]) -> (Result<(), i32>, String) {
        use clap::Parser;
        let site_path = self.dir.path().join("site.yaml");
        std::fs::write(&site_path, site).expect("the site file is written");
        let work = git2::Repository::open(&self.workdir).expect("the render repository");
        let mut remote = work
            .remote_anonymous(&self.repo.to_string_lossy())
            .expect("a remote");
        let branch = format!("+refs/heads/{STATUS_BRANCH}:refs/heads/{STATUS_BRANCH}");
        let refs = format!("+{p}*:{p}*", p = hubdr::status::refs::STATUS_REF_PREFIX);
        // No status yet (no agent reported): the command says what it misses. Each refspec
        // on its own, so a missing shared branch does not stop the status refs.
        let _ = remote.fetch(&[branch.as_str()], None, None);
        let _ = remote.fetch(&[refs.as_str()], None, None);
        let site_arg = site_path.to_string_lossy().into_owned();
        let out_arg = self.workdir.to_string_lossy().into_owned();
        let mut argv = vec!["hubdr"];
        argv.extend_from_slice(args);
        argv.extend(["--site", site_arg.as_str(), "--out", out_arg.as_str()]);
        let cli = hubdr::cli::Cli::try_parse_from(&argv)
            .unwrap_or_else(|e| panic!("hubdr {args:?}: {e}"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = hubdr::commands::run(&cli.command, &mut out, &mut err).map_err(|e| {
            let _ = std::io::Write::write_all(&mut err, e.to_string().as_bytes());
            e.exit_code()
        });
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        let site = std::fs::read_to_string(&site_path).expect("the site file");
        if result.is_ok() && site != self.site {
            self.push_render();
            self.site = site;
            self.timeline.mark(format!(
                "merged: hubdr {} (generation {})",
                args.join(" "),
                self.generation()
            ));
        }
        (result, text)
    }

    /// `hubdr failover --to <to>` on the site, rendered and committed (the merged pull request).
    pub fn failover(&mut self, to: &str, old_primary_unreachable: bool) {
        let text = hubdr::failover::edit_site(&self.site, to, old_primary_unreachable)
            .unwrap_or_else(|e| panic!("failover to {to}: {e}"));
        self.publish_as(&text, hubdr::transition::Verb::Sequenced("hubdr failover"));
    }

    /// `hubdr unfence <hub>` on the site, rendered and committed.
    pub fn unfence(&mut self, hub: &str) {
        let text = hubdr::failover::unfence(&self.site, hub)
            .unwrap_or_else(|e| panic!("unfence {hub}: {e}"));
        self.publish_as(&text, hubdr::transition::Verb::Sequenced("hubdr unfence"));
    }

    pub fn generation(&self) -> u64 {
        hubdr::site::load_str(&self.site, Path::new("site.yaml"))
            .expect("valid")
            .site
            .spec
            .failover
            .generation
    }

    pub fn member(&self, cluster: &str) -> &Member {
        self.members
            .get(cluster)
            .unwrap_or_else(|| panic!("no cluster {cluster}"))
    }

    pub fn operator(&self, hub: &str) -> &Operator {
        self.member(hub)
            .operator
            .as_deref()
            .unwrap_or_else(|| panic!("{hub} is not a hub"))
    }

    pub fn set_behaviour(&self, hub: &str, behaviour: Behaviour) {
        self.operator(hub).set_behaviour(behaviour);
    }

    /// One pass of `cluster`'s agent, then settle.
    pub async fn pass(&mut self, cluster: &str) -> ClusterStatus {
        if let Some(op) = &self.member(cluster).operator {
            assert!(op.is_up(), "{cluster} is down: its agent does not run");
        }
        self.timeline.mark(format!("pass {cluster}"));
        let agent = self
            .members
            .get_mut(cluster)
            .and_then(|m| m.agent.as_mut())
            .unwrap_or_else(|| panic!("no agent for {cluster}"));
        let status = agent.pass_once().await;
        self.settle().await;
        status
    }

    /// One cron tick on every running hub, then settle.
    pub async fn tick(&mut self) {
        self.timeline.mark("cron tick");
        for member in self.members.values() {
            if let Some(op) = &member.operator {
                op.tick(&member.server.handle());
            }
        }
        self.settle().await;
    }

    /// A hub goes down (its agent and operator stop) or comes back.
    pub fn set_up(&self, hub: &str, up: bool) {
        self.timeline.mark(format!(
            "{hub} {}",
            if up { "comes back" } else { "goes down" }
        ));
        self.operator(hub).set_up(up);
    }

    /// Wait until every recorder has handled every change of its server.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let behind: Vec<&str> = self
                .members
                .values()
                .filter(|m| m.processed.load(Ordering::SeqCst) < m.server.resource_version())
                .map(|m| m.name.as_str())
                .collect();
            if behind.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "recorders of {behind:?} did not catch up\n{}",
                self.timeline.render()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// One round: every running agent in `order` passes, then a cron tick.
    pub async fn round(&mut self, order: &[&str]) {
        for cluster in order {
            if self
                .member(cluster)
                .operator
                .as_ref()
                .is_none_or(|op| op.is_up())
            {
                self.pass(cluster).await;
            }
        }
        self.tick().await;
    }

    /// `n` rounds (see [`Fleet::round`]).
    pub async fn rounds(&mut self, order: &[&str], n: usize) {
        for _ in 0..n {
            self.round(order).await;
        }
    }

    /// Rounds of: every running agent in `order` passes, then a cron tick; until `done`.
    pub async fn run_until(
        &mut self,
        order: &[&str],
        max_rounds: usize,
        what: &str,
        done: impl Fn(&Fleet) -> bool,
    ) {
        for _ in 0..max_rounds {
            self.round(order).await;
            if done(self) {
                return;
            }
        }
        panic!(
            "not reached after {max_rounds} rounds: {what}\n{}",
            self.timeline.render()
        );
    }

    /// An object in the backup namespace of `cluster`.
    pub fn get(&self, cluster: &str, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.member(cluster).server.get(
            &GroupVersionKind::gvk(group, version, kind),
            Some(BACKUP_NS),
            name,
        )
    }

    /// ManagedCluster `name` on hub `cluster`.
    pub fn managed_cluster(&self, cluster: &str, name: &str) -> Option<Value> {
        self.member(cluster).server.get(
            &GroupVersionKind::gvk("cluster.open-cluster-management.io", "v1", "ManagedCluster"),
            None,
            name,
        )
    }

    /// The observability compactor StatefulSet of hub `cluster`.
    pub fn compactor(&self, cluster: &str) -> Option<Value> {
        self.member(cluster).server.get(
            &GroupVersionKind::gvk("apps", "v1", "StatefulSet"),
            Some(crate::fixtures::OBSERVABILITY_NS),
            crate::fixtures::COMPACTOR,
        )
    }

    /// The observability API Deployment of hub `cluster`.
    pub fn observatorium_api(&self, cluster: &str) -> Option<Value> {
        self.member(cluster).server.get(
            &GroupVersionKind::gvk("apps", "v1", "Deployment"),
            Some(crate::fixtures::OBSERVABILITY_NS),
            crate::fixtures::OBSERVATORIUM_API,
        )
    }

    pub fn schedule(&self, cluster: &str) -> Option<Value> {
        self.get(
            cluster,
            "cluster.open-cluster-management.io/v1beta1",
            "BackupSchedule",
            "schedule-acm",
        )
    }

    pub fn restore(&self, cluster: &str, name: &str) -> Option<Value> {
        self.get(
            cluster,
            "cluster.open-cluster-management.io/v1beta1",
            "Restore",
            name,
        )
    }

    /// `clusters/<cluster>.yaml` as readers see it: the cluster's status ref merged with the
    /// status branch.
    pub fn status(&self, cluster: &str) -> Option<ClusterStatus> {
        let repo = git2::Repository::open(&self.repo).ok()?;
        let view = hubdr::status::refs::read(&repo, &format!("refs/heads/{STATUS_BRANCH}")).ok()?;
        let id = view.files.get(&hubdr::status::status_path(cluster))?;
        let blob = repo.find_blob(*id).ok()?;
        Some(
            ClusterStatus::parse(std::str::from_utf8(blob.content()).ok()?)
                .expect("a ClusterStatus"),
        )
    }

    /// The repository URL the agents use.
    pub fn url(&self) -> String {
        format!("file://{}", self.repo.display())
    }
}

/// The real agent for `cluster`, fetching `main` of `repo` and reporting to its status branch.
pub fn agent(cluster: &str, server: &FakeApiServer, repo: &Path, cache: &Path) -> Agent {
    let url = format!("file://{}", repo.display());
    let config = PassConfig {
        cluster: cluster.into(),
        namespace: AGENT_NAMESPACE.into(),
        allowlist: Allowlist::default_kinds(),
        apply: ApplyOptions {
            establish_timeout: Duration::from_secs(5),
            ..ApplyOptions::default()
        },
        prune: Default::default(),
    };
    let identity = Identity::new(
        format!("hubdr-agent {cluster}"),
        format!("hubdr-agent+{cluster}@localhost"),
    );
    let writer = StatusWriter::new(
        &url,
        STATUS_BRANCH,
        cache.join("status-write"),
        Credentials::None,
        identity,
    )
    .with_retry(RetryPolicy {
        max_attempts: 50,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
    });
    Agent::new(
        config,
        GitSource::new(&url, "main", cache.join("source"), Credentials::None),
        Some(GitSource::new(
            &url,
            STATUS_BRANCH,
            cache.join("status-read"),
            Credentials::None,
        )),
        Some(writer),
        ClusterApi::new(
            server.client(),
            Retry {
                attempts: 3,
                first_delay: Duration::from_millis(2),
            },
        ),
        Duration::from_millis(50),
        Duration::from_secs(3600),
        None,
    )
}
