//! hubdr plan: changes, prerequisites, markdown, the prune guard.

use super::*;

/// A rendered starter repo, then the site changed to a disconnected failover.
pub(crate) fn planned() -> Sandbox {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    edit_site(&sandbox, FAILOVER);
    edit_site(&sandbox, DISCONNECTED);
    sandbox
}

/// Every cluster's agent pulls the (https) repository with a token from this Secret.
pub(crate) const GIT_SECRET: &str = "    Secret hubdr-agent/hubdr-git-credentials keys [token]: hubdr-agent's access to the git repository";

#[test]
pub(crate) fn plan_lists_changes_and_prerequisites_per_cluster_and_writes_nothing() {
    let sandbox = planned();
    let repo = sandbox.join("repo");
    let head = support::commits(&repo);
    let before = support::stamps(&repo, true);

    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0);
    let out = &run.stdout;
    assert!(
        out.starts_with(
            "Plan for site my-site (generation 1): 3 to create, 4 to change, 1 to remove\n"
        ),
        "{run}"
    );
    let cluster = |name: &str| -> Vec<&str> {
        let start = out
            .find(&format!("\n{name} ("))
            .unwrap_or_else(|| panic!("no {name}\n{run}"));
        let rest = &out[start + 1..];
        rest[..rest.find("\n\n").unwrap()].lines().collect()
    };
    assert_eq!(
        cluster("hub-a"),
        [
            "hub-a (hub, fenced)",
            "  ~ BackupSchedule open-cluster-management-backup/schedule-acm",
            "  ~ DataProtectionApplication open-cluster-management-backup/velero",
            "  ~ MultiClusterHub open-cluster-management/multiclusterhub",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    CatalogSource openshift-marketplace/redhat-operator-index: OADP operator install on a disconnected hub",
            GIT_SECRET,
            "    Secret open-cluster-management-backup/cloud-credentials keys [cloud]: DataProtectionApplication backup location credentials",
        ],
        "{run}"
    );
    assert_eq!(
        cluster("hub-b"),
        [
            "hub-b (hub, active)",
            "  + BackupSchedule open-cluster-management-backup/schedule-acm",
            "  + ManagedClusterAddOn east-1/volsync",
            "  + ManagedClusterAddOn west-1/volsync",
            "  ~ MultiClusterHub open-cluster-management/multiclusterhub",
            "  - Restore open-cluster-management-backup/restore-acm-passive-sync-g0",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    CatalogSource openshift-marketplace/redhat-operator-index: OADP operator install on a disconnected hub",
            // The new primary holds the ManagedClusters: auto-import reaches each by its URL.
            "    ManagedCluster east-1 url https://api.east-1.example.com:6443: auto-import: its spec.managedClusterClientConfigs[].url must be this URL (hubdr status and the failover preflight check it)",
            "    ManagedCluster west-1 url https://api.west-1.example.com:6443: auto-import: its spec.managedClusterClientConfigs[].url must be this URL (hubdr status and the failover preflight check it)",
            GIT_SECRET,
            "    Secret open-cluster-management-backup/cloud-credentials keys [cloud]: DataProtectionApplication backup location credentials",
        ],
        "{run}"
    );
    assert_eq!(
        cluster("east-1"),
        [
            "east-1 (managed)",
            "  no changes",
            "  prerequisites (must exist in the cluster; hubdr never renders them):",
            "    PersistentVolumeClaim shop/db-data: replication db (rsync-tls): the volume to protect",
            GIT_SECRET,
            "    Secret shop/db-psk keys [psk.txt]: replication db (rsync-tls)",
        ],
        "{run}"
    );
    assert!(
        cluster("west-1")
            .contains(&"    Secret shop/db-psk keys [psk.txt]: replication db (rsync-tls)"),
        "{run}"
    );
    assert!(cluster("west-1").contains(&GIT_SECRET), "{run}");
    // FAILOVER is a hand edit: hub-b has no activeSince, so its schedule is not gated.
    run.expect_stderr(
        "warning: spec.hubs[1].role: a hub is fenced but the active hub has no activeSince",
    );

    assert_eq!(support::commits(&repo), head, "plan commits nothing");
    assert_eq!(
        support::stamps(&repo, true),
        before,
        "plan writes nothing\n{run}"
    );
    assert!(support::git_status(&repo).is_empty());
}

#[test]
pub(crate) fn plan_without_a_repository_shows_everything_new_and_creates_nothing() {
    let sandbox = starter();
    let run = sandbox.hubdr(&["plan", "--out", "missing"]);
    run.expect_code(0).expect_stdout(
        "Plan for site my-site (generation 0): 12 to create, 0 to change, 0 to remove\n",
    );
    assert!(
        !run.stdout.contains("  ~ ") && !run.stdout.contains("  - "),
        "{run}"
    );
    assert!(!sandbox.join("missing").exists(), "{run}");
    assert_eq!(sandbox.listing(), ["site.yaml"]);
}

#[test]
pub(crate) fn plan_after_render_has_nothing_to_do() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0)
        .expect_stdout("0 to create, 0 to change, 0 to remove\n");
    assert_eq!(run.stdout.matches("  no changes\n").count(), 4, "{run}");
}

/// Two more replications east-1 -> west-1 beside the starter's `db`.
pub(crate) const MORE_REPLICATIONS: &[(&str, &str)] = &[(
    "        destination: {cluster: west-1, namespace: shop, capacity: 10Gi}\n",
    "        destination: {cluster: west-1, namespace: shop, capacity: 10Gi}
      - {name: cache, method: rsync-tls, schedule: \"*/15 * * * *\", pskSecret: db-psk,
         source: {cluster: east-1, namespace: shop, pvc: cache-data},
         destination: {cluster: west-1, namespace: shop, capacity: 1Gi}}
      - {name: logs, method: rsync-tls, schedule: \"*/15 * * * *\", pskSecret: db-psk,
         source: {cluster: east-1, namespace: shop, pvc: logs-data},
         destination: {cluster: west-1, namespace: shop, capacity: 1Gi}}
",
)];

#[test]
pub(crate) fn plan_shows_the_prune_guard_of_clusters_that_would_lose_most_of_their_objects() {
    let sandbox = starter();
    edit_site(&sandbox, MORE_REPLICATIONS);
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let quiet = sandbox.hubdr(&["plan", "--out", "repo"]);
    assert!(!quiet.stdout.contains("Prune guard"), "{quiet}");

    // Two of the three replications go: east-1 loses 2 of its 3 ReplicationSources.
    let path = sandbox.join("site.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find("      - {name: cache").unwrap();
    assert!(
        text[start..].trim_end().ends_with("capacity: 1Gi}}"),
        "the last lines"
    );
    fs::write(&path, &text[..start]).unwrap();
    let run = sandbox.hubdr(&["plan", "--out", "repo"]);
    run.expect_code(0);

    let guard = &run.stdout[run
        .stdout
        .find("Prune guard")
        .unwrap_or_else(|| panic!("no prune guard\n{run}"))..];
    assert!(
        guard.starts_with(
            "Prune guard: these agents will hold pruning (status reason PruneGuard):\n"
        ),
        "{run}"
    );
    assert!(
        guard.contains("  east-1: 2 of the 3 object(s) this agent owns would be deleted (more than 50%), so nothing is pruned; if that is intended, run the agent once with --allow-mass-prune\n"),
        "{run}"
    );
    assert!(guard.contains("  west-1: 2 of the 3 object(s)"), "{run}");
    assert!(!guard.contains("hub-"), "the hubs lose nothing: {run}");

    // The same in a pull request description.
    let markdown = sandbox.hubdr(&["plan", "--out", "repo", "--markdown"]);
    assert!(
        markdown
            .stdout
            .contains("### Prune guard: these agents will hold pruning (status reason PruneGuard)\n\n- **east-1**: 2 of the 3"),
        "{markdown}"
    );
}
