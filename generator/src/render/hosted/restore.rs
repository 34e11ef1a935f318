//! `restoreFrom: latest`: the HostedCluster, created from its newest etcd snapshot. Rendered
//! from the site's `hostedClusterSpec` with managed etcd and the encryption key Secret, and a
//! late-bound `restoreSnapshotURL`: the management cluster's agent pre-signs the URL at apply
//! time (it expires and embeds a credential, so it is never in git) and creates the
//! HostedCluster only if it does not exist (a snapshot restores only at creation).

use hubdr_core::labels::{hosted_snapshot_binding, ANNOTATION_LATE_BIND};
use serde_json::{json, Value};

use crate::site::hosted::{HostedCluster, HostedMethod};
use crate::site::Site;

use super::ObjectPlan;

/// The HostedCluster's API version.
pub const HOSTED_CLUSTER_API: &str = "hypershift.openshift.io/v1beta1";

/// The spec to create `h` from: the site's spec, managed etcd (PersistentVolume storage unless
/// the site says otherwise) and `spec.secretEncryption` with the encryption key Secret. The
/// URL is not set: the agent sets it.
pub fn spec(h: &HostedCluster) -> Value {
    let mut spec = h.hosted_cluster_spec.clone().unwrap_or_else(|| json!({}));
    if !spec.is_object() {
        spec = json!({});
    }
    let etcd = spec
        .as_object_mut()
        .expect("an object")
        .entry("etcd")
        .or_insert_with(|| json!({}));
    if !etcd.is_object() {
        *etcd = json!({});
    }
    etcd["managementType"] = json!("Managed");
    let managed = etcd
        .as_object_mut()
        .expect("an object")
        .entry("managed")
        .or_insert_with(|| json!({}));
    if !managed.is_object() {
        *managed = json!({});
    }
    let storage = managed
        .as_object_mut()
        .expect("an object")
        .entry("storage")
        .or_insert_with(|| json!({}));
    if !storage.is_object() {
        *storage = json!({});
    }
    if storage.get("type").is_none() {
        storage["type"] = json!("PersistentVolume");
    }
    spec["secretEncryption"] = json!({
        "type": "aescbc",
        "aescbc": {"activeKey": {"name": h.encryption_key_secret}},
    });
    spec
}

pub fn plan(site: &Site, out: &mut Vec<ObjectPlan>) {
    for h in site
        .spec
        .hosted_clusters
        .iter()
        .filter(|h| h.method == HostedMethod::EtcdSnapshot && h.restore_from.is_some())
    {
        let mut plan = ObjectPlan::new(
            &h.management_cluster,
            "hostedcluster.yaml.j2",
            2,
            json!({"name": h.name, "namespace": h.namespace, "spec": spec(h)}),
        );
        plan.annotations.push((
            ANNOTATION_LATE_BIND.to_string(),
            hosted_snapshot_binding(&h.management_cluster, &h.namespace, &h.name),
        ));
        out.push(plan);
    }
}
