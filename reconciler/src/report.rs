//! Building the status file from a pass: a fixed set of reasons, every exit path covered.

use hubdr_core::status::{
    ClusterStatus, GateStatus, HealthCheck, ObjectResult, Observed, PassStatus, SourceStatus,
    STATUS_KIND,
};

use crate::changeset::ChangeSet;

/// Why a pass ended the way it did; one per status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    FetchFailed,
    VerifyFailed,
    ApplyFailed,
    PruneFailed,
    /// Pruning was held as a likely accident (an empty desired set, a mass deletion).
    PruneGuard,
    HealthFailed,
    Waiting,
    Applied,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FetchFailed => "FetchFailed",
            Reason::VerifyFailed => "VerifyFailed",
            Reason::ApplyFailed => "ApplyFailed",
            Reason::PruneFailed => "PruneFailed",
            Reason::PruneGuard => "PruneGuard",
            Reason::HealthFailed => "HealthFailed",
            Reason::Waiting => "Waiting",
            Reason::Applied => "Applied",
        }
    }

    pub fn outcome(self) -> &'static str {
        match self {
            Reason::Applied => "Succeeded",
            Reason::Waiting => "Progressing",
            _ => "Failed",
        }
    }
}

/// Everything a status file says about one pass.
#[derive(Debug, Clone, Default)]
pub struct PassFacts {
    pub source: SourceStatus,
    /// Set when the pass stopped early (fetch or verify failed).
    pub stopped: Option<(Reason, String)>,
    pub changes: ChangeSet,
    pub problems: Vec<String>,
    pub gates: Vec<GateStatus>,
    pub observed: Observed,
    pub health: Vec<HealthCheck>,
    pub inventory: Vec<String>,
    /// Set when the prune guard held the prune: why, and which objects.
    pub prune_guard: Option<String>,
}

pub fn reason(facts: &PassFacts) -> (Reason, String) {
    if let Some((reason, message)) = &facts.stopped {
        // Problems of what the pass still did (fencing from memory) are not hidden by it.
        let mut lines = vec![message.clone()];
        lines.extend(facts.problems.iter().cloned());
        return (*reason, lines.join("; "));
    }
    if let Some(held) = &facts.prune_guard {
        let mut lines = vec![held.clone()];
        lines.extend(facts.problems.iter().cloned());
        lines.extend(
            facts
                .changes
                .changes
                .iter()
                .filter(|c| c.action.name() == "failed")
                .map(|c| c.to_string()),
        );
        return (Reason::PruneGuard, lines.join("; "));
    }
    let failed: Vec<String> = facts
        .changes
        .changes
        .iter()
        .filter(|c| c.action.name() == "failed")
        .map(|c| c.to_string())
        .collect();
    let prune_failed = facts.changes.changes.iter().any(|c| {
        c.action.name() == "failed" && c.action.message().contains("kept in the inventory")
    });
    if !failed.is_empty() || !facts.problems.is_empty() {
        let reason = if prune_failed && failed.len() == 1 {
            Reason::PruneFailed
        } else {
            Reason::ApplyFailed
        };
        let mut lines = facts.problems.clone();
        lines.extend(failed);
        return (reason, lines.join("; "));
    }
    if facts.changes.waiting() > 0 {
        return (
            Reason::Waiting,
            format!("{} object(s) waiting", facts.changes.waiting()),
        );
    }
    let unhealthy: Vec<&str> = facts
        .health
        .iter()
        .filter(|h| !h.ok)
        .map(|h| h.name.as_str())
        .collect();
    if !unhealthy.is_empty() {
        return (
            Reason::HealthFailed,
            format!("failing checks: {}", unhealthy.join(", ")),
        );
    }
    (Reason::Applied, facts.changes.summary())
}

/// The status file for `facts`; `updated_at` is `now` unless `previous` says the same thing.
pub fn build(
    cluster: &str,
    facts: &PassFacts,
    previous: Option<&ClusterStatus>,
    now: &str,
) -> ClusterStatus {
    let (reason, message) = reason(facts);
    let mut objects: Vec<ObjectResult> = facts
        .changes
        .changes
        .iter()
        .map(|c| ObjectResult {
            object: c.id.to_string(),
            result: c.action.name().into(),
            message: c.action.message().into(),
        })
        .collect();
    objects.sort();
    let status = ClusterStatus {
        api_version: hubdr_core::API_VERSION.into(),
        kind: STATUS_KIND.into(),
        cluster: cluster.into(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        updated_at: now.into(),
        source: facts.source.clone(),
        pass: PassStatus {
            outcome: reason.outcome().into(),
            reason: reason.as_str().into(),
            message,
        },
        objects,
        gates: facts.gates.clone(),
        observed: facts.observed.clone(),
        health: facts.health.clone(),
        inventory: facts.inventory.clone(),
    };
    match previous {
        Some(p) if status.same_content(p) => ClusterStatus {
            updated_at: p.updated_at.clone(),
            ..status
        },
        _ => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::Action;
    use hubdr_core::object::ObjectId;

    fn id(name: &str) -> ObjectId {
        ObjectId {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: name.into(),
        }
    }

    #[test]
    fn reasons_follow_a_fixed_precedence() {
        let mut facts = PassFacts::default();
        assert_eq!(reason(&facts).0, Reason::Applied);
        facts.health.push(HealthCheck {
            name: "dpa-present".into(),
            ok: false,
            message: String::new(),
        });
        assert_eq!(reason(&facts).0, Reason::HealthFailed);
        facts.changes.push(id("a"), Action::Waiting("gate".into()));
        assert_eq!(reason(&facts).0, Reason::Waiting);
        facts.changes.push(id("b"), Action::Failed("boom".into()));
        let (r, message) = reason(&facts);
        assert_eq!(r, Reason::ApplyFailed);
        assert!(message.contains("Namespace b failed: boom"), "{message}");
        facts.prune_guard = Some("3 of the 4 held".into());
        let (r, message) = reason(&facts);
        assert_eq!(r, Reason::PruneGuard);
        assert!(
            message.starts_with("3 of the 4 held") && message.contains("Namespace b failed"),
            "{message}"
        );
        assert_eq!(r.outcome(), "Failed");
        facts.stopped = Some((Reason::VerifyFailed, "tampered".into()));
        assert_eq!(reason(&facts).0, Reason::VerifyFailed);
        facts.stopped = Some((Reason::FetchFailed, "unreachable".into()));
        facts
            .problems
            .push("BackupSchedules cannot be listed".into());
        let (r, message) = reason(&facts);
        assert_eq!(r, Reason::FetchFailed);
        assert_eq!(message, "unreachable; BackupSchedules cannot be listed");
    }

    #[test]
    fn unchanged_content_keeps_the_previous_timestamp() {
        let facts = PassFacts::default();
        let first = build("hub-a", &facts, None, "2026-11-22T10:00:00Z");
        let second = build("hub-a", &facts, Some(&first), "2026-11-22T10:05:00Z");
        assert_eq!(second.updated_at, "2026-11-22T10:00:00Z");
        let mut changed = facts.clone();
        changed.changes.push(id("x"), Action::Created);
        let third = build("hub-a", &changed, Some(&first), "2026-11-22T10:05:00Z");
        assert_eq!(third.updated_at, "2026-11-22T10:05:00Z");
    }
}
