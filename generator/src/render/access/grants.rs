//! The grants an agent may hold (the types `access` computes and `hosted::access` extends).

use std::collections::BTreeMap;

use crate::kinds::{self, Scope};

/// How much an agent may do with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Observe: get and list.
    Read,
    /// Observe and change existing objects (get, list, patch): never create or delete. For
    /// objects the agent does not own, e.g. scaling a hosted cluster's API servers.
    Patch,
    /// Server-side apply (create or patch), never delete.
    Apply,
    /// Apply and prune.
    Manage,
}

impl Access {
    /// The RBAC verbs: what the agent's calls need (server-side apply is a patch that may
    /// create; pruning deletes; observing lists).
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Access::Read => &["get", "list"],
            Access::Patch => &["get", "list", "patch"],
            Access::Apply => &["get", "list", "create", "patch"],
            Access::Manage => &["get", "list", "create", "patch", "delete"],
        }
    }

    pub(super) fn of(kind: &KindGrant) -> Access {
        if kind.deletable {
            Access::Manage
        } else {
            Access::Apply
        }
    }
}

/// The verbs on the Namespaces an agent uses, by name: applied (created or patched), never
/// deleted or listed.
pub const NAMESPACE_VERBS: [&str; 3] = ["get", "create", "patch"];

/// `(API group, resource)` -> access.
pub type Grants = BTreeMap<(String, String), Access>;

/// hubdr's own grant of the rendered kind `kind` (for kinds a cluster gets beyond its side's).
pub(crate) fn fixed_kind(kind: &str) -> KindGrant {
    let k = kinds::RENDERED
        .iter()
        .find(|k| k.kind == kind)
        .expect("a kind of hubdr's fixed list");
    KindGrant {
        group: k.group.to_string(),
        kind: k.kind.to_string(),
        resource: k.resource.to_string(),
        scope: k.scope,
        deletable: k.deletable,
        extra: false,
    }
}

/// A kind an agent may manage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KindGrant {
    pub group: String,
    pub kind: String,
    pub resource: String,
    pub scope: Scope,
    pub deletable: bool,
    /// From `spec.agent.extraKinds` (a privilege grant), not from hubdr's own list.
    pub extra: bool,
}

impl KindGrant {
    pub fn allow_kind(&self) -> String {
        kinds::allow_kind(&self.group, &self.kind)
    }
}

/// What an agent may do in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NamespaceGrant {
    /// The rules of its Role in the namespace (none when empty).
    pub role: Grants,
    /// Whether the shared add-on ClusterRole is bound in the namespace (on hubs, each
    /// participating managed cluster's namespace).
    pub addons: bool,
    /// The etcd backup namespace: the agent applies this Namespace and may bind the SCC
    /// ClusterRole [`ETCD_SCC_CLUSTER_ROLE`] here.
    pub etcd_backup: bool,
    /// Secrets it may read here, by name (`restoreFrom: latest`: the bucket credentials and
    /// the etcd encryption key of a hosted cluster).
    pub read_secrets: Vec<String>,
}

/// The ClusterRole (in the agent install file) allowing `use` of the privileged SCC, which the
/// etcd backup's RoleBinding binds; the agent may bind only this one.
pub const ETCD_SCC_CLUSTER_ROLE: &str = "hubdr-etcd-backup-scc";

/// What one cluster's agent may do.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    pub hub: bool,
    /// Every kind it may apply, sorted by `group/Kind`: hubdr's kinds for its side, then the
    /// extra kinds.
    pub kinds: Vec<KindGrant>,
    /// Cluster-wide rules: the extra cluster-scoped kinds and what it reads everywhere.
    pub cluster: Grants,
    /// The rules of the add-on ClusterRole (hubs only; empty elsewhere).
    pub addon_role: Grants,
    /// Whether it applies the Namespaces it uses (by name; managed clusters).
    pub namespace_objects: bool,
    /// Every namespace it may use, sorted.
    pub namespaces: BTreeMap<String, NamespaceGrant>,
    /// The hosted clusters whose etcd it snapshots, as `--hcp-snapshot` values.
    pub hcp_snapshots: Vec<String>,
}

pub(crate) fn add(grants: &mut Grants, group: &str, resource: &str, access: Access) {
    let entry = grants
        .entry((group.to_string(), resource.to_string()))
        .or_insert(access);
    *entry = (*entry).max(access);
}
