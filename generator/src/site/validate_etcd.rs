//! Rules of `spec.etcdBackup` (seed 003). Pure: site in, diagnostics out.

use super::diagnostic::Diagnostic;
use super::etcd_backup::{EtcdBackup, EtcdDestination};
use super::model::SiteSpec;
use super::units;

const P: &str = "spec.etcdBackup";

pub fn validate(spec: &SiteSpec) -> Vec<Diagnostic> {
    let Some(e) = &spec.etcd_backup else {
        return Vec::new();
    };
    let mut out = Vec::new();
    namespace(e, &mut out);
    schedule(e, &mut out);
    if e.retention.max_age_days == 0 {
        out.push(Diagnostic::error(
            format!("{P}.retention.maxAgeDays"),
            "0 days would delete every backup right after it is shipped",
            "keep backups for at least one day, e.g. maxAgeDays: 30",
        ));
    }
    destination("snapshots", &e.snapshots, &mut out);
    destination("keys", &e.keys, &mut out);
    apart(e, &mut out);
    clusters(spec, e, &mut out);
    for (field, image) in [("backup", &e.images.backup), ("upload", &e.images.upload)] {
        if let Some(image) = image {
            if image.is_empty() || image.chars().any(char::is_whitespace) {
                out.push(Diagnostic::error(
                    format!("{P}.images.{field}"),
                    format!("{image:?} is not an image reference"),
                    "give a registry/repository:tag or @sha256 digest, or remove the override",
                ));
            }
        }
    }
    out
}

fn namespace(e: &EtcdBackup, out: &mut Vec<Diagnostic>) {
    let path = format!("{P}.namespace");
    if let Err(message) = units::check_dns1123_label(&e.namespace) {
        out.push(Diagnostic::error(
            path,
            message,
            "rename it to a valid DNS-1123 label",
        ));
    } else if crate::kinds::is_protected_namespace(&e.namespace) {
        out.push(Diagnostic::error(
            path,
            format!(
                "{} belongs to Kubernetes or OpenShift; the backup objects need their own namespace",
                e.namespace
            ),
            format!("use e.g. {}", super::etcd_backup::DEFAULT_NAMESPACE),
        ));
    }
}

fn schedule(e: &EtcdBackup, out: &mut Vec<Diagnostic>) {
    let path = format!("{P}.schedule");
    let fix =
        "use a 5-field cron expression at quiet hours, e.g. \"30 2 * * *\" (daily at 02:30 UTC)";
    let parsed = match units::parse_cron(&e.schedule) {
        Ok(parsed) => parsed,
        Err(message) => {
            out.push(Diagnostic::error(path, message, fix));
            return;
        }
    };
    let text = e.schedule.trim();
    if text.starts_with("CRON_TZ=") || text.starts_with("TZ=") || text.starts_with("@every") {
        out.push(Diagnostic::error(
            path,
            format!("{text:?}: a Kubernetes CronJob takes neither time zone prefixes nor @every"),
            fix,
        ));
        return;
    }
    match parsed.min_interval_minutes() {
        None => out.push(Diagnostic::error(
            path,
            format!("{text:?} never fires: no etcd backup would ever be taken"),
            fix,
        )),
        Some(minutes) if minutes < 60 => out.push(Diagnostic::warning(
            path,
            format!(
                "{text:?} backs etcd up every {minutes} minutes; each backup loads the control plane, and the seed asks for backups at quiet hours"
            ),
            fix,
        )),
        Some(_) => {}
    }
}

fn destination(field: &str, d: &EtcdDestination, out: &mut Vec<Diagnostic>) {
    let base = format!("{P}.{field}");
    let remote_ok = !d.remote.is_empty()
        && d.remote
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !remote_ok {
        out.push(Diagnostic::error(
            format!("{base}.remote"),
            format!("{:?} is not an rclone remote name", d.remote),
            "name the remote of the Secret's rclone.conf ([s3] gives remote: s3): letters, digits, '-', '_' and '.'",
        ));
    }
    let path_ok = !d.bucket().is_empty()
        && !d.path.split('/').any(|s| s == "..")
        && !d
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if !path_ok {
        out.push(Diagnostic::error(
            format!("{base}.path"),
            format!("{:?} is not a bucket and prefix", d.path),
            "give bucket/prefix, e.g. acme-etcd-snapshots/prod (no spaces, ':' or '..')",
        ));
    }
    match &d.credentials_secret {
        None => out.push(Diagnostic::error(
            format!("{base}.credentialsSecret"),
            format!("{field} have no credentials Secret: the upload cannot reach {}", d.target("<cluster>")),
            format!(
                "name the Secret (in the backup namespace of each cluster, key rclone.conf) that defines remote [{}]; it is referenced by name, never stored in git",
                d.remote
            ),
        )),
        Some(name) => {
            if let Err(message) = units::check_dns1123_subdomain(name) {
                out.push(Diagnostic::error(
                    format!("{base}.credentialsSecret"),
                    message,
                    "give the name of an existing Secret",
                ));
            }
        }
    }
}

/// The key archives apart from the snapshots (seed 003: with encryption on, the archive holds
/// the keys).
fn apart(e: &EtcdBackup, out: &mut Vec<Diagnostic>) {
    if !e.keys.same_place(&e.snapshots) {
        return;
    }
    let path = format!("{P}.keys.path");
    let what = format!(
        "the key archives go to the snapshots' bucket ({}:{})",
        e.keys.remote,
        e.keys.bucket()
    );
    let fix = "send spec.etcdBackup.keys to another bucket (ideally another account), so one leaked credential does not give both the data and its keys";
    match e.encryption {
        Some(true) => out.push(Diagnostic::error(
            path,
            format!("{what} while etcd encryption is on (encryption: true): the archive holds the encryption keys of the snapshots"),
            fix,
        )),
        None => out.push(Diagnostic::warning(
            path,
            format!("{what}; if etcd encryption is on (each agent checks the APIServer), the keys lie beside the data they protect"),
            fix,
        )),
        Some(false) => {}
    }
}

fn clusters(spec: &SiteSpec, e: &EtcdBackup, out: &mut Vec<Diagnostic>) {
    let known = |name: &str| {
        spec.hubs.iter().any(|h| h.name == name)
            || spec.managed_clusters.iter().any(|c| c.name == name)
    };
    let non_openshift = |name: &str| {
        spec.managed_clusters
            .iter()
            .position(|c| c.name == name && !c.openshift)
    };
    for (i, name) in e.clusters.iter().flatten().enumerate() {
        let path = format!("{P}.clusters[{i}]");
        if !known(name) {
            out.push(Diagnostic::error(
                path,
                format!("{name} is neither a hub nor a managed cluster of the site"),
                "name a cluster of spec.hubs or spec.managedClusters",
            ));
        } else if let Some(at) = non_openshift(name) {
            out.push(Diagnostic::error(
                path,
                format!("{name} is not OpenShift (spec.managedClusters[{at}].openshift: false): it has no cluster-backup.sh"),
                "remove it from spec.etcdBackup.clusters, or set openshift: true if it runs OpenShift",
            ));
        }
    }
    for (i, name) in e.exclude.iter().enumerate() {
        if !known(name) {
            out.push(Diagnostic::error(
                format!("{P}.exclude[{i}]"),
                format!("{name} is neither a hub nor a managed cluster of the site"),
                "name a cluster of spec.hubs or spec.managedClusters",
            ));
        }
    }
    if super::etcd_backup::selected(spec).is_empty() {
        out.push(Diagnostic::warning(
            P,
            "no cluster is selected: no etcd backup is rendered",
            "list clusters in spec.etcdBackup.clusters, or remove spec.etcdBackup",
        ));
    }
}
