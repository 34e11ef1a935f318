//! The agent's install manifests, one multi-document file per cluster, `agents/<cluster>.yaml`:
//! namespace, service account, RBAC granting exactly the kinds that cluster's agent manages
//! plus read access to what it observes, and the Deployment with its flags, in the order they
//! must be created. Applied once by hand (`kubectl apply -f agents/<cluster>.yaml`); the agent
//! never applies its own install file.
//!
//! One file per cluster rather than one per object: a fleet of 5,000 clusters would otherwise
//! get 40,000 install files, most of the repository's files.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::site::{AgentSettings, Site};

use super::manifest::Manifest;

/// A kind an agent manages: API group, resource (plural) and the allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// What agents read to report status and evaluate gates.
const HUB_OBSERVED: [(&str, &[&str]); 2] = [
    (
        "velero.io",
        &["backups", "backupstoragelocations", "restores"],
    ),
    ("", &["pods"]),
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
pub fn install_file(site: &Site, cluster: &str, hub: bool, manifests: &[&Manifest]) -> String {
    let settings = &site.spec.agent;
    let mut managed: BTreeSet<Managed> = manifests
        .iter()
        .map(|m| {
            let group =
                m.id.api_version
                    .rsplit_once('/')
                    .map(|(g, _)| g)
                    .unwrap_or("")
                    .to_string();
            Managed {
                resource: plural(&m.id.kind),
                kind: m.id.kind.clone(),
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
            "rules": cluster_rules(&managed, hub),
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
        deployment(site, settings, cluster, &managed, &labels),
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

    #[test]
    fn plurals_of_rendered_kinds() {
        assert_eq!(plural("ReplicationSource"), "replicationsources");
        assert_eq!(plural("MultiClusterHub"), "multiclusterhubs");
        assert_eq!(plural("Namespace"), "namespaces");
        assert_eq!(plural("PersistentVolumeClaim"), "persistentvolumeclaims");
    }
}
