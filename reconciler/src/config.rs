//! The agent's own configuration: which kinds it may manage and in which namespaces. It comes
//! from flags or a config file, never from the repository it applies.

use std::collections::BTreeSet;
use std::path::Path;

use hubdr_core::kinds;
use hubdr_core::object::ObjectId;
use serde::Deserialize;

/// A kind the agent may apply and prune, as `group/Kind` (`core/Namespace` for the core group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AllowedKind {
    pub group: String,
    pub kind: String,
}

impl AllowedKind {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (group, kind) = text
            .rsplit_once('/')
            .ok_or_else(|| format!("{text:?} is not group/Kind: write e.g. cluster.open-cluster-management.io/Restore or core/Namespace"))?;
        if group.is_empty() || kinds::check_kind_name(kind).is_err() {
            return Err(format!("{text:?} is not group/Kind: the kind is CamelCase, e.g. core/PersistentVolumeClaim"));
        }
        kinds::check_group(group).map_err(|e| format!("{text:?}: {e}"))?;
        let group = if group == "core" {
            String::new()
        } else {
            group.to_string()
        };
        Ok(Self {
            group,
            kind: kind.to_string(),
        })
    }

    /// The group of an `apiVersion` such as `volsync.backube/v1alpha1` (`v1` is the core group).
    pub fn of(api_version: &str, kind: &str) -> Self {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        Self {
            group: group.to_string(),
            kind: kind.to_string(),
        }
    }
}

impl std::fmt::Display for AllowedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{group}/{}", self.kind)
    }
}

/// Every kind `hubdr render` emits into a cluster directory (`hubdr_core::kinds::RENDERED`): the
/// default allowlist, as `group/Kind`.
pub fn default_allowed() -> Vec<String> {
    kinds::RENDERED.iter().map(|k| k.allow_kind()).collect()
}

/// The namespaces the agent may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// Exactly these (`--allow-namespace`, as `agents/<cluster>.yaml` gives them).
    Listed(BTreeSet<String>),
    /// None listed: every namespace but the protected ones (`kube-*`, `openshift`,
    /// `openshift-*`, `default`), which an agent uses only when its configuration lists them.
    Unlisted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    kinds: BTreeSet<AllowedKind>,
    namespaces: Namespaces,
}

impl Allowlist {
    /// `kinds` in any namespace but the protected ones.
    pub fn new(kinds: &[String]) -> Result<Self, String> {
        let kinds = kinds
            .iter()
            .map(|k| AllowedKind::parse(k))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kinds,
            namespaces: Namespaces::Unlisted,
        })
    }

    pub fn default_kinds() -> Self {
        Self::new(&default_allowed()).expect("valid defaults")
    }

    /// The same kinds, in exactly `namespaces` (DNS-1123 labels); none listed leaves every
    /// namespace but the protected ones.
    pub fn with_namespaces(mut self, namespaces: &[String]) -> Result<Self, String> {
        if namespaces.is_empty() {
            self.namespaces = Namespaces::Unlisted;
            return Ok(self);
        }
        for ns in namespaces {
            hubdr_core::units::check_dns1123_label(ns)?;
        }
        self.namespaces = Namespaces::Listed(namespaces.iter().cloned().collect());
        Ok(self)
    }

    pub fn allows(&self, api_version: &str, kind: &str) -> bool {
        self.kinds.contains(&AllowedKind::of(api_version, kind))
    }

    pub fn allows_namespace(&self, namespace: &str) -> bool {
        match &self.namespaces {
            Namespaces::Listed(list) => list.contains(namespace),
            Namespaces::Unlisted => !kinds::is_protected_namespace(namespace),
        }
    }

    /// Why the agent may not touch `id`: its kind is not allowed, or the namespace it is in (or
    /// the Namespace it is) is not. `None` when it may.
    pub fn refusal(&self, id: &ObjectId) -> Option<String> {
        if !self.allows(&id.api_version, &id.kind) {
            return Some(format!(
                "{} is not in this agent's allowlist (its own --allow-kind / config file; the repository cannot extend it)",
                AllowedKind::of(&id.api_version, &id.kind)
            ));
        }
        let namespace_object =
            id.kind == "Namespace" && kinds::group_of(&id.api_version).is_empty();
        let places = id
            .namespace
            .iter()
            .chain(namespace_object.then_some(&id.name));
        for ns in places {
            if self.allows_namespace(ns) {
                continue;
            }
            return Some(match &self.namespaces {
                Namespaces::Listed(_) => format!(
                    "namespace {ns} is outside this agent's namespaces (its own --allow-namespace / config file; the repository cannot extend them)"
                ),
                Namespaces::Unlisted => format!(
                    "namespace {ns} is protected (kube-*, openshift-*, default): this agent uses it only when its own --allow-namespace / config file lists it"
                ),
            });
        }
        None
    }

    pub fn kinds(&self) -> impl Iterator<Item = &AllowedKind> {
        self.kinds.iter()
    }

    pub fn namespaces(&self) -> &Namespaces {
        &self.namespaces
    }
}

/// The optional config file (`--config FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub allow_kinds: Vec<String>,
    #[serde(default)]
    pub allow_namespaces: Vec<String>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        serde_yaml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }
}

/// The allowlist from flags, else the config file, else the defaults: kinds and namespaces
/// each on their own (`--allow-namespace` wins over the file's `allowNamespaces`, and so on).
pub fn allowlist(
    kind_flags: &[String],
    namespace_flags: &[String],
    file: Option<&ConfigFile>,
) -> Result<Allowlist, String> {
    let kinds = if !kind_flags.is_empty() {
        Allowlist::new(kind_flags).map_err(|e| format!("--allow-kind: {e}"))?
    } else {
        match file {
            Some(f) if !f.allow_kinds.is_empty() => {
                Allowlist::new(&f.allow_kinds).map_err(|e| format!("allowKinds: {e}"))?
            }
            _ => Allowlist::default_kinds(),
        }
    };
    if !namespace_flags.is_empty() {
        return kinds
            .with_namespaces(namespace_flags)
            .map_err(|e| format!("--allow-namespace: {e}"));
    }
    let listed = file.map_or(&[][..], |f| &f.allow_namespaces[..]);
    kinds
        .with_namespaces(listed)
        .map_err(|e| format!("allowNamespaces: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_kinds() {
        let list = Allowlist::new(&[
            "core/Namespace".into(),
            "volsync.backube/ReplicationSource".into(),
        ])
        .unwrap();
        assert!(list.allows("v1", "Namespace"));
        assert!(list.allows("volsync.backube/v1alpha1", "ReplicationSource"));
        assert!(!list.allows("v1", "Secret"));
        assert!(!list.allows("rbac.authorization.k8s.io/v1", "ClusterRole"));
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(AllowedKind::parse("Namespace").is_err());
        assert!(AllowedKind::parse("core/namespace").is_err());
        assert!(AllowedKind::parse("/Restore").is_err());
    }

    #[test]
    fn flags_win_over_file_over_defaults() {
        let file = ConfigFile {
            allow_kinds: vec!["core/ConfigMap".into()],
            allow_namespaces: vec!["shop".into()],
        };
        let from_file = allowlist(&[], &[], Some(&file)).unwrap();
        assert!(from_file.allows("v1", "ConfigMap"));
        assert!(from_file.allows_namespace("shop"));
        assert!(!from_file.allows_namespace("tools"));
        let flags = allowlist(&["core/Secret".into()], &["tools".into()], Some(&file)).unwrap();
        assert!(!flags.allows("v1", "ConfigMap"));
        assert!(flags.allows_namespace("tools"));
        assert!(!flags.allows_namespace("shop"));
        let defaults = allowlist(&[], &[], None).unwrap();
        assert!(defaults.allows("cluster.open-cluster-management.io/v1beta1", "Restore"));
        assert_eq!(defaults.namespaces(), &Namespaces::Unlisted);
        assert_eq!(defaults.kinds().count(), hubdr_core::kinds::RENDERED.len());
    }

    #[test]
    fn bad_namespaces_are_refused_naming_their_source() {
        let e = allowlist(&[], &["Shop".into()], None).unwrap_err();
        assert!(e.starts_with("--allow-namespace: "), "{e}");
        let file = ConfigFile {
            allow_kinds: vec![],
            allow_namespaces: vec!["a/b".into()],
        };
        let e = allowlist(&[], &[], Some(&file)).unwrap_err();
        assert!(e.starts_with("allowNamespaces: "), "{e}");
        assert!(allowlist(&["core/secret".into()], &[], None)
            .unwrap_err()
            .starts_with("--allow-kind: "));
    }

    fn id(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn namespaces_bound_objects_and_namespace_objects() {
        let rs = |ns: &str| {
            id(
                "volsync.backube/v1alpha1",
                "ReplicationSource",
                Some(ns),
                "db",
            )
        };
        let namespace = |name: &str| id("v1", "Namespace", None, name);
        let unlisted = Allowlist::default_kinds();
        for protected in [
            "kube-system",
            "kube-public",
            "openshift-config",
            "openshift",
            "default",
        ] {
            let refusal = unlisted.refusal(&rs(protected)).unwrap();
            assert!(refusal.contains("protected"), "{refusal}");
            assert!(unlisted.refusal(&namespace(protected)).is_some());
        }
        assert_eq!(unlisted.refusal(&rs("shop")), None);
        assert_eq!(unlisted.refusal(&namespace("shop")), None);

        let listed = Allowlist::default_kinds()
            .with_namespaces(&["shop".into(), "openshift-adp".into()])
            .unwrap();
        assert_eq!(listed.refusal(&rs("shop")), None);
        assert_eq!(
            listed.refusal(&rs("openshift-adp")),
            None,
            "listed explicitly"
        );
        for outside in ["tools", "kube-system", "default"] {
            let refusal = listed.refusal(&rs(outside)).unwrap();
            assert!(refusal.contains("--allow-namespace"), "{refusal}");
            assert!(listed.refusal(&namespace(outside)).is_some());
        }
        // A cluster-scoped kind other than Namespace has no namespace to check.
        let kinds = Allowlist::new(&["storage.k8s.io/StorageClass".into()]).unwrap();
        assert_eq!(
            kinds.refusal(&id("storage.k8s.io/v1", "StorageClass", None, "x")),
            None
        );
        // The kind is checked first.
        assert!(listed
            .refusal(&id("v1", "Secret", Some("shop"), "x"))
            .unwrap()
            .contains("allowlist"));
    }
}
