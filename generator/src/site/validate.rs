//! Cross-field rules of the site file. Pure: site in, diagnostics out.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use super::diagnostic::Diagnostic;
use super::model::*;
use super::units;

mod replication;

pub use super::destinations::{destination_specs, destinations};

const CLEANUP_VALUES: [&str; 3] = ["None", "CleanupRestored", "CleanupAll"];
const COPY_METHODS: [&str; 4] = ["Direct", "None", "Clone", "Snapshot"];
const ACCESS_MODES: [&str; 4] = [
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];
const SERVICE_TYPES: [&str; 2] = ["LoadBalancer", "ClusterIP"];
const UPLOADERS: [&str; 2] = ["kopia", "restic"];
const RESOURCE_NAMES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

pub fn validate(site: &Site) -> Vec<Diagnostic> {
    let mut v = Validator::default();
    v.header(site);
    let spec = &site.spec;
    v.label("spec.backupNamespace", &spec.backup_namespace);
    v.label("spec.multiClusterHub.name", &spec.multi_cluster_hub.name);
    v.label(
        "spec.multiClusterHub.namespace",
        &spec.multi_cluster_hub.namespace,
    );
    if let Some(mce) = &spec.multi_cluster_engine {
        v.subdomain("spec.multiClusterEngine.name", &mce.name);
    }
    v.git(&spec.git);
    v.storage(&spec.storage);
    v.velero(&spec.velero);
    v.out.extend(super::oadp::check(spec));
    v.backup(&spec.backup);
    v.hubs(spec);
    v.out.extend(super::failover_rules::check(spec));
    v.managed_clusters(spec);
    if let Some(d) = &spec.disconnected {
        v.subdomain("spec.disconnected.catalogSource", &d.catalog_source);
        v.label(
            "spec.disconnected.catalogSourceNamespace",
            &d.catalog_source_namespace,
        );
    }
    if let Some(volsync) = &spec.volsync {
        v.volsync(spec, volsync);
    }
    v.argocd(&spec.argocd);
    v.agent(&spec.agent);
    v.patches(&spec.patches);
    v.out.extend(super::privileges::validate(
        &spec.agent.extra_kinds,
        &spec.patches,
    ));
    v.out.extend(super::domain_rules::check(spec));
    v.out.extend(super::validate_trust::validate(spec));
    v.out.extend(super::hosted::validate(spec));
    v.out.extend(super::validate_etcd::validate(spec));
    v.out
}

/// A rendered object's identity: cluster, namespace, kind, name.
type ObjectKey<'a> = (&'a str, &'a str, &'static str, Cow<'a, str>);
/// Objects with the field that renders each.
type RenderedBy<'a> = Vec<(ObjectKey<'a>, String)>;

#[derive(Default)]
struct Validator {
    out: Vec<Diagnostic>,
}

impl Validator {
    fn error(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.out.push(Diagnostic::error(path, message, fix));
    }

    fn warning(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.out.push(Diagnostic::warning(path, message, fix));
    }

    fn check(&mut self, path: impl fmt::Display, result: Result<(), String>, fix: &str) {
        if let Err(message) = result {
            self.error(path.to_string(), message, fix);
        }
    }

    fn label(&mut self, path: impl fmt::Display, value: &str) {
        self.check(
            path,
            units::check_dns1123_label(value),
            "rename it to a valid DNS-1123 label",
        );
    }

    fn subdomain(&mut self, path: impl fmt::Display, value: &str) {
        self.check(
            path,
            units::check_dns1123_subdomain(value),
            "rename it to a valid DNS-1123 name",
        );
    }

    fn cron(&mut self, path: impl fmt::Display, value: &str) {
        if let Err(message) = units::parse_cron(value) {
            self.error(
                path.to_string(),
                message,
                "use a 5-field cron expression such as \"0 */2 * * *\" (quote it in YAML)",
            );
        }
    }

    fn duration(&mut self, path: impl fmt::Display, value: &str) {
        if let Err(message) = units::parse_duration(value) {
            self.error(
                path.to_string(),
                message,
                "write a Go duration such as \"120h\", \"30m\" or \"1h30m\"",
            );
        }
    }

    fn quantity(&mut self, path: impl fmt::Display, value: &str) {
        match units::parse_quantity(value) {
            Err(message) => self.error(
                path.to_string(),
                message,
                "write a Kubernetes quantity such as 10Gi or 500m",
            ),
            Ok(q) if q.as_bytes_approx() <= 0.0 => self.error(
                path.to_string(),
                format!("{value:?} must be greater than zero"),
                "give a positive size such as 10Gi",
            ),
            Ok(_) => {}
        }
    }

    fn one_of(&mut self, path: impl fmt::Display, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.error(
                path.to_string(),
                format!("{value:?} is not allowed here"),
                format!("use one of: {}", allowed.join(", ")),
            );
        }
    }

    /// A restore run id: the value of a ReplicationDestination's `trigger.manual`, compared
    /// by VolSync with its `status.lastManualSync`.
    fn restore_run(&mut self, path: impl fmt::Display, value: &str) {
        let fine = (1..=63).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !fine {
            self.error(
                path.to_string(),
                format!("{value:?} is not a restore run id"),
                "use 1 to 63 letters, digits, '-', '.' or '_', starting with a letter or digit (e.g. 2026-12-07-1); a new id runs the restore again",
            );
        }
    }

    fn non_empty(&mut self, path: impl fmt::Display, value: &str) {
        if value.trim().is_empty() {
            self.error(path.to_string(), "must not be empty", "give it a value");
        }
    }

    fn header(&mut self, site: &Site) {
        if site.api_version != API_VERSION {
            self.error(
                "apiVersion",
                format!("{:?} is not a supported site version", site.api_version),
                format!("set apiVersion: {API_VERSION}"),
            );
        }
        if site.kind != KIND {
            self.error(
                "kind",
                format!("{:?} is not a site file kind", site.kind),
                format!("set kind: {KIND}"),
            );
        }
        self.label("metadata.name", &site.metadata.name);
    }

    fn git(&mut self, git: &GitSource) {
        match &git.url {
            None => self.error(
                "spec.git.url",
                "the repository URL is missing; Argo CD and the agents need it",
                "add spec.git.url, e.g. https://git.example.com/platform/acm-dr.git",
            ),
            Some(url) => {
                let is_scp = url.contains('@') && url.contains(':') && !url.contains("://");
                if !is_scp {
                    self.check(
                        "spec.git.url",
                        units::check_url(url, &["https", "http", "ssh", "file", "git"]),
                        "use an https://, ssh:// or git@host:path URL",
                    );
                }
            }
        }
        self.non_empty("spec.git.branch", &git.branch);
    }

    fn storage(&mut self, s: &Storage) {
        self.non_empty("spec.storage.provider", &s.provider);
        self.non_empty("spec.storage.bucket", &s.bucket);
        self.subdomain(
            "spec.storage.credentialsSecret.name",
            &s.credentials_secret.name,
        );
        self.non_empty(
            "spec.storage.credentialsSecret.key",
            &s.credentials_secret.key,
        );
        self.label("spec.storage.locationName", &s.location_name);
        if s.config.contains_key("region")
            || s.config.contains_key("profile")
            || s.config.contains_key("kmsKeyId")
        {
            self.error(
                "spec.storage.config",
                "region, profile and kmsKeyId have their own fields",
                "move them to spec.storage.region / profile / kmsKeyId",
            );
        }
        if s.provider == "aws" && s.region.is_none() && !s.config.contains_key("s3Url") {
            self.warning(
                "spec.storage.region",
                "no region for an aws storage location",
                "set spec.storage.region (or config.s3Url for S3-compatible storage)",
            );
        }
        if s.kms_key_id.as_deref().is_some_and(|k| k.trim().is_empty()) {
            self.error(
                "spec.storage.kmsKeyId",
                "must not be empty",
                "remove it or give the KMS key id",
            );
        }
        let mut names = HashSet::new();
        for (i, l) in s.snapshot_locations.iter().enumerate() {
            let path = format!("spec.storage.snapshotLocations[{i}]");
            self.label(format_args!("{path}.name"), &l.name);
            self.non_empty(format_args!("{path}.provider"), &l.provider);
            if let Some(secret) = &l.credentials_secret {
                self.subdomain(format_args!("{path}.credentialsSecret.name"), &secret.name);
            }
            if !names.insert(&l.name) {
                self.error(
                    format!("{path}.name"),
                    format!("snapshot location {:?} is listed twice", l.name),
                    "give each snapshot location its own name",
                );
            }
        }
    }

    fn velero(&mut self, v: &Velero) {
        if v.default_plugins.is_empty() {
            self.error(
                "spec.velero.defaultPlugins",
                "no default plugins: Velero cannot talk to the storage location",
                "list at least the provider plugin, e.g. [openshift, aws]",
            );
        }
        if let Some(agent) = &v.node_agent {
            self.one_of(
                "spec.velero.nodeAgent.uploaderType",
                &agent.uploader_type,
                &UPLOADERS,
            );
        }
        if let Some(r) = &v.resources {
            self.resources("spec.velero.resources", r);
        }
    }

    fn resources(&mut self, path: &str, r: &Resources) {
        for (section, map) in [("limits", &r.limits), ("requests", &r.requests)] {
            for (name, value) in map {
                let p = format!("{path}.{section}.{name}");
                self.one_of(&p, name, &RESOURCE_NAMES);
                self.quantity(&p, value);
            }
        }
    }

    fn backup(&mut self, b: &Backup) {
        self.cron("spec.backup.schedule", &b.schedule);
        if let Some(ttl) = &b.ttl {
            self.duration("spec.backup.ttl", ttl);
        }
        if let Some(ttl) = &b.managed_service_account_ttl {
            self.duration("spec.backup.managedServiceAccountTTL", ttl);
            if !b.use_managed_service_account {
                self.warning(
                    "spec.backup.managedServiceAccountTTL",
                    "has no effect while useManagedServiceAccount is false",
                    "set useManagedServiceAccount: true or remove managedServiceAccountTTL",
                );
            }
        }
        self.label("spec.backup.name", &b.name);
    }

    fn hubs(&mut self, spec: &SiteSpec) {
        if spec.hubs.is_empty() {
            self.error(
                "spec.hubs",
                "no hubs are listed",
                "list the active hub and its passive hubs",
            );
            return;
        }
        let active: Vec<usize> = spec
            .hubs
            .iter()
            .enumerate()
            .filter(|(_, h)| h.role == HubRole::Active)
            .map(|(i, _)| i)
            .collect();
        match active.len() {
            1 => {}
            0 => self.error(
                "spec.hubs",
                "no hub has role: active; exactly one hub must run the BackupSchedule",
                "set role: active on the primary hub",
            ),
            _ => self.error(
                format!("spec.hubs[{}].role", active[1]),
                format!(
                    "{} hubs have role: active ({}); two active hubs write to one storage location (backup collision)",
                    active.len(),
                    active.iter().map(|&i| spec.hubs[i].name.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "keep exactly one active hub; make the others passive",
            ),
        }
        for (i, hub) in spec.hubs.iter().enumerate() {
            let path = format!("spec.hubs[{i}]");
            self.label(format_args!("{path}.name"), &hub.name);
            if let Some(interval) = &hub.restore_sync_interval {
                self.duration(format_args!("{path}.restoreSyncInterval"), interval);
            }
            self.one_of(
                format_args!("{path}.cleanupBeforeRestore"),
                &hub.cleanup_before_restore,
                &CLEANUP_VALUES,
            );
            if hub.cleanup_before_restore == "CleanupAll" {
                self.warning(
                    format!("{path}.cleanupBeforeRestore"),
                    "CleanupAll also deletes resources users created on this hub",
                    "use CleanupRestored unless this is a last resort",
                );
            }
            if hub.disconnected == Some(true) && spec.disconnected.is_none() {
                self.error(
                    format!("{path}.disconnected"),
                    "the hub is marked disconnected, but spec.disconnected does not name the CatalogSource that mirrors the Red Hat operators, so OADP cannot be installed",
                    "add spec.disconnected.catalogSource (or remove disconnected: true from the hub)",
                );
            }
            for (field, value) in [
                ("activeSince", hub.active_since),
                ("fencedSince", hub.fenced_since),
            ] {
                if value.is_some_and(|g| g > spec.failover.generation) {
                    self.error(
                        format!("{path}.{field}"),
                        format!(
                            "generation {} is newer than failover.generation {}",
                            value.unwrap_or_default(),
                            spec.failover.generation
                        ),
                        "use `hubdr failover`, which sets both together",
                    );
                }
            }
            // `hubdr failover` leaves activeSince on a former primary (history); it only means
            // something odd on a passive hub that took over after it last became passive.
            if hub.role == HubRole::Passive
                && hub.active_since.is_some_and(|g| g > hub.passive_since)
            {
                self.warning(
                    format!("{path}.activeSince"),
                    format!("has no effect on a {} hub", hub.role.as_str()),
                    "remove it; `hubdr failover` sets it on the hub that takes over",
                );
            }
            if hub.restore_sync_interval.is_some() && !hub.passive_sync {
                self.warning(
                    format!("{path}.restoreSyncInterval"),
                    "has no effect with passiveSync: false (a one-time restore does not sync)",
                    "remove restoreSyncInterval, or set passiveSync: true",
                );
            }
            if hub.passive_since > spec.failover.generation {
                self.error(
                    format!("{path}.passiveSince"),
                    format!(
                        "generation {} is newer than failover.generation {}",
                        hub.passive_since, spec.failover.generation
                    ),
                    "set passiveSince to the generation at which the hub became passive",
                );
            }
        }
        let fenced = spec.hubs.iter().any(|h| h.role == HubRole::Fenced);
        let ungated = spec
            .hubs
            .iter()
            .position(|h| h.role == HubRole::Active && h.active_since.is_none());
        if let (true, Some(i)) = (fenced, ungated) {
            self.warning(
                format!("spec.hubs[{i}].role"),
                "a hub is fenced but the active hub has no activeSince: its BackupSchedule is not gated on an activation restore or on the fenced hub's status (a hand-edited failover)",
                "fail over with `hubdr failover --to <hub>`, which sequences the takeover",
            );
        }
        if spec.failover.old_primary_unreachable && !fenced {
            self.warning(
                "spec.failover.oldPrimaryUnreachable",
                "no hub is fenced, so there is no old primary to skip",
                "remove oldPrimaryUnreachable",
            );
        }
    }

    fn managed_clusters(&mut self, spec: &SiteSpec) {
        // Name -> the list and index that use it first.
        let mut seen: HashMap<&str, (&str, usize)> = spec
            .hubs
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.as_str(), ("spec.hubs", i)))
            .collect();
        if seen.len() != spec.hubs.len() {
            let mut names = HashSet::new();
            for (i, h) in spec.hubs.iter().enumerate() {
                if !names.insert(&h.name) {
                    self.error(
                        format!("spec.hubs[{i}].name"),
                        format!("hub {:?} is listed twice", h.name),
                        "give every hub a unique name",
                    );
                }
            }
        }
        for (i, c) in spec.managed_clusters.iter().enumerate() {
            let path = format!("spec.managedClusters[{i}]");
            self.label(format_args!("{path}.name"), &c.name);
            if let Some((list, first)) = seen.insert(&c.name, ("spec.managedClusters", i)) {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "cluster name {:?} is already used by {list}[{first}]",
                        c.name
                    ),
                    "every hub and managed cluster needs its own name (it names its directory in the repo)",
                );
            }
            match &c.api_server {
                Some(url) => self.check(
                    format_args!("{path}.apiServer"),
                    units::check_url(url, &["https"]),
                    "use the cluster's API URL, e.g. https://api.east-1.example.com:6443",
                ),
                None if spec.backup.use_managed_service_account => self.warning(
                    format!("{path}.apiServer"),
                    format!("managed cluster {:?} has no apiServer; auto-import on a new hub needs its URL", c.name),
                    "add apiServer: https://api.<cluster>:6443 (OpenShift clusters set it themselves; others stay Pending Import)",
                ),
                None => {}
            }
        }
    }

    fn agent(&mut self, a: &AgentSettings) {
        self.non_empty("spec.agent.image", &a.image);
        self.label("spec.agent.namespace", &a.namespace);
        self.subdomain("spec.agent.gitCredentialsSecret", &a.git_credentials_secret);
        self.duration("spec.agent.interval", &a.interval);
        self.duration("spec.agent.heartbeat", &a.heartbeat);
    }

    fn argocd(&mut self, a: &ArgoCd) {
        self.label("spec.argocd.namespace", &a.namespace);
        self.subdomain("spec.argocd.project", &a.project);
    }

    fn patches(&mut self, patches: &[Patch]) {
        for (i, p) in patches.iter().enumerate() {
            let path = format!("spec.patches[{i}]");
            let t = &p.target;
            if t.cluster.is_none() && t.kind.is_none() && t.name.is_none() && t.namespace.is_none()
            {
                self.error(
                    format!("{path}.target"),
                    "the target selects every object",
                    "name at least a cluster, kind or name",
                );
            }
            match (&p.merge, &p.json) {
                (None, None) => self.error(
                    path.clone(),
                    "the patch has no operations",
                    "add merge: {...} or json: [...]",
                ),
                (Some(_), Some(_)) => self.error(
                    path.clone(),
                    "both merge and json are set",
                    "split it into two patches",
                ),
                (Some(m), None) if !m.is_object() => self.error(
                    format!("{path}.merge"),
                    "a merge patch must be a mapping",
                    "write the fields to merge as a mapping",
                ),
                (None, Some(ops)) => {
                    if let Err(e) = serde_json::from_value::<json_patch::Patch>(ops.clone()) {
                        self.error(
                            format!("{path}.json"),
                            format!("not a JSON patch: {e}"),
                            "write a list of {op, path, value} operations (RFC 6902)",
                        );
                    }
                }
                _ => {}
            }
        }
    }
}
