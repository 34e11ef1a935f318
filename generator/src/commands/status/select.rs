//! `hubdr status --cluster NAME --changed-only` and `-o json`: which clusters are shown, and
//! the `StatusResult` document. Pure.

use super::progress::Progress;
use super::view::{ClusterView, FleetView};
use crate::cli::ClusterFilter;
use crate::commands::CommandError;

/// Is `c` done: reported, trusted, at the current generation, applied, waiting for nothing?
fn done(c: &ClusterView, generation: u64) -> bool {
    c.status.as_ref().is_some_and(|s| {
        s.source.generation.is_some_and(|g| g >= generation)
            && s.pass.reason == "Applied"
            && s.gates.is_empty()
            && !s.source.stale
    })
}

/// The fleet with only the clusters `filter` selects (`--changed-only`: those not done).
pub fn filtered(fleet: &FleetView, filter: &ClusterFilter) -> FleetView {
    let mut shown = fleet.clone();
    shown.clusters.retain(|c| {
        (filter.clusters.is_empty() || filter.clusters.contains(&c.name))
            && (!filter.changed_only || !done(c, fleet.generation))
    });
    shown
}

/// Refuse a `--cluster` the rendered site does not name.
pub fn check_names(fleet: &FleetView, filter: &ClusterFilter) -> Result<(), CommandError> {
    match filter
        .clusters
        .iter()
        .find(|n| !fleet.clusters.iter().any(|c| &c.name == *n))
    {
        None => Ok(()),
        Some(name) => Err(CommandError::BadInput(format!(
            "error: --cluster {name}: the rendered site has no such cluster\n  fix: name one of: {}",
            fleet
                .clusters
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The `StatusResult` document (after `apiVersion` and `kind`).
pub fn json(fleet: &FleetView, progress: &Progress, now: i64) -> serde_json::Value {
    let (state, reasons) = match progress {
        Progress::Complete => ("Complete", vec![]),
        Progress::Pending(left) => ("Pending", left.clone()),
        Progress::Stalled(why) => ("Stalled", vec![why.clone()]),
    };
    let clusters: Vec<serde_json::Value> = fleet
        .clusters
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "kind": c.kind,
                "role": c.role,
                "reported": c.status.is_some(),
                "ignored": c.ignored,
                "done": done(c, fleet.generation),
                "status": c.status,
                "heartbeat": super::heartbeat::json(c.heartbeat.as_ref(), now, fleet.heartbeat_stall_after),
            })
        })
        .collect();
    serde_json::json!({
        "site": fleet.site,
        "generation": fleet.generation,
        "commit": fleet.commit,
        "statusRef": fleet.status_ref,
        "active": fleet.active,
        "progress": {"state": state, "reasons": reasons},
        "clusters": clusters,
        "unknownClusters": fleet.unknown,
        "heartbeatStallAfterSeconds": fleet.heartbeat_stall_after,
    })
}
