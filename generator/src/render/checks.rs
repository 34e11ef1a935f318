//! hubdr's own checks of every rendered object, on top of the CRD schemas: the rules the API
//! server does not enforce (the operator checks them later, or never) and our own invariants.

use serde::Deserialize;
use serde_json::Value;

use crate::site::units;

use super::manifest::Manifest;

/// Problems with one rendered object; empty when it is fine.
pub fn check(m: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = units::check_dns1123_subdomain(&m.id.name) {
        problems.push(format!("metadata.name: {e}"));
    }
    if let Some(ns) = &m.id.namespace {
        if let Err(e) = units::check_dns1123_label(ns) {
            problems.push(format!("metadata.namespace: {e}"));
        }
    }
    if m.id.kind == "Secret" {
        problems.push("hubdr never renders Secrets: credentials stay out of git; reference the Secret by name".into());
    }
    if holds_key_material(&m.value) {
        find_key_material(&m.value, &mut String::new(), &mut problems);
    }
    let spec = m.value.get("spec").unwrap_or(&Value::Null);
    match m.id.kind.as_str() {
        "Restore" => check_typed::<RestoreSpec>(spec, &mut problems, RestoreSpec::check),
        "BackupSchedule" => {
            check_typed::<BackupScheduleSpec>(spec, &mut problems, BackupScheduleSpec::check)
        }
        "ReplicationSource" | "ReplicationDestination" => {
            check_volsync(&m.id.kind, spec, &mut problems)
        }
        "ManagedClusterAddOn" if m.id.name != "volsync" => {
            problems.push("the VolSync add-on must be named exactly volsync".into());
        }
        _ => {}
    }
    problems
}

fn check_typed<T: for<'de> Deserialize<'de>>(
    spec: &Value,
    problems: &mut Vec<String>,
    f: impl Fn(&T, &mut Vec<String>),
) {
    match T::deserialize(spec) {
        Ok(typed) => f(&typed, problems),
        Err(e) => problems.push(format!("spec: {e}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestoreSpec {
    cleanup_before_restore: String,
    velero_managed_clusters_backup_name: String,
    velero_credentials_backup_name: String,
    velero_resources_backup_name: String,
    #[serde(default)]
    sync_restore_with_new_backups: bool,
    #[serde(default)]
    restore_sync_interval: Option<String>,
    /// The docs' misspelling; the API server would drop it silently.
    #[serde(default)]
    velero_managed_clusters_backup_schedule: Option<Value>,
}

impl RestoreSpec {
    fn check(&self, problems: &mut Vec<String>) {
        if !["None", "CleanupRestored", "CleanupAll"]
            .contains(&self.cleanup_before_restore.as_str())
        {
            problems.push(format!(
                "spec.cleanupBeforeRestore: {:?} is not None, CleanupRestored or CleanupAll",
                self.cleanup_before_restore
            ));
        }
        for (field, value) in [
            (
                "veleroManagedClustersBackupName",
                &self.velero_managed_clusters_backup_name,
            ),
            (
                "veleroCredentialsBackupName",
                &self.velero_credentials_backup_name,
            ),
            (
                "veleroResourcesBackupName",
                &self.velero_resources_backup_name,
            ),
        ] {
            if value.is_empty() {
                problems.push(format!(
                    "spec.{field}: must be latest, skip or a backup name"
                ));
            }
        }
        if self.velero_managed_clusters_backup_schedule.is_some() {
            problems.push("spec.veleroManagedClustersBackupSchedule is not a Restore field: use veleroManagedClustersBackupName".into());
        }
        if self.sync_restore_with_new_backups
            && self.velero_managed_clusters_backup_name != "skip"
            && self.velero_managed_clusters_backup_name != "latest"
        {
            problems.push("spec.veleroManagedClustersBackupName: a syncing Restore takes skip (passive) or latest (activation)".into());
        }
        if let Some(interval) = &self.restore_sync_interval {
            if let Err(e) = units::parse_duration(interval) {
                problems.push(format!("spec.restoreSyncInterval: {e}"));
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BackupScheduleSpec {
    velero_schedule: String,
    #[serde(default)]
    velero_ttl: Option<String>,
    #[serde(default, rename = "managedServiceAccountTTL")]
    managed_service_account_ttl: Option<String>,
}

impl BackupScheduleSpec {
    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = units::parse_cron(&self.velero_schedule) {
            problems.push(format!("spec.veleroSchedule: {e}"));
        }
        for (field, value) in [
            ("veleroTtl", &self.velero_ttl),
            (
                "managedServiceAccountTTL",
                &self.managed_service_account_ttl,
            ),
        ] {
            if let Some(Err(e)) = value.as_deref().map(units::parse_duration) {
                problems.push(format!("spec.{field}: {e}"));
            }
        }
    }
}

const MOVERS: [&str; 6] = ["rsync", "rsyncTLS", "restic", "rclone", "external", "kopia"];

fn check_volsync(kind: &str, spec: &Value, problems: &mut Vec<String>) {
    let movers: Vec<&str> = MOVERS
        .iter()
        .copied()
        .filter(|m| spec.get(*m).is_some())
        .collect();
    if movers.len() != 1 {
        problems.push(format!(
            "a {kind} needs exactly one mover section, found {}",
            movers.len()
        ));
    }
    if let Some(schedule) = spec.pointer("/trigger/schedule").and_then(Value::as_str) {
        if let Err(e) = units::parse_cron(schedule) {
            problems.push(format!("spec.trigger.schedule: {e}"));
        }
    }
    if kind == "ReplicationSource"
        && spec
            .get("sourcePVC")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        problems.push("spec.sourcePVC: a ReplicationSource needs the PVC it copies".into());
    }
    for mover in movers {
        if let Some(capacity) = spec
            .get(mover)
            .and_then(|section| section.get("capacity"))
            .and_then(Value::as_str)
        {
            if let Err(e) = units::parse_quantity(capacity) {
                problems.push(format!("spec.{mover}.capacity: {e}"));
            }
        }
    }
}

/// Whether any string in `value` looks like key material (a VolSync pre-shared key line): the
/// scan of every object, without the field paths that only a finding needs.
fn holds_key_material(value: &Value) -> bool {
    match value {
        Value::String(s) => units::is_psk_line(s),
        Value::Object(map) => map.values().any(holds_key_material),
        Value::Array(items) => items.iter().any(holds_key_material),
        _ => false,
    }
}

/// Refuse anything that looks like key material (a VolSync pre-shared key line). `path` is the
/// field path of `value` (a buffer extended and restored while descending).
fn find_key_material(value: &Value, path: &mut String, problems: &mut Vec<String>) {
    use std::fmt::Write;
    let parent_len = path.len();
    match value {
        Value::String(s) if units::is_psk_line(s) => {
            problems.push(format!("{path}: looks like a pre-shared key; keys never go into git, reference their Secret by name"));
        }
        Value::Object(map) => {
            for (k, v) in map {
                let _ = write!(path, ".{k}");
                find_key_material(v, path, problems);
                path.truncate(parent_len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                find_key_material(v, path, problems);
                path.truncate(parent_len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::manifest::ObjectId;

    fn manifest(value: Value) -> Manifest {
        Manifest {
            cluster: "c1".into(),
            id: ObjectId::of(&value).unwrap(),
            wave: 0,
            value,
        }
    }

    #[test]
    fn key_material_anywhere_is_refused_with_its_field_path() {
        let psk = format!("volsync:{}", "ab".repeat(16));
        let m = manifest(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "ns"},
            "spec": {"items": ["fine", {"deep": psk}], "other": "a:b"},
        }));
        assert_eq!(
            check(&m),
            vec![format!(
                ".spec.items[1].deep: looks like a pre-shared key; keys never go into git, \
                 reference their Secret by name"
            )]
        );
        let clean = manifest(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "ns"},
            "data": {"k": "volsync:not-hex"},
        }));
        assert_eq!(check(&clean), Vec::<String>::new());
    }
}
