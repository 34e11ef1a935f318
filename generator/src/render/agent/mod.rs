//! The agent's install manifests, one multi-document file per cluster, `agents/<cluster>.yaml`:
//! namespace, service account, RBAC granting what that cluster's agent may do (see
//! [`super::access`]: hubdr's fixed kinds for its side plus the site's reviewed
//! `spec.agent.extraKinds`, in the namespaces the site renders into for it, never derived from
//! the rendered objects) and the Deployment with the same kinds and namespaces as
//! `--allow-kind` / `--allow-namespace` flags, in the order they must be created. Applied once by
//! hand (`kubectl apply -f agents/<cluster>.yaml`); the agent never applies its own install file.
//!
//! The RBAC:
//! - ClusterRole `hubdr-agent-<cluster>` (bound cluster-wide): only cluster-scoped kinds (the
//!   Namespaces the agent uses, by name, get/create/patch and never delete; cluster-scoped extra
//!   kinds) and the reads the agent makes across namespaces (VolSync status).
//! - Role `hubdr-agent-<cluster>` and its RoleBinding in each namespace the agent uses, with
//!   what it does there: a MultiClusterHub and a DataProtectionApplication are applied, never
//!   deleted (shared singletons); PersistentVolumeClaims are deleted only where hubdr renders
//!   them; the backup namespace also gets the reads of Velero objects and pods.
//! - The inventory Role in the agent's own namespace.
//!
//! A hub manages one `volsync` ManagedClusterAddOn in the namespace of each participating
//! managed cluster: with 5,000 managed clusters, 5,000 namespaces. A Role and a RoleBinding in
//! each would be 10,000 objects; instead one ClusterRole `hubdr-agent-<cluster>-addons`, bound by
//! a RoleBinding in each of those namespaces (a ClusterRole bound by a RoleBinding grants only
//! inside that namespace), so each namespace costs one RoleBinding of about 400 bytes (about
//! 2.4 MB per hub install file, applied once) plus its `--allow-namespace` argument. Binding the
//! add-on role cluster-wide would be smaller but would let a hub's agent write add-ons into any
//! namespace, which is exactly the boundary this file draws.
//!
//! One file per cluster rather than one per object: a fleet of 5,000 clusters would otherwise
//! get tens of thousands of install files, most of the repository's files.

pub mod fixed;
mod rbac;
mod shapes;

use serde_json::{json, Value};

use crate::site::{AgentSettings, Site};

use super::access::{ClusterAccess, ETCD_SCC_CLUSTER_ROLE};

pub use shapes::InstallFiles;

/// The path of `cluster`'s install file.
pub fn install_path(cluster: &str) -> String {
    format!("agents/{cluster}.yaml")
}

/// The install file of `cluster` (see [`install_path`]), given what its agent may do.
pub fn install_file(site: &Site, cluster: &str, access: &ClusterAccess) -> String {
    let names: Vec<&str> = access.namespace_names().collect();
    build(site, cluster, access, &names)
}

/// The install file of `cluster`, with `names[i]` written for the `i`-th namespace of
/// `access` (the real names, or placeholders: see [`shapes`]). Nothing here sorts by name, so
/// placeholders in the real names' places give the same file but for the names.
fn build(site: &Site, cluster: &str, access: &ClusterAccess, names: &[&str]) -> String {
    let settings = &site.spec.agent;
    let name = "hubdr-agent";
    let ns = settings.namespace.as_str();
    let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "hubdr", "hubdr.io/cluster": cluster});
    let role_name = format!("hubdr-agent-{cluster}");
    let addons_name = format!("hubdr-agent-{cluster}-addons");
    let subjects = json!([{"kind": "ServiceAccount", "name": name, "namespace": ns}]);
    let binding = |kind: &str,
                   binding: &str,
                   namespace: Option<&str>,
                   role_kind: &str,
                   role: &str| {
        let mut metadata = json!({"name": binding});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        metadata["labels"] = labels.clone();
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": subjects,
        })
    };
    // In the order they must be created: the namespace first, the Deployment last.
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "labels": labels}}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role_name, "labels": labels},
            "rules": cluster_rules(access, names, fixed::decommissioned(site, cluster)),
        }),
        binding(
            "ClusterRoleBinding",
            &role_name,
            None,
            "ClusterRole",
            &role_name,
        ),
    ];
    if access.namespaces.values().any(|g| g.etcd_backup) {
        // Bound by the etcd backup's RoleBinding (rendered in the cluster's directory) to its
        // ServiceAccount: `oc debug node` needs the privileged SCC.
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": ETCD_SCC_CLUSTER_ROLE, "labels": labels},
            "rules": [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"], "resourceNames": ["privileged"], "verbs": ["use"]}],
        }));
    }
    let has_addons = access.namespaces.values().any(|g| g.addons);
    if has_addons {
        // Bound only by the RoleBindings below, one per add-on namespace.
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": addons_name, "labels": labels},
            "rules": rbac::rules(&access.addon_role),
        }));
    }
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "hubdr-agent-inventory", "namespace": ns, "labels": labels},
        "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "patch", "update"]},
            // The agent's status signing key: created once by the agent, then only read.
            // (Kubernetes cannot restrict `create` by name.)
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [crate::status::status_key_secret(cluster)], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        ],
    }));
    objects.push(binding(
        "RoleBinding",
        "hubdr-agent-inventory",
        Some(ns),
        "Role",
        "hubdr-agent-inventory",
    ));
    for (grant, namespace) in access.namespaces.values().zip(names) {
        if !grant.role.is_empty() {
            let mut rules = rbac::rules(&grant.role);
            if !grant.read_secrets.is_empty() {
                rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": grant.read_secrets, "verbs": ["get"]}));
            }
            if grant.etcd_backup {
                // The RoleBinding of the etcd backup binds this ClusterRole, and only it.
                rules.push(json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": [ETCD_SCC_CLUSTER_ROLE], "verbs": ["bind"]}));
            }
            objects.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": role_name, "namespace": namespace, "labels": labels},
                "rules": rules,
            }));
            objects.push(binding(
                "RoleBinding",
                &role_name,
                Some(namespace),
                "Role",
                &role_name,
            ));
        }
        if grant.addons {
            objects.push(binding(
                "RoleBinding",
                &addons_name,
                Some(namespace),
                "ClusterRole",
                &addons_name,
            ));
        }
    }
    if access.hub {
        // The failover steps' fixed operations by name (see [`fixed`]).
        let failover_name = format!("hubdr-agent-{cluster}-failover");
        for (namespace, rules) in fixed::named_rules(site.spec.acm()) {
            objects.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": failover_name, "namespace": namespace, "labels": labels},
                "rules": rules,
            }));
            objects.push(binding(
                "RoleBinding",
                &failover_name,
                Some(namespace),
                "Role",
                &failover_name,
            ));
        }
    }
    objects.push(deployment(site, settings, cluster, access, names, &labels));
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

/// The ClusterRole's rules: what [`rbac::cluster_rules`] gives, and on hubs the failover steps'
/// cluster-wide fixed operations.
fn cluster_rules(access: &ClusterAccess, names: &[&str], decommissioned: bool) -> Vec<Value> {
    let mut rules = rbac::cluster_rules(access, names);
    if access.hub {
        rules.extend(fixed::cluster_rules());
        if decommissioned {
            rules.push(fixed::detach_rule());
        }
    }
    rules
}

fn deployment(
    site: &Site,
    settings: &AgentSettings,
    cluster: &str,
    access: &ClusterAccess,
    names: &[&str],
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
    for k in &access.kinds {
        args.extend(["--allow-kind".into(), k.allow_kind()]);
    }
    for namespace in names {
        args.extend(["--allow-namespace".into(), namespace.to_string()]);
    }
    for h in &access.hcp_snapshots {
        args.extend(["--hcp-snapshot".into(), h.clone()]);
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
