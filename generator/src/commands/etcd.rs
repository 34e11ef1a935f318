//! `hubdr etcd restore-plan CLUSTER`: the steps to restore a cluster's etcd from its newest
//! backup of the same z-stream (seed 003: "a restore needs a backup of the same z-stream";
//! the backup directory holds `snapshot_<ts>.db` and `static_kuberesources_<ts>.tar.gz`, and
//! the second is required to restore). hubdr prints the plan and never runs it: restoring a
//! control plane is a human decision.
//!
//! The plan is filled from the cluster's signed status (what its agent observed of the backup
//! Jobs). That status is untrusted: object names and versions are checked against the site's
//! destinations and a strict shape before they are printed into commands a person will paste.

use std::fmt::Write;
use std::path::Path;

use super::{load, CommandError};
use crate::site::etcd_backup::{selected, EtcdBackup, EtcdDestination};
use crate::status::etcd_backup::{EtcdBackupObject, EtcdBackupObservation, EtcdBackupResult};

/// Where the seed's `cluster-backup.sh` writes, and so where `cluster-restore.sh` reads: both
/// files in one directory on the recovery control-plane host.
pub const HOST_BACKUP_DIR: &str = "/home/core/assets/backup";

/// The plan for `cluster`, or why there is none (the reason names what to do).
pub fn restore_plan(
    cluster: &str,
    hub: bool,
    spec: &EtcdBackup,
    observed: Option<&EtcdBackupObservation>,
) -> Result<String, String> {
    let Some(observed) = observed else {
        return Err(format!(
            "{cluster}'s agent has not reported its etcd backups yet: check `hubdr status` (is the agent running, and has a backup run?)"
        ));
    };
    let Some(current) = observed.current_version.as_deref() else {
        return Err(format!(
            "{cluster}'s agent has not reported the cluster's OpenShift version: without it the backup's z-stream cannot be checked"
        ));
    };
    check_version(current).map_err(|e| format!("{cluster}'s status: {e}"))?;
    let backup = match (&observed.newest_at_current_version, &observed.newest) {
        (Some(b), _) => b,
        (None, Some(newest)) => {
            return Err(format!(
                "no backup of {cluster} was taken at its current version {current}; the newest, {}, is from {}: a restore needs a backup of the same z-stream (seed 003). Take one now if the cluster still runs (the agent starts one after every upgrade), or restore with the documentation of the version that backup was taken at",
                file_name(&newest.snapshot.object), newest.version
            ))
        }
        (None, None) => {
            return Err(format!(
                "{cluster} has no etcd backup yet{}: nothing to restore from",
                if observed.suspended {
                    " (backups start once the cluster is 24 h old)"
                } else {
                    ""
                }
            ))
        }
    };
    checked(cluster, spec, backup).map_err(|e| format!("{cluster}'s status: {e}"))?;
    if backup.version != current {
        return Err(format!(
            "{cluster}'s status: the backup reported for version {current} was taken at {}",
            backup.version
        ));
    }
    Ok(render_plan(cluster, hub, spec, backup))
}

fn render_plan(cluster: &str, hub: bool, spec: &EtcdBackup, b: &EtcdBackupResult) -> String {
    let snapshot = file_name(&b.snapshot.object);
    let keys = file_name(&b.keys.object);
    let mut out = String::new();
    let _ = writeln!(out, "Restore plan for etcd of cluster {cluster}");
    let _ = writeln!(
        out,
        "newest backup at the cluster's version {}: taken {}\n  snapshot: {} ({} bytes)\n  static resources{}: {} ({} bytes)",
        b.version,
        b.time,
        b.snapshot.object,
        b.snapshot.size,
        if spec.encryption == Some(false) { "" } else { " and encryption keys" },
        b.keys.object,
        b.keys.size
    );
    let _ = writeln!(
        out,
        "\nhubdr never runs this. Restoring etcd takes the cluster back to {}: objects created since are lost. Follow the OpenShift {} documentation \"Restoring to a previous cluster state\" step by step; the outline below fills in this backup's files.\n",
        b.time,
        minor(&b.version)
    );
    let mut steps = vec![
        format!(
            "Check the version: `oc get clusterversion version -o jsonpath='{{.status.desired.version}}'` must print {v}. A restore needs a backup of the same z-stream (seed 003); if the cluster now runs another version, do not use this backup.",
            v = b.version
        ),
        "Pick one healthy control-plane host as the recovery host, and make sure you can reach every control-plane host with SSH as `core` (the API server goes down during the restore).".to_string(),
        format!(
            "Fetch both files into one directory (seed 003: the static-pod resources archive is needed to restore from the snapshot{}), with an rclone.conf that defines remote {sr:?} (Secret {ns}/{ss}) and remote {kr:?} (Secret {ns}/{ks}); keep your own copy of it, the cluster may be down:\n      rclone copyto {so} backup/{snapshot}\n      rclone copyto {ko} backup/{keys}",
            if spec.encryption == Some(false) { "" } else { "; with etcd encryption on it also holds the keys" },
            sr = spec.snapshots.remote,
            kr = spec.keys.remote,
            ns = spec.namespace,
            ss = secret_name(&spec.snapshots),
            ks = secret_name(&spec.keys),
            so = b.snapshot.object,
            ko = b.keys.object,
        ),
        format!(
            "Check the sizes ({} and {} bytes), then copy the directory to the recovery host: `scp -r backup core@<recovery-host>:{}`",
            b.snapshot.size,
            b.keys.size,
            HOST_BACKUP_DIR.trim_end_matches("/backup")
        ),
        "On every other control-plane host, stop the etcd and kube-apiserver static pods and move the etcd data directory aside, as the documentation of this version lists them (`/etc/kubernetes/manifests/etcd-pod.yaml`, `kube-apiserver-pod.yaml`, `/var/lib/etcd`).".to_string(),
        format!(
            "On the recovery host, with the cluster-wide proxy's NO_PROXY, HTTP_PROXY and HTTPS_PROXY exported if a proxy is configured: `sudo -E /usr/local/bin/cluster-restore.sh {HOST_BACKUP_DIR}`"
        ),
        "Restart the kubelet on every control-plane host (`sudo systemctl restart kubelet.service`), approve pending CSRs, then force the redeployment of etcd, kube-apiserver, kube-controller-manager and kube-scheduler as the documentation says, and wait for every cluster operator to be Available.".to_string(),
    ];
    if hub {
        steps.push(format!(
            "{cluster} is an ACM hub: its restored etcd holds the ACM objects of {}. Before its hubdr agent runs again, check with `hubdr status` that no failover happened since (else fence it first), and let the agent re-apply the repository's current render.",
            b.time
        ));
    } else {
        steps.push(format!(
            "Let {cluster}'s hubdr agent re-apply the repository's current render, and check `hubdr status`."
        ));
    }
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {step}", i + 1);
    }
    out
}

/// The backup as its agent reported it, checked: both objects lie in the site's destinations
/// for this cluster and have the seed's file names; the version has the shape of one.
fn checked(cluster: &str, spec: &EtcdBackup, b: &EtcdBackupResult) -> Result<(), String> {
    check_version(&b.version)?;
    check_object(&b.snapshot, &spec.snapshots, cluster, "snapshot_", ".db")?;
    check_object(
        &b.keys,
        &spec.keys,
        cluster,
        "static_kuberesources_",
        ".tar.gz",
    )
}

fn check_object(
    o: &EtcdBackupObject,
    dest: &EtcdDestination,
    cluster: &str,
    prefix: &str,
    suffix: &str,
) -> Result<(), String> {
    let dir = format!("{}/", dest.target(cluster));
    let name = o.object.strip_prefix(&dir).unwrap_or_default();
    let stamp = name
        .strip_prefix(prefix)
        .and_then(|n| n.strip_suffix(suffix))
        .unwrap_or_default();
    let stamp_ok = !stamp.is_empty()
        && stamp.len() <= 32
        && stamp
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'_' || c == b'-');
    if !stamp_ok {
        return Err(format!(
            "the reported object {:?} is not {dir}{prefix}<timestamp>{suffix}, where the site sends it: refusing to print it into a restore plan",
            o.object
        ));
    }
    Ok(())
}

/// `4.14.12`, optionally with a pre-release suffix (`4.16.0-rc.3`); nothing a shell reads.
fn check_version(v: &str) -> Result<(), String> {
    let (release, pre) = v.split_once('-').unwrap_or((v, ""));
    let parts: Vec<&str> = release.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|c| c.is_ascii_digit()));
    let pre_ok = pre.len() <= 32
        && pre
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
    if numeric && pre_ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an OpenShift version (x.y.z)"))
    }
}

fn minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn file_name(object: &str) -> &str {
    object.rsplit('/').next().unwrap_or(object)
}

fn secret_name(d: &EtcdDestination) -> &str {
    d.credentials_secret.as_deref().unwrap_or("<none declared>")
}

/// `hubdr etcd restore-plan`.
pub fn run(
    site: &Path,
    repo: &str,
    source_branch: &str,
    status_branch: &str,
    cluster: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let loaded = load(site, err)?;
    let spec = &loaded.site.spec;
    let Some(etcd) = &spec.etcd_backup else {
        return Err(CommandError::BadInput(
            "error: the site has no spec.etcdBackup: hubdr takes no etcd backups to restore from\n  fix: declare spec.etcdBackup (see the README's site reference)".into(),
        ));
    };
    let covered = selected(spec);
    let Some(found) = covered.iter().find(|c| c.name == cluster) else {
        let names: Vec<&str> = covered.iter().map(|c| c.name).collect();
        return Err(CommandError::BadInput(format!(
            "error: {cluster:?} is not a cluster spec.etcdBackup covers\n  fix: use one of {}",
            if names.is_empty() {
                "none (no cluster is selected)".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let fleet = super::status::read_fleet(Path::new(repo), source_branch, status_branch, false)
        .map_err(|e| CommandError::BadInput(format!("error: {e}")))?;
    let observed = fleet
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.status.as_ref())
        .and_then(|s| s.observed.etcd_backup.as_ref());
    let plan = restore_plan(cluster, found.hub, etcd, observed)
        .map_err(|e| CommandError::Failed(format!("error: {e}")))?;
    out.write_all(plan.as_bytes())
        .map_err(|e| CommandError::Failed(e.to_string()))
}

#[cfg(test)]
#[path = "etcd/tests.rs"]
mod tests;
