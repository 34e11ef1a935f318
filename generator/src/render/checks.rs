//! hubdr's own checks of every rendered object, on top of the CRD schemas: the rules the API
//! server does not enforce (the operator checks them later, or never) and our own invariants.

use serde::Deserialize;
use serde_json::Value;

use crate::credentials::{scan, What};
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
    key_material(&m.value, &mut problems);
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

/// Refuse anything that looks like key material, with its field path: any string or map key at
/// any depth, and a Secret's payload on whatever kind. (Only an object that holds some is
/// searched with paths.)
fn key_material(value: &Value, problems: &mut Vec<String>) {
    const FIX: &str = "keep it in a Secret on the cluster and reference the Secret by name";
    if value.get("data").is_some() {
        problems.push(format!("data: {}: {FIX}", What::SecretPayload.message()));
    }
    if !scan::holds(value) {
        return;
    }
    for f in scan::find(value, "") {
        problems.push(format!("{}: {}: {FIX}", f.shown, f.what.message()));
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

    const FIX: &str = "keep it in a Secret on the cluster and reference the Secret by name";

    fn object(kind: &str, rest: Value) -> Manifest {
        let mut value = json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": "x", "namespace": "ns"},
        });
        value
            .as_object_mut()
            .unwrap()
            .extend(rest.as_object().unwrap().clone());
        manifest(value)
    }

    #[test]
    fn key_material_anywhere_is_refused_with_its_field_path() {
        let psk = format!("volsync:{}", "ab".repeat(16));
        let key_id = format!("AKIA{}", "IOSFODNN7EXAMPLE");
        let m = object(
            "ConfigMap",
            json!({"spec": {
                "items": ["fine", {"deep": psk}],
                "other": "a:b",
                "config": {"aws_secret_access_key": "x", "note": format!("id={key_id}")},
            }}),
        );
        assert_eq!(
            check(&m),
            vec![
                format!("spec.items[1].deep: looks like a pre-shared key; credentials never go into git: {FIX}"),
                format!("spec.config.aws_secret_access_key: looks like a secret value (the field is named like one); credentials never go into git: {FIX}"),
                format!("spec.config.note: looks like an AWS access key id; credentials never go into git: {FIX}"),
            ]
        );
        let clean = object("ConfigMap", json!({"spec": {"k": "volsync:not-hex"}}));
        assert_eq!(check(&clean), Vec::<String>::new());
    }

    #[test]
    fn a_key_that_is_key_material_is_refused_without_repeating_it() {
        let token = format!("ghp_{}", "0123456789abcdefghijABCDEFGHIJ012345");
        let m = object(
            "Restore",
            json!({"metadata": {"name": "x", "namespace": "ns", "labels": {token.clone(): "x"}}}),
        );
        let problems: Vec<String> = check(&m)
            .into_iter()
            .filter(|p| p.starts_with("metadata.labels"))
            .collect();
        assert_eq!(
            problems,
            vec![format!("metadata.labels.***: looks like a GitHub token; credentials never go into git: {FIX}")]
        );
        assert!(!problems[0].contains(&token));
    }

    #[test]
    fn a_secret_payload_is_refused_on_any_kind() {
        let m = object("ConfigMap", json!({"data": {"k": "v"}}));
        assert_eq!(
            check(&m),
            vec![format!("data: a Secret's payload (stringData or data) on an object that is not a Secret; credentials never go into git: {FIX}")]
        );
        let m = object(
            "DataProtectionApplication",
            json!({"spec": {"configuration": [{"stringData": {"cloud": "[default]"}}]}}),
        );
        assert_eq!(
            check(&m),
            vec![format!("spec.configuration[0].stringData: a Secret's payload (stringData or data) on an object that is not a Secret; credentials never go into git: {FIX}")]
        );
    }

    #[test]
    fn digests_names_and_certificates_are_not_key_material() {
        let hex = "0123456789abcdef".repeat(4);
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let m = object(
            "DataProtectionApplication",
            json!({"metadata": {"name": "x", "namespace": "ns", "annotations": {
                "hubdr.io/site-hash": format!("sha256:{hex}"),
                "hubdr.io/image": format!("quay.io/acm-dr/hubdr-agent@sha256:{hex}"),
                "hubdr.io/commit": "3f786850e387550fdab836ed7e6dc881de23001b",
            }},
            "spec": {"backupLocations": [{"velero": {
                "credential": {"name": "cloud-credentials", "key": "cloud"},
                "config": {"caCert": certificate, "storageAccountKeyEnvVar": "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"},
            }}]}}),
        );
        assert_eq!(check(&m), Vec::<String>::new());
    }
}
