//! What the install file of a cluster `spec.etcdBackup` covers must add (seed 003), worked out
//! from the site: its etcd backup namespace with the backup's kinds, `bind` of the SCC
//! ClusterRole there (only that name), and read-only ClusterVersion, Proxy and APIServer.

use std::collections::BTreeSet;

use hubdr::site::Site;
use serde_json::{json, Value};

use super::{grant, Place, MANAGE, READ};

/// The kinds of the etcd backup (group, Kind, resource), managed in its namespace.
pub const KINDS: [(&str, &str, &str); 5] = [
    ("", "ServiceAccount", "serviceaccounts"),
    ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    ("batch", "CronJob", "cronjobs"),
    ("batch", "Job", "jobs"),
    ("", "ConfigMap", "configmaps"),
];

/// The ClusterRole of the install file that grants `use` of the privileged SCC.
pub const SCC_ROLE: &str = "hubdr-etcd-backup-scc";

/// Read cluster-wide by an agent with etcd backups.
pub const OBSERVED: [(&str, &str); 3] = [
    ("config.openshift.io", "clusterversions"),
    ("config.openshift.io", "proxies"),
    ("config.openshift.io", "apiservers"),
];

/// The etcd backup namespace of `cluster`, when the site backs its etcd up.
pub fn namespace(site: &Site, cluster: &str) -> Option<String> {
    let e = site.spec.etcd_backup.as_ref()?;
    let openshift = site.spec.hubs.iter().any(|h| h.name == cluster)
        || site
            .spec
            .managed_clusters
            .iter()
            .any(|c| c.name == cluster && c.openshift);
    let listed = e
        .clusters
        .as_ref()
        .is_none_or(|l| l.iter().any(|c| c == cluster));
    let excluded = e.exclude.iter().any(|c| c == cluster);
    (openshift && listed && !excluded).then(|| e.namespace.clone())
}

/// The grants in the etcd backup namespace.
pub fn place(place: &mut Place) {
    for (g, _, r) in KINDS {
        grant(place, g, r, &MANAGE);
    }
    grant(place, "", "pods", &READ);
    grant(
        place,
        "rbac.authorization.k8s.io",
        "clusterroles",
        &["bind"],
    );
}

/// Whether a namespaced grant with resourceNames is the one `bind` of the SCC ClusterRole.
pub fn is_scc_bind(target: &super::Target) -> bool {
    target.0 == "rbac.authorization.k8s.io"
        && target.1 == "clusterroles"
        && target.2.as_deref() == Some(&[SCC_ROLE.to_string()][..])
}

/// The SCC ClusterRole, which the install file defines but the rendered RoleBinding binds:
/// exactly `use` of the privileged SCC.
pub fn is_scc_role(role: &Value) -> bool {
    if role["kind"] != "ClusterRole" || role["metadata"]["name"] != SCC_ROLE {
        return false;
    }
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"], "resourceNames": ["privileged"], "verbs": ["use"]}]),
        "the SCC ClusterRole grants use of the privileged SCC only"
    );
    true
}

/// The `--allow-kind` values the etcd backup adds.
pub fn allow_kinds() -> BTreeSet<String> {
    KINDS
        .iter()
        .map(|(g, k, _)| format!("{}/{k}", if g.is_empty() { "core" } else { g }))
        .chain(["core/Namespace".to_string()])
        .collect()
}
