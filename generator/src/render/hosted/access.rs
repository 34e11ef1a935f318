//! What the agents of management clusters may do for their hosted clusters, on top of their
//! side's access: from the site's `spec.hostedClusters` alone.
//!
//! - `oadp`: manage the Velero Schedules in Velero's namespace (the hub's backup namespace, or
//!   `openshift-adp`), and on a managed cluster apply the DataProtectionApplication there.
//! - `etcd-snapshot`: patch (never create or delete) HostedClusters in `<ns>` (pausedUntil) and
//!   Deployments in `<ns>-<name>` (replicas); manage its snapshot Jobs and read the pods there
//!   (their termination messages). Nothing else: the Jobs mount the etcd client certificates
//!   and the bucket credentials, the agent never reads a Secret.
//! - `etcd-snapshot` with `restoreFrom: latest`: also create HostedClusters in `<ns>` and read
//!   two Secrets there by name: the bucket credentials (to pre-sign the snapshot's URL) and
//!   the encryption key (only checked to exist).

use std::collections::HashMap;

use crate::render::access::grants::{add, fixed_kind, Access, ClusterAccess, KindGrant};
use crate::site::hosted::HostedMethod;
use crate::site::Site;

use super::oadp::velero_namespace;

fn ensure_kind(a: &mut ClusterAccess, kind: &str) {
    if !a.kinds.iter().any(|k| !k.extra && k.kind == kind) {
        // Before the extra kinds, sorted with hubdr's own.
        let own = a.kinds.iter().take_while(|k| !k.extra).count();
        a.kinds.insert(own, fixed_kind(kind));
        a.kinds[..own + 1].sort_by_key(KindGrant::allow_kind);
    }
}

pub fn grant(site: &Site, clusters: &mut HashMap<String, ClusterAccess>) {
    let mut touched = Vec::new();
    for h in &site.spec.hosted_clusters {
        let Some(a) = clusters.get_mut(&h.management_cluster) else {
            continue;
        };
        if h.method == HostedMethod::Oadp {
            let ns = velero_namespace(site, &h.management_cluster);
            ensure_kind(a, "Schedule");
            a.grant(ns, "Schedule", None);
            if !a.hub {
                ensure_kind(a, "DataProtectionApplication");
                a.grant(ns, "DataProtectionApplication", None);
            }
        }
        if h.method == HostedMethod::EtcdSnapshot {
            let hc = &mut a.namespaces.entry(h.namespace.clone()).or_default().role;
            add(
                hc,
                "hypershift.openshift.io",
                "hostedclusters",
                if h.restore_from.is_some() {
                    Access::Apply
                } else {
                    Access::Patch
                },
            );
            if h.restore_from.is_some() {
                // restoreFrom: latest: create the HostedCluster from a URL the agent pre-signs
                // with the bucket credentials, checking the encryption key Secret is there.
                ensure_kind(a, "HostedCluster");
                let ns = a.namespaces.entry(h.namespace.clone()).or_default();
                for secret in [
                    &h.destination.credentials_secret.name,
                    &h.encryption_key_secret,
                ] {
                    if !ns.read_secrets.contains(secret) {
                        ns.read_secrets.push(secret.clone());
                    }
                }
                ns.read_secrets.sort();
            }
            let cp = &mut a
                .namespaces
                .entry(h.control_plane_namespace())
                .or_default()
                .role;
            add(cp, "apps", "deployments", Access::Patch);
            add(cp, "batch", "jobs", Access::Manage);
            add(cp, "", "pods", Access::Read);
            a.hcp_snapshots.push(super::snapshot_flag(h));
        }
        // Every HostedCluster on it: the agent reports those no backup covers.
        add(
            &mut a.cluster,
            "hypershift.openshift.io",
            "hostedclusters",
            Access::Read,
        );
        touched.push(h.management_cluster.as_str());
    }
    for cluster in touched {
        if let Some(a) = clusters.get_mut(cluster) {
            // Like every namespace a managed cluster's agent uses, applied by name.
            a.namespace_objects |= !a.hub && !a.namespaces.is_empty();
            a.add_extra_to_roles();
        }
    }
}
