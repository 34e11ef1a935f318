//! `hubdr decommission HUB`: refused (naming what is missing, nothing changed) until the
//! status branch shows every managed cluster Available on the active hub and every Hive
//! ClusterDeployment preserved; then the old primary's agent detaches its ManagedClusters
//! (never `local-cluster`) and removes its ACM backup objects, and never touches storage.

use hubdr_e2e::{Behaviour, Fleet, SITE};

use super::*;

fn cluster_deployment(preserve: bool) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
        "metadata": {"name": "east-1", "namespace": "east-1"},
        "spec": {"baseDomain": "example.com", "clusterName": "east-1", "preserveOnDelete": preserve,
                 "platform": {"aws": {"region": "eu-west-1"}}},
    })
}

fn role_of(fleet: &Fleet, hub: &str) -> String {
    hubdr::site::load_str(&fleet.site, std::path::Path::new("site.yaml"))
        .unwrap()
        .site
        .spec
        .hubs
        .iter()
        .find(|h| h.name == hub)
        .unwrap()
        .role
        .as_str()
        .to_string()
}

/// The storage objects of `hub` (kind, name and spec).
fn storage(fleet: &Fleet, hub: &str) -> Vec<String> {
    let mut out: Vec<String> = fleet
        .member(hub)
        .server
        .objects_snapshot()
        .into_iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some(
                    "DataProtectionApplication" | "BackupStorageLocation" | "PersistentVolumeClaim"
                )
            )
        })
        .map(|o| {
            format!(
                "{} {} {}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default(),
                o["spec"]
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decommission_waits_for_available_clusters_and_preserved_deployments_then_detaches() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    // Refused on a hub that is not a fenced former primary.
    let (result, out) = fleet.hubdr(&["decommission", "hub-a"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(out.contains("hub-a is active, not fenced"), "{out}");

    fleet.set_behaviour(
        "hub-b",
        Behaviour {
            pending_import: vec!["east-1".into()],
            ..Behaviour::default()
        },
    );
    fleet.failover("hub-b", false);
    fleet
        .run_until(&B_FIRST, 6, "hub-b waits for its managed clusters", |f| {
            f.status("hub-b").is_some_and(|s| {
                gate_conditions(&s) == ["managed-clusters-available", "auto-import-restored:2"]
            }) && f
                .status("hub-a")
                .is_some_and(|s| s.source.generation == Some(2))
        })
        .await;
    let generation = fleet.generation();
    let (result, out) = fleet.hubdr(&["decommission", "hub-a"]);
    assert_eq!(result, Err(2), "{out}");
    for expected in [
        "cannot decommission hub-a yet, so nothing was changed",
        "hub-b: ManagedCluster(s) Pending Import: east-1",
        "hub-b: 0 of 1 ManagedCluster(s) Available and Joined",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    assert_eq!(
        (fleet.generation(), role_of(&fleet, "hub-a")),
        (generation, "fenced".into())
    );

    // The clusters come back; hub-a still has a ClusterDeployment that is not preserved.
    fleet.set_behaviour("hub-b", Behaviour::default());
    fleet
        .member("hub-a")
        .server
        .put_object(cluster_deployment(false))
        .unwrap();
    fleet
        .run_until(
            &B_FIRST,
            6,
            "hub-b backs up, hub-a reports its ClusterDeployment",
            |f| {
                enabled(f, "hub-b")
                    && f.status("hub-a").is_some_and(|s| {
                        s.observed
                            .cluster_deployments
                            .as_ref()
                            .is_some_and(|c| c.not_preserved_count == 1)
                    })
            },
        )
        .await;
    let (result, out) = fleet.hubdr(&["decommission", "hub-a"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(
        out.contains(
            "hub-a: ClusterDeployment(s) without spec.preserveOnDelete: true: east-1/east-1"
        ),
        "{out}"
    );
    assert!(!out.contains("hub-b:"), "{out}");
    assert_eq!(role_of(&fleet, "hub-a"), "fenced");

    // Preserved: the decommission goes ahead.
    fleet
        .member("hub-a")
        .server
        .put_object(cluster_deployment(true))
        .unwrap();
    fleet
        .run_until(
            &B_FIRST,
            4,
            "hub-a reports its ClusterDeployment preserved",
            |f| {
                f.status("hub-a").is_some_and(|s| {
                    s.observed
                        .cluster_deployments
                        .as_ref()
                        .is_some_and(|c| c.total == 1 && c.not_preserved_count == 0)
                })
            },
        )
        .await;
    assert!(fleet.managed_cluster("hub-a", "east-1").is_some());
    assert!(fleet.managed_cluster("hub-a", "local-cluster").is_some());
    let storage_before = storage(&fleet, "hub-a");
    assert!(
        storage_before
            .iter()
            .any(|o| o.starts_with("DataProtectionApplication ")),
        "{storage_before:?}"
    );
    let merged = fleet.timeline.mark("decommission of hub-a merged");
    let (result, out) = fleet.hubdr(&["decommission", "hub-a"]);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("hub-a is decommissioned at generation 2"),
        "{out}"
    );
    assert_eq!(role_of(&fleet, "hub-a"), "decommissioned");
    // Only the decommissioned hub's install file may delete ManagedClusters.
    let install = |hub: &str| {
        std::fs::read_to_string(fleet.workdir.join(format!("agents/{hub}.yaml"))).unwrap()
    };
    let deletes_managed_clusters = |text: &str| {
        let docs: Vec<serde_json::Value> = text
            .split("\n---\n")
            .filter_map(|d| serde_yaml::from_str(d).ok())
            .collect();
        docs.iter()
            .filter(|d| d["kind"] == "ClusterRole")
            .flat_map(|d| d["rules"].as_array().cloned().unwrap_or_default())
            .any(|r| {
                r["resources"] == serde_json::json!(["managedclusters"])
                    && r["verbs"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|v| v == "delete"))
            })
    };
    assert!(
        deletes_managed_clusters(&install("hub-a")),
        "{}",
        install("hub-a")
    );
    assert!(!deletes_managed_clusters(&install("hub-b")));
    fleet
        .run_until(&B_FIRST, 4, "hub-a detaches its managed clusters", |f| {
            f.managed_cluster("hub-a", "east-1").is_none()
        })
        .await;
    fleet.rounds(&B_FIRST, 2).await;
    assert!(
        fleet.managed_cluster("hub-a", "local-cluster").is_some(),
        "local-cluster is never detached"
    );
    assert!(fleet.schedule("hub-a").is_none(), "no BackupSchedule left");
    assert!(
        fleet.managed_cluster("hub-b", "east-1").is_some(),
        "the active hub keeps its cluster"
    );
    let a = fleet.status("hub-a").unwrap();
    assert!(
        a.objects
            .iter()
            .any(|o| o.object == "ManagedCluster east-1" && o.result == "pruned")
            || fleet.timeline.entries().iter().any(|e| e.seq > merged
                && e.object().is_some_and(|o| o.is("hub-a", "ManagedCluster")
                    && o.name == "east-1"
                    && deleted(&o))),
        "{}",
        a.to_yaml()
    );
    // Storage is never touched.
    let touched: Vec<String> = fleet
        .timeline
        .entries()
        .iter()
        .filter(|e| e.seq > merged)
        .filter_map(|e| e.object())
        .filter(|o| {
            o.cluster == "hub-a"
                && deleted(o)
                && matches!(
                    o.kind,
                    "BackupStorageLocation"
                        | "DataProtectionApplication"
                        | "PersistentVolumeClaim"
                        | "Secret"
                )
        })
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    assert!(touched.is_empty(), "storage deleted: {touched:?}");
    assert_eq!(
        storage(&fleet, "hub-a"),
        storage_before,
        "hub-a keeps its storage objects as they were"
    );

    // A hand-made role change to or from decommissioned is refused by `hubdr render`.
    let back = fleet.site.replace("role: decommissioned", "role: fenced");
    assert_ne!(back, fleet.site);
    let (result, out) = fleet.hubdr_on(&back, &["render"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(out.contains("hub-a: decommissioned -> fenced"), "{out}");
    assert!(out.contains("`hubdr decommission HUB`"), "{out}");
}
