//! `hubdr hcp restore-plan NAME`: the steps to recreate a hosted cluster from its newest etcd
//! snapshot (seed 004 §4.1.2, with the current CRD's rules): the HostedCluster is created
//! fresh with ONE `restoreSnapshotURL` (the CRD allows at most one, and refuses adding it to
//! an existing HostedCluster) and the same etcd encryption key.

use std::fmt::Write;
use std::path::Path;

use super::{load, CommandError};
use crate::site::hosted::{HostedCluster, HostedMethod};
use crate::status::HostedSnapshot;

/// What the restore plan is built from: the hosted cluster and its newest snapshots (one per
/// member, from its management cluster's status).
pub fn restore_plan(h: &HostedCluster, snapshots: &[HostedSnapshot]) -> Result<String, String> {
    if h.method != HostedMethod::EtcdSnapshot {
        return Err(format!(
            "hosted cluster {}/{} is backed up with {}: restore it with a Velero Restore of the newest backup of Schedule hcp-{}-{}",
            h.namespace, h.name, h.method.as_str(), h.namespace, h.name
        ));
    }
    // One URL: the first member's snapshot (every member restores from it).
    let Some(snap) = snapshots
        .iter()
        .find(|s| s.member == "etcd-0")
        .or(snapshots.first())
    else {
        return Err(format!(
            "no snapshot of hosted cluster {}/{} is reported by {}'s agent yet: check `hubdr status` (a run must succeed first)",
            h.namespace, h.name, h.management_cluster
        ));
    };
    let cp = h.control_plane_namespace();
    let d = &h.destination;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Restore plan for hosted cluster {}/{} (management cluster {})",
        h.namespace, h.name, h.management_cluster
    );
    let _ = writeln!(
        out,
        "newest snapshot: {} of {} at {}, revision {}, hash {}, {} bytes\n",
        snap.object, snap.member, snap.time, snap.revision, snap.hash, snap.size
    );
    let steps = [
        format!(
            "A snapshot is restored only when the HostedCluster is created: make sure HostedCluster {ns}/{name} does not exist and namespace {cp} is gone (`oc get hostedcluster -n {ns} {name}`; delete it first if it does).",
            ns = h.namespace, name = h.name
        ),
        format!(
            "Recreate Secret {ns}/{key} with the SAME AES key the cluster used (spec.secretEncryption.aescbc.activeKey): etcd data is encrypted with it and cannot be read with another.",
            ns = h.namespace, key = h.encryption_key_secret
        ),
        format!(
            "Pre-sign the snapshot (the URL expires and embeds a credential: never commit or paste it anywhere): URL=$(aws s3 presign s3://{bucket}/{object} --expires-in 3600)",
            bucket = d.bucket, object = snap.object
        ),
        format!(
            "Create the HostedCluster from its original spec (without status), with exactly ONE restoreSnapshotURL (the CRD refuses more than one, and refuses adding it to an existing HostedCluster):\n\n{}",
            indent(&serde_yaml::to_string(&serde_json::json!({"spec": restore_spec(h, "${URL}")})).unwrap_or_default())
        ),
        format!(
            "Recreate its NodePools, then verify: `oc get hostedcluster -n {ns} {name}` Available, `oc get pods -n {cp}` etcd Running, and in the hosted cluster `oc get clusterversion` and `oc get nodes`.",
            ns = h.namespace, name = h.name
        ),
    ];
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {step}", i + 1);
    }
    Ok(out)
}

/// The parts of a HostedCluster's spec a restore sets: etcd restored from `url` (one URL) and
/// the encryption key Secret.
pub fn restore_spec(h: &HostedCluster, url: &str) -> serde_json::Value {
    serde_json::json!({
        "etcd": {
            "managementType": "Managed",
            "managed": {"storage": {"type": "PersistentVolume", "restoreSnapshotURL": [url]}},
        },
        "secretEncryption": {"type": "aescbc", "aescbc": {"activeKey": {"name": h.encryption_key_secret}}},
    })
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("      {l}\n")).collect()
}

/// What `hubdr plan` says about hosted control planes: per management cluster its hosted
/// clusters and their method, the Secrets they need, and for a hub that ACM's hub backups do
/// not hold `hypershift.openshift.io` objects (they are protected by their own method only).
pub fn plan_notes(site: &crate::site::Site, markdown: bool) -> String {
    let spec = &site.spec;
    if spec.hosted_clusters.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        if markdown {
            "### Hosted control planes\n"
        } else {
            "Hosted control planes"
        }
    );
    let bullet = if markdown { "- " } else { "  " };
    let mut clusters: Vec<&str> = spec
        .hosted_clusters
        .iter()
        .map(|h| h.management_cluster.as_str())
        .collect();
    clusters.dedup();
    clusters.sort();
    clusters.dedup();
    for cluster in clusters {
        let hub = spec.hubs.iter().any(|h| h.name == cluster);
        let _ = writeln!(
            out,
            "{bullet}{cluster} ({}) hosts control planes:",
            if hub { "hub" } else { "managed cluster" }
        );
        for h in crate::site::hosted::hosted_on(spec, cluster) {
            let secrets = match h.method {
                HostedMethod::EtcdSnapshot => format!(
                    "Secret {}/{} (bucket credentials, for the snapshot Jobs)",
                    h.control_plane_namespace(),
                    h.destination.credentials_secret.name
                ),
                HostedMethod::Oadp => format!(
                    "Secret {}/{} (bucket credentials, for Velero)",
                    crate::render::hosted::oadp::velero_namespace(site, cluster),
                    h.destination.credentials_secret.name
                ),
            };
            let secrets = if h.restore_from.is_some() {
                format!(
                    "{secrets} and Secret {}/{} (the same credentials, for the agent to pre-sign the restore URL: restoreFrom latest creates the HostedCluster from its newest snapshot when it does not exist)",
                    h.namespace, h.destination.credentials_secret.name
                )
            } else {
                secrets
            };
            let _ = writeln!(
                out,
                "{bullet}  {}/{}: {} to s3://{}, schedule {:?}; needs {secrets} and keeps Secret {}/{} (the etcd encryption key)",
                h.namespace,
                h.name,
                h.method.as_str(),
                h.destination.bucket,
                h.schedule,
                h.namespace,
                h.encryption_key_secret
            );
        }
        if hub {
            let _ = writeln!(
                out,
                "{bullet}  note: ACM hub backups do not include hypershift.openshift.io objects (HostedCluster, NodePool): restoring this hub does not bring these hosted clusters back; only the methods above protect them"
            );
        }
    }
    out.push('\n');
    out
}

/// `hubdr hcp restore-plan`.
pub fn run(
    site: &Path,
    repo: &str,
    source_branch: &str,
    status_branch: &str,
    name: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let loaded = load(site, err)?;
    let hosted = &loaded.site.spec.hosted_clusters;
    let found = hosted
        .iter()
        .find(|h| h.name == name || format!("{}/{}", h.namespace, h.name) == name)
        .ok_or_else(|| {
            let known: Vec<String> = hosted.iter().map(|h| format!("{}/{}", h.namespace, h.name)).collect();
            CommandError::BadInput(format!(
                "error: {name:?} is not a hosted cluster of the site\n  fix: use one of spec.hostedClusters ({})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ))
        })?;
    let fleet = super::status::read_fleet(Path::new(repo), source_branch, status_branch, false)
        .map_err(|e| CommandError::BadInput(format!("error: {e}")))?;
    let wanted = format!("{}/{}", found.namespace, found.name);
    let snapshots: Vec<HostedSnapshot> = fleet
        .clusters
        .iter()
        .filter(|c| c.name == found.management_cluster)
        .filter_map(|c| c.status.as_ref())
        .flat_map(|s| s.observed.hosted_clusters.iter())
        .filter(|h| h.name == wanted)
        .flat_map(|h| h.last_snapshots.clone())
        .collect();
    let plan =
        restore_plan(found, &snapshots).map_err(|e| CommandError::Failed(format!("error: {e}")))?;
    out.write_all(plan.as_bytes())
        .map_err(|e| CommandError::Failed(e.to_string()))
}

#[cfg(test)]
#[path = "hcp/tests.rs"]
mod tests;
