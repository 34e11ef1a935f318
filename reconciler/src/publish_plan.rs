//! What a pass writes of its status: a commit on the cluster's status ref (its history, the
//! timeline `hubdr status` and RPO/RTO read), a heartbeat (one replaced commit that carries
//! the current status), or nothing. Pure: the runner does the writing.
//!
//! The status history gains a commit only when the status changed in more than the values
//! that move on their own in an idle cluster (`ClusterStatus::same_timeline`: VolSync sync
//! times, the newest Velero backup), and for those at most once a
//! [`SUMMARY_INTERVAL`]: so a cluster whose volumes sync every few minutes adds about one
//! commit a day to its history instead of one per sync. Between commits the heartbeat carries
//! the newest values, and readers take it when it is newer than the status ref's.

use std::time::Duration;

use hubdr_core::status::ClusterStatus;

/// At most this often a change of volatile values alone is committed to the status history
/// (a daily summary of the sync times and the newest backup).
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Nothing changed and the heartbeat is not due.
    Nothing,
    /// A commit on the status ref.
    Commit,
    /// Replace the heartbeat ref with a commit holding the status (no history).
    Heartbeat,
}

/// What the agent knows of what it wrote before.
#[derive(Debug, Clone, Copy, Default)]
pub struct Landed<'a> {
    /// The status last confirmed on the status ref (committed, or found there unchanged), and
    /// how long ago that commit was made. `None` after a start or a failed commit.
    pub committed: Option<(&'a ClusterStatus, Duration)>,
    /// The status last written either way, and how long ago.
    pub last: Option<(&'a ClusterStatus, Duration)>,
}

/// Decide what to write of `status`.
pub fn decide(status: &ClusterStatus, landed: Landed<'_>, heartbeat: Duration) -> Write {
    let Some((committed, committed_ago)) = landed.committed else {
        return Write::Commit;
    };
    if !status.same_timeline(committed) {
        return Write::Commit;
    }
    let changed = !status.same_content(committed);
    if changed && committed_ago >= SUMMARY_INTERVAL {
        return Write::Commit;
    }
    // Readers take a heartbeat's status only when it is newer (`updatedAt`, in seconds) than
    // the status ref's: a change within the second of the last commit is committed too.
    if changed && status.updated_at <= committed.updated_at {
        return Write::Commit;
    }
    match landed.last {
        Some((last, ago)) if last.same_content(status) && ago < heartbeat => Write::Nothing,
        _ => Write::Heartbeat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubdr_core::status::{BackupObservation, PassStatus, SourceStatus, SyncObservation};

    const BEAT: Duration = Duration::from_secs(600);
    const MIN: Duration = Duration::from_secs(60);

    fn status(sync: &str, phase: &str) -> ClusterStatus {
        let mut s = ClusterStatus {
            api_version: "hubdr.io/v1alpha1".into(),
            kind: "ClusterStatus".into(),
            cluster: "west-1".into(),
            agent_version: "0".into(),
            updated_at: format!("2026-12-07T10:{sync}:00Z"),
            source: SourceStatus::default(),
            pass: PassStatus {
                outcome: "Succeeded".into(),
                reason: "Applied".into(),
                message: String::new(),
            },
            objects: Vec::new(),
            gates: Vec::new(),
            observed: Default::default(),
            health: Vec::new(),
            inventory: Vec::new(),
        };
        s.observed.replication_sources.push(SyncObservation {
            name: "app/data".into(),
            last_sync_time: Some(format!("2026-12-07T10:{sync}:00Z")),
            next_sync_time: Some(format!("2026-12-07T10:{sync}:30Z")),
            last_sync_duration: Some("12s".into()),
            latest_image: None,
            address: Some("rsync.example.com".into()),
        });
        s.observed.latest_backups.push(BackupObservation {
            schedule: "acm-resources-schedule".into(),
            name: format!("acm-resources-schedule-202612071{sync}00"),
            phase: phase.into(),
            started: None,
            completed: None,
        });
        s
    }

    fn landed<'a>(
        committed: &'a ClusterStatus,
        committed_ago: Duration,
        last: &'a ClusterStatus,
        last_ago: Duration,
    ) -> Landed<'a> {
        Landed {
            committed: Some((committed, committed_ago)),
            last: Some((last, last_ago)),
        }
    }

    #[test]
    fn the_first_status_after_a_start_is_committed() {
        assert_eq!(
            decide(&status("00", "Completed"), Landed::default(), BEAT),
            Write::Commit
        );
    }

    #[test]
    fn sync_times_and_the_newest_backup_alone_go_to_the_heartbeat_not_the_history() {
        let before = status("00", "Completed");
        let after = status("10", "InProgress");
        assert!(after.same_timeline(&before) && !after.same_content(&before));
        assert_eq!(
            decide(&after, landed(&before, MIN, &before, MIN), BEAT),
            Write::Heartbeat
        );
    }

    #[test]
    fn a_real_change_is_committed_at_once() {
        let before = status("00", "Completed");
        let mut after = status("00", "Completed");
        after.pass.outcome = "Failed".into();
        assert_eq!(
            decide(&after, landed(&before, MIN, &before, MIN), BEAT),
            Write::Commit
        );
        // So is a new address of a replication (late binding reads it), unlike its sync time.
        let mut moved = status("10", "Completed");
        moved.observed.replication_sources[0].address = Some("other.example.com".into());
        assert_eq!(
            decide(&moved, landed(&before, MIN, &before, MIN), BEAT),
            Write::Commit
        );
    }

    #[test]
    fn volatile_values_are_committed_once_a_summary_interval() {
        let before = status("00", "Completed");
        let after = status("10", "Completed");
        let day = SUMMARY_INTERVAL;
        assert_eq!(
            decide(&after, landed(&before, day, &before, MIN), BEAT),
            Write::Commit
        );
        // Not when nothing changed at all: then only the heartbeat, when it is due.
        assert_eq!(
            decide(&before, landed(&before, day, &before, MIN), BEAT),
            Write::Nothing
        );
        assert_eq!(
            decide(&before, landed(&before, day, &before, BEAT), BEAT),
            Write::Heartbeat
        );
    }

    #[test]
    fn a_change_within_the_second_of_the_last_commit_is_committed() {
        let before = status("00", "Completed");
        let mut after = status("10", "Completed");
        after.updated_at = before.updated_at.clone();
        assert_eq!(
            decide(&after, landed(&before, MIN, &before, MIN), BEAT),
            Write::Commit
        );
    }

    #[test]
    fn nothing_is_written_until_the_heartbeat_is_due() {
        let committed = status("00", "Completed");
        let beaten = status("10", "Completed");
        // The heartbeat already carries this status: nothing until the next beat.
        assert_eq!(
            decide(&beaten, landed(&committed, MIN, &beaten, MIN), BEAT),
            Write::Nothing
        );
        assert_eq!(
            decide(&beaten, landed(&committed, BEAT, &beaten, BEAT), BEAT),
            Write::Heartbeat
        );
    }
}
