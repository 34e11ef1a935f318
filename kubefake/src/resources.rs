//! The kinds the server serves: built-ins and custom resources.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// One served version of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// Version name, e.g. `v1beta1`.
    pub name: String,
    /// Whether objects are stored in this version (informational only: kubefake stores
    /// one copy per object and relabels `apiVersion`, it does not convert).
    pub storage: bool,
    /// Whether the `status` subresource is enabled.
    pub status_subresource: bool,
    /// `openAPIV3Schema` used for pruning, defaulting and validation (custom resources only).
    pub schema: Option<Value>,
    /// Schema used only to find list types (`x-kubernetes-list-type`) for server-side apply.
    pub structure: Option<Value>,
}

/// A served kind: group, versions, names and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInfo {
    /// API group (`""` for the core group).
    pub group: String,
    /// Served versions, in the order they were declared.
    pub versions: Vec<VersionInfo>,
    /// Kind, e.g. `Restore`.
    pub kind: String,
    /// Plural resource name, e.g. `restores`.
    pub plural: String,
    /// Singular resource name, e.g. `restore`.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names for discovery.
    pub short_names: Vec<String>,
    /// Categories for discovery.
    pub categories: Vec<String>,
}

/// Verbs announced in discovery for every resource.
pub const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceInfo {
    /// The version entry for `version`, if served.
    pub fn version(&self, version: &str) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.name == version)
    }

    /// The storage version (or the first served one).
    pub fn storage_version(&self) -> &VersionInfo {
        self.versions
            .iter()
            .find(|v| v.storage)
            .unwrap_or(&self.versions[0])
    }

    /// `group/version` for `version`, or just `version` in the core group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Whether `version` (or the storage version when unknown) has a status subresource.
    pub fn has_status(&self, version: &str) -> bool {
        self.version(version)
            .unwrap_or_else(|| self.storage_version())
            .status_subresource
    }

    /// A namespaced `v1` resource of `group` without a schema, with a status subresource: a
    /// built-in kind a test serves that the fake does not by default (batch Jobs, Pods, ...).
    pub fn namespaced_v1(group: &str, kind: &str, plural: &str) -> Self {
        Self::builtin(group, "v1", kind, plural, true, true, None)
    }

    fn builtin(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        status: bool,
        structure: Option<Value>,
    ) -> Self {
        ResourceInfo {
            group: group.to_string(),
            versions: vec![VersionInfo {
                name: version.to_string(),
                storage: true,
                status_subresource: status,
                schema: None,
                structure,
            }],
            kind: kind.to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
        }
    }
}

/// Identifies a resource inside the store: group and plural.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResKey {
    /// API group.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
}

impl ResKey {
    /// The key of `info`.
    pub fn of(info: &ResourceInfo) -> Self {
        ResKey {
            group: info.group.clone(),
            plural: info.plural.clone(),
        }
    }
}

/// The set of served kinds plus the kinds a test marked as missing.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    resources: Vec<ResourceInfo>,
    missing: BTreeSet<(String, String)>,
}

impl Registry {
    /// A registry with the built-in kinds kubefake serves.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        for info in builtins() {
            r.upsert(info);
        }
        r
    }

    /// Adds `info`, replacing a kind with the same group and plural.
    pub fn upsert(&mut self, info: ResourceInfo) {
        match self
            .resources
            .iter_mut()
            .find(|r| r.group == info.group && r.plural == info.plural)
        {
            Some(slot) => *slot = info,
            None => self.resources.push(info),
        }
    }

    /// Removes the kind with `group` and `plural`.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.resources
            .retain(|r| !(r.group == group && r.plural == plural));
    }

    /// Marks a kind (by group and kind, or plural) missing or present again.
    pub fn set_missing(&mut self, group: &str, kind: &str, missing: bool) {
        let key = (group.to_string(), kind.to_lowercase());
        if missing {
            self.missing.insert(key);
        } else {
            self.missing.remove(&key);
        }
    }

    fn is_missing(&self, info: &ResourceInfo) -> bool {
        self.missing
            .contains(&(info.group.clone(), info.kind.to_lowercase()))
            || self
                .missing
                .contains(&(info.group.clone(), info.plural.clone()))
    }

    /// Served kinds, in registration order, without the missing ones.
    pub fn visible(&self) -> impl Iterator<Item = &ResourceInfo> {
        self.resources.iter().filter(|r| !self.is_missing(r))
    }

    /// The visible kind serving `group/version` under `plural`.
    pub fn by_plural(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceInfo> {
        self.visible()
            .find(|r| r.group == group && r.plural == plural && r.version(version).is_some())
    }

    /// The visible kind `kind` in `group` (any version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&ResourceInfo> {
        self.visible().find(|r| r.group == group && r.kind == kind)
    }

    /// The kind with group and plural, visible or not.
    pub fn by_key(&self, key: &ResKey) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == key.group && r.plural == key.plural)
    }
}

fn map_list(keys: &[&str], item_props: Value) -> Value {
    json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": keys,
        "items": {"type": "object", "properties": item_props},
    })
}

fn pod_spec_structure() -> Value {
    let container = json!({
        "env": map_list(&["name"], json!({})),
        // The key includes protocol, which defaults to TCP (also for an applied port).
        "ports": map_list(&["containerPort", "protocol"],
            json!({"protocol": {"type": "string", "default": "TCP"}})),
        "volumeMounts": map_list(&["mountPath"], json!({})),
    });
    json!({"type": "object", "properties": {
        "nodeSelector": {"type": "object", "x-kubernetes-map-type": "atomic"},
        "containers": map_list(&["name"], container.clone()),
        "initContainers": map_list(&["name"], container),
        "volumes": map_list(&["name"], json!({})),
        "imagePullSecrets": map_list(&["name"], json!({})),
    }})
}

/// The built-in kinds: core v1, rbac, apps/v1 Deployment and CRDs.
pub fn builtins() -> Vec<ResourceInfo> {
    // LabelSelector is atomic: a second applier of the selector conflicts.
    let deployment = json!({"type": "object", "properties": {"spec": {"type": "object",
        "properties": {
            "selector": {"type": "object", "x-kubernetes-map-type": "atomic"},
            "template": {"type": "object", "properties": {"spec": pod_spec_structure()}}}}}});
    let b = ResourceInfo::builtin;
    let mut list = vec![
        b("", "v1", "Namespace", "namespaces", false, true, None),
        b("", "v1", "ConfigMap", "configmaps", true, false, None),
        b("", "v1", "Secret", "secrets", true, false, None),
        b(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            true,
            None,
        ),
        b(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            false,
            None,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            false,
            None,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            false,
            None,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            false,
            None,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            false,
            None,
        ),
        b(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            true,
            Some(deployment),
        ),
        b(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            true,
            None,
        ),
    ];
    for (info, short) in list
        .iter_mut()
        .zip(["ns", "cm", "", "pvc", "sa", "", "", "", "", "deploy", "crd"])
    {
        if !short.is_empty() {
            info.short_names.push(short.to_string());
        }
    }
    // ConfigMap's schema is small enough to declare whole, so an apply with a field it
    // does not have is rejected like kube-apiserver does.
    let config_map = json!({"type": "object", "properties": {
        "data": {"type": "object", "additionalProperties": {"type": "string"}},
        "binaryData": {"type": "object", "additionalProperties": {"type": "string"}},
        "immutable": {"type": "boolean"}}});
    if let Some(cm) = list.iter_mut().find(|i| i.kind == "ConfigMap") {
        cm.versions[0].schema = Some(config_map.clone());
        cm.versions[0].structure = Some(config_map);
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_kinds_are_hidden_and_can_come_back() {
        let mut r = Registry::with_builtins();
        assert!(r.by_plural("apps", "v1", "deployments").is_some());
        r.set_missing("apps", "Deployment", true);
        assert!(r.by_plural("apps", "v1", "deployments").is_none());
        assert!(r.by_kind("apps", "Deployment").is_none());
        r.set_missing("apps", "Deployment", false);
        assert!(r.by_kind("apps", "Deployment").is_some());
    }

    #[test]
    fn unknown_version_is_not_served() {
        let r = Registry::with_builtins();
        assert!(r.by_plural("", "v2", "configmaps").is_none());
        assert_eq!(r.by_kind("", "ConfigMap").unwrap().api_version("v1"), "v1");
    }
}
