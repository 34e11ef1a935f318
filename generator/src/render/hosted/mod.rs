//! Objects that protect HyperShift hosted clusters (`spec.hostedClusters`), on their
//! management clusters. Pure: site in, object plans out.
//!
//! - `oadp`: Velero with the `hypershift` plugin. On a hub the hub's own DataProtectionApplication
//!   gains the plugin and a backup location per hosted cluster (one DPA per Velero: never a
//!   second one); on a managed cluster hubdr renders a DPA `hubdr-hcp` in `openshift-adp`. A
//!   Velero Schedule per hosted cluster covers its two namespaces (`<ns>`, `<ns>-<name>`).
//! - `etcd-snapshot`: nothing is rendered; the management cluster's agent runs the sequence
//!   (see `hubdr_agent::hcp`). With `restoreFrom: latest`, the HostedCluster itself, created
//!   by the agent from the newest snapshot (`restore`).

pub mod access;
pub mod oadp;
pub mod restore;

use serde_json::Value;

use crate::site::Site;

use super::object_plan::ObjectPlan;

/// The namespace OADP installs Velero into on a cluster that is not a hub.
pub const OADP_NAMESPACE: &str = "openshift-adp";
/// The DataProtectionApplication hubdr renders on a managed cluster that hosts control planes.
pub const MANAGED_DPA_NAME: &str = "hubdr-hcp";
/// How long the Velero backups of a hosted cluster are kept.
pub const SCHEDULE_TTL: &str = "168h0m0s";

/// Every object of `spec.hostedClusters`.
pub fn plan(site: &Site, out: &mut Vec<ObjectPlan>) {
    oadp::plan(site, out);
    restore::plan(site, out);
}

/// The hub's DataProtectionApplication, with the `hypershift` plugin and a backup location per
/// hosted cluster it backs up with OADP (none: left as it is, with no extra location).
pub fn extend_hub_dpa(site: &Site, hub: &str, dpa: &mut Value) {
    oadp::extend_dpa(site, hub, dpa);
}

/// The agent flag (`--hcp-snapshot`) that makes a management cluster's agent run the
/// etcd-snapshot sequence of `h`: `<ns>/<name>;members=...;maxApiDown=<s>;interval=<s>;
/// bucket=...;prefix=...;region=...;secret=...;key=...` (its own configuration, in its install
/// file: the repository never widens what an agent does).
pub fn snapshot_flag(h: &crate::site::hosted::HostedCluster) -> String {
    let max_down =
        crate::site::units::parse_duration(&h.max_api_downtime).map_or(600, |d| d.as_secs());
    let interval = crate::site::units::parse_cron(&h.schedule)
        .ok()
        .and_then(|c| c.min_interval_minutes())
        .map_or(86_400, |m| m.max(1) * 60);
    let d = &h.destination;
    let mut parts = vec![
        format!("{}/{}", h.namespace, h.name),
        format!("members={}", h.availability_policy.etcd_members().join(",")),
        format!("maxApiDown={max_down}"),
        format!("interval={interval}"),
        format!("bucket={}", d.bucket),
    ];
    if let Some(p) = &d.prefix {
        parts.push(format!("prefix={p}"));
    }
    if let Some(r) = &d.region {
        parts.push(format!("region={r}"));
    }
    parts.push(format!("secret={}", d.credentials_secret.name));
    parts.push(format!("key={}", d.credentials_secret.key));
    if h.restore_from.is_some() {
        // Only with these may the agent read the bucket credentials (in `<ns>`) and create
        // the HostedCluster from a pre-signed URL.
        let expiry =
            crate::site::units::parse_duration(&h.restore_url_expiry).map_or(3600, |d| d.as_secs());
        parts.push(format!("restoreExpiry={expiry}"));
        parts.push(format!("encryptionKeySecret={}", h.encryption_key_secret));
    }
    parts.join(";")
}
