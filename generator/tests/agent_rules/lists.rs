//! The fixed lists the install rules are worked out from: kinds, observed reads, the
//! failover's grants by name, verbs.

/// Every kind hubdr renders into a cluster directory: (API group, Kind, resource, namespaced,
/// managed by hubs (else by managed clusters), deletable).
pub const RENDERED_KINDS: [(&str, &str, &str, bool, bool, bool); 17] = [
    (
        "operator.open-cluster-management.io",
        "MultiClusterHub",
        "multiclusterhubs",
        true,
        true,
        false,
    ),
    // Cluster-scoped, on hubs: its managed-service-account component for auto-import.
    (
        "multicluster.openshift.io",
        "MultiClusterEngine",
        "multiclusterengines",
        false,
        true,
        false,
    ),
    (
        "oadp.openshift.io",
        "DataProtectionApplication",
        "dataprotectionapplications",
        true,
        true,
        false,
    ),
    (
        "cluster.open-cluster-management.io",
        "BackupSchedule",
        "backupschedules",
        true,
        true,
        true,
    ),
    (
        "cluster.open-cluster-management.io",
        "Restore",
        "restores",
        true,
        true,
        true,
    ),
    (
        "addon.open-cluster-management.io",
        "ManagedClusterAddOn",
        "managedclusteraddons",
        true,
        true,
        true,
    ),
    ("", "Namespace", "namespaces", false, false, false),
    (
        "volsync.backube",
        "ReplicationSource",
        "replicationsources",
        true,
        false,
        true,
    ),
    (
        "volsync.backube",
        "ReplicationDestination",
        "replicationdestinations",
        true,
        false,
        true,
    ),
    (
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        false,
        true,
    ),
    // Only for the agents of management clusters (spec.hostedClusters), on either side.
    ("velero.io", "Schedule", "schedules", true, false, true),
    // Only for the agents of clusters spec.etcdBackup covers, in its namespace.
    ("", "ServiceAccount", "serviceaccounts", true, false, true),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
        false,
        true,
    ),
    ("batch", "CronJob", "cronjobs", true, false, true),
    ("batch", "Job", "jobs", true, false, true),
    // Only for the agents of management clusters of a `restoreFrom: latest` hosted cluster;
    // never deleted.
    (
        "hypershift.openshift.io",
        "HostedCluster",
        "hostedclusters",
        true,
        false,
        false,
    ),
    ("", "ConfigMap", "configmaps", true, false, true),
];

/// What every agent only reads, cluster-wide: VolSync status (reconciler/src/observe.rs lists
/// both kinds in every namespace).
pub const OBSERVED_EVERYWHERE: [(&str, &str); 2] = [
    ("volsync.backube", "replicationsources"),
    ("volsync.backube", "replicationdestinations"),
];

/// What a hub's agent also reads in the backup namespace: Velero backups, storage locations and
/// restores (status and the activation gate) and the pods (health); nothing else.
pub const HUB_OBSERVED: [(&str, &str); 4] = [
    ("velero.io", "backups"),
    ("velero.io", "backupstoragelocations"),
    ("velero.io", "restores"),
    ("", "pods"),
];

/// The fixed operations of a hub's failover steps, cluster-wide (reconciler/src/fence.rs,
/// managed_clusters.rs, readiness.rs): annotate ManagedClusters (disable-auto-import), read
/// whether observability is installed, the MCE version and the Hive ClusterDeployments.
pub const FAILOVER_CLUSTER: [(&str, &str, &[&str]); 4] = [
    (
        "cluster.open-cluster-management.io",
        "managedclusters",
        &["get", "list", "patch"],
    ),
    (
        "observability.open-cluster-management.io",
        "multiclusterobservabilities",
        &["get", "list"],
    ),
    (
        "multicluster.openshift.io",
        "multiclusterengines",
        &["get", "list"],
    ),
    ("hive.openshift.io", "clusterdeployments", &["get", "list"]),
];

/// The fixed operations of a hub's failover steps by name: (namespace, group, resource, name,
/// verbs): the observability compactor's replicas (fence, abort) and the observability API's
/// restart (takeover.rs), the import controller's auto-import strategy (ACM 2.14+,
/// auto_import.rs).
pub const FAILOVER_NAMED: [(&str, &str, &str, &str, &[&str]); 3] = [
    (
        "open-cluster-management-observability",
        "apps",
        "statefulsets",
        "observability-thanos-compact",
        &["get", "patch"],
    ),
    (
        "open-cluster-management-observability",
        "apps",
        "deployments",
        "observability-observatorium-api",
        &["get", "patch"],
    ),
    (
        MCE_NAMESPACE,
        "",
        "configmaps",
        "import-controller-config",
        &["get", "patch"],
    ),
];

/// The import controller's namespace: besides the named grant, a hub's agent may create
/// ConfigMaps there (import-controller-config is absent until a strategy is set; create cannot
/// be limited to a name), and nothing else; on ACM 2.14+ only (older ones do not read it).
pub const MCE_NAMESPACE: &str = "multicluster-engine";

/// What reconciler/src does: get/list (read, observe), server-side apply (a patch that may
/// create), prune (delete). No watch, no update, and never `*`.
pub const READ: [&str; 2] = ["get", "list"];
pub const APPLY: [&str; 4] = ["get", "list", "create", "patch"];
pub const MANAGE: [&str; 5] = ["get", "list", "create", "patch", "delete"];
pub const PATCH: [&str; 3] = ["get", "list", "patch"];
/// What the agent of a management cluster needs for the etcd-snapshot sequence of its hosted
/// clusters (pause, scale, snapshot Jobs and their pods' results).
pub const HCP_SNAPSHOT: [(&str, &str, &[&str]); 4] = [
    ("hypershift.openshift.io", "hostedclusters", &PATCH),
    ("apps", "deployments", &PATCH),
    ("batch", "jobs", &MANAGE),
    ("", "pods", &READ),
];
/// Namespaces, by name: applied, never deleted.
pub const NAMESPACE_VERBS: [&str; 3] = ["get", "create", "patch"];
/// What the agent does with its inventory ConfigMap (get, then create or apply-patch).
pub const INVENTORY_VERBS: [&str; 3] = ["get", "create", "patch"];
