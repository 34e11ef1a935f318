//! `hubdr failover --retry`: a new activation attempt after a failed one. A Restore runs once,
//! so the new attempt gets a Restore of its own (`spec.failover.attempt`, see
//! [`crate::render::takeover::activation_restore_name`]); the failed one is pruned. Pure.

use crate::render::takeover::activation_restore_name;
use crate::site::edit::set_scalar;
use crate::site::{HubRole, Site};
use crate::status::{ClusterStatus, FAILED_RESTORE_PHASES};

/// A retry of the takeover at the current generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The new primary.
    pub hub: String,
    pub generation: u64,
    /// The attempt that failed, and its Restore.
    pub failed_attempt: u64,
    pub failed_restore: String,
    /// The new attempt, and its Restore.
    pub attempt: u64,
    pub restore: String,
}

/// The retry of the takeover in `site`: refused when no hub took over at this generation.
pub fn plan(site: &Site) -> Result<Retry, String> {
    let generation = site.spec.failover.generation;
    let hub = site
        .spec
        .hubs
        .iter()
        .find(|h| h.role == HubRole::Active)
        .ok_or("the site has no active hub")?;
    if hub.active_since != Some(generation) {
        return Err(format!(
            "no takeover is in progress at generation {generation}: the active hub {} {}, so there is no activation to retry",
            hub.name,
            match hub.active_since {
                Some(g) => format!("took over at generation {g}"),
                None => "did not take over in a failover".into(),
            }
        ));
    }
    let failed_attempt = site.spec.failover.attempt.max(1);
    let attempt = failed_attempt + 1;
    Ok(Retry {
        hub: hub.name.clone(),
        generation,
        failed_attempt,
        failed_restore: activation_restore_name(hub, generation, failed_attempt),
        attempt,
        restore: activation_restore_name(hub, generation, attempt),
    })
}

/// Whether the new primary's status (from the status branch) shows the current attempt failed:
/// a retry while it runs would start a second activation Restore at once, and one after it
/// finished would restore the managed clusters again.
pub fn check_failed(
    retry: &Retry,
    backup_namespace: &str,
    status: Option<&ClusterStatus>,
) -> Result<(), String> {
    let hub = &retry.hub;
    let Some(status) = status else {
        return Err(format!(
            "{hub} has published no status, so whether its activation failed is unknown"
        ));
    };
    let applied = status.source.generation.unwrap_or_default();
    if applied < retry.generation {
        return Err(format!(
            "{hub} reports generation {applied}, not {}: its agent has not applied the failover yet",
            retry.generation
        ));
    }
    if let Some(s) = status.observed.backup_schedules.first() {
        return Err(format!(
            "{hub} already has BackupSchedule {}: the takeover went on, there is nothing to retry",
            s.name
        ));
    }
    let name = format!("{backup_namespace}/{}", retry.failed_restore);
    let phase = super::restore_phase(status, &name);
    match phase {
        Some(p) if FAILED_RESTORE_PHASES.contains(&p) => Ok(()),
        Some("Finished") => Err(format!(
            "the activation Restore {name} of attempt {} Finished: there is nothing to retry",
            retry.failed_attempt
        )),
        Some(p) => Err(format!(
            "the activation Restore {name} of attempt {} is {} on {hub}, not failed: a new attempt now would run two activations at once; wait until it ends",
            retry.failed_attempt,
            if p.is_empty() { "without a phase" } else { p }
        )),
        None => Err(format!(
            "{hub} reports no activation Restore {name} (attempt {}): it has not started (see the gates in `hubdr status`), so there is nothing to retry",
            retry.failed_attempt
        )),
    }
}

/// The site text with the new attempt.
pub fn apply(text: &str, retry: &Retry) -> Result<String, String> {
    set_scalar(text, "spec.failover.attempt", &retry.attempt.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{load, restoring as status, SITE};
    use super::*;

    #[test]
    fn a_retry_gets_a_new_restore_each_time() {
        assert!(plan(&load(SITE))
            .unwrap_err()
            .contains("no takeover is in progress at generation 1"));
        let text = crate::failover::edit_site(SITE, "hub-b", false).unwrap();
        let retry = plan(&load(&text)).unwrap();
        assert_eq!(
            (retry.failed_restore.as_str(), retry.restore.as_str()),
            ("restore-acm-passive-sync-g0", "restore-acm-activate-g2-a2")
        );
        let text = apply(&text, &retry).unwrap();
        assert!(text.contains("    attempt: 2\n"), "{text}");
        let again = plan(&load(&text)).unwrap();
        assert_eq!(
            (again.failed_restore.as_str(), again.restore.as_str()),
            ("restore-acm-activate-g2-a2", "restore-acm-activate-g2-a3")
        );
    }

    #[test]
    fn only_a_failed_attempt_is_retried() {
        let text = crate::failover::edit_site(SITE, "hub-b", false).unwrap();
        let retry = plan(&load(&text)).unwrap();
        let failed = status(2, "restore-acm-passive-sync-g0", "FinishedWithErrors");
        assert_eq!(check_failed(&retry, "ns", Some(&failed)), Ok(()));
        for (s, expected) in [
            (None, "no status"),
            (
                Some(status(1, "restore-acm-passive-sync-g0", "Enabled")),
                "reports generation 1, not 2",
            ),
            (
                Some(status(2, "restore-acm-passive-sync-g0", "Running")),
                "is Running on hub-b, not failed",
            ),
            (
                Some(status(2, "restore-acm-passive-sync-g0", "Finished")),
                "Finished: there is nothing to retry",
            ),
            (Some(status(2, "other", "Error")), "it has not started"),
        ] {
            let e = check_failed(&retry, "ns", s.as_ref()).unwrap_err();
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
        }
    }
}
