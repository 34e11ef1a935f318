//! The hub's ManagedClusters (objects hubdr does not own): read for the fence and for the
//! verification of a takeover, and annotated `import.open-cluster-management.io/disable-auto-import`
//! on a fenced hub so that it does not try to take its clusters back. The annotation is set by
//! server-side apply as field manager [`FENCE_MANAGER`], apart from everyone else's fields, and
//! released by an apply of nothing as that manager.

use hubdr_core::api_url::{ApiUrl, UNUSABLE};
use hubdr_core::object::ObjectId;
use hubdr_core::status::ManagedClustersObservation;
use kube::api::DynamicObject;
use serde_json::{json, Value};

use crate::kubeapi::{CallError, ClusterApi};

pub const API_VERSION: &str = "cluster.open-cluster-management.io/v1";
pub const KIND: &str = "ManagedCluster";
pub const DISABLE_AUTO_IMPORT: &str = "import.open-cluster-management.io/disable-auto-import";
/// The field manager of everything the fence sets on objects hubdr does not own.
pub const FENCE_MANAGER: &str = "hubdr-fence";
/// The most names a message lists.
const NAMES_SHOWN: usize = 10;

/// One ManagedCluster, as the agent reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedClusterState {
    pub name: String,
    /// The hub itself (`local-cluster`): never fenced, never waited for.
    pub local: bool,
    pub disable_auto_import: bool,
    /// The fence's field manager owns fields of it (the annotation).
    pub fence_owned: bool,
    /// `ManagedClusterJoined`: `Some(true)` when True.
    pub joined: Option<bool>,
    /// `ManagedClusterConditionAvailable`.
    pub available: Option<bool>,
    /// `spec.managedClusterClientConfigs[].url`, as [`ApiUrl::report`] writes them (the first
    /// [`ManagedClustersObservation::URLS_PER_CLUSTER`]; nothing else of the client configs).
    pub client_config_urls: Vec<String>,
}

impl ManagedClusterState {
    pub fn of(object: &DynamicObject) -> Self {
        let name = object.metadata.name.clone().unwrap_or_default();
        let labels = object.metadata.labels.clone().unwrap_or_default();
        let annotations = object.metadata.annotations.clone().unwrap_or_default();
        let conditions = object
            .data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let condition = |kind: &str| {
            conditions
                .iter()
                .find(|c| c["type"] == kind)
                .map(|c| c["status"] == "True")
        };
        ManagedClusterState {
            local: name == "local-cluster"
                || labels.get("local-cluster").map(String::as_str) == Some("true"),
            disable_auto_import: annotations.contains_key(DISABLE_AUTO_IMPORT),
            fence_owned: fence_owned(object),
            joined: condition("ManagedClusterJoined"),
            available: condition("ManagedClusterConditionAvailable"),
            client_config_urls: client_config_urls(&object.data),
            name,
        }
    }

    /// Joined and Available.
    pub fn is_ready(&self) -> bool {
        self.joined == Some(true) && self.available == Some(true)
    }

    fn id(&self) -> ObjectId {
        ObjectId {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            namespace: None,
            name: self.name.clone(),
        }
    }
}

/// The URLs of a ManagedCluster's client configs, bounded: an API response is untrusted.
fn client_config_urls(data: &Value) -> Vec<String> {
    let Some(configs) = data
        .pointer("/spec/managedClusterClientConfigs")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    configs
        .iter()
        .take(ManagedClustersObservation::URLS_PER_CLUSTER)
        .map(|c| match c.get("url").and_then(Value::as_str) {
            Some(url) => ApiUrl::report(url),
            None => format!("{UNUSABLE}no url string)"),
        })
        .collect()
}

/// Whether the fence's field manager owns fields of `object`.
pub fn fence_owned(object: &DynamicObject) -> bool {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|f| f.manager.as_deref() == Some(FENCE_MANAGER))
}

/// Every ManagedCluster of the hub (none when the kind is not served).
pub async fn list(api: &mut ClusterApi) -> Result<Vec<ManagedClusterState>, CallError> {
    let mut out: Vec<ManagedClusterState> = api
        .list(API_VERSION, KIND, None, None)
        .await?
        .iter()
        .map(ManagedClusterState::of)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Annotate every ManagedCluster but the hub's own with disable-auto-import. Returns problems.
pub async fn disable_auto_import(api: &mut ClusterApi) -> Vec<String> {
    let clusters = match list(api).await {
        Ok(c) => c,
        Err(e) => {
            return vec![format!(
            "this hub is fenced but its ManagedClusters cannot be listed ({e}); retrying next pass"
        )]
        }
    };
    let mut failed = Vec::new();
    let mut annotated = 0;
    for c in clusters
        .iter()
        .filter(|c| !c.local && !c.disable_auto_import)
    {
        let patch = json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": c.name, "annotations": {DISABLE_AUTO_IMPORT: ""}},
        });
        match api.apply_as(&c.id(), &patch, FENCE_MANAGER, true).await {
            Ok(_) => annotated += 1,
            Err(CallError::NotFound(_)) => {}
            Err(e) => failed.push(format!("{} ({e})", c.name)),
        }
    }
    if annotated > 0 {
        tracing::info!(
            annotated,
            "fence: ManagedClusters annotated {DISABLE_AUTO_IMPORT}"
        );
    }
    if failed.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "this hub is fenced, but annotating {} ManagedCluster(s) {DISABLE_AUTO_IMPORT} failed: {}; retrying next pass",
        failed.len(),
        shown(&failed)
    )]
}

/// Remove the fence's annotation (release its field manager's fields) from every ManagedCluster
/// it annotated. Returns problems.
pub async fn release(api: &mut ClusterApi, clusters: &[ManagedClusterState]) -> Vec<String> {
    let mut failed = Vec::new();
    for c in clusters.iter().filter(|c| c.fence_owned) {
        let patch = json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": c.name}});
        match api.apply_as(&c.id(), &patch, FENCE_MANAGER, true).await {
            Ok(_) | Err(CallError::NotFound(_)) => {}
            Err(e) => failed.push(format!("{} ({e})", c.name)),
        }
    }
    if failed.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "removing {DISABLE_AUTO_IMPORT} from {} ManagedCluster(s) failed: {}; retrying next pass",
        failed.len(),
        shown(&failed)
    )]
}

/// The hub's ManagedClusters (but its own) as the status reports them; `None` without any.
pub fn summary(clusters: &[ManagedClusterState]) -> Option<ManagedClustersObservation> {
    let remote: Vec<&ManagedClusterState> = clusters.iter().filter(|c| !c.local).collect();
    if remote.is_empty() {
        return None;
    }
    let names = |f: &dyn Fn(&ManagedClusterState) -> bool| -> Vec<String> {
        remote
            .iter()
            .filter(|c| f(c))
            .take(ManagedClustersObservation::NAMES)
            .map(|c| c.name.clone())
            .collect()
    };
    let mut client_configs = std::collections::BTreeMap::new();
    let mut bytes = 0;
    let mut omitted = 0;
    for c in &remote {
        let size = c.name.len() + c.client_config_urls.iter().map(String::len).sum::<usize>();
        if bytes + size > ManagedClustersObservation::URL_BYTES {
            omitted += 1;
            continue;
        }
        bytes += size;
        client_configs.insert(c.name.clone(), c.client_config_urls.clone());
    }
    Some(ManagedClustersObservation {
        total: remote.len(),
        available: remote.iter().filter(|c| c.is_ready()).count(),
        pending_import: names(&|c| c.joined != Some(true)),
        not_available: names(&|c| c.joined == Some(true) && c.available != Some(true)),
        client_configs,
        client_configs_omitted: omitted,
    })
}

/// Whether every ManagedCluster but the hub's own is Joined and Available, and every name in
/// `expected` (the managed clusters the render lists) has one: `Err` says what is missing, with
/// counts and the stragglers by name.
pub fn all_available(clusters: &[ManagedClusterState], expected: &[String]) -> Result<(), String> {
    let remote: Vec<&ManagedClusterState> = clusters.iter().filter(|c| !c.local).collect();
    let present: std::collections::HashSet<&str> = remote.iter().map(|c| c.name.as_str()).collect();
    let missing: Vec<String> = expected
        .iter()
        .filter(|n| !present.contains(n.as_str()))
        .cloned()
        .collect();
    let pending: Vec<String> = remote
        .iter()
        .filter(|c| c.joined != Some(true))
        .map(|c| c.name.clone())
        .collect();
    let unavailable: Vec<String> = remote
        .iter()
        .filter(|c| c.joined == Some(true) && c.available != Some(true))
        .map(|c| c.name.clone())
        .collect();
    if missing.is_empty() && pending.is_empty() && unavailable.is_empty() {
        return Ok(());
    }
    let ready = remote.iter().filter(|c| c.is_ready()).count();
    let mut parts = vec![format!(
        "{ready} of {} ManagedCluster(s) Available and Joined",
        remote.len().max(expected.len())
    )];
    if !pending.is_empty() {
        parts.push(format!(
            "Pending Import ({}): {} (they need auto-import, i.e. useManagedServiceAccount and their apiServer URL, or an auto-import-secret)",
            pending.len(),
            shown(&pending)
        ));
    }
    if !unavailable.is_empty() {
        parts.push(format!(
            "joined but not Available ({}): {}",
            unavailable.len(),
            shown(&unavailable)
        ));
    }
    if !missing.is_empty() {
        parts.push(format!(
            "not restored on this hub ({}): {}",
            missing.len(),
            shown(&missing)
        ));
    }
    Err(parts.join("; "))
}

/// The first names of a list, and how many more.
pub fn shown(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        text.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn reads_conditions_annotation_and_the_local_cluster() {
        let c = ManagedClusterState::of(&object(json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "east-1", "annotations": {DISABLE_AUTO_IMPORT: ""},
                         "managedFields": [{"manager": FENCE_MANAGER, "operation": "Apply"}]},
            "status": {"conditions": [
                {"type": "ManagedClusterJoined", "status": "True"},
                {"type": "ManagedClusterConditionAvailable", "status": "Unknown"}]},
        })));
        assert_eq!(
            c,
            ManagedClusterState {
                name: "east-1".into(),
                local: false,
                disable_auto_import: true,
                fence_owned: true,
                joined: Some(true),
                available: Some(false),
                client_config_urls: vec![],
            }
        );
        let local = ManagedClusterState::of(&object(json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "hub", "labels": {"local-cluster": "true"}},
        })));
        assert!(local.local && local.joined.is_none() && !local.fence_owned);
    }

    fn state(name: &str, joined: Option<bool>, available: Option<bool>) -> ManagedClusterState {
        ManagedClusterState {
            name: name.into(),
            local: name == "local-cluster",
            joined,
            available,
            ..Default::default()
        }
    }

    #[test]
    fn every_managed_cluster_must_be_back() {
        let expected: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let clusters = [
            state("local-cluster", Some(true), Some(true)),
            state("a", Some(true), Some(true)),
            state("b", None, None),
            state("c", Some(true), Some(false)),
            state("e", Some(true), Some(true)),
        ];
        assert_eq!(
            all_available(&clusters, &expected).unwrap_err(),
            "2 of 4 ManagedCluster(s) Available and Joined; Pending Import (1): b (they need auto-import, i.e. useManagedServiceAccount and their apiServer URL, or an auto-import-secret); joined but not Available (1): c; not restored on this hub (1): d"
        );
        assert_eq!(
            summary(&clusters),
            Some(ManagedClustersObservation {
                total: 4,
                available: 2,
                pending_import: vec!["b".into()],
                not_available: vec!["c".into()],
                client_configs: ["a", "b", "c", "e"].map(|n| (n.to_string(), vec![])).into(),
                client_configs_omitted: 0,
            })
        );
        let back = [
            state("a", Some(true), Some(true)),
            state("local-cluster", None, None),
        ];
        assert_eq!(all_available(&back, &["a".to_string()]), Ok(()));
        assert_eq!(all_available(&[], &[]), Ok(()));
        assert_eq!(summary(&back[1..]), None);
    }

    #[test]
    fn the_reported_urls_are_bounded_in_all() {
        let url = format!("https://{}.example", "a".repeat(490));
        let clusters: Vec<ManagedClusterState> = (0..600)
            .map(|i| ManagedClusterState {
                client_config_urls: vec![url.clone(); ManagedClustersObservation::URLS_PER_CLUSTER],
                ..state(&format!("c{i:03}"), Some(true), Some(true))
            })
            .collect();
        let seen = summary(&clusters).unwrap();
        let bytes: usize = seen
            .client_configs
            .iter()
            .map(|(n, u)| n.len() + u.iter().map(String::len).sum::<usize>())
            .sum();
        assert!(bytes <= ManagedClustersObservation::URL_BYTES, "{bytes}");
        assert!(seen.client_configs_omitted > 0);
        assert_eq!(seen.client_configs.len() + seen.client_configs_omitted, 600);
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        assert_eq!(
            shown(&names),
            "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 2 more"
        );
    }
}
