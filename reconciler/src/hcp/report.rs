//! A hosted cluster's status and health checks from its stored state. Pure.

use hubdr_core::status::{HealthCheck, HostedClusterStatus, HostedRun, HostedSnapshot};

use super::state::SequenceState;
use super::Target;

fn time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// The status of `target` after a pass, and its health checks.
pub fn status(
    target: &Target,
    state: &SequenceState,
    message: &str,
    now: i64,
) -> (HostedClusterStatus, Vec<HealthCheck>) {
    let name = format!("{}/{}", target.namespace, target.name);
    let status = HostedClusterStatus {
        name: name.clone(),
        method: "etcd-snapshot".into(),
        step: state.run.as_ref().map(|r| r.step.describe(&target.members)),
        message: message.to_string(),
        last_run: state.last.as_ref().map(|l| HostedRun {
            started: time(l.started),
            finished: time(l.finished),
            succeeded: l.failure.is_none(),
            failure: l.failure.clone(),
            api_down_seconds: l.api_down_secs,
        }),
        last_snapshots: state
            .last_snapshots
            .iter()
            .map(|s| HostedSnapshot {
                member: s.member.clone(),
                time: time(s.time),
                revision: s.revision,
                hash: s.hash,
                size: s.size,
                object: s.object.clone(),
            })
            .collect(),
    };
    let check = |what: &str, ok: bool, message: String| HealthCheck {
        name: format!("hosted-cluster {name}: {what}"),
        ok,
        message,
    };
    let newest = state.last_snapshots.iter().map(|s| s.time).max();
    let mut checks = vec![
        check(
            "has a snapshot",
            newest.is_some(),
            match newest {
                Some(t) => format!("newest snapshot taken at {}", time(t)),
                None => "no etcd snapshot of this hosted cluster yet".into(),
            },
        ),
        check(
            "snapshot is recent",
            newest.is_some_and(|t| now - t <= 2 * target.interval_secs),
            match newest {
                Some(t) => format!(
                    "newest snapshot is {}s old (allowed: {}s, two schedule intervals)",
                    now - t,
                    2 * target.interval_secs
                ),
                None => "no snapshot".into(),
            },
        ),
        check(
            "last run succeeded",
            state.last.as_ref().is_none_or(|l| l.failure.is_none()),
            state
                .last
                .as_ref()
                .and_then(|l| l.failure.clone())
                .unwrap_or_else(|| "ok".into()),
        ),
    ];
    // A run still in progress past the API-down limit (plus a pass) did not resume.
    let stuck = state
        .run
        .as_ref()
        .is_some_and(|r| now - r.started > target.max_api_down_secs + 300);
    checks.push(check(
        "resumed",
        !stuck,
        if stuck {
            format!(
                "a run started at {} has not resumed the hosted cluster (step {})",
                time(state.run.as_ref().map_or(0, |r| r.started)),
                state
                    .run
                    .as_ref()
                    .map(|r| r.step.describe(&target.members))
                    .unwrap_or_default()
            )
        } else {
            "no run is stuck".into()
        },
    ));
    (status, checks)
}
