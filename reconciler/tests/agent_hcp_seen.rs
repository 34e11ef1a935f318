//! Hub DR for hosted control planes: a hub's agent (and a management cluster's) lists the
//! HostedClusters on its cluster and reports which hubdr backup covers each; one not declared
//! in `spec.hostedClusters` is a failing health check, and a hub says that ACM's hub backups do
//! not include them. Against the fake API server with the real HyperShift CRD.

mod support;

use hubdr::status::ClusterStatus;
use hubdr_agent::hcp::seen::HUB_CHECK;
use serde_json::{json, Value};
use support::*;

const SITE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../generator/tests/data/matrix/hosted-clusters.yaml"
));

/// A HostedCluster valid against the real CRD, from the one the site renders for tenant-b.
fn hosted_cluster(rendered: &hubdr::render::Rendered, namespace: &str, name: &str) -> Value {
    let mut hc = cluster_objects(rendered, "hub-a")
        .into_iter()
        .find(|o| o["kind"] == "HostedCluster")
        .unwrap();
    hc["metadata"] = json!({"name": name, "namespace": namespace});
    hc
}

fn seen(status: &ClusterStatus) -> Vec<(String, Option<String>)> {
    status
        .observed
        .hosted_clusters_seen
        .iter()
        .map(|s| (s.name.clone(), s.covered_by.clone()))
        .collect()
}

fn check<'a>(status: &'a ClusterStatus, name: &str) -> &'a hubdr::status::HealthCheck {
    status
        .health
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {:#?}", status.health))
}

#[tokio::test]
async fn hosted_clusters_no_backup_covers_are_reported_by_hubs_and_management_clusters() {
    let remote = Remote::new();
    let rendered = render(SITE);
    remote.commit(&rendered.tree, "render");

    // hub-a: tenant-b is declared (etcd-snapshot), rogue is not.
    let hub = fake().await;
    ensure_prerequisite_namespaces(&hub, &cluster_objects(&rendered, "hub-a"));
    hub.ensure_namespace("clusters");
    hub.put_object(hosted_cluster(&rendered, "clusters", "rogue"))
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let flag = hubdr::render::hosted::snapshot_flag(
        &hubdr::site::load_str(SITE, std::path::Path::new("site.yaml"))
            .unwrap()
            .site
            .spec
            .hosted_clusters[0],
    );
    let target = hubdr_agent::hcp::flag::parse(&flag, "e", "u").unwrap();
    let mut agent = remote
        .agent("hub-a", &hub, cache.path())
        .with_hosted_clusters(vec![target]);
    let status = agent.pass_once().await;
    assert_eq!(seen(&status), [("clusters/rogue".to_string(), None)]);
    let rogue = check(&status, "hosted-cluster clusters/rogue: backed up");
    assert!(!rogue.ok);
    assert!(
        rogue.message.contains("no hubdr backup covers it")
            && rogue.message.contains("declare it in spec.hostedClusters"),
        "{}",
        rogue.message
    );
    let note = check(&status, HUB_CHECK);
    assert!(!note.ok);
    assert!(
        note.message
            .contains("ACM hub backups do not include hypershift.openshift.io objects")
            && note.message.contains("NOT covered: clusters/rogue"),
        "{}",
        note.message
    );
    // What `hubdr status` reads is what was published.
    assert_eq!(remote.status_file("hub-a").unwrap(), status);
}

/// The namespaces `cluster`'s install file lets its agent use (`--allow-namespace`).
fn allowed_namespaces(rendered: &hubdr::render::Rendered, cluster: &str) -> Vec<String> {
    let install =
        String::from_utf8(rendered.tree[&format!("agents/{cluster}.yaml")].clone()).unwrap();
    let lines: Vec<&str> = install.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "- --allow-namespace")
        .map(|w| w[1].trim_start_matches("- ").to_string())
        .collect()
}

/// A managed cluster that is a management cluster (mgmt-1): its OADP-covered hosted cluster is
/// reported with its method, one the site does not declare fails its check, and no hub note.
#[tokio::test]
async fn a_managed_management_cluster_reports_oadp_coverage_and_undeclared_hosted_clusters() {
    let remote = Remote::new();
    let rendered = render(SITE);
    remote.commit(&rendered.tree, "render");

    let mgmt = fake().await;
    let objects = cluster_objects(&rendered, "mgmt-1");
    ensure_prerequisite_namespaces(&mgmt, &objects);
    mgmt.ensure_namespace("tenants");
    mgmt.put_object(hosted_cluster(&rendered, "tenants", "tenant-c"))
        .unwrap();
    mgmt.put_object(hosted_cluster(&rendered, "tenants", "stray"))
        .unwrap();
    let mut config = pass_config("mgmt-1");
    let namespaces = allowed_namespaces(&rendered, "mgmt-1");
    assert!(
        namespaces.contains(&"openshift-adp".to_string()),
        "{namespaces:?}"
    );
    config.allowlist = hubdr_agent::config::Allowlist::default_kinds()
        .with_namespaces(&namespaces)
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent_with(config, &mgmt, cache.path());
    let status = agent.pass_once().await;
    assert_eq!(
        seen(&status),
        [
            ("tenants/stray".to_string(), None),
            ("tenants/tenant-c".to_string(), Some("oadp".to_string())),
        ],
        "{}",
        status.to_yaml()
    );
    assert!(!check(&status, "hosted-cluster tenants/stray: backed up").ok);
    assert!(status.health.iter().all(|c| c.name != HUB_CHECK));
}
