//! A fake ACM cluster-backup operator (with the bits of OADP and Velero it drives), one per
//! hub, reacting to the hub's fake API server through `on_change` and writing status with
//! `set_status`, as the real controllers would:
//!
//! - DataProtectionApplication: `Reconciled`, and a BackupStorageLocation `Available` with the
//!   DPA's access mode (a ReadOnly location takes no backups).
//! - BackupSchedule: `Enabled` on creation, then a first backup set into the SHARED storage
//!   (Velero runs a new schedule at once); on every cron [`Operator::tick`], another set, unless
//!   another hub wrote the newest backup, or activated managed clusters, after this schedule
//!   was created: then `BackupCollision`, recorded in the timeline, and no more backups.
//! - Restore with `syncRestoreWithNewBackups` and managed clusters `skip`: `Enabled` and
//!   restoring the newest credentials/resources backups, again on every tick when newer ones
//!   appear (recorded as `Synced`).
//! - Restore with `veleroManagedClustersBackupName: latest` (a switched passive-sync Restore
//!   or a `restore-acm-activate-gN`): `Running` with Velero restores named `<restore>-<backup>`;
//!   on the next tick (a restore takes a while) the managed clusters' namespaces, and `Finished` (or `FinishedWithErrors` with a non-empty
//!   `PartiallyFailed` Velero restore when [`Behaviour::fail_activation`] is set). A finished
//!   Restore never runs again.
//!   The activation restores the managed clusters' ManagedClusters (no conditions yet); on the
//!   next tick their klusterlets join and they become Available (unless
//!   [`Behaviour::pending_import`] or [`Behaviour::unavailable`] name them). On ACM 2.14+ (the
//!   version the hub reports) the import controller's ConfigMap
//!   `multicluster-engine/import-controller-config` must say `autoImportStrategy: ImportAndSync`
//!   for a restored cluster to join (with the default ImportOnly it stays Pending Import).
//! - Velero's backup sync: every tick, backups in the storage show up as `Backup` objects on
//!   every hub.
//! - One Restore at a time: a new Restore while another one is in any phase but `Finished` or
//!   `FinishedWithErrors` is set `FinishedWithErrors` ("Restore instance <other> is currently
//!   running, ignoring this request.", recorded as `RestoreIgnored`) and never runs.
//! - BackupSchedule `spec.paused: true` (ACM 2.12+): `Paused`, no backups; unpaused: `Enabled`.
//! - StatefulSets (the observability compactor): on every tick `status.replicas` follows
//!   `spec.replicas` (pods take a while to stop or start).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kube::core::GroupVersionKind;
use kubefake::{ChangeEvent, ChangeKind, ServerHandle};
use serde_json::{json, Value};

use crate::storage::{Storage, StoredBackup};
use crate::timeline::{Event, Timeline};

pub const BACKUP_NS: &str = "open-cluster-management-backup";
/// The import controller's namespace and ConfigMap (ACM 2.14+).
pub const MCE_NS: &str = "multicluster-engine";
pub const IMPORT_CONFIG: &str = "import-controller-config";
const ACM_GROUP: &str = "cluster.open-cluster-management.io";

/// How the fake operator misbehaves, per hub.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// The activation's managed-clusters Velero restore ends `PartiallyFailed` with items and
    /// errors, and the Restore `FinishedWithErrors`.
    pub fail_activation: bool,
    /// This hub's managed-clusters backups are empty (their restore ends `PartiallyFailed`
    /// with nothing to restore, which the ACM documents call harmless).
    pub empty_managed_clusters_backups: bool,
    /// Managed clusters whose klusterlet never joins this hub after an activation (`Pending
    /// Import`: imported clusters without auto-import).
    pub pending_import: Vec<String>,
    /// Managed clusters that join this hub after an activation but never become Available.
    pub unavailable: Vec<String>,
    /// The activation cannot start: the Restore goes to phase `Error` (as when no managed
    /// clusters backup is found), which the operator does not count as ended.
    pub activation_error: bool,
    /// The ACM version the MultiClusterHub reports (default [`crate::fixtures::ACM_VERSION`]).
    pub acm_version: Option<String>,
}

#[derive(Debug, Default)]
struct Memory {
    /// BackupSchedule uid -> timeline position of its creation.
    schedules: HashMap<String, u64>,
    /// BackupSchedule uids whose first backup set was written.
    first_backup_done: HashSet<String>,
    /// Restore name -> newest backup restored by its sync.
    synced: HashMap<String, String>,
}

/// The fake operator of one hub.
#[derive(Debug)]
pub struct Operator {
    pub hub: String,
    storage: Storage,
    timeline: Timeline,
    /// Managed clusters whose namespaces an activation restores.
    managed_clusters: Vec<String>,
    up: AtomicBool,
    behaviour: Mutex<Behaviour>,
    memory: Mutex<Memory>,
    /// One reconcile at a time, like a controller's single worker: ticks and reactions to
    /// changes never interleave.
    work: Mutex<()>,
}

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn name(object: &Value) -> String {
    text(object, "/metadata/name").to_string()
}

impl Operator {
    pub fn new(
        hub: &str,
        storage: Storage,
        timeline: Timeline,
        managed_clusters: Vec<String>,
    ) -> Self {
        Operator {
            hub: hub.into(),
            storage,
            timeline,
            managed_clusters,
            up: AtomicBool::new(true),
            behaviour: Mutex::default(),
            memory: Mutex::default(),
            work: Mutex::default(),
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap_or_else(|e| e.into_inner()) = behaviour;
    }

    fn behaviour(&self) -> Behaviour {
        self.behaviour
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// React to one change of the hub (called in the order the server made them; `seq` is
    /// the change's timeline position).
    pub fn on_event(&self, api: &ServerHandle, ev: &ChangeEvent, seq: u64) {
        if !self.is_up() {
            return;
        }
        let _worker = self.work.lock().unwrap_or_else(|e| e.into_inner());
        let object = &ev.object;
        let uid = text(object, "/metadata/uid").to_string();
        match (ev.object_kind.as_str(), ev.group.as_str(), ev.kind) {
            ("DataProtectionApplication", _, ChangeKind::Added | ChangeKind::Modified) => {
                self.reconcile_dpa(api, object)
            }
            ("MultiClusterHub", _, ChangeKind::Added | ChangeKind::Modified) => {
                self.report_version(api, object)
            }
            ("BackupSchedule", ACM_GROUP, ChangeKind::Added) => {
                self.memory().schedules.insert(uid, seq);
                self.set_phase(api, object, "Enabled", "Backup schedules are enabled");
            }
            ("BackupSchedule", ACM_GROUP, ChangeKind::Modified) => {
                let paused = object.pointer("/spec/paused") == Some(&json!(true));
                let phase = text(object, "/status/phase");
                if paused && phase != "Paused" {
                    self.set_phase(api, object, "Paused", "BackupSchedule is paused");
                    return;
                }
                if !paused && phase == "Paused" {
                    self.set_phase(api, object, "Enabled", "Backup schedules are enabled");
                    return;
                }
                let first = phase == "Enabled" && self.memory().first_backup_done.insert(uid);
                if first {
                    self.run_schedule(api, object);
                }
            }
            ("BackupSchedule", ACM_GROUP, ChangeKind::Deleted) => {
                self.memory().schedules.remove(&uid);
            }
            ("Restore", ACM_GROUP, ChangeKind::Added | ChangeKind::Modified) => {
                self.reconcile_restore(api, object)
            }
            _ => {}
        }
    }

    /// A cron tick: Velero backup sync, schedules run (or collide), passive Restores sync.
    pub fn tick(&self, api: &ServerHandle) {
        if !self.is_up() {
            return;
        }
        let _worker = self.work.lock().unwrap_or_else(|e| e.into_inner());
        self.sync_backup_objects(api);
        self.scale_statefulsets(api);
        self.join_managed_clusters(api);
        for schedule in api.list(
            &gvk(
                "cluster.open-cluster-management.io/v1beta1",
                "BackupSchedule",
            ),
            Some(BACKUP_NS),
        ) {
            if text(&schedule, "/status/phase") == "Enabled" {
                self.run_schedule(api, &schedule);
            }
        }
        for restore in api.list(
            &gvk("cluster.open-cluster-management.io/v1beta1", "Restore"),
            Some(BACKUP_NS),
        ) {
            if text(&restore, "/status/phase") == "Running" {
                self.finish_activation(api, &restore);
                continue;
            }
            let syncing = text(&restore, "/status/phase") == "Enabled"
                && text(&restore, "/spec/veleroManagedClustersBackupName") != "latest";
            if syncing {
                self.sync_passive(api, &restore);
            }
        }
    }

    fn set_phase(&self, api: &ServerHandle, object: &Value, phase: &str, message: &str) {
        let mut status = object
            .get("status")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        status["phase"] = json!(phase);
        status["lastMessage"] = json!(message);
        let kind = text(object, "/kind");
        let _ = api.set_status(
            &gvk(text(object, "/apiVersion"), kind),
            Some(BACKUP_NS),
            &name(object),
            status,
        );
    }

    /// The MultiClusterHub operator: `status.currentVersion`.
    fn report_version(&self, api: &ServerHandle, mch: &Value) {
        let version = self
            .behaviour()
            .acm_version
            .unwrap_or_else(|| crate::fixtures::ACM_VERSION.to_string());
        if text(mch, "/status/currentVersion") != version {
            let _ = api.set_status(
                &gvk(text(mch, "/apiVersion"), "MultiClusterHub"),
                mch.pointer("/metadata/namespace").and_then(Value::as_str),
                &name(mch),
                json!({"currentVersion": version, "phase": "Running"}),
            );
        }
    }

    fn reconcile_dpa(&self, api: &ServerHandle, dpa: &Value) {
        let reconciled = dpa
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Reconciled" && c["status"] == "True")
            });
        let dpa_gvk = gvk(text(dpa, "/apiVersion"), "DataProtectionApplication");
        if !reconciled {
            let status = json!({"conditions": [{"type": "Reconciled", "status": "True", "reason": "Complete",
                "message": "Reconcile complete", "lastTransitionTime": jiff::Timestamp::now().to_string()}]});
            let _ = api.set_status(&dpa_gvk, Some(BACKUP_NS), &name(dpa), status);
        }
        let location = dpa
            .pointer("/spec/backupLocations/0/velero")
            .cloned()
            .unwrap_or_default();
        let access = location
            .get("accessMode")
            .and_then(Value::as_str)
            .unwrap_or("ReadWrite")
            .to_string();
        let bsl_name = format!("{}-1", name(dpa));
        let bsl_gvk = gvk("velero.io/v1", "BackupStorageLocation");
        let current = api.get(&bsl_gvk, Some(BACKUP_NS), &bsl_name);
        if current
            .as_ref()
            .is_some_and(|b| text(b, "/spec/accessMode") == access)
        {
            return;
        }
        let bsl = json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": bsl_name, "namespace": BACKUP_NS},
            "spec": {"provider": location.get("provider").cloned().unwrap_or(json!("aws")),
                     "objectStorage": location.get("objectStorage").cloned().unwrap_or(json!({"bucket": "b"})),
                     "default": true, "accessMode": access},
            "status": {"phase": "Available", "lastValidationTime": jiff::Timestamp::now().to_string()},
        });
        api.put_object(bsl)
            .expect("the BackupStorageLocation is valid");
    }

    fn writable(&self, api: &ServerHandle) -> bool {
        let locations = api.list(
            &gvk("velero.io/v1", "BackupStorageLocation"),
            Some(BACKUP_NS),
        );
        locations.iter().any(|l| {
            text(l, "/spec/accessMode") != "ReadOnly" && text(l, "/status/phase") == "Available"
        })
    }

    /// One run of an Enabled schedule: a collision check, then a backup set.
    fn run_schedule(&self, api: &ServerHandle, schedule: &Value) {
        let uid = text(schedule, "/metadata/uid");
        let created = self.memory().schedules.get(uid).copied().unwrap_or(0);
        let newest = self
            .storage
            .newest()
            .filter(|b| b.hub != self.hub && b.seq > created);
        let collision = match newest {
            Some(b) => Some(format!(
                "Backup {}, from cluster with id [{}] is using the same storage location. This is a backup collision with current cluster [{}] backup. Review and resolve the collision then create a new BackupSchedule resource to resume backups from this cluster.",
                b.name, b.hub, self.hub
            )),
            None => self.storage.activation_by_other_after(&self.hub, created).map(|(hub, _)| {
                format!("Hub {hub} activated the managed clusters after this BackupSchedule was created: this is a backup collision with current cluster [{}].", self.hub)
            }),
        };
        if let Some(message) = collision {
            self.timeline.record(Event::Collision {
                hub: self.hub.clone(),
                schedule: name(schedule),
                message: message.clone(),
            });
            self.set_phase(api, schedule, "BackupCollision", &message);
            return;
        }
        if !self.writable(api) {
            return;
        }
        let written = self
            .storage
            .write_set(&self.hub, self.behaviour().empty_managed_clusters_backups);
        for b in &written {
            put_backup(api, b);
        }
    }

    /// Klusterlets of restored managed clusters join (and become Available) one tick after
    /// the activation; those [`Behaviour`] names stay Pending Import or unavailable until it no
    /// longer names them.
    fn join_managed_clusters(&self, api: &ServerHandle) {
        let behaviour = self.behaviour();
        let kind = gvk(crate::fixtures::MANAGED_CLUSTER_API, "ManagedCluster");
        let import_and_sync = !self.has_auto_import_strategy()
            || api
                .get(&gvk("v1", "ConfigMap"), Some(MCE_NS), IMPORT_CONFIG)
                .is_some_and(|cm| text(&cm, "/data/autoImportStrategy") == "ImportAndSync");
        for cluster in api.list(&kind, None) {
            let cluster_name = name(&cluster);
            let condition = |kind: &str| {
                cluster
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|c| c.iter().find(|c| c["type"] == kind))
                    .map(|c| c["status"] == "True")
            };
            // ACM 2.14+: the import controller imports a managed cluster that was imported
            // before (here: restored by an activation) only with ImportAndSync.
            let import_only = !import_and_sync && condition("ManagedClusterJoined") != Some(true);
            let wanted = if behaviour.pending_import.contains(&cluster_name) || import_only {
                (None, None)
            } else {
                (
                    Some(true),
                    Some(!behaviour.unavailable.contains(&cluster_name)),
                )
            };
            let current = (
                condition("ManagedClusterJoined"),
                condition("ManagedClusterConditionAvailable"),
            );
            if current != wanted {
                let fresh = crate::fixtures::managed_cluster(&cluster_name, wanted.0, wanted.1);
                let _ = api.set_status(&kind, None, &cluster_name, fresh["status"].clone());
            }
        }
    }

    /// Whether this hub's ACM (2.14+) has an auto-import strategy.
    fn has_auto_import_strategy(&self) -> bool {
        let version = self
            .behaviour()
            .acm_version
            .unwrap_or_else(|| crate::fixtures::ACM_VERSION.to_string());
        let minor = version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        minor >= 14
    }

    /// The StatefulSet controller: pods follow `spec.replicas`.
    fn scale_statefulsets(&self, api: &ServerHandle) {
        let kind = gvk("apps/v1", "StatefulSet");
        for set in api.list(&kind, Some(crate::fixtures::OBSERVABILITY_NS)) {
            let wanted = set
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let running = set
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if wanted != running {
                let status = json!({"replicas": wanted, "readyReplicas": wanted});
                let _ = api.set_status(
                    &kind,
                    Some(crate::fixtures::OBSERVABILITY_NS),
                    &name(&set),
                    status,
                );
            }
        }
    }

    /// Velero's backup sync: what is in the storage appears as Backup objects here.
    fn sync_backup_objects(&self, api: &ServerHandle) {
        let backup_gvk = gvk("velero.io/v1", "Backup");
        for b in self.storage.backups() {
            if api.get(&backup_gvk, Some(BACKUP_NS), &b.name).is_none() {
                put_backup(api, &b);
            }
        }
    }

    fn reconcile_restore(&self, api: &ServerHandle, restore: &Value) {
        let phase = text(restore, "/status/phase");
        if phase.is_empty() {
            if let Some(other) = self.other_restore_running(api, &name(restore)) {
                // The real restore controller's words (Reconcile, isOtherRestoresRunning).
                let message = format!(
                    "Restore instance {other} is currently running, ignoring this request."
                );
                self.timeline.record(Event::RestoreIgnored {
                    hub: self.hub.clone(),
                    restore: name(restore),
                    running: other,
                });
                self.finish(api, restore, "FinishedWithErrors", &message, Vec::new());
                return;
            }
        }
        if matches!(
            phase,
            "Finished" | "FinishedWithErrors" | "Error" | "Running"
        ) {
            return; // a Restore runs once
        }
        let managed = text(restore, "/spec/veleroManagedClustersBackupName");
        let sync = restore
            .pointer("/spec/syncRestoreWithNewBackups")
            .and_then(Value::as_bool)
            == Some(true);
        if managed == "latest" {
            self.start_activation(api, restore);
        } else if sync {
            if phase != "Enabled" {
                self.sync_passive(api, restore);
            }
        } else if phase.is_empty() {
            let names = self.restore_passive_data(api, restore);
            self.finish(
                api,
                restore,
                "Finished",
                "All Velero restores have run successfully",
                names,
            );
        }
    }

    /// Another Restore of the backup namespace that the operator considers running: any phase
    /// but Finished and FinishedWithErrors (an Enabled passive sync, a Running or Error one).
    fn other_restore_running(&self, api: &ServerHandle, restore: &str) -> Option<String> {
        api.list(
            &gvk("cluster.open-cluster-management.io/v1beta1", "Restore"),
            Some(BACKUP_NS),
        )
        .iter()
        .filter(|r| name(r) != restore)
        .find(|r| !matches!(text(r, "/status/phase"), "Finished" | "FinishedWithErrors"))
        .map(name)
    }

    /// Restore the newest credentials and resources backups; the Velero restores' names by
    /// status field.
    fn restore_passive_data(
        &self,
        api: &ServerHandle,
        restore: &Value,
    ) -> Vec<(&'static str, String)> {
        let mut names = Vec::new();
        for (field, spec, schedule) in [
            (
                "veleroCredentialsRestoreName",
                "veleroCredentialsBackupName",
                "acm-credentials-schedule",
            ),
            (
                "veleroResourcesRestoreName",
                "veleroResourcesBackupName",
                "acm-resources-schedule",
            ),
            (
                "veleroGenericResourcesRestoreName",
                "veleroResourcesBackupName",
                "acm-resources-generic-schedule",
            ),
        ] {
            if text(restore, &format!("/spec/{spec}")) != "latest" {
                continue;
            }
            if let Some(b) = self.storage.latest(schedule) {
                names.push((
                    field,
                    put_velero_restore(api, &name(restore), &b, "Completed", b.items),
                ));
            }
        }
        names
    }

    fn sync_passive(&self, api: &ServerHandle, restore: &Value) {
        let restore_name = name(restore);
        let Some(newest) = self.storage.latest("acm-resources-schedule") else {
            self.set_phase(
                api,
                restore,
                "Enabled",
                "no backups in the storage location yet; will check again",
            );
            return;
        };
        if self.memory().synced.get(&restore_name) == Some(&newest.name) {
            return;
        }
        let names = self.restore_passive_data(api, restore);
        self.memory()
            .synced
            .insert(restore_name.clone(), newest.name.clone());
        self.timeline.record(Event::Synced {
            hub: self.hub.clone(),
            restore: restore_name,
            backup: newest.name.clone(),
            written_by: newest.hub.clone(),
        });
        let mut status = json!({"phase": "Enabled", "lastMessage": "Velero restores have run to completion, restore will continue to sync with new backups"});
        for (field, velero_name) in names {
            status[field] = json!(velero_name);
        }
        let _ = api.set_status(
            &gvk(text(restore, "/apiVersion"), "Restore"),
            Some(BACKUP_NS),
            &name(restore),
            status,
        );
    }

    /// The activation starts: the managed clusters' Velero restore runs (`Running`); it
    /// completes on the next tick, as a real restore takes a while.
    fn start_activation(&self, api: &ServerHandle, restore: &Value) {
        let backup = self.storage.latest("acm-managed-clusters-schedule");
        let Some(backup) = backup.filter(|_| !self.behaviour().activation_error) else {
            self.finish(
                api,
                restore,
                "Error",
                "no acm-managed-clusters-schedule backup found in the storage location",
                Vec::new(),
            );
            return;
        };
        let mut names = self.restore_passive_data(api, restore);
        names.push((
            "veleroManagedClustersRestoreName",
            put_velero_restore(api, &name(restore), &backup, "InProgress", backup.items),
        ));
        let mut status = json!({"phase": "Running", "lastMessage": "Restoring the managed clusters' activation data"});
        for (field, velero_name) in names {
            status[field] = json!(velero_name);
        }
        let _ = api.set_status(
            &gvk(text(restore, "/apiVersion"), "Restore"),
            Some(BACKUP_NS),
            &name(restore),
            status,
        );
    }

    /// Managed clusters restored from the newest backup: the hub takes them over.
    fn finish_activation(&self, api: &ServerHandle, restore: &Value) {
        let behaviour = self.behaviour();
        let restore_name = name(restore);
        let velero_name = text(restore, "/status/veleroManagedClustersRestoreName");
        let velero_gvk = gvk("velero.io/v1", "Restore");
        let Some(velero) = api.get(&velero_gvk, Some(BACKUP_NS), velero_name) else {
            return;
        };
        let backup_items = velero
            .pointer("/status/progress/totalItems")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let (velero_phase, items, errors) = match (behaviour.fail_activation, backup_items) {
            (true, _) => ("PartiallyFailed", 12, 3),
            (false, 0) => ("PartiallyFailed", 0, 0),
            (false, n) => ("Completed", n, 0),
        };
        let velero_status = json!({"phase": velero_phase, "errors": errors, "warnings": 0,
                                   "progress": {"totalItems": items, "itemsRestored": items - errors}});
        let _ = api.set_status(&velero_gvk, Some(BACKUP_NS), velero_name, velero_status);
        let failed = behaviour.fail_activation;
        if !failed {
            for cluster in &self.managed_clusters {
                api.ensure_namespace(cluster);
                // Restored without status: the klusterlet has not joined this hub yet.
                let mut restored = crate::fixtures::managed_cluster(cluster, None, None);
                restored
                    .as_object_mut()
                    .expect("an object")
                    .remove("status");
                if api
                    .get(
                        &gvk(crate::fixtures::MANAGED_CLUSTER_API, "ManagedCluster"),
                        None,
                        cluster,
                    )
                    .is_none()
                {
                    let _ = api.put_object(restored);
                }
            }
        }
        let seq = self.timeline.record(Event::Activated {
            hub: self.hub.clone(),
            restore: restore_name.clone(),
            failed,
        });
        self.storage.record_activation(&self.hub, seq);
        let mut status = restore.get("status").cloned().unwrap_or_else(|| json!({}));
        let (phase, message) = match velero_phase {
            "Completed" => ("Finished", "All Velero restores have run successfully"),
            _ => (
                "FinishedWithErrors",
                "Velero restores have run to completion but with errors",
            ),
        };
        status["phase"] = json!(phase);
        status["lastMessage"] = json!(message);
        status["completionTimestamp"] = json!(jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap()
            .to_string());
        let _ = api.set_status(
            &gvk(text(restore, "/apiVersion"), "Restore"),
            Some(BACKUP_NS),
            &restore_name,
            status,
        );
    }

    fn finish(
        &self,
        api: &ServerHandle,
        restore: &Value,
        phase: &str,
        message: &str,
        names: Vec<(&'static str, String)>,
    ) {
        let mut status = json!({"phase": phase, "lastMessage": message, "completionTimestamp": jiff::Timestamp::now().round(jiff::Unit::Second).unwrap().to_string()});
        for (field, velero_name) in names {
            status[field] = json!(velero_name);
        }
        let _ = api.set_status(
            &gvk(text(restore, "/apiVersion"), "Restore"),
            Some(BACKUP_NS),
            &name(restore),
            status,
        );
    }
}

fn put_backup(api: &ServerHandle, b: &StoredBackup) {
    let backup = json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": b.name, "namespace": BACKUP_NS, "labels": {
            "velero.io/schedule-name": b.schedule,
            "velero.io/storage-location": "velero-1",
            "cluster.open-cluster-management.io/backup-cluster": b.hub,
        }},
        "spec": {"storageLocation": "velero-1"},
        "status": {"phase": "Completed", "startTimestamp": b.started, "completionTimestamp": b.completed,
                   "progress": {"totalItems": b.items, "itemsBackedUp": b.items}},
    });
    api.put_object(backup).expect("the Backup is valid");
}

/// The name the operator gives the Velero restore of backup `b` for `restore`:
/// `<restore>-<backup>`. kubefake refuses names with a dot-free part over 63 characters
/// (Kubernetes allows 253), so long ones are shortened here, keeping them unique.
pub fn velero_restore_name(restore: &str, b: &StoredBackup) -> String {
    let full = format!("{restore}-{}", b.name);
    if full.len() <= 63 {
        return full;
    }
    let short = b
        .schedule
        .trim_start_matches("acm-")
        .trim_end_matches("-schedule")
        .replace("managed-clusters", "mc")
        .replace("resources-generic", "gen");
    let stamp = b.name.rsplit('-').next().unwrap_or_default();
    format!("{restore}-{short}-{stamp}")
}

/// A Velero restore of `b` for `restore` in `phase`; returns its name. Existing ones are kept
/// (Velero restores are one-shot too).
fn put_velero_restore(
    api: &ServerHandle,
    restore: &str,
    b: &StoredBackup,
    phase: &str,
    items: u64,
) -> String {
    let velero_name = velero_restore_name(restore, b);
    if api
        .get(
            &gvk("velero.io/v1", "Restore"),
            Some(BACKUP_NS),
            &velero_name,
        )
        .is_some()
    {
        return velero_name;
    }
    let object = json!({
        "apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": {"name": velero_name, "namespace": BACKUP_NS},
        "spec": {"backupName": b.name},
        "status": {"phase": phase, "errors": 0, "warnings": 0, "progress": {"totalItems": items, "itemsRestored": 0}},
    });
    api.put_object(object).expect("the Velero Restore is valid");
    velero_name
}
