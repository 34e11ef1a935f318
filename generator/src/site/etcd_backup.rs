//! `spec.etcdBackup`: etcd backups of the site's OpenShift clusters (seed 003), as typed data,
//! and which clusters they cover. Cross-field rules live in `validate_etcd.rs`.

use super::model::SiteSpec;

pub mod types;
pub use types::*;

/// A cluster the etcd backups cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdCluster<'a> {
    pub name: &'a str,
    pub hub: bool,
}

/// The clusters `spec.etcdBackup` covers, hubs first, in site order: the listed ones (or every
/// OpenShift hub and managed cluster), minus the excluded and non-OpenShift ones.
pub fn selected(spec: &SiteSpec) -> Vec<EtcdCluster<'_>> {
    let Some(e) = &spec.etcd_backup else {
        return Vec::new();
    };
    let hubs = spec.hubs.iter().map(|h| EtcdCluster {
        name: &h.name,
        hub: true,
    });
    let managed = spec
        .managed_clusters
        .iter()
        .filter(|c| c.openshift)
        .map(|c| EtcdCluster {
            name: &c.name,
            hub: false,
        });
    hubs.chain(managed)
        .filter(|c| {
            e.clusters
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| n == c.name))
        })
        .filter(|c| !e.exclude.iter().any(|n| n == c.name))
        .collect()
}
