//! What the unit tests of the failover edits share: the example site, and a new primary's
//! status with one Restore.

use std::path::Path;

use crate::site::Site;
use crate::status::{ClusterStatus, Observed, PhaseObservation};

/// The example site: hub-a active, hub-b passive and syncing (`passiveSince: 0`).
pub const SITE: &str = include_str!("../../../repos-example/site.yaml");

/// The site of `text`, which must be valid.
pub fn load(text: &str) -> Site {
    crate::site::load_str(text, Path::new("site.yaml"))
        .expect("valid")
        .site
}

/// hub-b's status at `generation` (Progressing, Waiting), with one Restore `ns/<restore>` in
/// `phase` and nothing else observed.
pub fn restoring(generation: u64, restore: &str, phase: &str) -> ClusterStatus {
    let text = format!(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: hub-b\nagentVersion: '0'\nupdatedAt: '2026-12-07T00:00:00Z'\nsource: {{generation: {generation}}}\npass: {{outcome: Progressing, reason: Waiting}}\n"
    );
    let mut s = ClusterStatus::parse(&text).unwrap();
    s.observed = Observed {
        restores: vec![PhaseObservation {
            name: format!("ns/{restore}"),
            phase: phase.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    s
}
