//! The agent's own configuration: which kinds it may manage. It comes from flags or a config
//! file, never from the repository it applies.

use std::collections::BTreeSet;
use std::path::Path;

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
        let starts_upper = kind.chars().next().is_some_and(|c| c.is_ascii_uppercase());
        if group.is_empty() || !starts_upper || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("{text:?} is not group/Kind: the kind is CamelCase, e.g. core/PersistentVolumeClaim"));
        }
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

/// Every kind `hubdr render` emits into a cluster directory: the default allowlist.
pub const DEFAULT_ALLOWED: [&str; 9] = [
    "operator.open-cluster-management.io/MultiClusterHub",
    "oadp.openshift.io/DataProtectionApplication",
    "cluster.open-cluster-management.io/BackupSchedule",
    "cluster.open-cluster-management.io/Restore",
    "addon.open-cluster-management.io/ManagedClusterAddOn",
    "volsync.backube/ReplicationSource",
    "volsync.backube/ReplicationDestination",
    "core/PersistentVolumeClaim",
    "core/Namespace",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist(BTreeSet<AllowedKind>);

impl Allowlist {
    pub fn new(kinds: &[String]) -> Result<Self, String> {
        kinds
            .iter()
            .map(|k| AllowedKind::parse(k))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn default_kinds() -> Self {
        Self(
            DEFAULT_ALLOWED
                .iter()
                .map(|k| AllowedKind::parse(k).expect("valid defaults"))
                .collect(),
        )
    }

    pub fn allows(&self, api_version: &str, kind: &str) -> bool {
        self.0.contains(&AllowedKind::of(api_version, kind))
    }

    pub fn kinds(&self) -> impl Iterator<Item = &AllowedKind> {
        self.0.iter()
    }
}

/// The optional config file (`--config FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub allow_kinds: Vec<String>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        serde_yaml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }
}

/// The allowlist from flags, else the config file, else the defaults.
pub fn allowlist(flags: &[String], file: Option<&ConfigFile>) -> Result<Allowlist, String> {
    if !flags.is_empty() {
        return Allowlist::new(flags);
    }
    match file {
        Some(f) if !f.allow_kinds.is_empty() => Allowlist::new(&f.allow_kinds),
        _ => Ok(Allowlist::default_kinds()),
    }
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
        };
        assert!(allowlist(&[], Some(&file))
            .unwrap()
            .allows("v1", "ConfigMap"));
        assert!(!allowlist(&["core/Secret".into()], Some(&file))
            .unwrap()
            .allows("v1", "ConfigMap"));
        assert!(allowlist(&[], None)
            .unwrap()
            .allows("cluster.open-cluster-management.io/v1beta1", "Restore"));
    }
}
