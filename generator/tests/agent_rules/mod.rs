//! The rules of the agent install files (`agents/<cluster>.yaml`), shared by the site matrix
//! (matrix.rs) and the install tests (agent_install.rs). What a file must grant is worked out
//! here from the site and from the lists below, not from the renderer's code.
#![allow(dead_code)]

pub mod etcd;

use std::collections::{BTreeMap, BTreeSet};

use hubdr::gitrepo::Tree;
use hubdr::site::Site;
use serde::Deserialize;
use serde_json::{json, Value};

mod lists;
pub use lists::*;

pub type Verbs = BTreeSet<String>;

pub fn verbs(list: &[&str]) -> Verbs {
    list.iter().map(|v| v.to_string()).collect()
}

/// Every YAML document of a rendered file.
pub fn documents(path: &str, bytes: &[u8]) -> Vec<Value> {
    serde_yaml::Deserializer::from_slice(bytes)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}

/// Every cluster of the site: (name, hub).
pub fn clusters(site: &Site) -> Vec<(String, bool)> {
    let hubs = site.spec.hubs.iter().map(|h| (h.name.clone(), true));
    let managed = site
        .spec
        .managed_clusters
        .iter()
        .map(|c| (c.name.clone(), false));
    hubs.chain(managed).collect()
}

/// One cluster's install file, parsed.
pub struct Install {
    pub cluster: String,
    pub path: String,
    pub docs: Vec<Value>,
}

impl Install {
    pub fn of(tree: &Tree, cluster: &str) -> Install {
        let path = format!("agents/{cluster}.yaml");
        let bytes = tree
            .get(&path)
            .unwrap_or_else(|| panic!("{path}: not rendered"));
        Install {
            cluster: cluster.into(),
            docs: documents(&path, bytes),
            path,
        }
    }

    pub fn deployment(&self) -> &Value {
        let d = self.docs.last().unwrap();
        assert_eq!(
            d["kind"], "Deployment",
            "{}: the Deployment comes last",
            self.path
        );
        d
    }

    pub fn args(&self) -> Vec<String> {
        strings(&self.deployment()["spec"]["template"]["spec"]["containers"][0]["args"])
    }

    /// The values given to `flag` (`--flag value` pairs).
    pub fn flag(&self, flag: &str) -> Vec<String> {
        let args = self.args();
        args.chunks(2)
            .filter(|pair| pair[0] == flag)
            .map(|pair| pair[1].clone())
            .collect()
    }
}

/// `(group, resource, resourceNames)`: a grant on some or (`None`) all names.
pub type Target = (String, String, Option<Vec<String>>);

/// What the agent's service account may do once the file is applied: from every binding in it,
/// cluster-wide and per namespace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effective {
    pub cluster: BTreeMap<Target, Verbs>,
    pub namespaced: BTreeMap<String, BTreeMap<(String, String), Verbs>>,
    /// Namespaced grants by name (but the agent's own status key): the failover steps' fixed
    /// operations.
    pub named: BTreeMap<(String, Target), Verbs>,
}

/// The rules of a (Cluster)Role as targets and verbs; no wildcards, subresources or URLs.
fn rules(role: &Value, what: &str) -> Vec<(Target, Verbs)> {
    let mut out = Vec::new();
    for rule in role["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no rules"))
    {
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "{what}: URLs in {rule}"
        );
        let (groups, resources, rule_verbs) = (
            strings(&rule["apiGroups"]),
            strings(&rule["resources"]),
            strings(&rule["verbs"]),
        );
        let names = rule.get("resourceNames").map(strings);
        assert!(
            !groups.is_empty() && !resources.is_empty() && !rule_verbs.is_empty(),
            "{what}: empty rule {rule}"
        );
        if let Some(names) = &names {
            assert!(
                !names.is_empty(),
                "{what}: an empty resourceNames means every name: {rule}"
            );
        }
        for item in groups
            .iter()
            .chain(&resources)
            .chain(&rule_verbs)
            .chain(names.iter().flatten())
        {
            assert!(!item.contains('*'), "{what}: wildcard in {rule}");
        }
        for r in &resources {
            assert!(!r.contains('/'), "{what}: subresource {r} in {rule}");
        }
        for g in &groups {
            for r in &resources {
                out.push((
                    (g.clone(), r.clone(), names.clone()),
                    rule_verbs.iter().cloned().collect(),
                ));
            }
        }
    }
    out
}

/// The effective permissions of `install`, checking that every binding binds the agent's
/// service account to a role of the same file (never to a role installed otherwise, such as
/// `cluster-admin`).
pub fn effective(install: &Install, agent_ns: &str) -> Effective {
    let what = &install.path;
    let subjects =
        json!([{"kind": "ServiceAccount", "name": "hubdr-agent", "namespace": agent_ns}]);
    let mut roles: BTreeMap<(String, Option<String>, String), &Value> = BTreeMap::new();
    for d in &install.docs {
        let kind = d["kind"].as_str().unwrap_or_default();
        if kind == "Role" || kind == "ClusterRole" {
            let ns = d.pointer("/metadata/namespace").and_then(Value::as_str);
            assert_eq!(ns.is_some(), kind == "Role", "{what}: {kind} scope: {d}");
            let key = (
                kind.to_string(),
                ns.map(str::to_string),
                d["metadata"]["name"].as_str().unwrap().to_string(),
            );
            assert!(
                roles.insert(key, d).is_none(),
                "{what}: two roles named alike"
            );
        }
    }
    let mut out = Effective::default();
    let mut used = BTreeSet::new();
    for d in &install.docs {
        let kind = d["kind"].as_str().unwrap_or_default();
        if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
            continue;
        }
        assert_eq!(
            d["subjects"], subjects,
            "{what}: only the agent's service account: {d}"
        );
        let role_ref = &d["roleRef"];
        assert_eq!(
            role_ref["apiGroup"], "rbac.authorization.k8s.io",
            "{what}: {d}"
        );
        let role_kind = role_ref["kind"].as_str().unwrap().to_string();
        let ns = d
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        assert_eq!(
            ns.is_some(),
            kind == "RoleBinding",
            "{what}: {kind} scope: {d}"
        );
        let key = (
            role_kind.clone(),
            if role_kind == "Role" {
                ns.clone()
            } else {
                None
            },
            role_ref["name"].as_str().unwrap().to_string(),
        );
        let role = roles.get(&key).unwrap_or_else(|| {
            panic!("{what}: {kind} binds {key:?}, which the file does not define")
        });
        assert!(
            kind == "RoleBinding" || role_kind == "ClusterRole",
            "{what}: a ClusterRoleBinding binds a ClusterRole: {d}"
        );
        used.insert(key);
        for (target, v) in rules(role, &format!("{what}#{:?}", role["metadata"]["name"])) {
            match &ns {
                None => out.cluster.entry(target).or_default().extend(v),
                Some(ns) => {
                    // Named grants: the agent's own status key Secret (below), and the
                    // failover steps' fixed operations (checked by `check_bounds`).
                    let own_key = etcd::is_scc_bind(&target)
                        || (ns == agent_ns
                            && target.1 == "secrets"
                            && target.2.as_deref()
                                == Some(
                                    &["hubdr-status-key-".to_string() + what_cluster(what)][..],
                                ));
                    if target.2.is_some() && !own_key {
                        out.named.entry((ns.clone(), target)).or_default().extend(v);
                        continue;
                    }
                    out.namespaced
                        .entry(ns.clone())
                        .or_default()
                        .entry((target.0, target.1))
                        .or_default()
                        .extend(v)
                }
            }
        }
    }
    let bound: BTreeSet<_> = roles
        .iter()
        .filter(|(_, role)| !etcd::is_scc_role(role))
        .map(|(key, _)| key.clone())
        .collect();
    assert_eq!(used, bound, "{what}: every role of the file is bound");
    out
}

/// A namespace a cluster's agent uses, as the site declares it: what it applies there.
#[derive(Debug, Default, Clone)]
pub struct Place {
    pub grants: BTreeMap<(String, String), Verbs>,
}

pub(crate) fn grant(place: &mut Place, group: &str, resource: &str, list: &[&str]) {
    place
        .grants
        .entry((group.to_string(), resource.to_string()))
        .or_default()
        .extend(verbs(list));
}

/// The managed clusters that run a mover, i.e. get the `volsync` add-on on the hubs.
fn participating(site: &Site) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in site.spec.volsync.iter().flat_map(|v| &v.replications) {
        out.insert(r.source.cluster.clone());
        for d in r.destination.iter().chain(&r.destinations) {
            out.insert(d.cluster.clone());
        }
        if let Some(restore) = &r.restore {
            out.insert(restore.cluster.clone());
        }
    }
    out
}

/// The namespaces the site renders into for `cluster`, from its fields (for every role a hub
/// can take), with what the agent does in each.
pub fn places(site: &Site, cluster: &str, hub: bool) -> BTreeMap<String, Place> {
    let spec = &site.spec;
    let mut out: BTreeMap<String, Place> = BTreeMap::new();
    if hub {
        let mch = out
            .entry(spec.multi_cluster_hub.namespace.clone())
            .or_default();
        grant(
            mch,
            "operator.open-cluster-management.io",
            "multiclusterhubs",
            &APPLY,
        );
        let backup = out.entry(spec.backup_namespace.clone()).or_default();
        grant(
            backup,
            "oadp.openshift.io",
            "dataprotectionapplications",
            &APPLY,
        );
        grant(
            backup,
            "cluster.open-cluster-management.io",
            "backupschedules",
            &MANAGE,
        );
        grant(
            backup,
            "cluster.open-cluster-management.io",
            "restores",
            &MANAGE,
        );
        for (g, r) in HUB_OBSERVED {
            grant(backup, g, r, &READ);
        }
        for c in participating(site) {
            let addons = out.entry(c).or_default();
            grant(
                addons,
                "addon.open-cluster-management.io",
                "managedclusteraddons",
                &MANAGE,
            );
        }
    } else {
        for r in spec.volsync.iter().flat_map(|v| &v.replications) {
            let mut at = vec![(&r.source.cluster, &r.source.namespace, false)];
            for d in r.destination.iter().chain(&r.destinations) {
                at.push((&d.cluster, &d.namespace, d.pvc.is_some()));
            }
            if let Some(restore) = &r.restore {
                at.push((&restore.cluster, &restore.namespace, false));
            }
            for (_, ns, pvc) in at.into_iter().filter(|(c, _, _)| *c == cluster) {
                let place = out.entry(ns.clone()).or_default();
                grant(place, "volsync.backube", "replicationsources", &MANAGE);
                grant(place, "volsync.backube", "replicationdestinations", &MANAGE);
                if pvc {
                    grant(place, "", "persistentvolumeclaims", &MANAGE);
                }
            }
        }
    }
    hosted_places(site, cluster, hub, &mut out);
    if let Some(ns) = etcd::namespace(site, cluster) {
        etcd::place(out.entry(ns).or_default());
    }
    for e in spec
        .agent
        .extra_kinds
        .iter()
        .filter(|e| e.scope == hubdr::kinds::Scope::Namespaced)
    {
        for place in out.values_mut() {
            grant(place, e.api_group(), &e.resource, &MANAGE);
        }
    }
    out
}

/// What the agent of a management cluster needs for its hosted clusters (`spec.hostedClusters`).
fn hosted_places(site: &Site, cluster: &str, hub: bool, out: &mut BTreeMap<String, Place>) {
    use hubdr::site::hosted::HostedMethod;
    let spec = &site.spec;
    for h in spec
        .hosted_clusters
        .iter()
        .filter(|h| h.management_cluster == cluster)
    {
        if h.method == HostedMethod::EtcdSnapshot {
            let hc = out.entry(h.namespace.clone()).or_default();
            // restoreFrom: latest creates it (from the newest snapshot), never deletes it.
            let access: &[&str] = if h.restore_from.is_some() {
                &APPLY
            } else {
                &PATCH
            };
            grant(hc, "hypershift.openshift.io", "hostedclusters", access);
            let cp = out
                .entry(format!("{}-{}", h.namespace, h.name))
                .or_default();
            grant(cp, "apps", "deployments", &PATCH);
            grant(cp, "batch", "jobs", &MANAGE);
            grant(cp, "", "pods", &READ);
        }
        if h.method == HostedMethod::Oadp {
            let velero = if hub {
                spec.backup_namespace.clone()
            } else {
                "openshift-adp".to_string()
            };
            let place = out.entry(velero).or_default();
            grant(place, "velero.io", "schedules", &MANAGE);
            if !hub {
                grant(
                    place,
                    "oadp.openshift.io",
                    "dataprotectionapplications",
                    &APPLY,
                );
            }
        }
    }
}

/// What `cluster`'s agent must be able to do, exactly.
pub fn expected(site: &Site, cluster: &str, hub: bool) -> Effective {
    let places = places(site, cluster, hub);
    let mut out = Effective::default();
    for (g, r) in OBSERVED_EVERYWHERE {
        out.cluster.insert((g.into(), r.into(), None), verbs(&READ));
    }
    let etcd_ns = etcd::namespace(site, cluster);
    if etcd_ns.is_some() {
        for (g, r) in etcd::OBSERVED {
            out.cluster.insert((g.into(), r.into(), None), verbs(&READ));
        }
    }
    let applied: Vec<String> = if hub {
        etcd_ns.into_iter().collect()
    } else {
        places.keys().cloned().collect()
    };
    if !applied.is_empty() {
        let names = applied;
        out.cluster.insert(
            (String::new(), "namespaces".into(), Some(names)),
            verbs(&NAMESPACE_VERBS),
        );
    }
    for e in site
        .spec
        .agent
        .extra_kinds
        .iter()
        .filter(|e| e.scope == hubdr::kinds::Scope::Cluster)
    {
        out.cluster.insert(
            (e.api_group().into(), e.resource.clone(), None),
            verbs(&MANAGE),
        );
    }
    for (ns, place) in places {
        out.namespaced.insert(ns, place.grants);
    }
    if hub {
        for (g, r, v) in FAILOVER_CLUSTER {
            out.cluster.insert((g.into(), r.into(), None), verbs(v));
        }
        // Auto-import: the MultiClusterEngine's managed-service-account component (applied,
        // never deleted).
        if site.spec.backup.use_managed_service_account {
            out.cluster
                .entry((
                    "multicluster.openshift.io".into(),
                    "multiclusterengines".into(),
                    None,
                ))
                .or_default()
                .extend(verbs(&APPLY));
        }
        // The import controller's configuration: only where ACM reads it (2.14+).
        let auto_import = site.spec.acm().has_auto_import_strategy();
        if auto_import {
            out.namespaced
                .entry(MCE_NAMESPACE.into())
                .or_default()
                .insert((String::new(), "configmaps".into()), verbs(&["create"]));
        }
        for (ns, g, r, name, v) in FAILOVER_NAMED {
            if ns == MCE_NAMESPACE && !auto_import {
                continue;
            }
            out.named.insert(
                (
                    ns.into(),
                    (g.into(), r.into(), Some(vec![name.to_string()])),
                ),
                verbs(v),
            );
        }
    }
    // restoreFrom: latest: the bucket credentials (to pre-sign the snapshot's URL) and the
    // encryption key (checked to exist), by name, read only, in the hosted cluster's namespace.
    for h in site
        .spec
        .hosted_clusters
        .iter()
        .filter(|h| h.management_cluster == cluster && h.restore_from.is_some())
    {
        let mut names = vec![
            h.destination.credentials_secret.name.clone(),
            h.encryption_key_secret.clone(),
        ];
        names.sort();
        names.dedup();
        out.named.insert(
            (
                h.namespace.clone(),
                (String::new(), "secrets".into(), Some(names)),
            ),
            verbs(&["get"]),
        );
    }
    // Hubs and management clusters list every HostedCluster (hub DR: which are not backed up).
    if hub
        || site
            .spec
            .hosted_clusters
            .iter()
            .any(|h| h.management_cluster == cluster)
    {
        out.cluster.insert(
            (
                "hypershift.openshift.io".into(),
                "hostedclusters".into(),
                None,
            ),
            verbs(&READ),
        );
    }
    let agent_ns = site.spec.agent.namespace.clone();
    let inventory = out.namespaced.entry(agent_ns).or_default();
    inventory.insert(
        (String::new(), "configmaps".into()),
        verbs(&["get", "list", "create", "patch", "update"]),
    );
    // The status signing key: created once, then read by its name.
    inventory.insert((String::new(), "secrets".into()), verbs(&["get", "create"]));
    out
}

/// The cluster of an install file's path `agents/<cluster>.yaml` (or a name ending so).
fn what_cluster(what: &str) -> &str {
    let file = what.rsplit('/').next().unwrap_or(what);
    file.strip_suffix(".yaml").unwrap_or(file)
}

/// The `--allow-kind` values `cluster`'s agent must get: hubdr's kinds for its side and the
/// site's extra kinds.
pub fn expected_kinds(site: &Site, cluster: &str, hub: bool) -> BTreeSet<String> {
    let etcd_kinds = etcd::allow_kinds();
    let etcd_on = etcd::namespace(site, cluster).is_some();
    let core = |g: &str| {
        if g.is_empty() {
            "core".to_string()
        } else {
            g.to_string()
        }
    };
    RENDERED_KINDS
        .iter()
        // (Schedules and HostedClusters only for management clusters, below.)
        .filter(|k| k.1 != "Schedule" && k.1 != "HostedCluster")
        .map(|(g, k, _, _, h, _)| (format!("{}/{k}", core(g)), *h))
        .filter(|(k, h)| {
            let etcd_only = etcd_kinds.contains(k) && k != "core/Namespace";
            (*h == hub && !etcd_only) || (etcd_on && etcd_kinds.contains(k))
        })
        .map(|(k, _)| k)
        .chain(
            site.spec
                .agent
                .extra_kinds
                .iter()
                .map(|e| format!("{}/{}", core(e.api_group()), e.kind)),
        )
        // A cluster that backs up hosted clusters with OADP manages Velero Schedules (and a
        // DataProtectionApplication when it is not a hub).
        .chain(
            site.spec
                .hosted_clusters
                .iter()
                .filter(|h| {
                    h.management_cluster == cluster
                        && h.method == hubdr::site::hosted::HostedMethod::Oadp
                })
                .flat_map(|_| {
                    [
                        "velero.io/Schedule".to_string(),
                        "oadp.openshift.io/DataProtectionApplication".to_string(),
                    ]
                }),
        )
        // One restored from its newest snapshot (restoreFrom: latest): its HostedCluster.
        .chain(
            site.spec
                .hosted_clusters
                .iter()
                .filter(|h| h.management_cluster == cluster && h.restore_from.is_some())
                .map(|_| "hypershift.openshift.io/HostedCluster".to_string()),
        )
        .collect()
}

/// The objects rendered for `cluster`: (group, kind, namespace, name).
pub fn rendered_objects(
    tree: &Tree,
    cluster: &str,
) -> Vec<(String, String, Option<String>, String)> {
    let dir = format!("clusters/{cluster}/");
    tree.iter()
        .filter(|(p, _)| p.starts_with(&dir) && !p.ends_with("/kustomization.yaml"))
        .map(|(p, bytes)| {
            let v: Value = serde_yaml::from_slice(bytes).unwrap_or_else(|e| panic!("{p}: {e}"));
            let text = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).map(str::to_string);
            let api_version = text("/apiVersion").unwrap();
            let group = api_version
                .rsplit_once('/')
                .map_or("", |(g, _)| g)
                .to_string();
            (
                group,
                text("/kind").unwrap(),
                text("/metadata/namespace"),
                text("/metadata/name").unwrap(),
            )
        })
        .collect()
}

mod bounds;
pub use bounds::*;
mod install;
pub use install::*;
