//! The kinds hubdr renders: one fixed list, the only place that names them.
//!
//! Everything an agent may do follows from this list (plus a site's reviewed
//! `spec.agent.extraKinds`): the renderer refuses any other kind in a cluster directory, the
//! agent install files (`agents/<cluster>.yaml`) grant RBAC and `--allow-kind` flags for these
//! kinds only, and `hubdr-agent`'s default allowlist is this list. Never derived from what a
//! render produced: a site patch or a template cannot widen an agent's powers.
//!
//! Also the checks of kind, group and resource names, run before a name reaches a file name
//! (`clusters/<cluster>/<kind>.<namespace>.<name>.yaml`) or an RBAC rule.

use serde::{Deserialize, Serialize};

/// Whether objects of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Scope {
    Namespaced,
    Cluster,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        }
    }
}

/// Which agents manage a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agents {
    Hubs,
    ManagedClusters,
    /// The agents of clusters (hubs or managed) that run hosted control planes
    /// (`spec.hostedClusters[].managementCluster`), on top of their side's kinds.
    ManagementClusters,
    /// The agents of the clusters `spec.etcdBackup` covers (hubs or managed clusters), in its
    /// namespace only.
    EtcdBackup,
}

/// A kind hubdr renders into a cluster directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderedKind {
    /// API group; `""` is the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The resource (plural) RBAC rules name.
    pub resource: &'static str,
    pub scope: Scope,
    /// Whose agent manages it: every hub's (whatever its role, so that a failover needs no new
    /// permissions) or every managed cluster's.
    pub agents: Agents,
    /// Whether an agent may ever delete objects of this kind. Namespaces are never pruned; a
    /// MultiClusterHub, a MultiClusterEngine and a DataProtectionApplication are shared singletons, released by
    /// server-side apply (their fields dropped), never deleted.
    pub deletable: bool,
}

impl RenderedKind {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `group/Kind` as `--allow-kind` takes it (`core/Kind` for the core group).
    pub fn allow_kind(&self) -> String {
        allow_kind(self.group, self.kind)
    }
}

/// Every kind hubdr renders, in wave order of the objects that use them.
pub const RENDERED: [RenderedKind; 17] = [
    RenderedKind {
        group: "operator.open-cluster-management.io",
        version: "v1",
        kind: "MultiClusterHub",
        resource: "multiclusterhubs",
        scope: Scope::Namespaced,
        agents: Agents::Hubs,
        deletable: false,
    },
    RenderedKind {
        group: "multicluster.openshift.io",
        version: "v1",
        kind: "MultiClusterEngine",
        resource: "multiclusterengines",
        scope: Scope::Cluster,
        agents: Agents::Hubs,
        deletable: false,
    },
    RenderedKind {
        group: "oadp.openshift.io",
        version: "v1alpha1",
        kind: "DataProtectionApplication",
        resource: "dataprotectionapplications",
        scope: Scope::Namespaced,
        agents: Agents::Hubs,
        deletable: false,
    },
    RenderedKind {
        group: "cluster.open-cluster-management.io",
        version: "v1beta1",
        kind: "BackupSchedule",
        resource: "backupschedules",
        scope: Scope::Namespaced,
        agents: Agents::Hubs,
        deletable: true,
    },
    RenderedKind {
        group: "cluster.open-cluster-management.io",
        version: "v1beta1",
        kind: "Restore",
        resource: "restores",
        scope: Scope::Namespaced,
        agents: Agents::Hubs,
        deletable: true,
    },
    RenderedKind {
        group: "addon.open-cluster-management.io",
        version: "v1alpha1",
        kind: "ManagedClusterAddOn",
        resource: "managedclusteraddons",
        scope: Scope::Namespaced,
        agents: Agents::Hubs,
        deletable: true,
    },
    RenderedKind {
        group: "",
        version: "v1",
        kind: "Namespace",
        resource: "namespaces",
        scope: Scope::Cluster,
        agents: Agents::ManagedClusters,
        deletable: false,
    },
    RenderedKind {
        group: "volsync.backube",
        version: "v1alpha1",
        kind: "ReplicationSource",
        resource: "replicationsources",
        scope: Scope::Namespaced,
        agents: Agents::ManagedClusters,
        deletable: true,
    },
    RenderedKind {
        group: "volsync.backube",
        version: "v1alpha1",
        kind: "ReplicationDestination",
        resource: "replicationdestinations",
        scope: Scope::Namespaced,
        agents: Agents::ManagedClusters,
        deletable: true,
    },
    RenderedKind {
        group: "",
        version: "v1",
        kind: "PersistentVolumeClaim",
        resource: "persistentvolumeclaims",
        scope: Scope::Namespaced,
        agents: Agents::ManagedClusters,
        deletable: true,
    },
    RenderedKind {
        group: "velero.io",
        version: "v1",
        kind: "Schedule",
        resource: "schedules",
        scope: Scope::Namespaced,
        agents: Agents::ManagementClusters,
        deletable: true,
    },
    RenderedKind {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        resource: "serviceaccounts",
        scope: Scope::Namespaced,
        agents: Agents::EtcdBackup,
        deletable: true,
    },
    RenderedKind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        resource: "rolebindings",
        scope: Scope::Namespaced,
        agents: Agents::EtcdBackup,
        deletable: true,
    },
    RenderedKind {
        group: "batch",
        version: "v1",
        kind: "CronJob",
        resource: "cronjobs",
        scope: Scope::Namespaced,
        agents: Agents::EtcdBackup,
        deletable: true,
    },
    RenderedKind {
        group: "batch",
        version: "v1",
        kind: "Job",
        resource: "jobs",
        scope: Scope::Namespaced,
        agents: Agents::EtcdBackup,
        deletable: true,
    },
    // `restoreFrom: latest`: created by the management cluster's agent from the newest
    // snapshot, never deleted (released: a hosted cluster outlives its restore).
    RenderedKind {
        group: "hypershift.openshift.io",
        version: "v1beta1",
        kind: "HostedCluster",
        resource: "hostedclusters",
        scope: Scope::Namespaced,
        agents: Agents::ManagementClusters,
        deletable: false,
    },
    // Written by the agent, not rendered: the etcd backup's run-time variables (proxy,
    // OpenShift version), read by the CronJob's and Jobs' containers.
    RenderedKind {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        resource: "configmaps",
        scope: Scope::Namespaced,
        agents: Agents::EtcdBackup,
        deletable: true,
    },
];

/// The rendered kind of API group `group` and kind `kind`.
pub fn rendered(group: &str, kind: &str) -> Option<&'static RenderedKind> {
    RENDERED.iter().find(|k| k.group == group && k.kind == kind)
}

/// The kinds hubdr renders that the agents of hubs (or of managed clusters) manage.
pub fn for_agents(agents: Agents) -> impl Iterator<Item = &'static RenderedKind> {
    RENDERED.iter().filter(move |k| k.agents == agents)
}

/// The API group of an `apiVersion` (`v1` is the core group, `""`).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// `group/Kind` as `--allow-kind` takes it (`core/Kind` for the core group).
pub fn allow_kind(group: &str, kind: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    format!("{group}/{kind}")
}

/// Longest kind name accepted: its lowercase form names files and must stay a DNS label.
pub const KIND_MAX: usize = 63;

/// Checks a kind name: not empty, CamelCase ASCII letters and digits (starting with an
/// uppercase letter), at most 63 characters, so that its lowercase form is a DNS-1123 label
/// and safe in a file name (no `/`, `.` or `..`).
pub fn check_kind_name(kind: &str) -> Result<(), String> {
    check_kind_text(kind, false)
}

/// Checks a kind pattern of a patch target: a kind name in which `*` may stand for any run of
/// characters (`Replication*`, `*`).
pub fn check_kind_pattern(pattern: &str) -> Result<(), String> {
    check_kind_text(pattern, true)
}

fn check_kind_text(kind: &str, glob: bool) -> Result<(), String> {
    let what = if glob { "kind pattern" } else { "kind" };
    let example = "write it as Kubernetes spells it, e.g. ReplicationSource";
    if kind.is_empty() {
        return Err(format!("the {what} is empty; {example}"));
    }
    if kind.contains('/') {
        return Err(format!(
            "{kind:?} is not a {what}: it contains '/' (give the API group separately); {example}"
        ));
    }
    let bad: Vec<char> = kind
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || (glob && *c == '*')))
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "{kind:?} is not a {what}: it contains {:?}; only ASCII letters and digits{}; {example}",
            bad.iter().collect::<String>(),
            if glob { " (and * globs)" } else { "" }
        ));
    }
    let first = kind.chars().next().unwrap_or('a');
    if !(first.is_ascii_uppercase() || (glob && first == '*')) {
        return Err(format!(
            "{kind:?} is not a {what}: kinds are CamelCase and start with an uppercase letter; {example}"
        ));
    }
    if kind.len() > KIND_MAX {
        return Err(format!(
            "{kind:?} is not a {what}: it is {} characters long (max {KIND_MAX})",
            kind.len()
        ));
    }
    Ok(())
}

/// Checks an API group: `core` (or `""`) for the core group, otherwise a DNS-1123 subdomain.
pub fn check_group(group: &str) -> Result<(), String> {
    if group.is_empty() || group == "core" {
        return Ok(());
    }
    crate::units::check_dns1123_subdomain(group).map_err(|e| format!("not an API group: {e}"))
}

/// Checks an RBAC resource name (a plural such as `replicationsources`): lowercase letters and
/// digits, a DNS-1123 label; no `*` and no subresource (`pods/exec`).
pub fn check_resource(resource: &str) -> Result<(), String> {
    if resource.contains('/') {
        return Err(format!(
            "{resource:?} names a subresource; give the resource (plural) alone, e.g. replicationsources"
        ));
    }
    crate::units::check_dns1123_label(resource).map_err(|e| format!("not a resource (plural): {e}"))
}

/// Namespaces that belong to Kubernetes or OpenShift: an agent uses one only when its own
/// configuration lists it (and `hubdr render` lists it only when the site renders into it).
pub fn is_protected_namespace(namespace: &str) -> bool {
    namespace == "default"
        || namespace == "openshift"
        || namespace.starts_with("kube-")
        || namespace.starts_with("openshift-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_list_is_well_formed() {
        for k in RENDERED {
            check_kind_name(k.kind).unwrap();
            check_group(k.group).unwrap();
            check_resource(k.resource).unwrap();
            assert_eq!(k.resource, k.resource.to_ascii_lowercase());
            let kind = k.kind.to_ascii_lowercase();
            assert!(k.resource.starts_with(&kind[..kind.len().min(4)]));
            assert_eq!(rendered(k.group, k.kind), Some(&k));
        }
        assert_eq!(rendered("", "Namespace").unwrap().api_version(), "v1");
        assert_eq!(
            rendered("volsync.backube", "ReplicationSource")
                .unwrap()
                .allow_kind(),
            "volsync.backube/ReplicationSource"
        );
        assert_eq!(allow_kind("", "Namespace"), "core/Namespace");
        assert_eq!(for_agents(Agents::Hubs).count(), 6);
        assert_eq!(for_agents(Agents::ManagedClusters).count(), 4);
        assert_eq!(for_agents(Agents::ManagementClusters).count(), 2);
        assert_eq!(for_agents(Agents::EtcdBackup).count(), 5);
    }

    #[test]
    fn kind_names_are_camel_case_and_file_safe() {
        for good in ["Pod", "ReplicationSource", "V1Thing"] {
            check_kind_name(good).unwrap();
        }
        for (bad, says) in [
            ("", "empty"),
            ("secret", "uppercase"),
            ("Pod/../../x", "'/'"),
            ("Pod.yaml", "\".\""),
            ("Re plication", "\" \""),
            ("Ünicode", "\"Ü\""),
            ("Replication*", "\"*\""),
        ] {
            let e = check_kind_name(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        assert!(check_kind_name(&format!("A{}", "b".repeat(63)))
            .unwrap_err()
            .contains("64 characters"));
        for good in ["Replication*", "*", "*Source"] {
            check_kind_pattern(good).unwrap();
        }
        for bad in ["secret", "a*", "Foo/*", ""] {
            assert!(check_kind_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn groups_and_resources() {
        for good in ["", "core", "apps", "volsync.backube"] {
            check_group(good).unwrap();
        }
        for bad in ["Apps", "a/b", "*"] {
            assert!(check_group(bad).is_err(), "{bad:?}");
        }
        check_resource("networkpolicies").unwrap();
        for bad in ["pods/exec", "*", "Pods", ""] {
            assert!(check_resource(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn protected_namespaces() {
        for ns in [
            "default",
            "kube-system",
            "kube-public",
            "openshift",
            "openshift-config",
        ] {
            assert!(is_protected_namespace(ns), "{ns}");
        }
        for ns in [
            "shop",
            "kubernetes-dashboard",
            "open-cluster-management-backup",
        ] {
            assert!(!is_protected_namespace(ns), "{ns}");
        }
    }
}
