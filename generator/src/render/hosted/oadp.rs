//! The `oadp` method: a Velero Schedule per hosted cluster and the DPA it needs.

use serde_json::{json, Map, Value};

use crate::site::hosted::{HostedCluster, HostedMethod};
use crate::site::Site;

use super::{ObjectPlan, MANAGED_DPA_NAME, OADP_NAMESPACE, SCHEDULE_TTL};

pub const HYPERSHIFT_PLUGIN: &str = "hypershift";

/// The hosted clusters of `cluster` backed up with OADP, in site order.
fn oadp_on<'a>(site: &'a Site, cluster: &'a str) -> impl Iterator<Item = &'a HostedCluster> {
    crate::site::hosted::hosted_on(&site.spec, cluster).filter(|h| h.method == HostedMethod::Oadp)
}

fn is_hub(site: &Site, cluster: &str) -> bool {
    site.spec.hubs.iter().any(|h| h.name == cluster)
}

/// Name of the Velero Schedule and backup location of a hosted cluster.
pub fn schedule_name(h: &HostedCluster) -> String {
    format!("hcp-{}-{}", h.namespace, h.name)
}

/// The namespace Velero runs in on `cluster`: the hub's backup namespace, or OADP's own.
pub fn velero_namespace<'a>(site: &'a Site, cluster: &str) -> &'a str {
    if is_hub(site, cluster) {
        &site.spec.backup_namespace
    } else {
        OADP_NAMESPACE
    }
}

fn location(h: &HostedCluster, default: bool) -> Value {
    let d = &h.destination;
    let mut config = Map::new();
    if let Some(region) = &d.region {
        config.insert("region".into(), json!(region));
    }
    json!({
        "name": schedule_name(h),
        "provider": "aws",
        "default": default,
        "access_mode": null,
        "bucket": d.bucket,
        "prefix": d.prefix,
        "config": config,
        "credential": {"name": d.credentials_secret.name, "key": d.credentials_secret.key},
    })
}

fn with_plugin(plugins: &[String]) -> Vec<String> {
    let mut plugins = plugins.to_vec();
    if !plugins.iter().any(|p| p == HYPERSHIFT_PLUGIN) {
        plugins.push(HYPERSHIFT_PLUGIN.into());
    }
    plugins
}

pub fn extend_dpa(site: &Site, hub: &str, dpa: &mut Value) {
    let locations: Vec<Value> = oadp_on(site, hub).map(|h| location(h, false)).collect();
    if !locations.is_empty() {
        dpa["default_plugins"] = json!(with_plugin(&site.spec.velero.default_plugins));
    }
    dpa["extra_locations"] = Value::Array(locations);
}

pub fn plan(site: &Site, out: &mut Vec<ObjectPlan>) {
    let mut managed_dpas: Vec<(&str, Vec<&HostedCluster>)> = Vec::new();
    for h in site
        .spec
        .hosted_clusters
        .iter()
        .filter(|h| h.method == HostedMethod::Oadp)
    {
        let cluster = h.management_cluster.as_str();
        out.push(ObjectPlan::new(
            cluster,
            "velero-schedule.yaml.j2",
            // After the DPA (wave 1) that defines its location.
            2,
            json!({
                "name": schedule_name(h),
                "namespace": velero_namespace(site, cluster),
                "hosted_cluster": h.name,
                "schedule": h.schedule,
                "included_namespaces": [h.namespace, h.control_plane_namespace()],
                "storage_location": schedule_name(h),
                "ttl": SCHEDULE_TTL,
            }),
        ));
        if !is_hub(site, cluster) {
            match managed_dpas.iter_mut().find(|(c, _)| *c == cluster) {
                Some((_, list)) => list.push(h),
                None => managed_dpas.push((cluster, vec![h])),
            }
        }
    }
    for (cluster, hosted) in managed_dpas {
        let (first, rest) = hosted.split_first().expect("a cluster listed has one");
        let extra: Vec<Value> = rest.iter().map(|h| location(h, false)).collect();
        out.push(ObjectPlan::new(
            cluster,
            "dataprotectionapplication.yaml.j2",
            1,
            json!({
                "name": MANAGED_DPA_NAME,
                "namespace": OADP_NAMESPACE,
                "default_plugins": with_plugin(&["openshift".to_string(), "aws".to_string(), "csi".to_string()]),
                "resources": null,
                "node_agent": null,
                "restic": null,
                "location": location(first, true),
                "extra_locations": extra,
                "snapshot_locations": [],
            }),
        ));
    }
}
