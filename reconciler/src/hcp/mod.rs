//! Hosted control planes (`spec.hostedClusters`, method `etcd-snapshot`): the management
//! cluster's agent snapshots a hosted cluster's etcd as gated, reported steps (seed 004 §4.1):
//!
//! 1. pause: `spec.pausedUntil: "true"` on the HostedCluster (a run never starts on a hosted
//!    cluster somebody else paused);
//! 2. scale `kube-apiserver`, `openshift-apiserver` and `openshift-oauth-apiserver` in
//!    `<ns>-<name>` to 0, their previous replica counts recorded first; go on only when they
//!    are observed at 0 (the API is down from here);
//! 3. snapshot each etcd member (etcd-0, or etcd-0..2 when HighlyAvailable) from that member:
//!    one Job per member, one after the other, that runs `etcdctl snapshot save` against the
//!    member's own endpoint, checks it with `etcdctl snapshot status`, uploads it, and reports
//!    the status (revision, hash, size) as its termination message;
//! 4. resume: scale back to the recorded replicas and remove `pausedUntil`. ALWAYS: after a
//!    failure at any step, past `maxApiDowntime` (the run is then reported failed), and after
//!    an agent restart in the middle of a run.
//!
//! The sequence is a pure state machine ([`plan`]): the next step follows from the persisted
//! state and what is observed in the cluster; the effects happen at the edge ([`edge`]). The
//! state lives in the cluster, in a ConfigMap of the agent's namespace
//! (`hubdr-hcp-<ns>-<name>`), written BEFORE each effect, so an agent killed at any point finds
//! the run (and the replica counts to restore) when it starts again. One state per hosted
//! cluster, and a new run starts only when none is in progress: never two runs at once.
//!
//! Why Jobs and not `exec` into the etcd pods as the seed does: exec needs `pods/exec` (a
//! shell in every pod of the namespace, far beyond what the agent needs), is tied to the agent's
//! connection (an agent restart mid-upload loses the snapshot and leaves no trace), and needs
//! curl and the bucket credentials inside the etcd container. A Job runs to completion on its
//! own, is observed by name after a restart, mounts only the etcd client certificates and the
//! bucket credentials Secret (the agent never reads either), and its bounded
//! `activeDeadlineSeconds` keeps a stuck snapshot from holding the API down.

pub mod edge;
pub mod flag;
pub mod job;
pub mod plan;
pub mod report;
pub mod restore;
pub mod seen;
pub mod state;

/// The API-server Deployments scaled to 0 while etcd is snapshotted (seed 004 §4.1).
pub const API_DEPLOYMENTS: [&str; 3] = [
    "kube-apiserver",
    "openshift-apiserver",
    "openshift-oauth-apiserver",
];

/// One hosted cluster the agent snapshots, from the site (`spec.hostedClusters[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// The HostedCluster's namespace (`clusters` by default).
    pub namespace: String,
    /// The etcd members to snapshot, in order.
    pub members: Vec<String>,
    /// The longest the API may stay down, in seconds.
    pub max_api_down_secs: i64,
    /// Seconds between two runs (the schedule's interval).
    pub interval_secs: i64,
    pub bucket: String,
    pub prefix: Option<String>,
    pub region: Option<String>,
    /// The bucket credentials Secret in the control-plane namespace, and its key.
    pub credentials_secret: String,
    pub credentials_key: String,
    /// Images of the Job: etcdctl, and an uploader with `curl --aws-sigv4`.
    pub etcd_image: String,
    pub upload_image: String,
    /// `restoreFrom: latest`: this agent may create the HostedCluster from the newest
    /// snapshot (see [`restore`]); None: it never reads a Secret.
    pub restore: Option<restore::Restore>,
}

impl Target {
    /// The control-plane namespace, where etcd and the API servers run.
    pub fn control_plane_namespace(&self) -> String {
        format!("{}-{}", self.namespace, self.name)
    }

    /// The ConfigMap (in the agent's namespace) holding this hosted cluster's state.
    pub fn state_name(&self) -> String {
        format!("hubdr-hcp-{}-{}", self.namespace, self.name)
    }

    /// The object key of a member's snapshot of run `run`.
    pub fn object_key(&self, run: &str, member: &str) -> String {
        let prefix = self
            .prefix
            .as_deref()
            .map(|p| format!("{}/", p.trim_matches('/')))
            .unwrap_or_default();
        format!(
            "{prefix}{}/{}/{run}/{member}-snapshot.db",
            self.namespace, self.name
        )
    }
}
