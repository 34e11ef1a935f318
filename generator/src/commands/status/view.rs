//! What `hubdr status` knows after one read of the repository: the rendered index on the
//! source branch (roles, generation, what the active hub's BackupSchedule waits for) and
//! every cluster's status file. Plain data; reading it is in `status.rs`.

use crate::status::ClusterStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct FleetView {
    pub site: String,
    /// `failover.generation` of the rendered index.
    pub generation: u64,
    /// The source branch's commit (short).
    pub commit: String,
    /// The active hub.
    pub active: Option<String>,
    /// Fenced hubs the active hub's BackupSchedule waits for (`fenced` gates);
    /// fenced hubs not listed were declared unreachable and are not waited for.
    pub waited_for: Vec<String>,
    pub clusters: Vec<ClusterView>,
    /// When the current generation was merged: the committer time (seconds since the epoch)
    /// of the first commit of the source branch at it, following first parents.
    pub merged_at: Option<i64>,
    /// When the source commit was made (seconds since the epoch): an agent that has not
    /// reported `--stall-after` later counts as stalled.
    pub rendered_at: i64,
    /// Clusters with a status on the status branch that the rendered site does not name (an
    /// agent started with a misspelt `--cluster`).
    pub unknown: Vec<String>,
    /// The ref the statuses were read from; `None` when there is no status branch.
    pub status_ref: Option<String>,
    /// Managed cluster -> the site's `apiServer`, from the index's ManagedCluster
    /// prerequisites (auto-import on): checked against the hubs' reports.
    pub api_servers: std::collections::BTreeMap<String, String>,
    /// A heartbeat older than this (seconds) counts as stalled: `--stall-after`, or by default
    /// three of the agents' heartbeat intervals (see `heartbeat.rs`).
    pub heartbeat_stall_after: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub name: String,
    /// `hub` or `managed`.
    pub kind: String,
    /// Hub role: active, passive or fenced.
    pub role: Option<String>,
    /// Its status file, if its agent ever reported and the file is trusted (signed by the
    /// cluster's key, not from the future).
    pub status: Option<ClusterStatus>,
    /// Why its status file is ignored (`status of <cluster> ignored: ...`), when it is.
    pub ignored: Option<String>,
    /// Its agent's last heartbeat (`refs/hubdr/heartbeat/<cluster>`), if it has a heartbeat ref.
    pub heartbeat: Option<Heartbeat>,
}

impl ClusterView {
    pub fn role_text(&self) -> &str {
        self.role
            .as_deref()
            .unwrap_or(if self.kind == "hub" { "hub" } else { "managed" })
    }

    pub fn applied(&self) -> Option<u64> {
        self.status.as_ref().and_then(|s| s.source.generation)
    }
}

impl FleetView {
    /// Hubs the failover at this generation depends on: all hubs except fenced ones declared
    /// unreachable.
    pub fn reachable_hubs(&self) -> impl Iterator<Item = &ClusterView> {
        self.clusters
            .iter()
            .filter(|c| c.kind == "hub")
            .filter(|c| c.role.as_deref() != Some("fenced") || self.waited_for.contains(&c.name))
    }

    /// Changes when any status or the source commit changes (not with time).
    pub fn key(&self) -> String {
        let mut key = self.commit.clone();
        for c in &self.clusters {
            if let Some(s) = &c.status {
                key.push_str(&format!("|{}={}", c.name, s.updated_at));
            }
        }
        key
    }
}

pub use crate::status::epoch;
pub use crate::status::human_age as human;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_reads_rfc3339() {
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            epoch("2026-11-22T10:00:00.123Z"),
            epoch("2026-11-22T10:00:00+00:00")
        );
        assert_eq!(
            epoch("2026-11-22T10:01:00Z").unwrap() - epoch("2026-11-22T10:00:00Z").unwrap(),
            60
        );
        assert_eq!(epoch("yesterday"), None);
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(
            [human(5), human(600), human(4 * 3600), human(3 * 86_400)],
            ["5s", "10m", "4h", "3d"]
        );
    }
}

/// A cluster's last heartbeat, as read from its heartbeat ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heartbeat {
    /// The committer time of the heartbeat commit, seconds since the epoch.
    At(i64),
    /// The ref exists but cannot be used; why.
    Ignored(String),
}
