//! Is the failover at the current generation done, still moving, or stuck? Pure.

use super::view::{epoch, human, FleetView};

/// ACM Restore phases that end with errors (the agent's gate then explains why).
const FAILED_RESTORE_PHASES: [&str; 4] =
    ["FinishedWithErrors", "PartiallyFailed", "Error", "Failed"];

/// Pass reasons that need a person.
const STALLED_REASONS: [&str; 3] = ["FetchFailed", "VerifyFailed", "ApplyFailed"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The new primary's BackupSchedule is Enabled, every reachable hub applied the current
    /// generation, nothing waits.
    Complete,
    /// Still moving; what is left.
    Pending(Vec<String>),
    /// Needs a person; why.
    Stalled(String),
}

pub fn progress(fleet: &FleetView, now: i64, stall_after_secs: i64) -> Progress {
    let current = fleet.generation;
    let mut pending = Vec::new();
    for hub in fleet.reachable_hubs() {
        let Some(status) = &hub.status else {
            let why = match &hub.ignored {
                Some(why) => why.clone(),
                None => format!("{} has not reported yet", hub.name),
            };
            let silent = now - fleet.rendered_at;
            if silent > stall_after_secs {
                return Progress::Stalled(format!(
                    "{why}, {} after the render (commit {}): check that its agent runs, reaches the repository and was started with --cluster {}",
                    human(silent),
                    fleet.commit,
                    hub.name
                ));
            }
            pending.push(why);
            continue;
        };
        if STALLED_REASONS.contains(&status.pass.reason.as_str()) {
            return Progress::Stalled(format!(
                "{}: {}: {}",
                hub.name, status.pass.reason, status.pass.message
            ));
        }
        for gate in &status.gates {
            if let Some(restore) = gate.condition.strip_prefix("restore-finished:") {
                let failed = status.observed.restores.iter().any(|r| {
                    r.name == restore && FAILED_RESTORE_PHASES.contains(&r.phase.as_str())
                });
                if failed {
                    return Progress::Stalled(format!("{}: {}", hub.name, gate.message));
                }
            }
            let waited = epoch(&gate.since).map(|since| now - since);
            if waited.is_some_and(|w| w > stall_after_secs) {
                return Progress::Stalled(format!(
                    "{}: {} has waited {} (since {}) for {}: {}",
                    hub.name,
                    gate.object,
                    human(waited.unwrap_or_default()),
                    gate.since,
                    gate.condition,
                    gate.message
                ));
            }
            pending.push(format!(
                "{}: {} waits for {}",
                hub.name, gate.object, gate.condition
            ));
        }
        match hub.applied() {
            Some(g) if g >= current => {}
            Some(g) => pending.push(format!(
                "{} has applied generation {g}, not {current}",
                hub.name
            )),
            None => pending.push(format!("{} has applied no generation", hub.name)),
        }
    }
    let active = fleet
        .active
        .as_deref()
        .and_then(|a| fleet.clusters.iter().find(|c| c.name == a));
    match active.and_then(|a| a.status.as_ref()) {
        Some(s)
            if s.observed
                .backup_schedules
                .iter()
                .any(|b| b.phase == "Enabled") => {}
        Some(_) => pending.push(format!(
            "the BackupSchedule of {} is not Enabled yet",
            fleet.active.as_deref().unwrap_or_default()
        )),
        None if fleet.active.is_none() => {
            pending.push("the rendered site has no active hub".into())
        }
        None => {}
    }
    // A cluster whose agent stopped beating may show a "complete" status that no longer holds.
    if let Some(why) = super::heartbeat::stalled(fleet, now) {
        return Progress::Stalled(why);
    }
    if pending.is_empty() {
        Progress::Complete
    } else {
        Progress::Pending(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fleet, gate};
    use super::*;

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn complete_when_the_new_primary_backs_up_and_everyone_caught_up() {
        let f = fleet(2, 2);
        assert_eq!(progress(&f, NOW, 900), Progress::Complete);
    }

    #[test]
    fn pending_while_a_hub_is_behind_or_a_gate_waits() {
        let mut f = fleet(2, 1);
        let Progress::Pending(why) = progress(&f, NOW, 900) else {
            panic!()
        };
        assert_eq!(why, ["hub-a has applied generation 1, not 2"]);
        f = fleet(2, 2);
        f.clusters[1]
            .status
            .as_mut()
            .unwrap()
            .gates
            .push(gate("no-backup-schedule:hub-a@2", NOW - 60));
        f.clusters[1]
            .status
            .as_mut()
            .unwrap()
            .observed
            .backup_schedules
            .clear();
        let Progress::Pending(why) = progress(&f, NOW, 900) else {
            panic!()
        };
        assert_eq!(
            why,
            [
                "hub-b: BackupSchedule open-cluster-management-backup/schedule-acm waits for no-backup-schedule:hub-a@2",
                "the BackupSchedule of hub-b is not Enabled yet"
            ]
        );
    }

    #[test]
    fn stalled_by_a_long_wait_a_failed_pass_or_a_failed_activation() {
        let mut f = fleet(2, 2);
        f.clusters[1]
            .status
            .as_mut()
            .unwrap()
            .gates
            .push(gate("no-backup-schedule:hub-a@2", NOW - 1000));
        let Progress::Stalled(why) = progress(&f, NOW, 900) else {
            panic!()
        };
        assert!(
            why.starts_with(
                "hub-b: BackupSchedule open-cluster-management-backup/schedule-acm has waited 16m"
            ),
            "{why}"
        );

        let mut f = fleet(2, 2);
        f.clusters[0].status.as_mut().unwrap().pass.reason = "ApplyFailed".into();
        assert!(
            matches!(progress(&f, NOW, 900), Progress::Stalled(w) if w.starts_with("hub-a: ApplyFailed"))
        );

        let mut f = fleet(2, 2);
        let b = f.clusters[1].status.as_mut().unwrap();
        b.gates.push(gate(
            "restore-finished:open-cluster-management-backup/restore-acm-passive-sync-g0",
            NOW - 5,
        ));
        b.observed.restores[0].phase = "FinishedWithErrors".into();
        assert!(
            matches!(progress(&f, NOW, 900), Progress::Stalled(w) if w.contains("the activation restore failed"))
        );
    }

    #[test]
    fn an_unreachable_fenced_hub_is_not_waited_for() {
        let mut f = fleet(2, 2);
        f.clusters[0].status = None;
        assert!(matches!(progress(&f, NOW, 900), Progress::Pending(_)));
        f.waited_for.clear();
        assert_eq!(progress(&f, NOW, 900), Progress::Complete);
    }

    #[test]
    fn a_hub_that_never_reported_stalls_after_stall_after() {
        let mut f = fleet(2, 2);
        f.clusters[0].status = None;
        f.rendered_at = NOW - 901;
        let Progress::Stalled(why) = progress(&f, NOW, 900) else {
            panic!("{:?}", progress(&f, NOW, 900))
        };
        assert_eq!(
            why,
            "hub-a has not reported yet, 15m after the render (commit 0123456789ab): check that its agent runs, reaches the repository and was started with --cluster hub-a"
        );
        f.rendered_at = NOW - 899;
        assert!(matches!(progress(&f, NOW, 900), Progress::Pending(_)));
    }

    #[test]
    fn a_complete_failover_whose_agent_stopped_beating_is_stalled() {
        let mut f = fleet(2, 2);
        f.heartbeat_stall_after = 1800;
        f.clusters[3].heartbeat = Some(super::super::heartbeat::Heartbeat::At(NOW - 4000));
        let Progress::Stalled(why) = progress(&f, NOW, 900) else {
            panic!("{:?}", progress(&f, NOW, 900))
        };
        assert!(
            why.starts_with("east-1: its agent's last heartbeat was 66m ago"),
            "{why}"
        );
        f.clusters[3].heartbeat = Some(super::super::heartbeat::Heartbeat::At(NOW - 60));
        assert_eq!(progress(&f, NOW, 900), Progress::Complete);
    }

    #[test]
    fn an_ignored_status_is_pending_with_the_reason() {
        let mut f = fleet(2, 2);
        f.clusters[0].status = None;
        f.clusters[0].ignored = Some("status of hub-a ignored: it is unsigned".into());
        assert_eq!(
            progress(&f, NOW, 900),
            Progress::Pending(vec!["status of hub-a ignored: it is unsigned".into()])
        );
    }
}
