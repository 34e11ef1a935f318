//! Domain rules of `spec.hostedClusters` on a rendered tree (seed 004 §4.1, current OADP docs):
//! - `oadp`: a Velero Schedule per hosted cluster in Velero's namespace on its management
//!   cluster, covering exactly `<ns>` and `<ns>-<name>`, writing to a backup location of the one
//!   DataProtectionApplication there, which enables the `hypershift` plugin;
//! - `etcd-snapshot`: nothing rendered (the agent runs the sequence);
//! - never more than one DPA per Velero namespace.

use std::collections::BTreeMap;

use hubdr::gitrepo::Tree;
use hubdr::site::hosted::HostedMethod;
use hubdr::site::Site;
use serde_json::{json, Value};

fn objects(tree: &Tree, cluster: &str, kind: &str) -> Vec<Value> {
    let dir = format!("clusters/{cluster}/");
    tree.iter()
        .filter(|(p, _)| p.starts_with(&dir) && !p.ends_with("kustomization.yaml"))
        .map(|(_, b)| serde_yaml::from_slice::<Value>(b).unwrap())
        .filter(|o| o["kind"] == kind)
        .collect()
}

pub fn check(site: &Site, tree: &Tree) {
    let spec = &site.spec;
    for h in &spec.hosted_clusters {
        let c = &h.management_cluster;
        let hub = spec.hubs.iter().any(|x| &x.name == c);
        let velero_ns = if hub {
            spec.backup_namespace.as_str()
        } else {
            "openshift-adp"
        };
        let mine: Vec<Value> = objects(tree, c, "Schedule")
            .into_iter()
            .filter(|s| s["metadata"]["labels"]["hubdr.io/hosted-cluster"] == h.name.as_str())
            .collect();
        if h.method == HostedMethod::EtcdSnapshot {
            assert!(
                mine.is_empty(),
                "{}: etcd-snapshot renders no Schedule",
                h.name
            );
            continue;
        }
        assert_eq!(mine.len(), 1, "{}: one Velero Schedule", h.name);
        let s = &mine[0];
        assert_eq!(s["metadata"]["namespace"], velero_ns, "{}", h.name);
        assert_eq!(s["spec"]["schedule"], h.schedule.as_str());
        assert_eq!(
            s["spec"]["template"]["includedNamespaces"],
            json!([h.namespace, format!("{}-{}", h.namespace, h.name)]),
            "{}: the Schedule covers the hosted cluster's two namespaces",
            h.name
        );
        let dpas: Vec<Value> = objects(tree, c, "DataProtectionApplication")
            .into_iter()
            .filter(|d| d["metadata"]["namespace"] == velero_ns)
            .collect();
        assert_eq!(dpas.len(), 1, "{c}: exactly one DPA in {velero_ns}");
        let dpa = &dpas[0];
        let plugins = &dpa["spec"]["configuration"]["velero"]["defaultPlugins"];
        assert!(
            plugins.as_array().unwrap().contains(&json!("hypershift")),
            "{c}: the DPA enables the hypershift plugin: {plugins}"
        );
        let locations: BTreeMap<&str, &Value> = dpa["spec"]["backupLocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["name"].as_str().unwrap(), &l["velero"]))
            .collect();
        let location = s["spec"]["template"]["storageLocation"].as_str().unwrap();
        let l = locations
            .get(location)
            .unwrap_or_else(|| panic!("{}: location {location} is not in the DPA", h.name));
        assert_eq!(l["objectStorage"]["bucket"], h.destination.bucket.as_str());
        assert_eq!(
            l["credential"]["name"],
            h.destination.credentials_secret.name.as_str()
        );
    }
}
