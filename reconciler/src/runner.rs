//! The agent's loop: fetch, verify, plan, apply, prune, observe, report; then wait for the
//! interval, a new local commit, or a shutdown signal. Side effects live here and in the
//! modules it calls; the decisions are in pure modules.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hubdr_core::object::ObjectId;
use hubdr_core::status::signature::AgentKey;
use hubdr_core::status::trust::PinMemory;
use hubdr_core::status::{ClusterStatus, GateStatus, SourceStatus};

use crate::changeset::ChangeSet;
use crate::git::{GitError, GitSource, Pin, Publish, StatusWriter};
use crate::kubeapi::ClusterApi;
use crate::reconcile::{self, PassConfig};
use crate::report::{self, PassFacts, Reason};
use crate::statuses::{self, Statuses};
use crate::{
    bind, desired, etcd_backup, fence, gates, health, memory, observe, publish_plan, resume,
    status_key, takeover,
};

const DEFAULT_BACKUP_NAMESPACE: &str = "open-cluster-management-backup";
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Where desired state comes from: the rendered git repository, or an inbox of signed
/// offline bundles (disconnected sites).
#[derive(Debug, Clone)]
pub enum Source {
    Git(GitSource),
    Inbox(crate::inbox::Inbox),
}

impl From<GitSource> for Source {
    fn from(source: GitSource) -> Self {
        Source::Git(source)
    }
}

impl From<crate::inbox::Inbox> for Source {
    fn from(inbox: crate::inbox::Inbox) -> Self {
        Source::Inbox(inbox)
    }
}

/// Everything the loop needs, built by `main` from the flags.
pub struct Agent {
    pub config: PassConfig,
    pub source: Source,
    /// Reads other clusters' status files (late binding, gates).
    pub status_source: Option<GitSource>,
    pub writer: Option<StatusWriter>,
    pub api: ClusterApi,
    pub interval: Duration,
    pub heartbeat: Duration,
    /// A local repository path to watch for new commits.
    pub watch_path: Option<PathBuf>,
    last_status: Option<ClusterStatus>,
    /// When `last_status` landed (a commit or a heartbeat); `None` when it did not.
    last_published: Option<Instant>,
    /// The status last confirmed on the status ref, and when it was committed.
    committed: Option<(ClusterStatus, Instant)>,
    last_source: SourceStatus,
    fetch_failures: u32,
    /// The backup namespace, while the last role read was `fenced` (fencing continues
    /// through fetch failures).
    fenced_in: Option<String>,
    /// How the render says to fence (pause or delete the BackupSchedules).
    fence_mode: fence::Mode,
    /// Stray BackupSchedules removed from this passive hub in the current pass.
    strays_removed: Vec<String>,
    /// The key this agent signs its status with (from its Secret, created on first start).
    status_key: Option<AgentKey>,
    /// Status keys registered in the site, from the last render index read.
    registered_keys: BTreeMap<String, String>,
    /// The pins of other clusters' keys seen on the status branch (a changed pin is refused).
    pins: PinMemory,
    /// The status branch pins another key for this cluster (found by the last publish).
    pin_problem: Option<String>,
    /// Heartbeats that could not be written in a row (reported from the second on, until one
    /// lands).
    heartbeats_refused: u32,
    /// Hosted clusters whose etcd this agent snapshots (`--hcp-snapshot`).
    hosted: Vec<crate::hcp::Target>,
    /// The etcd backup's facts and decisions of the last pass (seed 003).
    etcd: Option<etcd_backup::EtcdRun>,
    /// The namespaces the desired Velero Schedules back up (hosted clusters' coverage).
    hcp_scheduled: Vec<String>,
}

impl Agent {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: PassConfig,
        source: impl Into<Source>,
        status_source: Option<GitSource>,
        writer: Option<StatusWriter>,
        api: ClusterApi,
        interval: Duration,
        heartbeat: Duration,
        watch_path: Option<PathBuf>,
    ) -> Self {
        Self {
            config,
            source: source.into(),
            status_source,
            writer,
            api,
            interval,
            heartbeat,
            watch_path,
            last_status: None,
            last_published: None,
            committed: None,
            last_source: SourceStatus::default(),
            fetch_failures: 0,
            fenced_in: None,
            fence_mode: fence::Mode::default(),
            strays_removed: Vec::new(),
            status_key: None,
            registered_keys: BTreeMap::new(),
            pins: PinMemory::default(),
            pin_problem: None,
            heartbeats_refused: 0,
            hosted: Vec::new(),
            etcd: None,
            hcp_scheduled: Vec::new(),
        }
    }

    /// Snapshot these hosted clusters' etcd (each pass, whatever the repository's state: a run
    /// in progress always gets resumed).
    pub fn with_hosted_clusters(mut self, hosted: Vec<crate::hcp::Target>) -> Self {
        self.hosted = hosted;
        self
    }

    /// One full pass; returns the status it wrote (or would have written).
    pub async fn pass_once(&mut self) -> ClusterStatus {
        let mut facts = PassFacts::default();
        let mut role = None;
        let mut backup_namespace = DEFAULT_BACKUP_NAMESPACE.to_string();
        let mut schedule = None;
        self.strays_removed.clear();
        // What this agent remembers in the cluster: its last role (fencing while the
        // repository is unreachable) and the highest bundle generation applied (replays).
        let place = self.config.memory_place();
        let stored = memory::recall(&mut self.api, &place).await;
        let inbox = matches!(self.source, Source::Inbox(_));
        let fetched = match &stored {
            Err(e) if inbox => Err((
                Reason::FetchFailed,
                format!("{e}; the highest bundle generation this cluster applied is unknown, so no bundle is applied (replay protection)"),
                false,
            )),
            _ => {
                let floor = stored.as_ref().ok().and_then(|r| r.bundle_generation);
                self.fetch_desired(floor).await
            }
        };
        match fetched {
            Err((reason, message, unreachable)) => {
                self.fetch_failures += u32::from(unreachable);
                facts.source = SourceStatus {
                    stale: unreachable,
                    message: Some(message.clone()),
                    ..self.last_source.clone()
                };
                facts.stopped = Some((reason, message));
                facts.gates = self
                    .last_status
                    .as_ref()
                    .map(|s| s.gates.clone())
                    .unwrap_or_default();
                // Nothing was applied or pruned: the agent still owns what it owned.
                facts.inventory = self
                    .last_status
                    .as_ref()
                    .map(|s| s.inventory.clone())
                    .unwrap_or_default();
                // A restarted agent knows its role only from the cluster.
                if self.fenced_in.is_none() {
                    match &stored {
                        Ok(r) => {
                            self.fenced_in = memory::fenced_in(r, DEFAULT_BACKUP_NAMESPACE);
                            self.fence_mode = memory::fence_mode(r);
                        }
                        Err(e) => facts
                            .problems
                            .push(format!("{e}; cannot tell whether this hub is fenced")),
                    }
                }
                if let Some(ns) = self.fenced_in.clone() {
                    let problems =
                        fence::fence_hub(&mut self.api, &ns, self.fence_mode, &mut facts.changes)
                            .await;
                    facts.problems.extend(problems);
                }
            }
            Ok(state) => {
                self.fetch_failures = 0;
                self.registered_keys = state.index.status_keys.clone();
                role = state
                    .index
                    .clusters
                    .get(&self.config.cluster)
                    .and_then(|c| c.role.clone());
                facts.source = SourceStatus {
                    commit: Some(state.commit.to_string()),
                    generation: Some(state.generation),
                    stale: false,
                    message: None,
                };
                self.last_source = facts.source.clone();
                let values: Vec<serde_json::Value> =
                    state.objects.iter().map(|o| o.value.clone()).collect();
                let mut changes = ChangeSet::default();
                let mut planned = reconcile::plan(&values, &self.config.allowlist, &mut changes);
                if let Some(dpa) = planned
                    .iter()
                    .find(|p| p.id.kind == "DataProtectionApplication")
                {
                    backup_namespace = dpa.id.namespace.clone().unwrap_or(backup_namespace);
                }
                schedule = planned
                    .iter()
                    .find(|p| p.id.kind == "BackupSchedule")
                    .and_then(|p| p.value.pointer("/spec/veleroSchedule"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string);
                // A fenced hub is fenced, and a passive one loses stray BackupSchedules, before
                // anything is applied.
                self.fenced_in = fence::fences(role.as_deref()).then(|| backup_namespace.clone());
                let mut fence_problems = Vec::new();
                if let Some(ns) = self.fenced_in.clone() {
                    self.fence_mode = fence::Mode::of(&planned);
                    fence_problems =
                        fence::fence_hub(&mut self.api, &ns, self.fence_mode, &mut changes).await;
                    if role.as_deref() == Some(crate::decommission::DECOMMISSIONED) {
                        fence_problems.extend(
                            crate::decommission::detach(&mut self.api, &ns, &mut changes).await,
                        );
                    }
                } else if role.as_deref() == Some(fence::PASSIVE) {
                    let (removed, problems) =
                        fence::remove_strays(&mut self.api, &backup_namespace, &mut changes).await;
                    (self.strays_removed, fence_problems) = (removed, problems);
                }
                if role.as_deref() == Some("active") {
                    fence_problems.extend(
                        takeover::after_activation(&mut self.api, &planned, &mut changes).await,
                    );
                }
                match &stored {
                    Ok(before) => {
                        let mut now = memory::after_fetch(
                            before,
                            role.as_deref(),
                            &backup_namespace,
                            state.generation,
                            inbox,
                        );
                        if self.fenced_in.is_some() {
                            now.fence_mode = Some(memory::fence_mode_key(self.fence_mode));
                        }
                        if let Err(e) = memory::remember(&mut self.api, &place, &now).await {
                            fence_problems.push(format!(
                                "cannot update {place} with this pass's role and generation ({e}); retrying next pass"
                            ));
                        }
                    }
                    Err(e) => fence_problems.push(format!(
                        "{e}; the role and generation applied are not remembered"
                    )),
                }
                let etcd = etcd_backup::enforce(
                    &mut self.api,
                    &self.config.allowlist,
                    &mut planned,
                    jiff::Timestamp::now(),
                )
                .await;
                fence_problems.extend(etcd.problems.iter().cloned());
                self.etcd = Some(etcd);
                self.hcp_scheduled = crate::hcp::seen::scheduled_namespaces(&planned);
                let mut blocked = self.bind_late_values(&mut planned).await;
                let managed: Vec<String> = state
                    .index
                    .clusters
                    .iter()
                    .filter(|(_, c)| c.kind == "managed")
                    .map(|(name, _)| name.clone())
                    .collect();
                let (auto_import, problems) = crate::auto_import::reconcile(
                    &mut self.api,
                    &place,
                    &planned,
                    &managed,
                    &mut changes,
                )
                .await;
                fence_problems.extend(problems);
                facts.gates = self
                    .evaluate_gates(&planned, &managed, &auto_import, &mut blocked)
                    .await;
                // An active hub releases what a fence set (after an abort) once its
                // BackupSchedule may go ahead.
                if role.as_deref() == Some("active")
                    && !blocked.keys().any(|id| id.kind == "BackupSchedule")
                {
                    fence_problems.extend(
                        resume::resume(&mut self.api, &backup_namespace, &mut changes).await,
                    );
                }
                let report =
                    reconcile::pass(&mut self.api, &self.config, &planned, &blocked, changes).await;
                facts.changes = report.changes;
                fence::drop_repeats(&mut facts.changes);
                facts.problems = report.problems;
                facts.problems.extend(fence_problems);
                facts.prune_guard = report.prune_guard;
                facts.inventory = report
                    .inventory
                    .entries()
                    .map(|e| e.id().to_string())
                    .collect();
            }
        }
        self.observe(role.as_deref(), &backup_namespace, schedule, &mut facts)
            .await;
        self.hosted_clusters(&mut facts).await;
        self.hosted_clusters_seen(role.is_some(), &mut facts).await;
        if let Err(problem) = self.ensure_status_key().await {
            facts.problems.push(problem);
        }
        facts.problems.extend(self.pin_problem.clone());
        facts.problems.extend(self.heartbeat_problem());
        let status = report::build(
            &self.config.cluster,
            &facts,
            self.last_status.as_ref(),
            &now_text(),
        );
        self.publish(&status).await;
        self.last_status = Some(status.clone());
        status
    }

    /// Fetch and verify the desired state. `bundle_floor`: with the inbox source, bundles
    /// below this generation (the highest one the cluster applied) are refused.
    async fn fetch_desired(
        &self,
        bundle_floor: Option<u64>,
    ) -> Result<desired::DesiredState, (Reason, String, bool)> {
        let source = self.source.clone();
        let cluster = self.config.cluster.clone();
        let result = tokio::task::spawn_blocking(
            move || -> Result<desired::DesiredState, (Reason, String, bool)> {
                let source = match source {
                    Source::Git(git) => git,
                    Source::Inbox(inbox) => return inbox.read_desired(&cluster, bundle_floor),
                };
                let fetched = source.fetch().map_err(|e| {
                    let unreachable = matches!(e, GitError::Unreachable { .. });
                    (
                        Reason::FetchFailed,
                        format!("{e}; keeping the last applied state"),
                        unreachable,
                    )
                })?;
                desired::read_cluster(&fetched, &cluster).map_err(|e| {
                    (
                        Reason::VerifyFailed,
                        format!("{e}; nothing was applied"),
                        false,
                    )
                })
            },
        )
        .await;
        result.unwrap_or_else(|e| {
            Err((
                Reason::FetchFailed,
                format!("fetch task failed: {e}"),
                false,
            ))
        })
    }

    /// Fill late-bound values from other clusters' status; objects whose value is unknown wait.
    async fn bind_late_values(
        &mut self,
        planned: &mut [crate::apply::Planned],
    ) -> HashMap<ObjectId, String> {
        let mut blocked = HashMap::new();
        let wanted: Vec<usize> = planned
            .iter()
            .enumerate()
            .filter(|(_, p)| bind::binding_of(&p.value).is_some())
            .map(|(i, _)| i)
            .collect();
        if wanted.is_empty() {
            return blocked;
        }
        let statuses = self.read_statuses().await;
        for i in wanted {
            let p = &mut planned[i];
            let binding = match bind::binding_of(&p.value).expect("filtered above") {
                Ok(b) => b,
                Err(message) => {
                    blocked.insert(p.id.clone(), message);
                    continue;
                }
            };
            if binding.kind == hubdr_core::labels::LATE_BIND_HOSTED_SNAPSHOT {
                let trusted: Vec<&ClusterStatus> = statuses.trusted.values().collect();
                let bound = crate::hcp::restore::bind(
                    &mut self.api,
                    &self.config.namespace,
                    &self.config.cluster,
                    &self.hosted,
                    &trusted,
                    &mut p.value,
                    &binding,
                    &jiff::Timestamp::now(),
                )
                .await;
                if let Err(message) = bound {
                    blocked.insert(p.id.clone(), message);
                }
                continue;
            }
            match bind::lookup(&binding, statuses.trusted.get(&binding.cluster)) {
                Some(value) => {
                    let bound = bind::check_address(&p.value, &binding, &value)
                        .and_then(|()| bind::set(&mut p.value, &binding, &value));
                    if let Err(message) = bound {
                        blocked.insert(p.id.clone(), message);
                    }
                }
                None => {
                    let refused = statuses
                        .refusal(&binding.cluster)
                        .map(|why| format!(": {why}"))
                        .unwrap_or_default();
                    blocked.insert(
                        p.id.clone(),
                        format!(
                            "waiting for cluster {} to publish the address of {} {}/{} in its signed status{refused}",
                            binding.cluster, binding.kind, binding.namespace, binding.name
                        ),
                    );
                }
            }
        }
        blocked
    }

    /// Gates: objects whose `hubdr.io/wait-for` conditions do not hold yet are not created;
    /// returns what waits, with `since` kept from the previous status (this process's, or the
    /// status file on the branch after a restart).
    async fn evaluate_gates(
        &mut self,
        planned: &[crate::apply::Planned],
        managed: &[String],
        auto_import: &gates::AutoImportFacts,
        blocked: &mut HashMap<ObjectId, String>,
    ) -> Vec<GateStatus> {
        if !planned.iter().any(|p| {
            gates::wait_for(&p.value).is_some() || crate::one_restore::is_acm_restore(&p.id)
        }) {
            return Vec::new();
        }
        let statuses = if gates::needs_statuses(planned) || self.last_status.is_none() {
            self.read_statuses().await
        } else {
            Statuses::default()
        };
        let waits = gates::evaluate(&mut self.api, planned, &statuses, managed, auto_import).await;
        for (id, message) in gates::blocked_messages(&waits) {
            blocked
                .entry(id)
                .and_modify(|m| *m = format!("{m}; {message}"))
                .or_insert(message);
        }
        let previous = self
            .last_status
            .as_ref()
            .or(statuses.trusted.get(&self.config.cluster))
            .map(|s| s.gates.as_slice())
            .unwrap_or_default();
        gates::gate_statuses(&waits, previous, &now_text())
    }

    /// Every cluster's status on the status branch, sorted into trusted (signed by the key
    /// registered or pinned for the cluster) and refused; empty when unreadable.
    pub async fn read_statuses(&mut self) -> Statuses {
        let Some(source) = self.status_source.clone() else {
            return Statuses::default();
        };
        let registered = self.registered_keys.clone();
        let mut pins = self.pins.clone();
        let read = tokio::task::spawn_blocking(move || {
            let statuses = statuses::read(&source, &registered, &mut pins);
            (statuses, pins)
        })
        .await;
        match read {
            Ok((statuses, pins)) => {
                self.pins = pins;
                statuses
            }
            Err(_) => Statuses::default(),
        }
    }

    /// Load this agent's signing key from its Secret, creating both on first start. Without
    /// a key the status is published unsigned (and ignored by readers); retried every pass.
    async fn ensure_status_key(&mut self) -> Result<(), String> {
        if self.writer.is_none() || self.status_key.is_some() {
            return Ok(());
        }
        let key =
            status_key::load_or_create(&mut self.api, &self.config.namespace, &self.config.cluster)
                .await?;
        tracing::info!(key = %key.public(), key_id = %key.public().id(), "status signing key loaded");
        self.status_key = Some(key);
        Ok(())
    }

    async fn observe(
        &mut self,
        role: Option<&str>,
        backup_namespace: &str,
        schedule: Option<String>,
        facts: &mut PassFacts,
    ) {
        match observe::observe(&mut self.api, backup_namespace, role.is_some()).await {
            Ok(o) => {
                if let Some(role) = role {
                    let facts_now = health::HubFacts {
                        role: role.into(),
                        schedule,
                        now: jiff::Timestamp::now(),
                        strays_removed: self.strays_removed.clone(),
                    };
                    facts.health = health::hub_checks(&o, &facts_now);
                }
                let fence = (role == Some(fence::FENCED))
                    .then(|| fence::observed(&o, facts.source.generation, self.fence_mode));
                facts.observed = o.observed;
                facts.observed.fence = fence;
            }
            Err(e) => facts
                .problems
                .push(format!("cannot observe the cluster: {e}")),
        }

        if let Some(run) = &self.etcd {
            let (observed, checks, problems) =
                etcd_backup::status(&mut self.api, run, jiff::Timestamp::now()).await;
            facts.health.extend(checks);
            facts.problems.extend(problems);
            facts.observed.etcd_backup = observed;
        }
    }

    /// One step of each hosted cluster's snapshot sequence, reported in the status.
    async fn hosted_clusters(&mut self, facts: &mut PassFacts) {
        let now = jiff::Timestamp::now().as_second();
        for target in self.hosted.clone() {
            let ns = self.config.namespace.clone();
            match crate::hcp::edge::pass(&mut self.api, &ns, &target, now).await {
                Ok(pass) => {
                    let (status, checks) =
                        crate::hcp::report::status(&target, &pass.state, &pass.report, now);
                    facts.observed.hosted_clusters.push(status);
                    facts.health.extend(checks);
                    facts.problems.extend(pass.errors.into_iter().map(|e| {
                        format!("hosted cluster {}/{}: {e}", target.namespace, target.name)
                    }));
                }
                Err(e) => facts.problems.push(format!(
                    "hosted cluster {}/{}: {e}; retrying next pass",
                    target.namespace, target.name
                )),
            }
        }
    }

    /// The HostedClusters on a hub or a management cluster, and whether a backup covers each.
    async fn hosted_clusters_seen(&mut self, hub: bool, facts: &mut PassFacts) {
        if !hub && self.hosted.is_empty() && self.hcp_scheduled.is_empty() {
            return;
        }
        match crate::hcp::seen::list(&mut self.api).await {
            Ok(found) => {
                let (seen, checks) =
                    crate::hcp::seen::report(&found, &self.hosted, &self.hcp_scheduled, hub);
                facts.observed.hosted_clusters_seen = seen;
                facts.health.extend(checks);
            }
            Err(e) => facts.problems.push(format!(
                "cannot list the HostedClusters on this cluster ({e}): whether a hubdr backup covers each is unknown; re-apply the agent's install file (agents/{}.yaml) to grant it",
                self.config.cluster
            )),
        }
    }

    async fn publish(&mut self, status: &ClusterStatus) {
        let Some(writer) = self.writer.clone() else {
            return;
        };
        let landed = publish_plan::Landed {
            committed: self.committed.as_ref().map(|(s, at)| (s, at.elapsed())),
            last: self
                .last_status
                .as_ref()
                .zip(self.last_published.map(|t| t.elapsed())),
        };
        let write = publish_plan::decide(status, landed, self.heartbeat);
        if write == publish_plan::Write::Nothing {
            return;
        }
        let cluster = self.config.cluster.clone();
        let key = self.status_key.clone();
        if write == publish_plan::Write::Heartbeat {
            // The heartbeat's status is dated now: an unchanged status keeps the time it last
            // changed, and readers that judge whether an agent is alive (the failover
            // preflight) trust a signed time, never a commit's.
            let beat = ClusterStatus {
                updated_at: now_text().max(status.updated_at.clone()),
                ..status.clone()
            };
            self.beat(writer, cluster, beat.to_yaml().into_bytes(), key)
                .await;
            return;
        }
        let content = status.to_yaml().into_bytes();
        let result = tokio::task::spawn_blocking(move || match &key {
            Some(key) => writer
                .publish_signed(&cluster, &content, key)
                .map(|s| (s.publish, Some(s.pin))),
            None => writer.publish(&cluster, &content).map(|p| (p, None)),
        })
        .await;
        match result {
            Ok(Ok((publish, pin))) => {
                self.note_pin(pin);
                self.last_published = Some(Instant::now());
                if let Publish::Committed { commit, attempts } = publish {
                    tracing::info!(%commit, attempts, "status published");
                }
                self.committed = Some((status.clone(), Instant::now()));
            }
            // `last_status` now holds what did not land: make the next pass publish even if
            // its status is the same, instead of waiting for the heartbeat.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot publish status; retrying next pass");
                self.last_published = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "status task failed");
                self.last_published = None;
            }
        }
    }

    /// Replace the heartbeat ref. When that fails (a forge that refuses forced updates of
    /// `refs/hubdr/heartbeat/*`, or the network), nothing is committed instead: committing
    /// what only a heartbeat carries (liveness, sync times) would grow the status history by
    /// one commit per sync, the growth the heartbeat exists to avoid. From the second failure
    /// in a row (one lost push is not worth two commits), the status reports it, a change and
    /// so committed once, until a heartbeat lands. The next attempt comes at the next
    /// heartbeat, or at the next pass whose sync times moved.
    async fn beat(
        &mut self,
        writer: StatusWriter,
        cluster: String,
        content: Vec<u8>,
        key: Option<AgentKey>,
    ) {
        let result =
            tokio::task::spawn_blocking(move || writer.beat(&cluster, &content, key.as_ref()))
                .await;
        self.last_published = Some(Instant::now());
        match result {
            Ok(Ok(())) => {
                tracing::debug!("heartbeat written");
                self.heartbeats_refused = 0;
            }
            Ok(Err(e)) => {
                self.heartbeats_refused = self.heartbeats_refused.saturating_add(1);
                tracing::warn!(error = %e, refused = self.heartbeats_refused, "cannot write the heartbeat ref; retrying at the next heartbeat");
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat task failed"),
        }
    }

    /// What the status says of heartbeats that could not be written (a fixed text: the error,
    /// which may name the remote, stays in the log).
    fn heartbeat_problem(&self) -> Option<String> {
        (self.heartbeats_refused >= 2).then(|| {
            let refname = hubdr_core::status::refs::heartbeat_ref(&self.config.cluster)
                .unwrap_or_else(|_| "refs/hubdr/heartbeat/<cluster>".into());
            format!(
                "cannot write the heartbeat ref {refname} (the agent's log says why): readers see this cluster's liveness and \
                 sync times only when its status is committed (a change, or once a day), and `hubdr status` and the failover \
                 preflight take it for stalled after 3 heartbeat intervals without one. If the git server refuses forced \
                 updates of refs/hubdr/heartbeat/*, allow them for the agents (docs/forges.md)"
            )
        })
    }

    /// Remember whether readers will refuse this agent's signature: the site registers
    /// another key for this cluster, or (none registered) the status branch pins another one.
    /// Reported in the next status until it is fixed.
    fn note_pin(&mut self, pin: Option<Pin>) {
        let Some(key) = self.status_key.as_ref().map(AgentKey::public) else {
            return;
        };
        let cluster = &self.config.cluster;
        let why = match self.registered_keys.get(cluster) {
            Some(registered) if registered.trim() == key.to_string() => None,
            Some(registered) => Some(format!(
                "the key registered for {cluster} in the site ({registered}) is not this agent's key"
            )),
            None => match pin {
                Some(Pin::Other(why)) => Some(why),
                _ => None,
            },
        };
        self.pin_problem = why.map(|why| {
            let problem = format!(
                "{why}: readers ignore this agent's status. If this agent's key is the right one, register it in site.yaml \
                 (spec.agent.statusKeys.{cluster}: {key}) and re-render"
            );
            tracing::error!("{problem}");
            problem
        });
    }

    /// How long to wait before the next pass: the interval, or a growing backoff while the
    /// repository is unreachable.
    pub fn next_wait(&self) -> Duration {
        if self.fetch_failures == 0 {
            return self.interval;
        }
        let factor = 2u32.saturating_pow(self.fetch_failures.min(8));
        (self.interval.saturating_mul(factor)).min(MAX_BACKOFF.max(self.interval))
    }

    /// Run until `shutdown` fires; each pass completes before the agent stops.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut commits) = tokio::sync::mpsc::channel::<()>(8);
        let _watcher = self
            .watch_path
            .clone()
            .and_then(|path| crate::watch::watch_commits(&path, tx).ok());
        loop {
            let status = self.pass_once().await;
            log_pass(&status.pass);
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.next_wait()) => {}
                Some(()) = commits.recv() => tracing::debug!("new commit in the local repository"),
                _ = shutdown.changed() => break,
            }
        }
        tracing::info!("shutting down");
    }
}

/// Now, to the second, as status files write it.
fn now_text() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// "pass finished" at INFO when it succeeded, WARN when it is waiting or held, ERROR when it
/// failed, so a failed pass stands out in the log and in log alerts.
fn log_pass(pass: &hubdr_core::status::PassStatus) {
    let (outcome, reason, message) = (&pass.outcome, &pass.reason, &pass.message);
    match outcome.as_str() {
        "Failed" => tracing::error!(%outcome, %reason, %message, "pass finished"),
        "Succeeded" => tracing::info!(%outcome, %reason, %message, "pass finished"),
        _ => tracing::warn!(%outcome, %reason, %message, "pass finished"),
    }
}
