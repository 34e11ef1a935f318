//! A failover's preflight, from live evidence: what each hub's agent reported on the status
//! branch (see the agent's `readiness` module). Every check the switchover runbooks make before
//! a takeover; `hubdr failover` shows them in the plan and refuses when one fails, unless the
//! person running it gives a reason (`--skip-preflight "<reason>"`). Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Failover;
use crate::site::failover_rules::AcmVersion;
use crate::site::{HubRole, Site};
use crate::status::{epoch, human_age, BackupObservation, ClusterStatus};

/// One check of one hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub hub: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    pub checks: Vec<Check>,
}

/// The backup a takeover restores the managed clusters from.
const MANAGED_CLUSTERS_SCHEDULE: &str = "acm-managed-clusters-schedule";
/// The passive data a passive hub keeps restoring.
const RESOURCES_SCHEDULE: &str = "acm-resources-schedule";

impl Preflight {
    pub fn failed(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }

    /// The checks as a table (Markdown when asked).
    pub fn table(&self, markdown: bool) -> String {
        let mut out = String::new();
        if markdown {
            out.push_str("## Preflight (from the agents' status branch)\n\n| | check | hub | evidence |\n|---|---|---|---|\n");
            for c in &self.checks {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    if c.ok { "ok" } else { "**FAIL**" },
                    c.name,
                    c.hub,
                    c.detail.replace('|', "\\|")
                );
            }
            out.push('\n');
            return out;
        }
        out.push_str("Preflight (from the agents' status branch):\n");
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let hubs = self.checks.iter().map(|c| c.hub.len()).max().unwrap_or(0);
        for c in &self.checks {
            let _ = writeln!(
                out,
                "  {:<4}  {:<hubs$}  {:<width$}  {}",
                if c.ok { "ok" } else { "FAIL" },
                c.hub,
                c.name,
                c.detail
            );
        }
        out.push('\n');
        out
    }
}

/// The preflight of `failover` on `site` (before the edit), from `statuses`, at `now` (seconds
/// since the epoch).
pub fn run(
    site: &Site,
    failover: &Failover,
    statuses: &BTreeMap<String, ClusterStatus>,
    now: i64,
) -> Preflight {
    let mut checks = Vec::new();
    let mut check = |name: &'static str, hub: &str, result: Result<String, String>| {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push(Check {
            name,
            hub: hub.to_string(),
            ok,
            detail,
        });
    };
    let generation = site.spec.failover.generation;
    let stale_after = stale_after(site);
    let from = (!failover.old_primary_unreachable).then_some(failover.from.as_str());
    let to = failover.to.as_str();
    let involved: Vec<&str> = from.into_iter().chain([to]).collect();
    for hub in &involved {
        check(
            "status",
            hub,
            fresh(hub, statuses.get(*hub), generation, now, stale_after),
        );
    }
    for hub in site.spec.hubs.iter().filter(|h| h.role != HubRole::Fenced) {
        if Some(hub.name.as_str()) == from || hub.name == to || statuses.contains_key(&hub.name) {
            if let Some(s) = statuses.get(&hub.name) {
                check("storage-location", &hub.name, storage_location(s));
            } else if involved.contains(&hub.name.as_str()) {
                check(
                    "storage-location",
                    &hub.name,
                    Err("no status: unknown".into()),
                );
            }
        }
    }
    check("acm-version", to, versions(site, from, to, statuses));
    // Newest backups: as the old primary last saw them, or (disaster) as the target sees them.
    let evidence = from.unwrap_or(to);
    check(
        "newest-backup",
        evidence,
        newest_backup(site, statuses.get(evidence), now),
    );
    check("passive-sync", to, passive_sync(site, to, statuses.get(to)));
    // The old primary holds the ManagedClusters the takeover restores; its last report counts
    // even when it is unreachable now.
    let expected = crate::site::api_server::expected(&site.spec);
    if !expected.is_empty() {
        check(
            "api-server",
            &failover.from,
            api_servers(&expected, &failover.from, statuses.get(&failover.from)),
        );
    }
    for hub in &involved {
        check("preserve-on-delete", hub, preserved(statuses.get(*hub)));
        check("no-backup-stuck", hub, not_stuck(statuses.get(*hub)));
    }
    let observability: Vec<String> = involved
        .iter()
        .filter_map(|h| {
            let s = statuses.get(*h)?;
            Some(format!(
                "{h}: {}",
                match s.observed.observability {
                    Some(true) => "installed (the old primary's compactor is scaled to 0; restart observability-observatorium-api on the new primary after the activation)",
                    Some(false) => "not installed",
                    None => "unknown",
                }
            ))
        })
        .collect();
    check("observability", to, Ok(observability.join("; ")));
    Preflight { checks }
}

/// How old a status may be: three heartbeats, at least 30 minutes.
fn stale_after(site: &Site) -> i64 {
    let heartbeat = crate::site::units::parse_duration(&site.spec.agent.heartbeat)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(600);
    (3 * heartbeat).max(1800)
}

fn fresh(
    hub: &str,
    status: Option<&ClusterStatus>,
    generation: u64,
    now: i64,
    stale_after: i64,
) -> Result<String, String> {
    let s = status
        .ok_or_else(|| format!("{hub}'s agent has published no status: nothing is known of it"))?;
    let applied = s.source.generation.unwrap_or_default();
    if applied != generation {
        return Err(format!(
            "reports generation {applied}, not the current {generation}: its agent is behind (or ahead)"
        ));
    }
    if matches!(s.pass.reason.as_str(), "FetchFailed" | "VerifyFailed") || s.source.stale {
        return Err(format!(
            "its last pass failed: {}: {}",
            s.pass.reason, s.pass.message
        ));
    }
    let age = epoch(&s.updated_at).map(|t| now - t);
    match age {
        Some(a) if a > stale_after => Err(format!(
            "last reported {} ago (at {}), over {}: is its agent running?",
            human_age(a),
            s.updated_at,
            human_age(stale_after)
        )),
        _ => Ok(format!(
            "generation {applied}, pass {}, reported at {}",
            s.pass.reason, s.updated_at
        )),
    }
}

fn storage_location(s: &ClusterStatus) -> Result<String, String> {
    let locations = &s.observed.backup_storage_locations;
    match locations.iter().find(|l| l.phase == "Available") {
        Some(l) => Ok(format!("{} Available", l.name)),
        None if locations.is_empty() => Err("no BackupStorageLocation".into()),
        None => Err(format!(
            "no BackupStorageLocation is Available: {}",
            locations
                .iter()
                .map(|l| format!(
                    "{} {}",
                    l.name,
                    if l.phase.is_empty() {
                        "no phase"
                    } else {
                        &l.phase
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn versions(
    site: &Site,
    from: Option<&str>,
    to: &str,
    statuses: &BTreeMap<String, ClusterStatus>,
) -> Result<String, String> {
    let declared = site.spec.acm();
    let read = |hub: &str| -> Result<(String, String), String> {
        let s = statuses
            .get(hub)
            .ok_or_else(|| format!("{hub}: no status"))?;
        let acm = s.observed.acm_version.clone().ok_or_else(|| {
            format!("{hub} reports no ACM version (MultiClusterHub status.currentVersion)")
        })?;
        Ok((
            acm,
            s.observed
                .mce_version
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        ))
    };
    let (to_acm, to_mce) = read(to)?;
    let minor = |v: &str| AcmVersion::parse(v).ok();
    if minor(&to_acm) != Some(declared) {
        return Err(format!(
            "{to} runs ACM {to_acm}, but the site declares {declared} (spec.acmVersion): the fence and the restore follow the declared version"
        ));
    }
    let Some(from) = from else {
        return Ok(format!("{to}: ACM {to_acm}, MCE {to_mce}"));
    };
    let (from_acm, from_mce) = read(from)?;
    if from_acm != to_acm || from_mce != to_mce {
        return Err(format!(
            "{from} runs ACM {from_acm} / MCE {from_mce}, {to} ACM {to_acm} / MCE {to_mce}: backup and restore hubs must run the same versions"
        ));
    }
    Ok(format!("{from} and {to}: ACM {to_acm}, MCE {to_mce}"))
}

/// The site's `apiServer` of each managed cluster against the URLs its ManagedCluster holds
/// (auto-import on the new primary connects to those).
fn api_servers(
    expected: &BTreeMap<String, String>,
    hub: &str,
    status: Option<&ClusterStatus>,
) -> Result<String, String> {
    let seen = status
        .and_then(|s| s.observed.managed_clusters.as_ref())
        .filter(|m| !m.client_configs.is_empty());
    let Some(seen) = seen else {
        return Ok(format!(
            "{hub}'s agent reports no ManagedCluster client-config URLs: the site's apiServer values are not checked"
        ));
    };
    let wrong = crate::site::api_server::mismatches(expected, hub, seen);
    if wrong.is_empty() {
        let checked = expected
            .keys()
            .filter(|c| seen.client_configs.contains_key(*c))
            .count();
        return Ok(format!(
            "{checked} of {} managed cluster(s) checked: each ManagedCluster holds the site's apiServer",
            expected.len()
        ));
    }
    Err(wrong.join("; "))
}

fn newest_backup(site: &Site, status: Option<&ClusterStatus>, now: i64) -> Result<String, String> {
    let s = status.ok_or("no status: the newest backup is unknown")?;
    let newest: Option<&BackupObservation> = s
        .observed
        .latest_backups
        .iter()
        .find(|b| b.schedule == MANAGED_CLUSTERS_SCHEDULE);
    let b = newest.ok_or_else(|| {
        format!("no {MANAGED_CLUSTERS_SCHEDULE} backup: there is nothing to activate the managed clusters from")
    })?;
    if b.phase != "Completed" {
        return Err(format!(
            "the newest managed-clusters backup {} is {}",
            b.name, b.phase
        ));
    }
    let at = b
        .completed
        .as_deref()
        .or(b.started.as_deref())
        .unwrap_or_default();
    let age = epoch(at).map(|t| now - t);
    let limit = crate::site::units::parse_cron(&site.spec.backup.schedule)
        .ok()
        .and_then(|c| c.min_interval_minutes())
        .map(|m| (m.max(1) * 60 * 2) as i64);
    match (age, limit) {
        (Some(a), Some(limit)) if a > limit => Err(format!(
            "the newest managed-clusters backup {} finished {} ago (at {at}), more than twice the schedule's interval ({}): the primary is not backing up; restoring it loses everything since",
            b.name,
            human_age(a),
            human_age(limit)
        )),
        (Some(a), _) => Ok(format!(
            "{} Completed {} ago (at {at}): the recovery point if the failover started now",
            b.name,
            human_age(a)
        )),
        (None, _) => Err(format!("the newest managed-clusters backup {} has no time", b.name)),
    }
}

fn passive_sync(site: &Site, to: &str, status: Option<&ClusterStatus>) -> Result<String, String> {
    let s = status.ok_or("no status")?;
    let hub = site
        .spec
        .hubs
        .iter()
        .find(|h| h.name == to)
        .ok_or("not a hub")?;
    let restore = s
        .observed
        .restores
        .iter()
        .find(|r| r.generation.is_none())
        .ok_or("no passive Restore: the hub restores nothing")?;
    if !hub.passive_sync {
        return if restore.phase == "Finished" {
            Ok(format!(
                "one-time passive Restore {} Finished (it does not sync: its passive data is as old as that restore)",
                restore.name
            ))
        } else {
            Err(format!(
                "one-time passive Restore {} is {}",
                restore.name, restore.phase
            ))
        };
    }
    if restore.phase != "Enabled" {
        return Err(format!(
            "passive-sync Restore {} is {}, not Enabled",
            restore.name,
            if restore.phase.is_empty() {
                "without a phase"
            } else {
                &restore.phase
            }
        ));
    }
    let newest = s
        .observed
        .latest_backups
        .iter()
        .find(|b| b.schedule == RESOURCES_SCHEDULE)
        .map(|b| b.name.as_str())
        .ok_or("no resources backup in the storage location")?;
    if restore.restored_backups.iter().any(|b| b == newest) {
        Ok(format!(
            "{} restored the newest backup {newest}",
            restore.name
        ))
    } else {
        Err(format!(
            "{} has not restored the newest backup {newest} yet (last: {}): wait for its next sync",
            restore.name,
            if restore.restored_backups.is_empty() {
                "none".to_string()
            } else {
                restore.restored_backups.join(", ")
            }
        ))
    }
}

fn preserved(status: Option<&ClusterStatus>) -> Result<String, String> {
    let s = status.ok_or("no status")?;
    let cds = s
        .observed
        .cluster_deployments
        .as_ref()
        .ok_or("its ClusterDeployments are unknown (the agent could not list them)")?;
    if cds.not_preserved_count == 0 {
        return Ok(format!(
            "{} ClusterDeployment(s), all with spec.preserveOnDelete: true",
            cds.total
        ));
    }
    let more = cds
        .not_preserved_count
        .saturating_sub(cds.not_preserved.len());
    Err(format!(
        "{} of {} ClusterDeployment(s) without spec.preserveOnDelete: true: {}{}: deleting their ManagedCluster or ClusterDeployment (a switchover may) destroys the real cluster; set it first",
        cds.not_preserved_count,
        cds.total,
        cds.not_preserved.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    ))
}

fn not_stuck(status: Option<&ClusterStatus>) -> Result<String, String> {
    let s = status.ok_or("no status")?;
    match s.health.iter().find(|h| h.name == "no-backup-stuck") {
        Some(h) if h.ok => Ok(h.message.clone()),
        Some(h) => Err(h.message.clone()),
        None => Err("its agent did not observe its backups".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{load, SITE};
    use super::*;
    use crate::status::{ClusterDeploymentsObservation, HealthCheck, PhaseObservation};

    const NOW: i64 = 1_796_000_000;

    fn at(offset: i64) -> String {
        jiff::Timestamp::from_second(NOW + offset)
            .unwrap()
            .to_string()
    }

    fn hub(name: &str, restored: &[&str]) -> ClusterStatus {
        let text = format!(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {name}\nagentVersion: '0'\nupdatedAt: '{}'\nsource: {{generation: 1}}\npass: {{outcome: Succeeded, reason: Applied}}\n",
            at(-60)
        );
        let mut s = ClusterStatus::parse(&text).unwrap();
        let o = &mut s.observed;
        o.backup_storage_locations = vec![PhaseObservation {
            name: "ns/default".into(),
            phase: "Available".into(),
            ..Default::default()
        }];
        o.acm_version = Some("2.15.1".into());
        o.mce_version = Some("2.10.1".into());
        o.observability = Some(false);
        o.cluster_deployments = Some(ClusterDeploymentsObservation::default());
        for schedule in [MANAGED_CLUSTERS_SCHEDULE, RESOURCES_SCHEDULE] {
            o.latest_backups.push(BackupObservation {
                schedule: schedule.into(),
                name: format!("{schedule}-1"),
                phase: "Completed".into(),
                started: Some(at(-3600)),
                completed: Some(at(-3540)),
            });
        }
        o.restores = vec![PhaseObservation {
            name: "ns/restore-acm-passive-sync-g0".into(),
            phase: "Enabled".into(),
            restored_backups: restored.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        }];
        s.health = vec![HealthCheck {
            name: "no-backup-stuck".into(),
            ok: true,
            message: "no backup stuck InProgress".into(),
        }];
        s
    }

    fn preflight(statuses: &[ClusterStatus]) -> Preflight {
        let site = load(SITE);
        let failover = super::super::plan(&site, "hub-b", false).unwrap();
        let statuses = statuses
            .iter()
            .map(|s| (s.cluster.clone(), s.clone()))
            .collect();
        run(&site, &failover, &statuses, NOW)
    }

    fn failed(p: &Preflight) -> Vec<(&str, &str)> {
        p.failed()
            .iter()
            .map(|c| (c.name, c.hub.as_str()))
            .collect()
    }

    #[test]
    fn a_healthy_pair_passes_and_the_table_names_each_check() {
        let p = preflight(&[
            hub("hub-a", &[]),
            hub("hub-b", &["acm-resources-schedule-1"]),
        ]);
        assert!(p.failed().is_empty(), "{}", p.table(false));
        let table = p.table(false);
        assert!(
            table.contains("ok    hub-b  passive-sync        ns/restore-acm-passive-sync-g0 restored the newest backup acm-resources-schedule-1"),
            "{table}"
        );
        assert!(p
            .table(true)
            .contains("| ok | acm-version | hub-b | hub-a and hub-b: ACM 2.15.1, MCE 2.10.1 |"));
    }

    #[test]
    fn an_api_server_the_managed_cluster_does_not_hold_fails_with_the_fix() {
        let good_b = || hub("hub-b", &["acm-resources-schedule-1"]);
        let reporting = |west: &str| {
            let mut a = hub("hub-a", &[]);
            a.observed.managed_clusters = Some(crate::status::ManagedClustersObservation {
                total: 2,
                available: 2,
                client_configs: [
                    ("east-1", "https://API.east-1.example.com:6443/"),
                    ("west-1", west),
                ]
                .map(|(c, u)| (c.to_string(), vec![u.to_string()]))
                .into(),
                ..Default::default()
            });
            a
        };
        let p = preflight(&[reporting("https://api.west-1.example.com:6443"), good_b()]);
        assert!(p.failed().is_empty(), "{}", p.table(false));
        assert!(
            p.table(false).contains(
                "2 of 3 managed cluster(s) checked: each ManagedCluster holds the site's apiServer"
            ),
            "{}",
            p.table(false)
        );
        let p = preflight(&[reporting("https://10.0.0.7:6443"), good_b()]);
        assert_eq!(failed(&p), [("api-server", "hub-a")]);
        assert!(
            p.failed()[0].detail.contains(
                "managedClusters[west-1].apiServer is https://api.west-1.example.com:6443, but its ManagedCluster on hub-a has spec.managedClusterClientConfigs url https://10.0.0.7:6443"
            ) && p.failed()[0].detail.contains("put apiServer: https://10.0.0.7:6443 in site.yaml"),
            "{}",
            p.table(false)
        );
    }

    #[test]
    fn each_runbook_check_fails_on_its_evidence() {
        let good_b = || hub("hub-b", &["acm-resources-schedule-1"]);
        assert_eq!(
            failed(&preflight(&[good_b()])).first(),
            Some(&("status", "hub-a"))
        );

        let mut a = hub("hub-a", &[]);
        a.observed.cluster_deployments = Some(ClusterDeploymentsObservation {
            total: 3,
            not_preserved: vec!["east-1/east-1".into()],
            not_preserved_count: 1,
        });
        let p = preflight(&[a, good_b()]);
        assert_eq!(failed(&p), [("preserve-on-delete", "hub-a")]);
        assert!(p.failed()[0].detail.contains(
            "1 of 3 ClusterDeployment(s) without spec.preserveOnDelete: true: east-1/east-1"
        ));

        let mut b = good_b();
        b.observed.acm_version = Some("2.15.3".into());
        assert_eq!(
            failed(&preflight(&[hub("hub-a", &[]), b])),
            [("acm-version", "hub-b")]
        );
        let mut b = good_b();
        b.observed.acm_version = Some("2.14.0".into());
        let p = preflight(&[hub("hub-a", &[]), b]);
        assert!(
            p.failed()[0].detail.contains("but the site declares 2.15"),
            "{}",
            p.table(false)
        );

        let mut a = hub("hub-a", &[]);
        for b in &mut a.observed.latest_backups {
            b.completed = Some(at(-5 * 3600));
        }
        let p = preflight(&[a, good_b()]);
        assert_eq!(failed(&p), [("newest-backup", "hub-a")]);
        assert!(
            p.failed()[0]
                .detail
                .contains("more than twice the schedule's interval"),
            "{}",
            p.table(false)
        );

        let lagging = hub("hub-b", &["acm-resources-schedule-0"]);
        assert_eq!(
            failed(&preflight(&[hub("hub-a", &[]), lagging])),
            [("passive-sync", "hub-b")]
        );

        let mut stuck = good_b();
        stuck.health[0] = HealthCheck {
            name: "no-backup-stuck".into(),
            ok: false,
            message: "InProgress for over an hour: x".into(),
        };
        stuck.observed.backup_storage_locations[0].phase = "Unavailable".into();
        assert_eq!(
            failed(&preflight(&[hub("hub-a", &[]), stuck])),
            [("storage-location", "hub-b"), ("no-backup-stuck", "hub-b")]
        );

        let mut old = good_b();
        old.updated_at = at(-4 * 3600);
        assert_eq!(
            failed(&preflight(&[hub("hub-a", &[]), old])),
            [("status", "hub-b")]
        );
    }
}
