//! Reading what the cluster reports: BackupSchedule / Restore phases, the DPA and storage
//! location, the newest Velero backups, VolSync sync times. Read-only.

use hubdr_core::status::{BackupObservation, Observed, PhaseObservation, SyncObservation};
use kube::api::DynamicObject;
use serde_json::Value;

use crate::compactor::{self, CompactorState};
use crate::kubeapi::{CallError, ClusterApi};
use crate::managed_clusters::{self, ManagedClusterState};
use crate::readiness;

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";
const OADP: &str = "oadp.openshift.io/v1alpha1";
const VELERO: &str = "velero.io/v1";
const VOLSYNC: &str = "volsync.backube/v1alpha1";

/// Everything the status and the health checks need, including pods in the backup namespace.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub observed: Observed,
    /// `(name, phase)` of the pods in the backup namespace.
    pub backup_pods: Vec<(String, String)>,
    /// Velero backups: `(name, phase, started)`, for the stuck-InProgress check.
    pub backups: Vec<BackupObservation>,
    /// BackupSchedules with `spec.paused: true`, as `namespace/name`.
    pub paused_schedules: Vec<String>,
    /// The hub's ManagedClusters, by name; `managed_clusters_error` when they could not be read.
    pub managed_clusters: Vec<ManagedClusterState>,
    pub managed_clusters_error: Option<String>,
    /// The observability compactor, when its StatefulSet exists; whether observability is
    /// installed; `compactor_error` when either could not be read.
    pub compactor: Option<CompactorState>,
    pub observability: bool,
    pub compactor_error: Option<String>,
}

pub async fn observe(
    api: &mut ClusterApi,
    backup_namespace: &str,
    hub: bool,
) -> Result<Observation, CallError> {
    let mut o = Observation::default();
    if hub {
        let ns = Some(backup_namespace);
        let schedules = api.list(ACM, "BackupSchedule", ns, None).await?;
        o.observed.backup_schedules = phases(&schedules, "/status/phase", "/status/lastMessage");
        o.paused_schedules = schedules
            .iter()
            .filter(|s| value(s).pointer("/spec/paused") == Some(&Value::Bool(true)))
            .map(name)
            .collect();
        o.paused_schedules.sort();
        // Objects hubdr does not own: a hub whose agent may not read them still reports the rest.
        match managed_clusters::list(api).await {
            Ok(list) => {
                o.observed.managed_clusters = managed_clusters::summary(&list);
                o.managed_clusters = list;
            }
            Err(e) => o.managed_clusters_error = Some(e.to_string()),
        }
        match (
            compactor::get(api).await,
            compactor::observability_installed(api).await,
        ) {
            (Ok(c), Ok(installed)) => {
                (o.compactor, o.observability) = (c, installed);
                o.observed.observability = Some(installed);
            }
            (Err(e), _) | (_, Err(e)) => o.compactor_error = Some(e.to_string()),
        }
        readiness::read(api, &mut o.observed).await;
        let restores = api.list(ACM, "Restore", ns, None).await?;
        o.observed.restores = phases(&restores, "/status/phase", "/status/lastMessage");
        readiness::restored_backups(api, backup_namespace, &restores, &mut o.observed.restores)
            .await;
        o.observed.takeover = readiness::takeover(
            backup_namespace,
            &restores,
            &schedules,
            &o.observed.restores,
        );
        o.observed.data_protection_applications = api
            .list(OADP, "DataProtectionApplication", ns, None)
            .await?
            .iter()
            .map(dpa_reconciled)
            .collect();
        o.observed.backup_storage_locations = phases(
            &api.list(VELERO, "BackupStorageLocation", ns, None).await?,
            "/status/phase",
            "/status/message",
        );
        let backups = api.list(VELERO, "Backup", ns, None).await?;
        o.backups = backups.iter().map(backup).collect();
        o.observed.latest_backups = latest_per_schedule(&o.backups);
        o.backup_pods = api
            .list("v1", "Pod", ns, None)
            .await?
            .iter()
            .map(|p| (name(p), text(p, "/status/phase")))
            .collect();
    }
    o.observed.replication_sources = api
        .list(VOLSYNC, "ReplicationSource", None, None)
        .await?
        .iter()
        .map(sync)
        .collect();
    o.observed.replication_destinations = api
        .list(VOLSYNC, "ReplicationDestination", None, None)
        .await?
        .iter()
        .map(sync)
        .collect();
    Ok(o)
}

fn value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or_default()
}

fn text(object: &DynamicObject, pointer: &str) -> String {
    value(object)
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn optional(object: &DynamicObject, pointer: &str) -> Option<String> {
    value(object)
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn name(object: &DynamicObject) -> String {
    let ns = object.metadata.namespace.clone().unwrap_or_default();
    let name = object.metadata.name.clone().unwrap_or_default();
    if ns.is_empty() {
        name
    } else {
        format!("{ns}/{name}")
    }
}

fn phases(objects: &[DynamicObject], phase: &str, message: &str) -> Vec<PhaseObservation> {
    let mut out: Vec<PhaseObservation> = objects
        .iter()
        .map(|o| PhaseObservation {
            name: name(o),
            phase: text(o, phase),
            message: text(o, message),
            generation: o
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("hubdr.io/generation"))
                .and_then(|g| g.parse().ok()),
            restored_backups: Vec::new(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn dpa_reconciled(object: &DynamicObject) -> PhaseObservation {
    let v = value(object);
    let condition = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Reconciled"));
    PhaseObservation {
        name: name(object),
        phase: match condition.map(|c| c["status"].as_str().unwrap_or_default()) {
            Some("True") => "Reconciled".into(),
            Some(_) => "NotReconciled".into(),
            None => String::new(),
        },
        message: condition
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string(),
        generation: None,
        restored_backups: Vec::new(),
    }
}

fn backup(object: &DynamicObject) -> BackupObservation {
    let labels = object.metadata.labels.clone().unwrap_or_default();
    BackupObservation {
        schedule: labels
            .get("velero.io/schedule-name")
            .cloned()
            .unwrap_or_default(),
        name: object.metadata.name.clone().unwrap_or_default(),
        phase: text(object, "/status/phase"),
        started: optional(object, "/status/startTimestamp"),
        completed: optional(object, "/status/completionTimestamp"),
    }
}

/// The newest backup of each schedule (by start time, then name).
pub fn latest_per_schedule(backups: &[BackupObservation]) -> Vec<BackupObservation> {
    let mut newest: std::collections::BTreeMap<&str, &BackupObservation> = Default::default();
    for b in backups.iter().filter(|b| !b.schedule.is_empty()) {
        let key = |x: &BackupObservation| (x.started.clone().unwrap_or_default(), x.name.clone());
        match newest.get(b.schedule.as_str()) {
            Some(current) if key(current) >= key(b) => {}
            _ => {
                newest.insert(&b.schedule, b);
            }
        }
    }
    newest.into_values().cloned().collect()
}

fn sync(object: &DynamicObject) -> SyncObservation {
    let address = optional(object, "/status/rsyncTLS/address")
        .or_else(|| optional(object, "/status/rsync/address"));
    let latest_image = value(object)
        .pointer("/status/latestImage/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    SyncObservation {
        name: name(object),
        last_sync_time: optional(object, "/status/lastSyncTime"),
        next_sync_time: optional(object, "/status/nextSyncTime"),
        last_sync_duration: optional(object, "/status/lastSyncDuration"),
        latest_image,
        address,
    }
}
