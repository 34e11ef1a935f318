//! A passive hub's Restore (planned by `desired` for a passive hub and by `takeover` while a
//! hub takes over).

use serde_json::json;

use crate::site::{Hub, Site};

use super::object_plan::ObjectPlan;

/// Name of a hub's passive-sync Restore; stable while the hub stays passive.
pub fn passive_sync_restore_name(passive_since: u64) -> String {
    format!("restore-acm-passive-sync-g{passive_since}")
}

/// A passive hub's Restore: continuous sync (the default) or a one-time passive restore.
pub(crate) fn passive_restore(site: &Site, hub: &Hub) -> ObjectPlan {
    let name = if hub.passive_sync {
        passive_sync_restore_name(hub.passive_since)
    } else {
        format!("restore-acm-passive-g{}", hub.passive_since)
    };
    ObjectPlan::new(
        &hub.name,
        "restore.yaml.j2",
        2,
        json!({
            "name": name,
            "namespace": site.spec.backup_namespace,
            "cleanup_before_restore": hub.cleanup_before_restore,
            "sync": hub.passive_sync,
            "restore_sync_interval": hub.restore_sync_interval,
            "managed_clusters_backup": "skip",
            "credentials_backup": "latest",
            "resources_backup": "latest",
        }),
    )
}
