//! Other clusters' status, as late binding and gates read it: every status file of the status
//! refs (one per cluster) and the shared status branch (`hubdr_core::status::refs`), believed only when signed by the key trusted for its cluster and not from the future
//! (`hubdr_core::status::trust`). Refused ones are kept with the reason, so the objects that needed
//! them can say why they wait.

use std::collections::BTreeMap;

use hubdr_core::status::trust::{self, PinMemory};
use hubdr_core::status::ClusterStatus;

use crate::git::GitSource;

/// What the status branch says, sorted into believed and refused statuses.
#[derive(Debug, Clone, Default)]
pub struct Statuses {
    pub trusted: BTreeMap<String, ClusterStatus>,
    /// Cluster -> `status of <cluster> ignored: <why>`.
    pub refused: BTreeMap<String, String>,
}

impl Statuses {
    /// Why `cluster`'s status cannot be used, when it was refused.
    pub fn refusal(&self, cluster: &str) -> Option<&str> {
        self.refused.get(cluster).map(String::as_str)
    }
}

/// Read every status of the branch `source` follows. `registered` are the keys the render
/// index registers; `memory` the pins seen before (updated). Unreadable: nothing is trusted.
pub fn read(
    source: &GitSource,
    registered: &BTreeMap<String, String>,
    memory: &mut PinMemory,
) -> Statuses {
    let fetched = match source.fetch_statuses() {
        Ok(fetched) => fetched,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the status refs");
            return Statuses::default();
        }
    };
    for why in &fetched.ignored {
        tracing::warn!("status ignored: {why}");
    }
    let files = fetched.files;
    let read = trust::read_branch(&files, registered, Some(memory), jiff::Timestamp::now());
    let refused: BTreeMap<String, String> = read
        .refused
        .into_iter()
        .map(|(cluster, refusal)| (cluster, refusal.to_string()))
        .collect();
    for why in refused.values() {
        tracing::warn!("{why}");
    }
    Statuses {
        trusted: read.trusted,
        refused,
    }
}
