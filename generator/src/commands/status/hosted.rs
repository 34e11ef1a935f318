//! The hosted-clusters part of `hubdr status`: per hosted cluster, its management cluster,
//! method, step in progress, last snapshot and last run, and failing health checks; then, per
//! hub or management cluster, the HostedClusters its agent found there: on a hub, that ACM's
//! hub backups do not include them, and a warning for each no hubdr backup covers. Pure.

use std::fmt::Write;

use super::view::FleetView;

pub fn section(fleet: &FleetView) -> String {
    let mut out = String::new();
    for c in &fleet.clusters {
        let Some(s) = &c.status else { continue };
        for h in &s.observed.hosted_clusters {
            if out.is_empty() {
                out.push_str("\nhosted clusters:\n");
            }
            let _ = writeln!(
                out,
                "  {} on {} ({}): {}",
                h.name, c.name, h.method, h.message
            );
            if let Some(step) = &h.step {
                let _ = writeln!(out, "    run in progress: {step}");
            }
            if h.last_snapshots.is_empty() {
                out.push_str("    no snapshot yet\n");
            }
            for snap in &h.last_snapshots {
                let _ = writeln!(
                    out,
                    "    snapshot {} at {}: revision {}, hash {}, {} bytes, {}",
                    snap.member, snap.time, snap.revision, snap.hash, snap.size, snap.object
                );
            }
            if let Some(run) = &h.last_run {
                let down = run
                    .api_down_seconds
                    .map(|d| format!(", API down {d}s"))
                    .unwrap_or_default();
                let outcome = match &run.failure {
                    None => "succeeded".to_string(),
                    Some(why) => format!("FAILED: {why}"),
                };
                let _ = writeln!(out, "    last run {}: {outcome}{down}", run.finished);
            }
            let prefix = format!("hosted-cluster {}: ", h.name);
            for check in s
                .health
                .iter()
                .filter(|k| !k.ok && k.name.starts_with(&prefix))
            {
                let _ = writeln!(
                    out,
                    "    check failed: {}: {}",
                    &check.name[prefix.len()..],
                    check.message
                );
            }
        }
    }
    for c in &fleet.clusters {
        let Some(s) = &c.status else { continue };
        let seen = &s.observed.hosted_clusters_seen;
        if seen.is_empty() {
            continue;
        }
        if out.is_empty() {
            out.push_str("\nhosted clusters:\n");
        }
        if c.kind == "hub" {
            let _ = writeln!(
                out,
                "  {} (hub) also hosts {} control plane(s): ACM hub backups do not include hypershift.openshift.io objects, so restoring this hub does not bring them back; only spec.hostedClusters backups do",
                c.name,
                seen.len()
            );
        }
        for h in seen.iter().filter(|h| h.covered_by.is_none()) {
            let _ = writeln!(
                out,
                "  WARNING: HostedCluster {} on {} is not covered by any backup: declare it in spec.hostedClusters",
                h.name, c.name
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::status::view::ClusterView;
    use crate::status::{ClusterStatus, HealthCheck, HostedClusterStatus, HostedRun};

    #[test]
    fn failed_runs_and_missing_snapshots_are_shown() {
        let mut status: ClusterStatus = serde_yaml::from_str(
            "{apiVersion: v, kind: k, cluster: hub-a, agentVersion: x, updatedAt: t, source: {}, pass: {outcome: o, reason: Applied, message: m}}",
        )
        .unwrap();
        status.observed.hosted_clusters = vec![HostedClusterStatus {
            name: "clusters/tenant-b".into(),
            method: "etcd-snapshot".into(),
            step: None,
            message: "idle".into(),
            last_run: Some(HostedRun {
                started: "s".into(),
                finished: "2026-12-07T08:00:00Z".into(),
                succeeded: false,
                failure: Some("the API was down too long".into()),
                api_down_seconds: Some(601),
            }),
            last_snapshots: Vec::new(),
        }];
        status.health = vec![HealthCheck {
            name: "hosted-cluster clusters/tenant-b: has a snapshot".into(),
            ok: false,
            message: "no etcd snapshot of this hosted cluster yet".into(),
        }];
        let fleet = FleetView {
            site: "s".into(),
            generation: 1,
            commit: "c".into(),
            merged_at: None,
            rendered_at: 0,
            unknown: Vec::new(),
            status_ref: Some("refs/heads/hubdr-status".into()),
            api_servers: Default::default(),
            active: None,
            waited_for: Vec::new(),
            clusters: vec![ClusterView {
                name: "hub-a".into(),
                kind: "hub".into(),
                role: None,
                status: Some(status),
                ignored: None,
                heartbeat: None,
            }],
            heartbeat_stall_after: 1800,
        };
        let text = section(&fleet);
        assert!(
            text.contains("clusters/tenant-b on hub-a (etcd-snapshot): idle"),
            "{text}"
        );
        assert!(text.contains("no snapshot yet"), "{text}");
        assert!(
            text.contains("FAILED: the API was down too long, API down 601s"),
            "{text}"
        );
        assert!(text.contains("check failed: has a snapshot"), "{text}");
    }

    #[test]
    fn a_hub_hosting_control_planes_says_so_and_warns_about_uncovered_ones() {
        use crate::status::SeenHostedCluster;
        let mut status: ClusterStatus = serde_yaml::from_str(
            "{apiVersion: v, kind: k, cluster: hub-a, agentVersion: x, updatedAt: t, source: {}, pass: {outcome: o, reason: Applied, message: m}}",
        )
        .unwrap();
        status.observed.hosted_clusters_seen = vec![
            SeenHostedCluster {
                name: "clusters/tenant-a".into(),
                covered_by: None,
            },
            SeenHostedCluster {
                name: "clusters/tenant-b".into(),
                covered_by: Some("etcd-snapshot".into()),
            },
        ];
        let cluster = |kind: &str, status: Option<ClusterStatus>| ClusterView {
            name: "hub-a".into(),
            kind: kind.into(),
            role: None,
            status,
            ignored: None,
            heartbeat: None,
        };
        let fleet = |c: ClusterView| FleetView {
            site: "s".into(),
            generation: 1,
            commit: "c".into(),
            merged_at: None,
            rendered_at: 0,
            unknown: Vec::new(),
            status_ref: None,
            active: None,
            waited_for: Vec::new(),
            clusters: vec![c],
            api_servers: Default::default(),
            heartbeat_stall_after: 1800,
        };
        let text = section(&fleet(cluster("hub", Some(status.clone()))));
        assert!(
            text.contains("hub-a (hub) also hosts 2 control plane(s): ACM hub backups do not include hypershift.openshift.io objects"),
            "{text}"
        );
        assert!(
            text.contains(
                "WARNING: HostedCluster clusters/tenant-a on hub-a is not covered by any backup"
            ),
            "{text}"
        );
        assert!(
            !text.contains("clusters/tenant-b on hub-a is not covered"),
            "{text}"
        );
        let managed = section(&fleet(cluster("managed", Some(status))));
        assert!(
            !managed.contains("ACM hub backups") && managed.contains("WARNING"),
            "{managed}"
        );
    }
}
