//! Rules of the reference documents that span several fields: what ACM, OADP and VolSync need
//! for the rendered objects to work, beyond what each field allows on its own. Pure: site in,
//! diagnostics out; called by `validate::validate`.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::model::*;
use super::units;

/// About 1Gi of Velero memory per 2,000 managed clusters (ACM business continuity: a hub with
/// ~2,000 managed clusters is OOM-killed below that).
const CLUSTERS_PER_GIB: u64 = 2_000;
/// Below this many managed clusters Velero's default memory limit is enough.
const SIZING_FROM: usize = 500;

pub fn check(spec: &SiteSpec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    passive_cleanup(spec, &mut out);
    managed_service_account_ttl(&spec.backup, &mut out);
    agent_periods(&spec.agent, &mut out);
    velero_sizing(spec, &mut out);
    if let Some(volsync) = &spec.volsync {
        replica_pvcs(volsync, &mut out);
        restic_repositories(volsync, &mut out);
        same_cluster(spec, volsync, &mut out);
    }
    out
}

/// `cleanupBeforeRestore: None` on a hub that restores again and again (passive sync) or has
/// restored before: resources an earlier restore created and newer backups no longer hold stay
/// on the hub, and its activation Restore (which takes the hub's value) keeps them too.
fn passive_cleanup(spec: &SiteSpec, out: &mut Vec<Diagnostic>) {
    for (i, hub) in spec.hubs.iter().enumerate() {
        if hub.role != HubRole::Passive || hub.cleanup_before_restore != "None" {
            continue;
        }
        let why = if hub.passive_sync {
            "this hub restores every new backup (passive sync)"
        } else {
            "this passive hub restores the backups"
        };
        out.push(Diagnostic::warning(
            format!("spec.hubs[{i}].cleanupBeforeRestore"),
            format!(
                "None keeps what earlier restores created after the backups dropped it, and {why}; its activation Restore would take None as well"
            ),
            "use CleanupRestored (None is for the first restore onto a new, empty hub)",
        ));
    }
}

/// The managed service account's token must outlive the backups that hold it: a hub restored
/// from an older backup gets tokens that expired, and auto-import fails.
fn managed_service_account_ttl(backup: &Backup, out: &mut Vec<Diagnostic>) {
    let (Some(msa), Some(ttl)) = (&backup.managed_service_account_ttl, &backup.ttl) else {
        return;
    };
    if !backup.use_managed_service_account {
        return;
    }
    let (Ok(msa_d), Ok(ttl_d)) = (units::parse_duration(msa), units::parse_duration(ttl)) else {
        return; // reported by the fields' own checks
    };
    if msa_d < ttl_d {
        out.push(Diagnostic::warning(
            "spec.backup.managedServiceAccountTTL",
            format!(
                "{msa} is shorter than the backups' ttl {ttl}: a hub restored from an older backup gets managed service account tokens that have expired, and auto-import fails"
            ),
            "leave it unset (ACM uses twice the backup ttl) or make it at least the ttl",
        ));
    }
}

/// The agent refuses a zero interval or heartbeat (it would busy-loop): its install file must
/// never ask for one.
fn agent_periods(agent: &AgentSettings, out: &mut Vec<Diagnostic>) {
    for (field, value) in [
        ("interval", &agent.interval),
        ("heartbeat", &agent.heartbeat),
    ] {
        if units::parse_duration(value).is_ok_and(|d| d.is_zero()) {
            out.push(Diagnostic::error(
                format!("spec.agent.{field}"),
                format!("{value} is zero: the agent would refuse to start (a zero {field} is a busy loop)"),
                "use a period such as 30s or 10m",
            ));
        }
    }
}

/// Velero's memory limit against the fleet's size.
fn velero_sizing(spec: &SiteSpec, out: &mut Vec<Diagnostic>) {
    let clusters = spec.managed_clusters.len();
    if clusters < SIZING_FROM {
        return;
    }
    let needed_mib = (clusters as u64 * 1024).div_ceil(CLUSTERS_PER_GIB);
    let limit = spec
        .velero
        .resources
        .as_ref()
        .and_then(|r| r.limits.get("memory"));
    let fix = format!(
        "set spec.velero.resources.limits.memory to at least {needed_mib}Mi (about 1Gi per {CLUSTERS_PER_GIB} managed clusters)"
    );
    match limit {
        None => out.push(Diagnostic::warning(
            "spec.velero.resources",
            format!(
                "{clusters} managed clusters and no Velero memory limit: Velero is OOM-killed while backing up a large hub"
            ),
            fix,
        )),
        Some(text) => {
            let Ok(quantity) = units::parse_quantity(text) else {
                return; // reported by the field's own check
            };
            let bytes = quantity.as_bytes_approx();
            if bytes < (needed_mib as f64) * 1024.0 * 1024.0 {
                out.push(Diagnostic::warning(
                    "spec.velero.resources.limits.memory",
                    format!(
                        "{text} is below what {clusters} managed clusters need (about {needed_mib}Mi)"
                    ),
                    fix,
                ));
            }
        }
    }
}

/// A destination on the source's own cluster protects against losing the volume, not the
/// cluster: usually a copy-paste slip in a disaster-recovery site. (A name used twice is an
/// error of its own, and then it is not known which cluster is meant.)
fn same_cluster(spec: &SiteSpec, volsync: &VolSync, out: &mut Vec<Diagnostic>) {
    // Counted once: a fleet has thousands of clusters and of replications.
    let mut named: HashMap<&str, usize> = HashMap::new();
    for c in &spec.managed_clusters {
        *named.entry(c.name.as_str()).or_default() += 1;
    }
    let unique = |name: &str| named.get(name) == Some(&1);
    for (i, r) in volsync.replications.iter().enumerate() {
        if !unique(&r.source.cluster) {
            continue;
        }
        for (path, d) in
            super::destinations::destinations(&format!("spec.volsync.replications[{i}]"), r)
        {
            if d.cluster == r.source.cluster {
                out.push(Diagnostic::warning(
                    format!("{path}.cluster"),
                    format!(
                        "replication {} copies {}/{} to its own cluster {}: the copy is lost with the cluster",
                        r.name, r.source.namespace, r.source.pvc, d.cluster
                    ),
                    "name another managed cluster as the destination (for disaster recovery, one in another site)",
                ));
            }
        }
    }
}

/// A PVC filled from a ReplicationDestination (`dataSourceRef`) uses VolSync's volume
/// populator, which needs the destination's latest image to be a VolumeSnapshot.
fn replica_pvcs(volsync: &VolSync, out: &mut Vec<Diagnostic>) {
    for (i, r) in volsync.replications.iter().enumerate() {
        for (path, d) in
            super::destinations::destinations(&format!("spec.volsync.replications[{i}]"), r)
        {
            let copy_method = d.copy_method.as_deref().unwrap_or("Snapshot");
            if d.pvc.is_some() && copy_method != "Snapshot" {
                out.push(Diagnostic::error(
                    format!("{path}.copyMethod"),
                    format!(
                        "the replica PVC is filled by VolSync's volume populator from the destination's latest snapshot, but copyMethod is {copy_method}"
                    ),
                    "use copyMethod: Snapshot on this destination, or remove pvc",
                ));
            }
        }
    }
}

/// restic needs a repository of its own per PVC: two replications writing through one
/// `restic-config` Secret (one RESTIC_REPOSITORY) back up into one repository and prune each
/// other's snapshots.
fn restic_repositories(volsync: &VolSync, out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<(&str, &str, &str), (usize, &str)> = HashMap::new();
    for (i, r) in volsync.replications.iter().enumerate() {
        if r.method != Method::Restic {
            continue;
        }
        let Some(secret) = r.repository_secret.as_deref() else {
            continue;
        };
        let key = (
            r.source.cluster.as_str(),
            r.source.namespace.as_str(),
            secret,
        );
        match first.get(&key) {
            None => {
                first.insert(key, (i, r.name.as_str()));
            }
            Some((_, other)) => out.push(Diagnostic::error(
                format!("spec.volsync.replications[{i}].repositorySecret"),
                format!(
                    "replication {other:?} already uses the restic-config Secret {secret:?} in {}/{}: two PVCs would share one restic repository",
                    r.source.cluster, r.source.namespace
                ),
                "give each PVC its own Secret with its own RESTIC_REPOSITORY path",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(clusters: usize, memory: Option<&str>) -> Site {
        let mut text = String::from(
            "apiVersion: hubdr.io/v1alpha1\nkind: Site\nmetadata: {name: s}\nspec:\n  git: {url: \"https://git.example.com/a.git\"}\n  storage: {provider: aws, bucket: b, region: r, credentialsSecret: {name: c}}\n  backup: {schedule: \"0 * * * *\"}\n  hubs: [{name: hub-a, role: active}]\n",
        );
        if let Some(m) = memory {
            text.push_str(&format!(
                "  velero: {{resources: {{limits: {{memory: {m}}}}}}}\n"
            ));
        }
        text.push_str("  managedClusters:\n");
        for i in 0..clusters {
            text.push_str(&format!(
                "    - {{name: c-{i}, apiServer: \"https://api.c-{i}.example:6443\"}}\n"
            ));
        }
        crate::site::load_str(&text, std::path::Path::new("site.yaml"))
            .unwrap()
            .site
    }

    fn sizing(clusters: usize, memory: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        velero_sizing(&site(clusters, memory).spec, &mut out);
        out.iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    #[test]
    fn a_managed_service_account_ttl_shorter_than_the_backups_is_a_warning() {
        let backup = |msa: &str, ttl: &str, on: bool| Backup {
            schedule: "0 * * * *".into(),
            ttl: Some(ttl.into()),
            use_managed_service_account: on,
            managed_service_account_ttl: Some(msa.into()),
            name: "schedule-acm".into(),
        };
        let check = |b: Backup| {
            let mut out = Vec::new();
            managed_service_account_ttl(&b, &mut out);
            out.len()
        };
        assert_eq!(check(backup("24h", "120h", true)), 1);
        assert_eq!(check(backup("240h", "120h", true)), 0);
        assert_eq!(check(backup("24h", "120h", false)), 0);
    }

    #[test]
    fn a_zero_agent_period_is_an_error() {
        let mut agent = site(1, None).spec.agent;
        agent.interval = "0s".into();
        let mut out = Vec::new();
        agent_periods(&agent, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "spec.agent.interval");
        agent.interval = "30s".into();
        out.clear();
        agent_periods(&agent, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn velero_memory_is_checked_against_the_fleet() {
        assert!(sizing(10, None).is_empty());
        let missing = sizing(2_000, None);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].starts_with(
            "spec.velero.resources: 2000 managed clusters and no Velero memory limit"
        ));
        let small = sizing(2_000, Some("512Mi"));
        assert_eq!(small, ["spec.velero.resources.limits.memory: 512Mi is below what 2000 managed clusters need (about 1024Mi)"]);
        assert!(sizing(2_000, Some("1Gi")).is_empty());
        assert_eq!(sizing(4_000, Some("1Gi")).len(), 1);
    }
}
