//! The agent's install manifests, one multi-document file per cluster, `agents/<cluster>.yaml`:
//! namespace, service account, RBAC granting exactly the kinds that cluster's agent manages
//! plus read access to what it observes, and the Deployment with its flags, in the order they
//! must be created. Applied once by hand (`kubectl apply -f agents/<cluster>.yaml`); the agent
//! never applies its own install file.
//!
//! One file per cluster rather than one per object: a fleet of 5,000 clusters would otherwise
//! get 40,000 install files, most of the repository's files.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::site::{AgentSettings, Site};

use super::manifest::ObjectId;

/// A kind an agent manages: API group, resource (plural) and the allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Managed {
    group: String,
    resource: String,
    kind: String,
}

/// Kinds every hub's agent may manage, whatever its role (roles change in a failover and the
/// agent must not need new permissions in the middle of one).
const HUB_KINDS: [(&str, &str, &str); 5] = [
    (
        "operator.open-cluster-management.io",
        "multiclusterhubs",
        "MultiClusterHub",
    ),
    (
        "oadp.openshift.io",
        "dataprotectionapplications",
        "DataProtectionApplication",
    ),
    (
        "cluster.open-cluster-management.io",
        "backupschedules",
        "BackupSchedule",
    ),
    ("cluster.open-cluster-management.io", "restores", "Restore"),
    (
        "addon.open-cluster-management.io",
        "managedclusteraddons",
        "ManagedClusterAddOn",
    ),
];

/// Kinds every managed cluster's agent may manage, whatever it holds now: a cluster getting its
/// first replication, or losing its last one, needs no new install (and can still prune).
const MANAGED_CLUSTER_KINDS: [(&str, &str, &str); 4] = [
    ("volsync.backube", "replicationsources", "ReplicationSource"),
    (
        "volsync.backube",
        "replicationdestinations",
        "ReplicationDestination",
    ),
    ("", "persistentvolumeclaims", "PersistentVolumeClaim"),
    ("", "namespaces", "Namespace"),
];

/// What agents read to report status and evaluate gates (and, on hubs, what a failover's
/// preflight needs: the MCE version and the Hive ClusterDeployments).
const HUB_OBSERVED: [(&str, &[&str]); 4] = [
    (
        "velero.io",
        &["backups", "backupstoragelocations", "restores"],
    ),
    ("", &["pods"]),
    ("multicluster.openshift.io", &["multiclusterengines"]),
    ("hive.openshift.io", &["clusterdeployments"]),
];

/// What a hub's agent writes on objects it does not own, to fence its hub when it is a former
/// primary and to release that fence on an abort (reconciler/src/fence.rs): the
/// disable-auto-import annotation of ManagedClusters, the observability compactor's replicas
/// (that StatefulSet only), and whether observability is installed; and, on a new primary, the
/// restart of the observability API (that Deployment only).
const HUB_FENCE_RULES: [(&str, &str, Option<&str>, &[&str]); 4] = [
    (
        "cluster.open-cluster-management.io",
        "managedclusters",
        None,
        &["get", "list", "patch"],
    ),
    (
        "apps",
        "statefulsets",
        Some("observability-thanos-compact"),
        &["get", "patch"],
    ),
    // A new primary restarts the observability API after the activation (takeover.rs).
    (
        "apps",
        "deployments",
        Some("observability-observatorium-api"),
        &["get", "patch"],
    ),
    (
        "observability.open-cluster-management.io",
        "multiclusterobservabilities",
        None,
        &["get", "list"],
    ),
];

const VOLSYNC_OBSERVED: (&str, &[&str]) = (
    "volsync.backube",
    &["replicationsources", "replicationdestinations"],
);

/// What the agent does with a managed kind: read it, server-side apply it (create or patch),
/// prune it. Nothing watches or replaces.
const MANAGE_VERBS: [&str; 5] = ["get", "list", "create", "patch", "delete"];
const READ_VERBS: [&str; 2] = ["get", "list"];

/// The path of `cluster`'s install file.
pub fn install_path(cluster: &str) -> String {
    format!("agents/{cluster}.yaml")
}

/// The install file of `cluster` (see [`install_path`]), given the objects rendered for it.
pub fn install_file(site: &Site, cluster: &str, hub: bool, objects: &[&ObjectId]) -> String {
    build(site, cluster, hub, &managed_kinds(objects, hub))
}

/// The install files of a fleet, each distinct file shape built once.
///
/// Clusters of one kind (hub or managed) whose objects are of the same kinds get the same
/// install file but for the cluster's name. So the file is built once per shape with a
/// placeholder name and copied with the cluster's name put in, when that gives exactly the
/// bytes [`install_file`] gives: the name is written as it is (a plain YAML scalar; a name like
/// `123` or `true` is quoted, and gets its own build), and the placeholder stands for nothing
/// else in the file (checked per shape by building it with a second placeholder).
pub struct InstallFiles<'a> {
    site: &'a Site,
    /// Per shape, the file cut where [`PLACEHOLDER`] stands for the cluster name, or `None` when
    /// the placeholder cannot stand for the name.
    shapes: Mutex<HashMap<Shape, Option<Arc<[String]>>>>,
}

/// Hub or not, and the kinds managed.
type Shape = (bool, BTreeSet<Managed>);

const PLACEHOLDER: &str = "hubdr-placeholder-cluster-name";
const SECOND_PLACEHOLDER: &str = "hubdr-second-placeholder";

impl<'a> InstallFiles<'a> {
    pub fn new(site: &'a Site) -> Self {
        Self {
            site,
            shapes: Mutex::new(HashMap::new()),
        }
    }

    /// The same bytes as [`install_file`].
    pub fn file(&self, cluster: &str, hub: bool, objects: &[&ObjectId]) -> String {
        let managed = managed_kinds(objects, hub);
        if !written_as_is(cluster) {
            return build(self.site, cluster, hub, &managed);
        }
        let key: Shape = (hub, managed);
        let shape = {
            let mut shapes = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
            match shapes.get(&key) {
                Some(shape) => shape.clone(),
                None => {
                    let shape = build(self.site, PLACEHOLDER, hub, &key.1);
                    let second = build(self.site, SECOND_PLACEHOLDER, hub, &key.1);
                    let shape = (shape.replace(PLACEHOLDER, SECOND_PLACEHOLDER) == second)
                        .then(|| shape.split(PLACEHOLDER).map(String::from).collect());
                    shapes.insert(key.clone(), shape.clone());
                    shape
                }
            }
        };
        let managed = key.1;
        match shape {
            // Written once, into a string of the right size.
            Some(parts) => parts.join(cluster),
            None => build(self.site, cluster, hub, &managed),
        }
    }
}

/// Whether `name` and the strings made from it (`hubdr-agent-<name>`, `agents/<name>.yaml`)
/// are written into YAML as they are, like the placeholders: a DNS-1123 label that YAML does
/// not read as a number, boolean or null.
fn written_as_is(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && crate::yaml::to_string(&Value::String(name.to_string())) == format!("{name}\n")
}

/// The kinds the agent of a cluster with `objects` manages.
fn managed_kinds(objects: &[&ObjectId], hub: bool) -> BTreeSet<Managed> {
    let mut managed: BTreeSet<Managed> = objects
        .iter()
        .map(|id| {
            let group = id
                .api_version
                .rsplit_once('/')
                .map(|(g, _)| g)
                .unwrap_or("")
                .to_string();
            Managed {
                resource: plural(&id.kind),
                kind: id.kind.clone(),
                group,
            }
        })
        .collect();
    let fixed: &[(&str, &str, &str)] = if hub {
        &HUB_KINDS
    } else {
        &MANAGED_CLUSTER_KINDS
    };
    managed.extend(fixed.iter().map(|(g, r, k)| Managed {
        group: g.to_string(),
        resource: r.to_string(),
        kind: k.to_string(),
    }));
    managed
}

fn build(site: &Site, cluster: &str, hub: bool, managed: &BTreeSet<Managed>) -> String {
    let settings = &site.spec.agent;
    let name = "hubdr-agent";
    let ns = settings.namespace.as_str();
    let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "hubdr", "hubdr.io/cluster": cluster});
    let role_name = format!("hubdr-agent-{cluster}");
    // In the order they must be created: the namespace first, the Deployment last.
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "labels": labels}}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role_name, "labels": labels},
            "rules": cluster_rules(managed, hub),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role_name, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "hubdr-agent-inventory", "namespace": ns, "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "patch", "update"]}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "hubdr-agent-inventory", "namespace": ns, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "hubdr-agent-inventory"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        }),
        deployment(site, settings, cluster, managed, &labels),
    ];
    let mut file = format!(
        "# Rendered by hubdr: install with `kubectl apply -f {}` (the agent never applies this file).\n",
        install_path(cluster)
    );
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            file.push_str("---\n");
        }
        crate::yaml::write(&mut file, object);
    }
    file
}

fn cluster_rules(managed: &BTreeSet<Managed>, hub: bool) -> Vec<Value> {
    let mut rules: Vec<Value> = Vec::new();
    let mut groups: Vec<&str> = managed.iter().map(|m| m.group.as_str()).collect();
    groups.dedup();
    for group in groups {
        let resources: Vec<&str> = managed
            .iter()
            .filter(|m| m.group == group)
            .map(|m| m.resource.as_str())
            .collect();
        rules.push(json!({"apiGroups": [group], "resources": resources, "verbs": MANAGE_VERBS}));
    }
    let mut observed: Vec<(&str, &[&str])> = vec![VOLSYNC_OBSERVED];
    if hub {
        observed.extend(HUB_OBSERVED.iter().copied());
    }
    for (group, resources) in observed {
        let unmanaged: Vec<&str> = resources
            .iter()
            .copied()
            .filter(|r| !managed.iter().any(|m| m.group == group && m.resource == *r))
            .collect();
        if !unmanaged.is_empty() {
            rules.push(json!({"apiGroups": [group], "resources": unmanaged, "verbs": READ_VERBS}));
        }
    }
    if hub {
        for (group, resource, name, verbs) in HUB_FENCE_RULES {
            let mut rule = json!({"apiGroups": [group], "resources": [resource], "verbs": verbs});
            if let Some(name) = name {
                rule["resourceNames"] = json!([name]);
            }
            rules.push(rule);
        }
    }
    rules
}

fn deployment(
    site: &Site,
    settings: &AgentSettings,
    cluster: &str,
    managed: &BTreeSet<Managed>,
    labels: &Value,
) -> Value {
    let git = &site.spec.git;
    let url = git.url.clone().unwrap_or_default();
    let mut args: Vec<String> = vec![
        "--repo".into(),
        url.clone(),
        "--branch".into(),
        git.branch.clone(),
        "--cluster".into(),
        cluster.into(),
        "--namespace".into(),
        settings.namespace.clone(),
        "--interval".into(),
        settings.interval.clone(),
        "--heartbeat".into(),
        settings.heartbeat.clone(),
        "--cache-dir".into(),
        "/var/cache/hubdr".into(),
        "--log-format".into(),
        "json".into(),
    ];
    let secret_keys = credential_keys(&url);
    if secret_keys.contains(&"token") {
        args.extend(["--token-file".into(), "/var/run/hubdr/git/token".into()]);
    } else if !secret_keys.is_empty() {
        args.extend([
            "--ssh-key".into(),
            "/var/run/hubdr/git/ssh-privatekey".into(),
            "--known-hosts".into(),
            "/var/run/hubdr/git/known_hosts".into(),
        ]);
    }
    for m in managed {
        let group = if m.group.is_empty() { "core" } else { &m.group };
        args.extend(["--allow-kind".into(), format!("{group}/{}", m.kind)]);
    }
    let mut volumes = vec![json!({"name": "cache", "emptyDir": {}})];
    let mut mounts = vec![json!({"name": "cache", "mountPath": "/var/cache/hubdr"})];
    if !secret_keys.is_empty() {
        // Readable by the agent's non-root user without an fsGroup (which OpenShift's restricted
        // SCC assigns from a per-namespace range); the container runs nothing else.
        volumes.push(json!({"name": "git", "secret": {"secretName": settings.git_credentials_secret, "defaultMode": 0o444}}));
        mounts.push(json!({"name": "git", "mountPath": "/var/run/hubdr/git", "readOnly": true}));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hubdr-agent", "namespace": settings.namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            // Never two agents of one cluster at once.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "hubdr-agent"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "hubdr-agent",
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "agent",
                        "image": settings.image,
                        "args": args,
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    })
}

/// The Secret keys the agent's git credentials need, by repository URL.
pub fn credential_keys(url: &str) -> Vec<&'static str> {
    if url.starts_with("https://") || url.starts_with("http://") {
        vec!["token"]
    } else if url.starts_with("ssh://") || url.contains('@') {
        vec!["ssh-privatekey", "known_hosts"]
    } else {
        Vec::new()
    }
}

fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::manifest::ObjectId;

    fn example_site(image: &str) -> Site {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../repos-example/site.yaml"
        ))
        .unwrap();
        let mut site = crate::site::load::load_str(&text, std::path::Path::new("site.yaml"))
            .unwrap()
            .site;
        site.spec.agent.image = image.to_string();
        site
    }

    fn id(api_version: &str, kind: &str) -> ObjectId {
        ObjectId {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: "n".into(),
        }
    }

    /// The shared-shape install files are byte for byte the directly built ones, for names that
    /// YAML writes as they are and for names it must quote, for hubs and managed clusters of
    /// several shapes, and when the site itself holds the placeholder.
    #[test]
    fn shared_shapes_give_the_direct_bytes() {
        let long = "a".repeat(63);
        let names = [
            "east-1",
            "hub-a",
            "a",
            "123",
            "0",
            "1e3",
            "1-2",
            "0x1f",
            "0o17",
            "true",
            "false",
            "null",
            "y",
            "n",
            "yes",
            "no",
            "on",
            "off",
            "inf",
            "nan",
            "e",
            "07",
            long.as_str(),
        ];
        for image in ["quay.io/hubdr/agent:1", &format!("quay.io/{PLACEHOLDER}:1")] {
            let site = example_site(image);
            let files = InstallFiles::new(&site);
            for name in names {
                let shapes: [(bool, Vec<ObjectId>); 3] = [
                    (
                        true,
                        vec![id("cluster.open-cluster-management.io/v1beta1", "Restore")],
                    ),
                    (false, vec![]),
                    (
                        false,
                        vec![
                            id("volsync.backube/v1alpha1", "ReplicationSource"),
                            id("v1", "ConfigMap"),
                        ],
                    ),
                ];
                for (hub, ids) in &shapes {
                    let refs: Vec<&ObjectId> = ids.iter().collect();
                    assert_eq!(
                        files.file(name, *hub, &refs),
                        install_file(&site, name, *hub, &refs),
                        "cluster {name:?}, hub {hub}, image {image}"
                    );
                }
            }
            // Three shapes; shared unless the site holds the placeholder.
            let shapes = files.shapes.lock().unwrap();
            assert_eq!(shapes.len(), 3);
            let shared = !image.contains(PLACEHOLDER);
            assert!(shapes.values().all(|s| s.is_some() == shared), "{image}");
        }
    }

    #[test]
    fn quoted_names_are_not_written_as_is() {
        for name in ["123", "true", "null", "1e3", "0x1f", ""] {
            assert!(!written_as_is(name), "{name}");
        }
        for name in ["east-1", "a", "hub-a"] {
            assert!(written_as_is(name), "{name}");
        }
    }

    #[test]
    fn plurals_of_rendered_kinds() {
        assert_eq!(plural("ReplicationSource"), "replicationsources");
        assert_eq!(plural("MultiClusterHub"), "multiclusterhubs");
        assert_eq!(plural("Namespace"), "namespaces");
        assert_eq!(plural("PersistentVolumeClaim"), "persistentvolumeclaims");
    }
}
