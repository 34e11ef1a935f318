//! The destinations of a replication (read by validation, the domain rules and rendering).

use super::model::{Replication, ReplicationDestinationSpec};

/// Every destination of a replication: `destination`, then the `destinations` list.
pub fn destination_specs(r: &Replication) -> impl Iterator<Item = &ReplicationDestinationSpec> {
    r.destination.iter().chain(&r.destinations)
}

/// Every destination of a replication with its field path.
pub fn destinations<'a>(
    path: &str,
    r: &'a Replication,
) -> Vec<(String, &'a ReplicationDestinationSpec)> {
    let mut out: Vec<(String, &ReplicationDestinationSpec)> = Vec::new();
    if let Some(d) = &r.destination {
        out.push((format!("{path}.destination"), d));
    }
    for (i, d) in r.destinations.iter().enumerate() {
        out.push((format!("{path}.destinations[{i}]"), d));
    }
    out
}
