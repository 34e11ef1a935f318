//! The recovery point and time of the takeover at the current generation, from the new
//! primary's status and the time the failover was merged (the first commit of the source
//! branch at that generation). Pure.
//!
//! - RPO: how much the takeover lost: from the managed-clusters backup the activation restored
//!   (taken at the time its name carries) to the merge.
//! - RTO: how long the takeover took: from the merge to the new primary's BackupSchedule being
//!   created (every gate passed: fenced, activated, verified).

use super::view::FleetView;
use crate::status::{backup_taken_at, epoch, human_age};

/// One line, when the active hub took over at the current generation.
pub fn line(fleet: &FleetView, now: i64) -> Option<String> {
    let active = fleet.active.as_deref()?;
    let status = fleet
        .clusters
        .iter()
        .find(|c| c.name == active)?
        .status
        .as_ref()?;
    let takeover = status
        .observed
        .takeover
        .as_ref()
        .filter(|t| t.generation == fleet.generation)?;
    let merged = fleet.merged_at;
    let rpo = match (&takeover.restored_backup, merged) {
        (Some(backup), Some(merged)) => match backup_taken_at(backup) {
            Some(taken) => format!(
                "RPO {} (restored {backup}, taken {})",
                human_age(merged - taken),
                at(taken)
            ),
            None => format!("RPO unknown (restored {backup}, whose name carries no time)"),
        },
        (Some(backup), None) => {
            format!("RPO unknown (restored {backup}; the merge time is unknown)")
        }
        (None, _) => {
            "RPO not known yet (the activation has not restored a managed-clusters backup)".into()
        }
    };
    let rto = match (
        takeover
            .backup_schedule_created_at
            .as_deref()
            .and_then(epoch),
        merged,
    ) {
        (Some(done), Some(merged)) => format!(
            "RTO {} (merged {} → BackupSchedule created {})",
            human_age(done - merged),
            at(merged),
            takeover
                .backup_schedule_created_at
                .as_deref()
                .unwrap_or_default()
        ),
        (None, Some(merged)) => format!(
            "RTO so far {} (merged {}; not complete)",
            human_age(now - merged),
            at(merged)
        ),
        (_, None) => "RTO unknown (the merge time is unknown)".into(),
    };
    Some(format!(
        "{active} took over at generation {}: {rpo}; {rto}\n",
        takeover.generation
    ))
}

fn at(epoch_seconds: i64) -> String {
    jiff::Timestamp::from_second(epoch_seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fleet, NOW};
    use super::*;
    use crate::status::TakeoverObservation;

    #[test]
    fn rpo_and_rto_from_the_merge() {
        let mut f = fleet(2, 2);
        assert_eq!(line(&f, NOW), None, "no takeover reported");
        let merged = NOW - 600;
        f.merged_at = Some(merged);
        let taken = jiff::Timestamp::from_second(merged - 3600).unwrap();
        let backup = format!(
            "acm-managed-clusters-schedule-{}",
            taken.strftime("%Y%m%d%H%M%S")
        );
        f.clusters[1].status.as_mut().unwrap().observed.takeover = Some(TakeoverObservation {
            generation: 2,
            restore: "ns/restore-acm-passive-sync-g0".into(),
            restored_backup: Some(backup.clone()),
            activated_at: None,
            backup_schedule_created_at: None,
        });
        let pending = line(&f, NOW).unwrap();
        assert!(
            pending.contains(&format!("RPO 60m (restored {backup}")),
            "{pending}"
        );
        assert!(pending.contains("RTO so far 10m"), "{pending}");
        f.clusters[1]
            .status
            .as_mut()
            .unwrap()
            .observed
            .takeover
            .as_mut()
            .unwrap()
            .backup_schedule_created_at = Some(at(merged + 240));
        let done = line(&f, NOW).unwrap();
        assert!(
            done.starts_with("hub-b took over at generation 2: RPO 60m"),
            "{done}"
        );
        assert!(done.contains("; RTO 4m (merged "), "{done}");
    }
}
