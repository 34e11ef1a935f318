//! The seed's run-time rules for etcd backups (seed 003), pure: the cluster's facts and the
//! desired objects in, the adjusted desired objects out.
//!
//! - The CronJob (annotated `hubdr.io/etcd-backup: cronjob`) stays suspended until the cluster
//!   is 24 h old (the first certificate rotation): installation time = the oldest
//!   ClusterVersion history entry's completion (its start while it has none).
//! - After an upgrade (the newest history entry `Completed` at another version than the
//!   installed one), one Job `etcd-backup-after-upgrade-<version>` from the CronJob's
//!   template: its name is the idempotency key, so it is created once, also across restarts;
//!   the next upgrade's Job replaces it in the desired set (and the old one is pruned).
//! - The ConfigMap `hubdr-etcd-backup-env` carries the cluster Proxy's `status.httpProxy`,
//!   `httpsProxy`, `noProxy` (as `HTTP_PROXY`... and lowercase) and `OPENSHIFT_VERSION`, read by
//!   the containers through `envFrom`.

use hubdr_core::object::ObjectId;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Map, Value};

use crate::apply::Planned;

pub const ANNOTATION: &str = "hubdr.io/etcd-backup";
pub const ENV_CONFIG_MAP: &str = "hubdr-etcd-backup-env";
pub const JOB_PREFIX: &str = "etcd-backup-after-upgrade-";
/// No backup before the first certificate rotation.
pub const MIN_AGE: SignedDuration = SignedDuration::from_hours(24);

/// What the agent read from the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFacts {
    /// When the cluster was installed (oldest history entry).
    pub installed: Option<Timestamp>,
    /// The installed version (oldest history entry).
    pub installed_version: Option<String>,
    /// The version of the newest `Completed` history entry.
    pub current_version: Option<String>,
    /// Whether the newest history entry is `Completed` (no upgrade in progress).
    pub settled: bool,
    pub proxy: Proxy,
    /// From APIServer `spec.encryption.type` (`aescbc`/`aesgcm` = on; `identity`/unset = off).
    pub encryption: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxy {
    pub http: Option<String>,
    pub https: Option<String>,
    pub no: Option<String>,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl ClusterFacts {
    /// The facts of ClusterVersion `version`, Proxy `cluster` and APIServer `cluster`.
    /// Untrusted: missing or malformed fields give `None`, never a panic.
    pub fn read(
        cluster_version: &Value,
        proxy: Option<&Value>,
        apiserver: Option<&Value>,
    ) -> Result<Self, String> {
        let history = cluster_version
            .pointer("/status/history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let oldest = history.last().ok_or(
            "ClusterVersion version has no status.history: the installation time is unknown",
        )?;
        let when = text(oldest, "/completionTime").or_else(|| text(oldest, "/startedTime"));
        let installed = match when {
            Some(t) => Some(t.parse::<Timestamp>().map_err(|e| {
                format!("ClusterVersion version: the oldest history entry's time {t:?} is not a timestamp: {e}")
            })?),
            None => None,
        };
        let newest = &history[0];
        let current_version = history
            .iter()
            .find(|h| h["state"] == "Completed")
            .and_then(|h| text(h, "/version"));
        let encryption = apiserver.map(|a| {
            matches!(
                a.pointer("/spec/encryption/type").and_then(Value::as_str),
                Some("aescbc") | Some("aesgcm")
            )
        });
        Ok(Self {
            installed,
            installed_version: text(oldest, "/version"),
            current_version,
            settled: newest["state"] == "Completed",
            proxy: proxy.map_or_else(Proxy::default, |p| Proxy {
                http: text(p, "/status/httpProxy"),
                https: text(p, "/status/httpsProxy"),
                no: text(p, "/status/noProxy"),
            }),
            encryption,
        })
    }

    /// Whether the cluster is past its first certificate rotation.
    pub fn old_enough(&self, now: Timestamp) -> bool {
        self.installed
            .is_some_and(|t| now.duration_since(t) >= MIN_AGE)
    }

    /// The version an after-upgrade backup is due for: the cluster was upgraded, the upgrade
    /// completed, and it is past its first 24 h.
    pub fn upgraded_to(&self, now: Timestamp) -> Option<&str> {
        let current = self.current_version.as_deref()?;
        (self.settled && self.old_enough(now) && self.installed_version.as_deref() != Some(current))
            .then_some(current)
    }
}

/// `etcd-backup-after-upgrade-4-14-12`: DNS-safe (lowercase letters, digits, `-`), at most 63
/// characters.
pub fn job_name(version: &str) -> String {
    let mut tail: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    tail.truncate(63 - JOB_PREFIX.len());
    let tail = tail.trim_matches('-');
    format!("{JOB_PREFIX}{tail}")
}

/// What [`adjust`] decided, for the log and the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub suspended: bool,
    pub after_upgrade_job: Option<String>,
}

/// Adjust the desired objects of the etcd backup: the CronJob's `suspend`, the ConfigMap of
/// run-time variables and the after-upgrade Job. `None` when no CronJob is desired.
pub fn adjust(
    planned: &mut Vec<Planned>,
    facts: &ClusterFacts,
    now: Timestamp,
) -> Option<Decision> {
    let at = planned.iter().position(is_backup_cronjob)?;
    let suspended = !facts.old_enough(now);
    let cron = &mut planned[at];
    cron.value["spec"]["suspend"] = json!(suspended);
    let cron = cron.clone();
    let namespace = cron.id.namespace.clone().unwrap_or_default();
    let labels = cron
        .value
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));

    let mut data = Map::new();
    for (names, value) in [
        (["HTTP_PROXY", "http_proxy"], &facts.proxy.http),
        (["HTTPS_PROXY", "https_proxy"], &facts.proxy.https),
        (["NO_PROXY", "no_proxy"], &facts.proxy.no),
    ] {
        if let Some(value) = value {
            for name in names {
                data.insert(name.into(), json!(value));
            }
        }
    }
    if let Some(version) = &facts.current_version {
        data.insert("OPENSHIFT_VERSION".into(), json!(version));
    }
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": ENV_CONFIG_MAP, "namespace": namespace, "labels": labels,
            "annotations": {"hubdr.io/wave": (cron.wave - 1).to_string()}},
        "data": data,
    });
    push(planned, config_map, cron.wave - 1);

    let mut decision = Decision {
        suspended,
        after_upgrade_job: None,
    };
    if let Some(version) = facts.upgraded_to(now) {
        let name = job_name(version);
        let template = cron
            .value
            .pointer("/spec/jobTemplate/spec")
            .cloned()
            .unwrap_or(json!({}));
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                "annotations": {ANNOTATION: "after-upgrade", "hubdr.io/openshift-version": version,
                    "hubdr.io/wave": (cron.wave + 1).to_string()}},
            "spec": template,
        });
        push(planned, job, cron.wave + 1);
        decision.after_upgrade_job = Some(name);
    }
    Some(decision)
}

pub(crate) fn is_backup_cronjob(p: &Planned) -> bool {
    p.id.kind == "CronJob"
        && p.id.api_version == "batch/v1"
        && p.value.pointer(&format!(
            "/metadata/annotations/{}",
            ANNOTATION.replace('/', "~1")
        )) == Some(&json!("cronjob"))
}

fn push(planned: &mut Vec<Planned>, value: Value, wave: i32) {
    let id = ObjectId::of(&value).expect("a well-formed object");
    planned.retain(|p| p.id != id);
    planned.push(Planned { id, wave, value });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cv(entries: &[(&str, &str, &str)]) -> Value {
        let history: Vec<Value> = entries
            .iter()
            .map(|(state, version, done)| json!({"state": state, "version": version, "startedTime": done, "completionTime": done}))
            .collect();
        json!({"status": {"history": history}})
    }

    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(job_name("4.14.12"), "etcd-backup-after-upgrade-4-14-12");
        assert_eq!(
            job_name("4.15.0-RC.1"),
            "etcd-backup-after-upgrade-4-15-0-rc-1"
        );
        let long = job_name(&"9".repeat(80));
        assert!(long.len() <= 63, "{long}");
    }

    #[test]
    fn installation_and_upgrades_from_the_history() {
        let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let installed = cv(&[("Completed", "4.14.10", "2026-01-10T10:00:00Z")]);
        let f = ClusterFacts::read(&installed, None, None).unwrap();
        assert!(!f.old_enough(now));
        assert_eq!(f.upgraded_to(now), None);
        let upgraded = cv(&[
            ("Completed", "4.14.12", "2026-01-10T11:00:00Z"),
            ("Completed", "4.14.10", "2026-01-08T10:00:00Z"),
        ]);
        let f = ClusterFacts::read(&upgraded, None, None).unwrap();
        assert!(f.old_enough(now));
        assert_eq!(f.upgraded_to(now), Some("4.14.12"));
        let upgrading = cv(&[
            ("Partial", "4.14.13", "2026-01-10T11:30:00Z"),
            ("Completed", "4.14.12", "2026-01-10T11:00:00Z"),
            ("Completed", "4.14.10", "2026-01-08T10:00:00Z"),
        ]);
        let f = ClusterFacts::read(&upgrading, None, None).unwrap();
        assert_eq!(f.current_version.as_deref(), Some("4.14.12"));
        assert_eq!(f.upgraded_to(now), None, "not while an upgrade runs");
        assert!(ClusterFacts::read(&json!({}), None, None).is_err());
        let bad = cv(&[("Completed", "4.14.10", "yesterday")]);
        assert!(ClusterFacts::read(&bad, None, None)
            .unwrap_err()
            .contains("yesterday"));
    }

    #[test]
    fn proxy_and_encryption() {
        let installed = cv(&[("Completed", "4.14.10", "2026-01-01T10:00:00Z")]);
        let proxy = json!({"status": {"httpProxy": "http://proxy:3128", "httpsProxy": "", "noProxy": ".cluster.local"}});
        let api = json!({"spec": {"encryption": {"type": "aescbc"}}});
        let f = ClusterFacts::read(&installed, Some(&proxy), Some(&api)).unwrap();
        assert_eq!(f.proxy.http.as_deref(), Some("http://proxy:3128"));
        assert_eq!(f.proxy.https, None);
        assert_eq!(f.encryption, Some(true));
        let off = json!({"spec": {}});
        assert_eq!(
            ClusterFacts::read(&installed, None, Some(&off))
                .unwrap()
                .encryption,
            Some(false)
        );
    }
}
