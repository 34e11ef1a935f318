use serde_json::{json, Value};

use super::*;

fn hosted(yaml: &str) -> HostedCluster {
    serde_yaml::from_str(yaml).unwrap()
}

fn tenant() -> HostedCluster {
    hosted("{name: tenant-b, managementCluster: hub-a, method: etcd-snapshot, availabilityPolicy: HighlyAvailable, schedule: '0 * * * *', destination: {bucket: snaps, credentialsSecret: {name: s3}}, encryptionKeySecret: tenant-b-etcd-encryption-key}")
}

fn snap(member: &str) -> HostedSnapshot {
    HostedSnapshot {
        member: member.into(),
        time: "2026-12-07T08:00:00Z".into(),
        revision: 42,
        hash: 7,
        size: 1024,
        object: format!("clusters/tenant-b/abc/{member}-snapshot.db"),
    }
}

/// The CEL rules of `spec.etcd.managed.storage` in the real HostedCluster CRD
/// (`../shared/crds/hypershift.openshift.io/hostedclusters.yaml`), reproduced: the API server
/// evaluates them, the fake API server does not.
fn crd_rules() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/crds/hypershift.openshift.io/hostedclusters.yaml"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        assert!(
            std::env::var_os("HUBDR_REQUIRE_SHARED").is_none(),
            "{path} missing"
        );
        return Vec::new();
    };
    let crd: Value = serde_yaml::from_str(&text).unwrap();
    let storage = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["etcd"]["properties"]["managed"]["properties"]["storage"];
    let mut rules: Vec<String> = storage["x-kubernetes-validations"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            storage["properties"]["restoreSnapshotURL"]["x-kubernetes-validations"]
                .as_array()
                .unwrap(),
        )
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    rules
}

/// The rules as the API server applies them on create (`old` None) and update.
fn admit(old: Option<&Value>, new: &Value) -> Result<(), String> {
    let urls = |spec: &Value| {
        spec.pointer("/etcd/managed/storage/restoreSnapshotURL")
            .cloned()
    };
    let new_urls = urls(new);
    if let Some(list) = new_urls.as_ref().and_then(Value::as_array) {
        if list.len() > 1 {
            return Err("RestoreSnapshotURL shouldn't contain more than 1 entry".into());
        }
        if let Some(first) = list.first().and_then(Value::as_str) {
            if !(first.starts_with("https://") || first.starts_with("s3://")) {
                return Err(
                    "restoreSnapshotURL must be a valid URL with scheme https or s3".into(),
                );
            }
        }
    }
    if let Some(old) = old {
        let old_urls = urls(old);
        if old_urls.is_some() != new_urls.is_some() {
            return Err("restoreSnapshotURL cannot be added or removed after creation".into());
        }
        if old_urls.is_some() && old_urls != new_urls {
            return Err("restoreSnapshotURL is immutable".into());
        }
    }
    Ok(())
}

#[test]
fn the_reproduced_rules_are_the_crds() {
    let rules = crd_rules();
    if rules.is_empty() {
        return;
    }
    assert_eq!(
        rules,
        [
            "has(self.restoreSnapshotURL) == has(oldSelf.restoreSnapshotURL)",
            "self == oldSelf",
            "self.size() <= 1",
            "self.size() == 0 || self[0].matches('^(https|s3)://.*')",
        ],
        "the CRD's rules changed: update admit()"
    );
}

#[test]
fn the_plan_creates_the_hosted_cluster_with_one_url_and_the_same_key() {
    let h = tenant();
    let plan = restore_plan(&h, &[snap("etcd-1"), snap("etcd-0"), snap("etcd-2")]).unwrap();
    assert!(
        plan.contains("aws s3 presign s3://snaps/clusters/tenant-b/abc/etcd-0-snapshot.db"),
        "{plan}"
    );
    assert_eq!(plan.matches("restoreSnapshotURL:").count(), 1, "{plan}");
    assert!(
        plan.contains("- ${URL}") || plan.contains("- '${URL}'"),
        "{plan}"
    );
    assert!(plan.contains("tenant-b-etcd-encryption-key"), "{plan}");
    assert!(plan.contains("does not exist"), "{plan}");
    // What it tells to create is admitted on creation...
    let url =
        "https://snaps.s3.amazonaws.com/clusters/tenant-b/abc/etcd-0-snapshot.db?X-Amz-Signature=x";
    let spec = restore_spec(&h, url);
    admit(None, &spec).unwrap();
    // ...but never onto an existing HostedCluster: added later, or changed.
    let existing = json!({"etcd": {"managementType": "Managed", "managed": {"storage": {"type": "PersistentVolume"}}}});
    assert!(admit(Some(&existing), &spec)
        .unwrap_err()
        .contains("added or removed after creation"));
    let other = restore_spec(&h, "https://snaps.s3.amazonaws.com/other");
    assert!(admit(Some(&other), &spec)
        .unwrap_err()
        .contains("immutable"));
    // The seed's example with three URLs (one per member) is refused.
    let seed = json!({"etcd": {"managed": {"storage": {"restoreSnapshotURL": [url, url, url]}}}});
    assert!(admit(None, &seed).unwrap_err().contains("more than 1"));
}

#[test]
fn no_snapshot_or_another_method_is_a_clear_error() {
    let e = restore_plan(&tenant(), &[]).unwrap_err();
    assert!(e.contains("no snapshot") && e.contains("hub-a"), "{e}");
    let oadp = hosted("{name: t, managementCluster: hub-a, method: oadp, schedule: '0 * * * *', destination: {bucket: b, credentialsSecret: {name: s}}, encryptionKeySecret: k}");
    let e = restore_plan(&oadp, &[snap("etcd-0")]).unwrap_err();
    assert!(
        e.contains("Velero Restore") && e.contains("hcp-clusters-t"),
        "{e}"
    );
}

#[test]
fn the_plan_says_a_hub_hosts_control_planes_that_hub_backups_miss() {
    let site = crate::site::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/matrix/hosted-clusters.yaml"
    )))
    .unwrap()
    .site;
    let notes = plan_notes(&site, false);
    assert!(
        notes.contains("hub-a (hub) hosts control planes"),
        "{notes}"
    );
    assert!(
        notes.contains("clusters/tenant-b: etcd-snapshot to s3://hcp-snapshots"),
        "{notes}"
    );
    assert!(notes.contains("Secret clusters-tenant-b/hcp-s3"), "{notes}");
    assert!(
        notes.contains("ACM hub backups do not include hypershift.openshift.io"),
        "{notes}"
    );
    assert!(
        notes.contains("mgmt-1 (managed cluster) hosts control planes"),
        "{notes}"
    );
    assert!(notes.contains("Secret openshift-adp/hcp-s3"), "{notes}");
    // Only hubs get the hub-backup note.
    let mgmt = &notes[notes.find("mgmt-1").unwrap()..];
    assert!(!mgmt.contains("ACM hub backups"), "{notes}");
}
