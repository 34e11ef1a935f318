//! The label and annotation names hubdr puts on objects and the agent reads.

pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_SITE: &str = "hubdr.io/site";
pub const LABEL_CLUSTER: &str = "hubdr.io/cluster";
pub const ANNOTATION_WAVE: &str = "hubdr.io/wave";
pub const ANNOTATION_ARGO_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const ANNOTATION_PRUNE: &str = "hubdr.io/prune";
pub const ANNOTATION_LATE_BIND: &str = "hubdr.io/late-bind";

/// The late-bound source kind of `restoreFrom: latest`: a pre-signed GET URL of the newest
/// etcd snapshot of a hosted cluster, made by its management cluster's agent at apply time.
pub const LATE_BIND_HOSTED_SNAPSHOT: &str = "HostedClusterSnapshot";
/// Where that URL goes in the HostedCluster (a list of exactly one URL).
pub const RESTORE_SNAPSHOT_URL_FIELD: &str = "spec.etcd.managed.storage.restoreSnapshotURL";
/// Set by the agent on a HostedCluster it created from a snapshot: the snapshot's object name
/// (never the URL).
pub const ANNOTATION_RESTORED_FROM: &str = "hubdr.io/restored-from";

/// The `hubdr.io/late-bind` value of a HostedCluster created from the newest snapshot of
/// `<namespace>/<name>`, pre-signed by `cluster`'s agent.
pub fn hosted_snapshot_binding(cluster: &str, namespace: &str, name: &str) -> String {
    format!(
        "{RESTORE_SNAPSHOT_URL_FIELD}={cluster}/{LATE_BIND_HOSTED_SNAPSHOT}/{namespace}/{name}#presignedURL"
    )
}
