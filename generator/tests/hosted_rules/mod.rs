//! Domain rules of `spec.hostedClusters` on a rendered tree (seed 004 §4.1, current OADP docs):
//! - `oadp`: a Velero Schedule per hosted cluster in Velero's namespace on its management
//!   cluster, covering exactly `<ns>` and `<ns>-<name>`, writing to a backup location of the one
//!   DataProtectionApplication there, which enables the `hypershift` plugin;
//! - `etcd-snapshot`: nothing rendered (the agent runs the sequence), except with
//!   `restoreFrom: latest` the HostedCluster: managed etcd, the encryption key Secret, NO
//!   `restoreSnapshotURL` in git but a late binding the management cluster's agent fills with
//!   one pre-signed URL, which the CRD's CEL rules accept (reproduced here);
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
            restore_rules(h, tree);
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

/// The CRD's CEL rules on `spec.etcd.managed.storage.restoreSnapshotURL`
/// (`shared/crds/hypershift.openshift.io/hostedclusters.yaml`): at most one URL, `https://` or
/// `s3://`. (`self == oldSelf`, immutable, is why it is only ever set at creation.)
fn restore_url_cel(urls: &Value) -> Result<(), String> {
    let urls = urls.as_array().ok_or("restoreSnapshotURL is a list")?;
    if urls.len() > 1 {
        return Err("RestoreSnapshotURL shouldn't contain more than 1 entry".into());
    }
    if urls.iter().any(|u| {
        let u = u.as_str().unwrap_or_default();
        !(u.starts_with("https://") || u.starts_with("s3://"))
    }) {
        return Err("restoreSnapshotURL must be a valid URL with https or s3 scheme".into());
    }
    Ok(())
}

fn restore_rules(h: &hubdr::site::hosted::HostedCluster, tree: &Tree) {
    let rendered: Vec<Value> = objects(tree, &h.management_cluster, "HostedCluster")
        .into_iter()
        .filter(|o| o["metadata"]["name"] == h.name.as_str())
        .collect();
    if h.restore_from.is_none() {
        assert!(
            rendered.is_empty(),
            "{}: no HostedCluster without restoreFrom",
            h.name
        );
        return;
    }
    assert_eq!(rendered.len(), 1, "{}: one HostedCluster", h.name);
    let hc = &rendered[0];
    assert_eq!(hc["metadata"]["namespace"], h.namespace.as_str());
    assert_eq!(hc["spec"]["etcd"]["managementType"], "Managed");
    assert_eq!(
        hc["spec"]["secretEncryption"]["aescbc"]["activeKey"]["name"],
        h.encryption_key_secret.as_str(),
        "{}: restored with the same encryption key",
        h.name
    );
    assert!(
        hc.pointer("/spec/etcd/managed/storage/restoreSnapshotURL")
            .is_none(),
        "{}: the pre-signed URL is never in git",
        h.name
    );
    assert_eq!(
        hc["metadata"]["annotations"]["hubdr.io/late-bind"],
        format!(
            "spec.etcd.managed.storage.restoreSnapshotURL={}/HostedClusterSnapshot/{}/{}#presignedURL",
            h.management_cluster, h.namespace, h.name
        )
    );
    // What the agent sets passes the CEL rules; what the seed's example sets (three URLs) not.
    let url = "https://b.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=0";
    restore_url_cel(&json!([url])).unwrap();
    assert!(restore_url_cel(&json!([url, url, url])).is_err());
    assert!(restore_url_cel(&json!(["ftp://x"])).is_err());
    for (path, bytes) in tree.iter() {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("X-Amz-") && !text.contains("restoreSnapshotURL:"),
            "{path}: no pre-signed URL in the rendered tree"
        );
    }
}
