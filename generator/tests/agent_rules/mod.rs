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

/// Every kind hubdr renders into a cluster directory: (API group, Kind, resource, namespaced,
/// managed by hubs (else by managed clusters), deletable).
pub const RENDERED_KINDS: [(&str, &str, &str, bool, bool, bool); 14] = [
    (
        "operator.open-cluster-management.io",
        "MultiClusterHub",
        "multiclusterhubs",
        true,
        true,
        false,
    ),
    (
        "oadp.openshift.io",
        "DataProtectionApplication",
        "dataprotectionapplications",
        true,
        true,
        false,
    ),
    (
        "cluster.open-cluster-management.io",
        "BackupSchedule",
        "backupschedules",
        true,
        true,
        true,
    ),
    (
        "cluster.open-cluster-management.io",
        "Restore",
        "restores",
        true,
        true,
        true,
    ),
    (
        "addon.open-cluster-management.io",
        "ManagedClusterAddOn",
        "managedclusteraddons",
        true,
        true,
        true,
    ),
    ("", "Namespace", "namespaces", false, false, false),
    (
        "volsync.backube",
        "ReplicationSource",
        "replicationsources",
        true,
        false,
        true,
    ),
    (
        "volsync.backube",
        "ReplicationDestination",
        "replicationdestinations",
        true,
        false,
        true,
    ),
    (
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        false,
        true,
    ),
    ("", "ServiceAccount", "serviceaccounts", true, false, true),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
        false,
        true,
    ),
    ("batch", "CronJob", "cronjobs", true, false, true),
    ("batch", "Job", "jobs", true, false, true),
    ("", "ConfigMap", "configmaps", true, false, true),
];

/// What every agent only reads, cluster-wide: VolSync status (reconciler/src/observe.rs lists
/// both kinds in every namespace).
pub const OBSERVED_EVERYWHERE: [(&str, &str); 2] = [
    ("volsync.backube", "replicationsources"),
    ("volsync.backube", "replicationdestinations"),
];

/// What a hub's agent also reads in the backup namespace: Velero backups, storage locations and
/// restores (status and the activation gate) and the pods (health); nothing else.
pub const HUB_OBSERVED: [(&str, &str); 4] = [
    ("velero.io", "backups"),
    ("velero.io", "backupstoragelocations"),
    ("velero.io", "restores"),
    ("", "pods"),
];

/// What reconciler/src does: get/list (read, observe), server-side apply (a patch that may
/// create), prune (delete). No watch, no update, and never `*`.
pub const READ: [&str; 2] = ["get", "list"];
pub const APPLY: [&str; 4] = ["get", "list", "create", "patch"];
pub const MANAGE: [&str; 5] = ["get", "list", "create", "patch", "delete"];
/// Namespaces, by name: applied, never deleted.
pub const NAMESPACE_VERBS: [&str; 3] = ["get", "create", "patch"];
/// What the agent does with its inventory ConfigMap (get, then create or apply-patch).
pub const INVENTORY_VERBS: [&str; 3] = ["get", "create", "patch"];

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
                    // The one named grant: the agent's own status key Secret.
                    assert!(
                        target.2.is_none()
                            || etcd::is_scc_bind(&target)
                            || (ns == agent_ns
                                && target.1 == "secrets"
                                && target.2.as_deref()
                                    == Some(
                                        &["hubdr-status-key-".to_string() + what_cluster(what)][..]
                                    )),
                        "{what}: resourceNames in a namespaced grant"
                    );
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

/// The bounds every install file keeps, whatever its layout: no rule grants a verb on anything
/// but a kind hubdr renders (or one of the site's `spec.agent.extraKinds`) or a read-only
/// observed resource; no `*`; no binding to a role from elsewhere; namespaced kinds only inside
/// the agent's `--allow-namespace` namespaces, which are the namespaces the site renders into
/// for the cluster; Namespaces only by name and never deleted; no delete on the shared
/// MultiClusterHub and DataProtectionApplication; PersistentVolumeClaims deleted only where
/// hubdr renders them.
pub fn check_bounds(site: &Site, tree: &Tree) {
    let agent_ns = site.spec.agent.namespace.as_str();
    let extra: BTreeMap<(String, String), &hubdr::site::ExtraKind> = site
        .spec
        .agent
        .extra_kinds
        .iter()
        .map(|e| ((e.api_group().to_string(), e.resource.clone()), e))
        .collect();
    let rendered: BTreeMap<(String, String), _> = RENDERED_KINDS
        .iter()
        .map(|k| ((k.0.to_string(), k.2.to_string()), k))
        .collect();
    let read_only: BTreeSet<(String, String)> = OBSERVED_EVERYWHERE
        .iter()
        .chain(&HUB_OBSERVED)
        .chain(&etcd::OBSERVED)
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    let declared = declared_namespaces(site);
    for (cluster, hub) in clusters(site) {
        let install = Install::of(tree, &cluster);
        let what = install.path.clone();
        let eff = effective(&install, agent_ns);
        let allowed_ns: BTreeSet<String> = install.flag("--allow-namespace").into_iter().collect();
        for ns in &allowed_ns {
            assert!(
                declared.contains(ns),
                "{what}: --allow-namespace {ns} is no namespace of the site"
            );
        }
        let objects = rendered_objects(tree, &cluster);
        let pvc_namespaces: BTreeSet<String> = objects
            .iter()
            .filter(|o| o.0.is_empty() && o.1 == "PersistentVolumeClaim")
            .filter_map(|o| o.2.clone())
            .collect();
        for o in &objects {
            match &o.2 {
                Some(ns) => assert!(
                    allowed_ns.contains(ns),
                    "{what}: {o:?} is outside --allow-namespace {allowed_ns:?}"
                ),
                None if o.1 == "Namespace" => assert!(
                    allowed_ns.contains(&o.3),
                    "{what}: Namespace {} is outside --allow-namespace",
                    o.3
                ),
                None => {}
            }
        }
        let allowed_kinds: BTreeSet<String> = install.flag("--allow-kind").into_iter().collect();
        assert!(
            allowed_kinds.is_subset(&expected_kinds(site, &cluster, hub)),
            "{what}: --allow-kind {allowed_kinds:?} beyond hubdr's kinds and spec.agent.extraKinds"
        );
        let check = |g: &str, r: &str, v: &Verbs, scope: &str| {
            let key = (g.to_string(), r.to_string());
            let all = verbs(&MANAGE);
            assert!(v.is_subset(&all), "{what}: {scope}: {g}/{r}: {v:?}");
            if let Some(k) = rendered.get(&key) {
                if !k.5 {
                    assert!(
                        !v.contains("delete"),
                        "{what}: {scope}: delete on {r}, which is never deleted"
                    );
                }
            } else if !extra.contains_key(&key) {
                assert!(
                    read_only.contains(&key) && v.is_subset(&verbs(&READ)),
                    "{what}: {scope}: {v:?} on {g}/{r}, neither a kind hubdr renders nor in spec.agent.extraKinds nor a read-only observed resource"
                );
            }
        };
        for ((g, r, names), v) in &eff.cluster {
            let key = (g.clone(), r.clone());
            let namespaced_kind = rendered.get(&key).is_some_and(|k| k.3)
                || extra
                    .get(&key)
                    .is_some_and(|e| e.scope == hubdr::kinds::Scope::Namespaced);
            if namespaced_kind {
                assert!(
                    v.is_subset(&verbs(&READ)),
                    "{what}: cluster-wide {v:?} on namespaced {r}"
                );
            }
            if g.is_empty() && r == "namespaces" {
                let names: BTreeSet<String> = names
                    .clone()
                    .unwrap_or_else(|| panic!("{what}: namespaces without resourceNames"))
                    .into_iter()
                    .collect();
                assert!(
                    names.is_subset(&allowed_ns),
                    "{what}: Namespaces {names:?} beyond {allowed_ns:?}"
                );
            } else {
                assert!(names.is_none(), "{what}: resourceNames on {r}");
            }
            check(g, r, v, "cluster-wide");
        }
        for (ns, grants) in &eff.namespaced {
            for ((g, r), v) in grants {
                if ns == agent_ns && g.is_empty() && r == "secrets" {
                    assert!(
                        v.is_subset(&verbs(&["get", "create"])),
                        "{what}: the agent's own Secrets: {v:?}"
                    );
                    continue;
                }
                if ns == agent_ns && g.is_empty() && r == "configmaps" {
                    assert!(
                        verbs(&INVENTORY_VERBS).is_subset(v) && !v.contains("delete"),
                        "{what}: inventory {v:?}"
                    );
                    continue;
                }
                assert!(
                    allowed_ns.contains(ns),
                    "{what}: grants in {ns}, outside --allow-namespace"
                );
                if g == "rbac.authorization.k8s.io" && r == "clusterroles" {
                    // Only `bind`, and only of the SCC ClusterRole (checked in effective()).
                    assert_eq!(v, &verbs(&["bind"]), "{what}: clusterroles in {ns}");
                    continue;
                }
                if g.is_empty() && r == "persistentvolumeclaims" && v.contains("delete") {
                    assert!(
                        pvc_namespaces.contains(ns),
                        "{what}: delete on PVCs in {ns}, where hubdr renders none"
                    );
                }
                check(g, r, v, ns);
            }
        }
        // The agent can still do its job: apply every object rendered for it.
        for (g, kind, ns, name) in &objects {
            let k = RENDERED_KINDS.iter().find(|k| k.0 == g && k.1 == kind);
            let resource = k.map(|k| k.2.to_string()).or_else(|| {
                site.spec
                    .agent
                    .extra_kinds
                    .iter()
                    .find(|e| e.api_group() == g && e.kind == *kind)
                    .map(|e| e.resource.clone())
            });
            let resource =
                resource.unwrap_or_else(|| panic!("{what}: rendered {g}/{kind} is not managed"));
            let granted = match ns {
                Some(ns) => eff
                    .namespaced
                    .get(ns)
                    .and_then(|m| m.get(&(g.clone(), resource.clone())))
                    .cloned(),
                None => eff
                    .cluster
                    .iter()
                    .find(|((cg, cr, names), _)| {
                        cg == g
                            && *cr == resource
                            && names.as_ref().is_none_or(|n| n.contains(name))
                    })
                    .map(|(_, v)| v.clone()),
            };
            let granted = granted.unwrap_or_default();
            assert!(
                verbs(&["get", "create", "patch"]).is_subset(&granted),
                "{what}: the agent cannot apply {kind} {ns:?}/{name}: {granted:?}"
            );
        }
    }
}

/// Every namespace a site field names (where hubdr may render).
fn declared_namespaces(site: &Site) -> BTreeSet<String> {
    let spec = &site.spec;
    let mut out = BTreeSet::from([
        spec.backup_namespace.clone(),
        spec.multi_cluster_hub.namespace.clone(),
    ]);
    out.extend(spec.managed_clusters.iter().map(|c| c.name.clone()));
    out.extend(spec.etcd_backup.iter().map(|e| e.namespace.clone()));
    for r in spec.volsync.iter().flat_map(|v| &v.replications) {
        out.insert(r.source.namespace.clone());
        out.extend(
            r.destination
                .iter()
                .chain(&r.destinations)
                .map(|d| d.namespace.clone()),
        );
        out.extend(r.restore.iter().map(|x| x.namespace.clone()));
    }
    out
}

/// The keys the agent's git credentials Secret must hold, by repository URL.
pub fn git_credential_keys(site: &Site) -> Vec<String> {
    let url = site.spec.git.url.as_deref().unwrap();
    let keys: &[&str] = if url.starts_with("https://") {
        &["token"]
    } else if url.starts_with("ssh://")
        || url
            .split_once(':')
            .is_some_and(|(host, _)| host.contains('@'))
    {
        &["ssh-privatekey", "known_hosts"]
    } else {
        panic!("the matrix uses https and ssh repository URLs only, not {url}")
    };
    keys.iter().map(|k| k.to_string()).collect()
}

/// The flags of `hubdr-agent` that take a value (reconciler/src/cli.rs), and whether they repeat.
const AGENT_FLAGS: [(&str, bool); 13] = [
    ("--repo", false),
    ("--branch", false),
    ("--cluster", false),
    ("--namespace", false),
    ("--interval", false),
    ("--heartbeat", false),
    ("--cache-dir", false),
    ("--log-format", false),
    ("--token-file", false),
    ("--ssh-key", false),
    ("--known-hosts", false),
    ("--allow-kind", true),
    ("--allow-namespace", true),
];

/// `agents/<cluster>.yaml` for every cluster, exactly: one file; the agent's namespace and
/// service account first and its Deployment last; RBAC giving exactly what [`expected`] says
/// (and the [`check_bounds`]); the Deployment running the site's repository with the
/// cluster's kinds and namespaces as flags and the git credentials Secret by reference.
pub fn check_install(site: &Site, tree: &Tree) {
    check_bounds(site, tree);
    let settings = &site.spec.agent;
    let ns = settings.namespace.as_str();
    let url = site.spec.git.url.as_deref().unwrap();
    let keys = git_credential_keys(site);
    for (cluster, hub) in clusters(site) {
        let files: Vec<&String> = tree
            .keys()
            .filter(|p| {
                p.strip_prefix("agents/").is_some_and(|rest| {
                    rest.starts_with(&format!("{cluster}."))
                        || rest.starts_with(&format!("{cluster}/"))
                })
            })
            .collect();
        assert_eq!(
            files,
            [&format!("agents/{cluster}.yaml")],
            "{cluster}: exactly one install file"
        );
        let install = Install::of(tree, &cluster);
        let what = install.path.clone();
        let kinds: Vec<&str> = install
            .docs
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            &kinds[..2],
            ["Namespace", "ServiceAccount"],
            "{what}: created first"
        );
        assert_eq!(install.docs[0]["metadata"]["name"], ns, "{what}");
        assert_eq!(install.docs[1]["metadata"]["name"], "hubdr-agent", "{what}");
        for d in &install.docs {
            assert!(
                [
                    "Namespace",
                    "ServiceAccount",
                    "ClusterRole",
                    "ClusterRoleBinding",
                    "Role",
                    "RoleBinding",
                    "Deployment"
                ]
                .contains(&d["kind"].as_str().unwrap()),
                "{what}: {}",
                d["kind"]
            );
            let labels = &d["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/managed-by"], "hubdr", "{what}");
            assert_eq!(labels["hubdr.io/cluster"], cluster.as_str(), "{what}");
            assert!(d["apiVersion"].is_string(), "{what}");
        }
        assert_eq!(
            effective(&install, ns),
            expected(site, &cluster, hub),
            "{what}: exactly what the agent does, where the site renders for it"
        );

        // The Deployment.
        let d = install.deployment();
        assert_eq!(d["metadata"]["namespace"], ns, "{what}");
        assert_eq!(d["spec"]["replicas"], 1, "{what}");
        assert_eq!(
            d["spec"]["strategy"]["type"], "Recreate",
            "{what}: never two agents of a cluster at once"
        );
        let pod = &d["spec"]["template"]["spec"];
        for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(
                &d["spec"]["template"]["metadata"]["labels"][k], v,
                "{what}: the selector matches the pod"
            );
        }
        assert_eq!(pod["serviceAccountName"], "hubdr-agent", "{what}");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
        let containers = pod["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "{what}");
        let c = &containers[0];
        assert_eq!(c["image"], settings.image.as_str(), "{what}");
        for field in ["env", "envFrom", "command"] {
            assert!(c.get(field).is_none(), "{what}: {field}");
        }
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{what}"
        );
        let args = install.args();
        assert_eq!(args.len() % 2, 0, "{what}: flag/value pairs: {args:?}");
        let mut flags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for pair in args.chunks(2) {
            let (flag, value) = (pair[0].as_str(), pair[1].as_str());
            let known = AGENT_FLAGS
                .iter()
                .find(|(f, _)| *f == flag)
                .unwrap_or_else(|| {
                    panic!("{what}: {flag} is not a hubdr-agent flag taking a value")
                });
            let values = flags.entry(flag).or_default();
            values.push(value);
            assert!(known.1 || values.len() == 1, "{what}: {flag} given twice");
        }
        let one = |flag: &str| -> Option<&str> { flags.get(flag).map(|v| v[0]) };
        assert_eq!(one("--repo"), Some(url), "{what}");
        assert_eq!(
            one("--branch"),
            Some(site.spec.git.branch.as_str()),
            "{what}"
        );
        assert_eq!(one("--cluster"), Some(cluster.as_str()), "{what}");
        assert_eq!(
            one("--namespace"),
            Some(ns),
            "{what}: the inventory lives in the agent's namespace"
        );
        assert_eq!(
            one("--interval"),
            Some(settings.interval.as_str()),
            "{what}"
        );
        assert_eq!(
            one("--heartbeat"),
            Some(settings.heartbeat.as_str()),
            "{what}"
        );
        for (flag, expected) in [
            ("--allow-kind", expected_kinds(site, &cluster, hub)),
            (
                "--allow-namespace",
                places(site, &cluster, hub).into_keys().collect(),
            ),
        ] {
            let given: Vec<&str> = flags.get(flag).cloned().unwrap_or_default();
            let set: BTreeSet<String> = given.iter().map(|a| a.to_string()).collect();
            assert_eq!(given.len(), set.len(), "{what}: {flag} repeats a value");
            assert_eq!(set, expected, "{what}: {flag}");
        }

        // Volumes: a writable cache, and the git Secret, read-only, by name only.
        let volumes = pod["volumes"].as_array().unwrap();
        let mounts = c["volumeMounts"].as_array().unwrap();
        let mount_of = |volume: &Value| -> &Value {
            mounts
                .iter()
                .find(|m| m["name"] == volume["name"])
                .unwrap_or_else(|| panic!("{what}: volume {} is not mounted", volume["name"]))
        };
        let cache = one("--cache-dir").unwrap();
        let cache_volume = volumes
            .iter()
            .find(|v| mount_of(v)["mountPath"] == cache)
            .unwrap_or_else(|| panic!("{what}: nothing is mounted at --cache-dir {cache}"));
        assert!(
            cache_volume.get("emptyDir").is_some(),
            "{what}: the cache is an emptyDir"
        );
        let secrets: Vec<&Value> = volumes
            .iter()
            .filter(|v| v.get("secret").is_some())
            .collect();
        assert_eq!(secrets.len(), 1, "{what}: one Secret volume");
        let git = secrets[0];
        assert_eq!(
            git["secret"]["secretName"],
            settings.git_credentials_secret.as_str(),
            "{what}: the git credentials Secret, by name"
        );
        assert!(git["secret"].get("items").is_none(), "{what}");
        let git_mount = mount_of(git);
        assert_eq!(git_mount["readOnly"], true, "{what}");
        let git_dir = git_mount["mountPath"].as_str().unwrap();
        let (credential_flags, other_flags): (&[&str], &[&str]) = if keys == ["token"] {
            (&["--token-file"], &["--ssh-key", "--known-hosts"])
        } else {
            (&["--ssh-key", "--known-hosts"], &["--token-file"])
        };
        let mut files_used = Vec::new();
        for flag in credential_flags {
            let path = one(flag).unwrap_or_else(|| panic!("{what}: {url} needs {flag}"));
            let (parent, file) = path.rsplit_once('/').unwrap();
            assert_eq!(
                parent, git_dir,
                "{what}: {flag} {path} is in the Secret's mount"
            );
            files_used.push(file.to_string());
        }
        for flag in other_flags {
            assert_eq!(one(flag), None, "{what}: {flag} with {url}");
        }
        assert_eq!(
            files_used, keys,
            "{what}: the files read are the Secret's prerequisite keys"
        );
    }
}
