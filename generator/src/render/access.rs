//! What each cluster's agent may do: the kinds it manages, the namespaces it may use and what
//! it may do in each. Computed from the site's fields alone, never from the rendered objects
//! (which patches and template overrides shape), and the same whatever role a hub has, so a
//! failover needs no new permissions.
//!
//! - A hub's agent uses the MultiClusterHub's namespace (applies the MultiClusterHub), the
//!   backup namespace (applies the DataProtectionApplication, manages BackupSchedules and
//!   Restores, reads Velero backups, locations and restores and the pods) and, with VolSync,
//!   the namespace of each participating managed cluster (manages its `volsync`
//!   ManagedClusterAddOn).
//! - A managed cluster's agent uses the namespaces of its replications' movers: it manages
//!   ReplicationSources and ReplicationDestinations there, PersistentVolumeClaims only where a
//!   replica PVC is rendered, and applies (never deletes) those Namespaces themselves.
//! - Every agent reads ReplicationSources and ReplicationDestinations cluster-wide (status).
//! - With `spec.etcdBackup`, the agent of each cluster it covers uses its namespace: applies
//!   that Namespace (by name), manages the ServiceAccount, RoleBinding (only to the SCC
//!   ClusterRole of its install file, which it may `bind`), CronJob, after-upgrade Jobs and
//!   the run-time variables' ConfigMap there, reads the pods (the backup's result), and reads ClusterVersion, Proxy and
//!   APIServer (age, upgrades, proxy, encryption).
//! - `spec.agent.extraKinds`: managed in every namespace of the cluster (namespaced kinds) or
//!   cluster-wide (cluster-scoped kinds), on every cluster.
//!
//! The renderer refuses an object this does not allow; the install files grant exactly this.

use std::collections::{BTreeMap, HashMap};

use crate::kinds::{self, Agents, Scope};
use crate::site::validate::destination_specs;
use crate::site::Site;

use super::manifest::Manifest;

pub mod grants;
pub use grants::*;

/// What the agent of a cluster with etcd backups reads cluster-wide: installation and upgrades,
/// the proxy, whether etcd encryption is on.
const ETCD_OBSERVED: [(&str, &str); 3] = [
    ("config.openshift.io", "clusterversions"),
    ("config.openshift.io", "proxies"),
    ("config.openshift.io", "apiservers"),
];

/// Every cluster's access, by cluster name.
#[derive(Debug, Clone, Default)]
pub struct SiteAccess {
    pub clusters: HashMap<String, ClusterAccess>,
}

/// What a hub's agent reads in the backup namespace: Velero backups, locations and restores
/// (status and the activation gate) and the pods (health checks).
const HUB_OBSERVED: [(&str, &str); 4] = [
    ("velero.io", "backups"),
    ("velero.io", "backupstoragelocations"),
    ("velero.io", "restores"),
    ("", "pods"),
];

/// What every agent reads cluster-wide: VolSync status.
const OBSERVED_EVERYWHERE: [(&str, &str); 2] = [
    ("volsync.backube", "replicationsources"),
    ("volsync.backube", "replicationdestinations"),
];

impl SiteAccess {
    pub fn of(site: &Site) -> Self {
        let spec = &site.spec;
        let extra: Vec<KindGrant> = spec
            .agent
            .extra_kinds
            .iter()
            .map(|e| KindGrant {
                group: e.api_group().to_string(),
                kind: e.kind.clone(),
                resource: e.resource.clone(),
                scope: e.scope,
                deletable: true,
                extra: true,
            })
            .collect();
        let mut clusters = HashMap::new();
        let hub = ClusterAccess::hub(site, &extra);
        for h in &spec.hubs {
            clusters.insert(h.name.clone(), hub.clone());
        }
        // Each managed cluster's namespaces, in one pass over the replications.
        let mut places: HashMap<&str, BTreeMap<&str, bool>> = HashMap::new();
        for r in spec.volsync.iter().flat_map(|v| &v.replications) {
            places
                .entry(r.source.cluster.as_str())
                .or_default()
                .entry(r.source.namespace.as_str())
                .or_insert(false);
            for d in destination_specs(r) {
                let pvc = places
                    .entry(d.cluster.as_str())
                    .or_default()
                    .entry(d.namespace.as_str())
                    .or_insert(false);
                *pvc |= d.pvc.is_some();
            }
            if let Some(restore) = &r.restore {
                places
                    .entry(restore.cluster.as_str())
                    .or_default()
                    .entry(restore.namespace.as_str())
                    .or_insert(false);
            }
        }
        for c in &spec.managed_clusters {
            let namespaces = places.remove(c.name.as_str()).unwrap_or_default();
            clusters.insert(c.name.clone(), ClusterAccess::managed(&namespaces, &extra));
        }
        super::hosted::access::grant(site, &mut clusters);
        if let Some(etcd) = &spec.etcd_backup {
            for c in crate::site::etcd_backup::selected(spec) {
                if let Some(a) = clusters.get_mut(c.name) {
                    a.etcd_backup(&etcd.namespace);
                }
            }
        }
        Self { clusters }
    }

    pub fn get(&self, cluster: &str) -> Option<&ClusterAccess> {
        self.clusters.get(cluster)
    }
}

fn fixed(agents: Agents) -> impl Iterator<Item = KindGrant> {
    kinds::for_agents(agents).map(|k| KindGrant {
        group: k.group.to_string(),
        kind: k.kind.to_string(),
        resource: k.resource.to_string(),
        scope: k.scope,
        deletable: k.deletable,
        extra: false,
    })
}

fn grant_of<'a>(kinds: &'a [KindGrant], kind: &str) -> &'a KindGrant {
    kinds
        .iter()
        .find(|k| !k.extra && k.kind == kind)
        // An etcd backup kind the site also grants as an extra kind.
        .or_else(|| kinds.iter().find(|k| k.kind == kind))
        .expect("a kind of hubdr's fixed list")
}

impl ClusterAccess {
    fn new(hub: bool, extra: &[KindGrant]) -> Self {
        let mut kinds: Vec<KindGrant> = fixed(if hub {
            Agents::Hubs
        } else {
            Agents::ManagedClusters
        })
        .collect();
        kinds.sort_by_key(KindGrant::allow_kind);
        kinds.extend(extra.iter().cloned());
        let mut cluster = Grants::new();
        for (group, resource) in OBSERVED_EVERYWHERE {
            add(&mut cluster, group, resource, Access::Read);
        }
        for k in extra.iter().filter(|k| k.scope == Scope::Cluster) {
            add(&mut cluster, &k.group, &k.resource, Access::of(k));
        }
        Self {
            hub,
            kinds,
            cluster,
            addon_role: Grants::new(),
            namespace_objects: false,
            namespaces: BTreeMap::new(),
            hcp_snapshots: Vec::new(),
        }
    }

    /// Every namespaced extra kind, managed in each of the cluster's namespaces.
    fn extra_namespaced(&self) -> impl Iterator<Item = &KindGrant> {
        self.kinds
            .iter()
            .filter(|k| k.extra && k.scope == Scope::Namespaced)
    }

    pub(super) fn grant(&mut self, ns: &str, kind: &str, access: Option<Access>) {
        let k = grant_of(&self.kinds, kind);
        let (group, resource, access) = (
            k.group.clone(),
            k.resource.clone(),
            access.unwrap_or(Access::of(k)),
        );
        let role = &mut self.namespaces.entry(ns.to_string()).or_default().role;
        add(role, &group, &resource, access);
    }

    fn hub(site: &Site, extra: &[KindGrant]) -> Self {
        let spec = &site.spec;
        let mut a = Self::new(true, extra);
        a.grant(&spec.multi_cluster_hub.namespace, "MultiClusterHub", None);
        if spec.backup.use_managed_service_account {
            // Cluster-scoped: its managed-service-account component for auto-import.
            let k = grant_of(&a.kinds, "MultiClusterEngine").clone();
            add(&mut a.cluster, &k.group, &k.resource, Access::of(&k));
        }
        // Hub DR: the HostedClusters on the hub, which ACM's hub backups do not include (the
        // agent warns about those no spec.hostedClusters backup covers).
        add(
            &mut a.cluster,
            "hypershift.openshift.io",
            "hostedclusters",
            Access::Read,
        );
        let backup = spec.backup_namespace.as_str();
        for kind in ["DataProtectionApplication", "BackupSchedule", "Restore"] {
            a.grant(backup, kind, None);
        }
        let role = &mut a.namespaces.entry(backup.to_string()).or_default().role;
        for (group, resource) in HUB_OBSERVED {
            add(role, group, resource, Access::Read);
        }
        let participating = super::participating::participating_clusters(site);
        if !participating.is_empty() {
            let addon = grant_of(&a.kinds, "ManagedClusterAddOn").clone();
            let mut role = Grants::new();
            add(&mut role, &addon.group, &addon.resource, Access::of(&addon));
            for k in a.extra_namespaced() {
                add(&mut role, &k.group, &k.resource, Access::of(k));
            }
            a.addon_role = role;
            for cluster in participating {
                a.namespaces.entry(cluster.to_string()).or_default().addons = true;
            }
        }
        a.add_extra_to_roles();
        a
    }

    fn managed(namespaces: &BTreeMap<&str, bool>, extra: &[KindGrant]) -> Self {
        let mut a = Self::new(false, extra);
        for (&ns, &pvc) in namespaces {
            a.grant(ns, "ReplicationSource", None);
            a.grant(ns, "ReplicationDestination", None);
            if pvc {
                a.grant(ns, "PersistentVolumeClaim", None);
            }
        }
        a.namespace_objects = !a.namespaces.is_empty();
        a.add_extra_to_roles();
        a
    }

    /// The etcd backup's kinds in `ns` (see the module notes).
    fn etcd_backup(&mut self, ns: &str) {
        let (mut fixed_kinds, extra): (Vec<KindGrant>, Vec<KindGrant>) =
            std::mem::take(&mut self.kinds)
                .into_iter()
                .partition(|k| !k.extra);
        let mut wanted: Vec<KindGrant> = fixed(Agents::EtcdBackup).collect();
        wanted.extend(fixed(Agents::ManagedClusters).filter(|k| k.kind == "Namespace"));
        for k in wanted {
            let granted = fixed_kinds
                .iter()
                .chain(&extra)
                .any(|g| g.group == k.group && g.kind == k.kind);
            if !granted {
                fixed_kinds.push(k);
            }
        }
        fixed_kinds.sort_by_key(KindGrant::allow_kind);
        fixed_kinds.extend(extra);
        self.kinds = fixed_kinds;
        for kind in [
            "ServiceAccount",
            "RoleBinding",
            "CronJob",
            "Job",
            "ConfigMap",
        ] {
            self.grant(ns, kind, None);
        }
        let grant = self.namespaces.entry(ns.to_string()).or_default();
        grant.etcd_backup = true;
        add(&mut grant.role, "", "pods", Access::Read);
        for (group, resource) in ETCD_OBSERVED {
            add(&mut self.cluster, group, resource, Access::Read);
        }
        self.add_extra_to_roles();
    }

    /// The namespaced extra kinds in every namespace that has a Role.
    pub(super) fn add_extra_to_roles(&mut self) {
        let extra: Vec<(String, String, Access)> = self
            .extra_namespaced()
            .map(|k| (k.group.clone(), k.resource.clone(), Access::of(k)))
            .collect();
        if extra.is_empty() {
            return;
        }
        for grant in self.namespaces.values_mut().filter(|g| !g.role.is_empty()) {
            for (group, resource, access) in &extra {
                add(&mut grant.role, group, resource, *access);
            }
        }
    }

    /// The kind of API group `group` named `kind`, when the agent may apply it.
    pub fn kind(&self, group: &str, kind: &str) -> Option<&KindGrant> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.kind == kind)
    }

    /// What the agent may do with `(group, resource)` in namespace `ns`.
    pub fn access_in(&self, ns: &str, group: &str, resource: &str) -> Option<Access> {
        let grant = self.namespaces.get(ns)?;
        let key = (group.to_string(), resource.to_string());
        let own = grant.role.get(&key).copied();
        let shared = grant
            .addons
            .then(|| self.addon_role.get(&key).copied())
            .flatten();
        own.max(shared)
    }

    /// Problems with a rendered object: of a kind the agent does not manage, in a namespace it
    /// may not use, or a Namespace it may not apply. Empty when the agent may apply it.
    pub fn check(&self, m: &Manifest) -> Vec<String> {
        let group = kinds::group_of(&m.id.api_version);
        let side = if self.hub { "hub" } else { "managed cluster" };
        let Some(k) = self.kind(group, &m.id.kind) else {
            let known: Vec<String> = self.kinds.iter().map(KindGrant::allow_kind).collect();
            return vec![format!(
                "{} is not a kind hubdr renders for a {side} ({}), so its agent may not manage it; a template that renders another kind needs a reviewed spec.agent.extraKinds entry (a privilege grant)",
                kinds::allow_kind(group, &m.id.kind),
                known.join(", ")
            )];
        };
        let ns = m.id.namespace.as_deref();
        match (k.scope, ns) {
            (Scope::Namespaced, None) => vec![format!(
                "metadata.namespace: {} is namespaced, and the object has no namespace",
                m.id.kind
            )],
            (Scope::Cluster, Some(_)) => vec![format!(
                "metadata.namespace: {} is cluster-scoped; remove the namespace",
                m.id.kind
            )],
            (Scope::Namespaced, Some(ns)) => match self.access_in(ns, &k.group, &k.resource) {
                Some(a) if a >= Access::Apply => Vec::new(),
                Some(_) | None if !self.namespaces.contains_key(ns) => {
                    vec![self.outside(&format!("namespace {ns}"))]
                }
                _ => vec![format!(
                    "the agent may not manage {} in namespace {ns}: hubdr renders none there",
                    m.id.kind
                )],
            },
            (Scope::Cluster, None) => {
                let namespace_object = group.is_empty() && m.id.kind == "Namespace";
                let etcd = self
                    .namespaces
                    .get(&m.id.name)
                    .is_some_and(|g| g.etcd_backup);
                if namespace_object
                    && !etcd
                    && (!self.namespace_objects || !self.namespaces.contains_key(&m.id.name))
                {
                    return vec![self.outside(&format!("Namespace {}", m.id.name))];
                }
                Vec::new()
            }
        }
    }

    fn outside(&self, what: &str) -> String {
        let names: Vec<&str> = self.namespaces.keys().map(String::as_str).collect();
        let shown = match names.len() {
            0 => "none".to_string(),
            n if n <= 6 => names.join(", "),
            n => format!("{} and {} more", names[..5].join(", "), n - 5),
        };
        format!(
            "{what} is outside the namespaces the site renders into for this cluster ({shown}), which are all its agent may use; set the namespace in the site field that renders the object"
        )
    }

    /// Every namespace the agent may use, sorted.
    pub fn namespace_names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }
}

/// The privilege grants of `spec.agent.extraKinds`, per cluster, as `hubdr plan` lists them.
pub fn privilege_grants(access: &SiteAccess) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (cluster, a) in &access.clusters {
        let lines: Vec<String> = a
            .kinds
            .iter()
            .filter(|k| k.extra)
            .map(|k| {
                let verbs = Access::of(k).verbs().join(", ");
                let scope = match k.scope {
                    Scope::Cluster => "cluster-wide".to_string(),
                    Scope::Namespaced => {
                        let n = a.namespaces.len();
                        format!("in its {n} namespace(s)")
                    }
                };
                format!("{} ({}): {verbs}, {scope}", k.allow_kind(), k.resource)
            })
            .collect();
        if !lines.is_empty() {
            out.insert(cluster.clone(), lines);
        }
    }
    out
}
