//! The synthetic fleet of the render benchmarks (`hubdr-bench`, `gix-bench`): its site file.

use std::fmt::Write as _;

/// The synthetic fleet: cluster `c-NNNNN`, replication `vol-NNNNN` from cluster `i` to a
/// cluster some distance away, methods in turn.
pub struct Fleet {
    hubs: usize,
    clusters: usize,
    replications: usize,
}

const METHODS: [&str; 4] = ["rsync-tls", "rsync", "restic", "rclone"];

impl Fleet {
    pub fn new(hubs: usize, clusters: usize, replications: usize) -> Self {
        Self {
            hubs,
            clusters,
            replications,
        }
    }

    fn cluster(&self, i: usize) -> String {
        format!("c-{:05}", i % self.clusters)
    }

    pub fn describe(&self) -> String {
        let count = |f: &dyn Fn(usize) -> bool| (0..self.replications).filter(|&i| f(i)).count();
        let methods: Vec<String> = METHODS
            .iter()
            .enumerate()
            .map(|(m, name)| format!("{name} {}", count(&|i| i % 4 == m)))
            .collect();
        format!(
            "{}; {} with replica PVCs, {} with privileged movers",
            methods.join(", "),
            count(&|i| Self::replica_pvc(i)),
            count(&|i| Self::privileged(i)),
        )
    }

    /// Every third replication except restic ones (which have no destination PVC).
    fn replica_pvc(i: usize) -> bool {
        matches!(i % 12, 0 | 3 | 9)
    }

    /// Every fifth replication.
    fn privileged(i: usize) -> bool {
        matches!(i % 5, 0)
    }

    pub fn site_yaml(&self) -> String {
        let mut y = String::with_capacity(400 * (self.clusters + self.replications) + 4096);
        y.push_str(
            "\
# Synthetic site written by hubdr-bench.
apiVersion: hubdr.io/v1alpha1
kind: Site
metadata:
  name: bench
spec:
  git:
    url: https://git.example.com/platform/acm-dr.git
    branch: main
  storage:
    provider: aws
    bucket: acm-backups
    prefix: bench
    region: eu-west-1
    profile: default
    credentialsSecret: {name: cloud-credentials, key: cloud}
  velero:
    defaultPlugins: [openshift, aws]
    resources:
      limits: {cpu: \"2\", memory: 4Gi}
      requests: {cpu: 500m, memory: 1Gi}
  backup:
    schedule: \"0 */2 * * *\"
    ttl: 120h
    useManagedServiceAccount: true
  failover:
    generation: 0
  hubs:
",
        );
        for h in 0..self.hubs {
            let _ = write!(y, "    - name: hub-{h}\n      role: ");
            if h == 0 {
                y.push_str("active\n");
            } else {
                y.push_str("passive\n      restoreSyncInterval: 10m\n");
            }
        }
        y.push_str("  managedClusters:\n");
        let publishers = self.address_publishers();
        for c in 0..self.clusters {
            let name = self.cluster(c);
            let _ = writeln!(
                y,
                "    - name: {name}\n      apiServer: https://api.{name}.example.com:6443"
            );
            if publishers.contains(&name) {
                // Where its rsync services are: a clean site (without it, a warning each).
                y.push_str("      network: {addresses: [10.0.0.0/8]}\n");
            }
        }
        y.push_str("  volsync:\n    channel: stable-0.9\n    replications:\n");
        for i in 0..self.replications {
            self.replication(&mut y, i);
        }
        y.push_str(
            "  argocd:
    automated: {prune: true, selfHeal: true}
  patches:
    - target: {cluster: hub-0, kind: DataProtectionApplication}
      merge: {spec: {configuration: {velero: {podConfig: {nodeSelector: {node-role.kubernetes.io/infra: \"\"}}}}}}
",
        );
        y
    }

    /// The destination of replication `i`.
    fn destination(&self, i: usize) -> String {
        self.cluster(i + 1 + i % 7)
    }

    /// The clusters whose rsync addresses other clusters bind at run time: destinations of
    /// rsync and rsync-tls replications without a fixed address.
    fn address_publishers(&self) -> std::collections::HashSet<String> {
        (0..self.replications)
            .filter(|i| matches!(METHODS[i % 4], "rsync-tls" | "rsync") && i % 3 != 1)
            .map(|i| self.destination(i))
            .collect()
    }

    fn replication(&self, y: &mut String, i: usize) {
        let method = METHODS[i % 4];
        let source = self.cluster(i);
        let dest = self.destination(i);
        let ns = format!("app-{}", i % 97);
        let name = format!("vol-{i:05}");
        let schedule = if method == "rclone" {
            "*/6 * * * *"
        } else {
            "*/15 * * * *"
        };
        let _ = write!(
            y,
            "      - name: {name}\n        method: {method}\n        schedule: \"{schedule}\"\n        source: {{cluster: {source}, namespace: {ns}, pvc: {name}-data"
        );
        if i % 10 == 1 {
            y.push_str(", copyMethod: Clone, accessModes: [ReadWriteOnce]");
        }
        y.push_str("}\n");
        if Self::privileged(i) {
            y.push_str("        privilegedMovers: true\n");
        }
        let pvc = if Self::replica_pvc(i) {
            format!(", pvc: {{name: {name}-replica}}")
        } else {
            String::new()
        };
        match method {
            "rsync-tls" | "rsync" => {
                if method == "rsync-tls" {
                    let _ = writeln!(y, "        pskSecret: {name}-psk");
                } else {
                    let _ = writeln!(y, "        sshKeysSecret: {name}-ssh");
                }
                let extra = match i % 3 {
                    0 => ", serviceType: ClusterIP",
                    1 => ", address: vol.svc.clusterset.local",
                    _ => "",
                };
                let _ = writeln!(
                    y,
                    "        destination: {{cluster: {dest}, namespace: {ns}, capacity: 10Gi, storageClassName: gp3{extra}{pvc}}}"
                );
            }
            "restic" => {
                let _ = writeln!(
                    y,
                    "        repositorySecret: {name}-restic\n        pruneIntervalDays: 14\n        retain: {{hourly: 6, daily: 7, weekly: 4}}"
                );
                if i % 8 == 2 {
                    let _ = writeln!(
                        y,
                        "        restore: {{cluster: {dest}, namespace: {ns}, destinationPVC: {name}-restored, run: r1}}"
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    y,
                    "        rclone: {{configSection: bucket, destPath: acm-volumes/{name}, configSecret: rclone-config}}\n        destinations:"
                );
                let _ = writeln!(
                    y,
                    "          - {{cluster: {dest}, namespace: {ns}, capacity: 5Gi{pvc}}}"
                );
                if i % 8 == 7 {
                    let second = self.cluster(i + 11);
                    let _ = writeln!(
                        y,
                        "          - {{cluster: {second}, namespace: {ns}, capacity: 5Gi, scheduleOffsetMinutes: 2}}"
                    );
                }
            }
        }
    }
}
