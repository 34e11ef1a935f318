//! The snapshot sequence as a pure state machine: the persisted state, what is observed and
//! the time in; the new state, the effects to make and what to report out.

use std::collections::BTreeMap;

use super::state::{Run, RunResult, SequenceState, Snapshot, Step};
use super::{Target, API_DEPLOYMENTS};

/// What the edge observed this pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// `None` when the HostedCluster does not exist.
    pub hosted_cluster: Option<HostedClusterObs>,
    /// The API-server Deployments found: name -> (spec replicas, status replicas).
    pub deployments: BTreeMap<String, (i32, i32)>,
    /// The Job of the current snapshot step, when the run is at one.
    pub job: Option<JobObs>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostedClusterObs {
    pub paused_until: Option<String>,
}

/// A snapshot Job as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobObs {
    Running,
    /// Succeeded, with its reported snapshot status (revision, hash, size) or why it is unusable.
    Succeeded(Result<(u64, u64, u64), String>),
    Failed(String),
}

/// A change to make in the cluster, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `spec.pausedUntil: "true"`.
    Pause,
    /// Remove `spec.pausedUntil`.
    Unpause,
    /// Set these Deployments' `spec.replicas`.
    Scale(BTreeMap<String, i32>),
    /// Create the snapshot Job of member `member` of run `run`.
    CreateJob { run: String, member: usize },
    /// Delete the Jobs of run `run`.
    DeleteJobs { run: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: SequenceState,
    pub effects: Vec<Effect>,
    /// One line for the status and the log (never a credential).
    pub report: String,
}

const PAUSED: &str = "true";

fn run_id(now: i64) -> String {
    format!("{:x}", now.max(0))
}

/// Whether a run is due: none yet, or the last one started an interval ago.
pub fn due(state: &SequenceState, target: &Target, now: i64) -> bool {
    match &state.last {
        None => true,
        Some(last) => now - last.started >= target.interval_secs,
    }
}

/// The next step of `target`'s sequence.
pub fn plan(target: &Target, state: &SequenceState, observed: &Observed, now: i64) -> Decision {
    let Some(run) = &state.run else {
        return idle(target, state, observed, now);
    };
    let mut run = run.clone();
    let members = &target.members;
    // Past the API-down limit: resume, and report the run failed.
    if run.step != Step::Resume {
        if let Some(down) = run.down_since {
            if now - down > target.max_api_down_secs {
                let why = format!(
                    "the API was down for {}s, more than maxApiDowntime ({}s), at step {}",
                    now - down,
                    target.max_api_down_secs,
                    run.step.describe(members)
                );
                return fail(target, state, run, why, observed, now);
            }
        } else if now - run.started > target.max_api_down_secs {
            let why = format!(
                "the step {} did not complete within {}s",
                run.step.describe(members),
                target.max_api_down_secs
            );
            return fail(target, state, run, why, observed, now);
        }
    }
    match run.step {
        Step::Pause => {
            let Some(hc) = &observed.hosted_cluster else {
                return fail(
                    target,
                    state,
                    run,
                    "the HostedCluster is gone".into(),
                    observed,
                    now,
                );
            };
            if hc.paused_until.as_deref() != Some(PAUSED) {
                return decide(state, run, vec![Effect::Pause], "pausing the HostedCluster");
            }
            if let Some(missing) = API_DEPLOYMENTS
                .iter()
                .find(|d| !observed.deployments.contains_key(**d))
            {
                let why = format!(
                    "Deployment {missing} is not in {}",
                    target.control_plane_namespace()
                );
                return fail(target, state, run, why, observed, now);
            }
            // Recorded before the scale-down is issued (the edge writes the state first).
            if run.replicas.is_empty() {
                run.replicas = observed
                    .deployments
                    .iter()
                    .map(|(name, (spec, _))| (name.clone(), *spec))
                    .collect();
            }
            run.step = Step::ScaleDown;
            run.down_since = Some(now);
            let zero = API_DEPLOYMENTS.iter().map(|d| (d.to_string(), 0)).collect();
            decide(
                state,
                run,
                vec![Effect::Scale(zero)],
                "scaling the API servers to 0",
            )
        }
        Step::ScaleDown => {
            let at_zero = API_DEPLOYMENTS
                .iter()
                .all(|d| observed.deployments.get(*d) == Some(&(0, 0)));
            if !at_zero {
                let zero: BTreeMap<String, i32> = API_DEPLOYMENTS
                    .iter()
                    .filter(|d| {
                        observed
                            .deployments
                            .get(**d)
                            .is_some_and(|(spec, _)| *spec != 0)
                    })
                    .map(|d| (d.to_string(), 0))
                    .collect();
                let effects = if zero.is_empty() {
                    Vec::new()
                } else {
                    vec![Effect::Scale(zero)]
                };
                return decide(
                    state,
                    run,
                    effects,
                    "waiting for the API servers to reach 0",
                );
            }
            run.step = Step::Snapshot { member: 0 };
            let id = run.id.clone();
            decide(
                state,
                run,
                vec![Effect::CreateJob { run: id, member: 0 }],
                &format!("snapshotting {}", members[0]),
            )
        }
        Step::Snapshot { member } => {
            let name = members.get(member).cloned().unwrap_or_default();
            match &observed.job {
                None => {
                    let id = run.id.clone();
                    decide(
                        state,
                        run,
                        vec![Effect::CreateJob { run: id, member }],
                        &format!("snapshotting {name}"),
                    )
                }
                Some(JobObs::Running) => {
                    decide(state, run, Vec::new(), &format!("snapshotting {name}"))
                }
                Some(JobObs::Failed(why)) => {
                    let why = format!("the snapshot Job of {name} failed: {why}");
                    fail(target, state, run, why, observed, now)
                }
                Some(JobObs::Succeeded(Err(why))) => {
                    let why = format!("the snapshot of {name} is unusable: {why}");
                    fail(target, state, run, why, observed, now)
                }
                Some(JobObs::Succeeded(Ok((revision, hash, size)))) => {
                    run.snapshots.push(Snapshot {
                        member: name.clone(),
                        time: now,
                        revision: *revision,
                        hash: *hash,
                        size: *size,
                        object: target.object_key(&run.id, &name),
                    });
                    if member + 1 < members.len() {
                        run.step = Step::Snapshot { member: member + 1 };
                        let id = run.id.clone();
                        let next = &members[member + 1];
                        decide(
                            state,
                            run,
                            vec![Effect::CreateJob {
                                run: id,
                                member: member + 1,
                            }],
                            &format!("snapshotting {next}"),
                        )
                    } else {
                        run.step = Step::Resume;
                        resume(target, state, run, observed, now)
                    }
                }
            }
        }
        Step::Resume => resume(target, state, run, observed, now),
    }
}

/// No run in progress: start one when due and the hosted cluster is there and not paused.
fn idle(target: &Target, state: &SequenceState, observed: &Observed, now: i64) -> Decision {
    let nothing = |report: &str| Decision {
        state: state.clone(),
        effects: Vec::new(),
        report: report.to_string(),
    };
    if !due(state, target, now) {
        return nothing("idle: next snapshot not due yet");
    }
    let Some(hc) = &observed.hosted_cluster else {
        return nothing("idle: the HostedCluster does not exist; no snapshot");
    };
    if let Some(paused) = &hc.paused_until {
        return nothing(&format!(
            "idle: the HostedCluster is paused by someone else (pausedUntil {paused:?}); no snapshot while it is"
        ));
    }
    let run = Run {
        id: run_id(now),
        started: now,
        step: Step::Pause,
        replicas: BTreeMap::new(),
        down_since: None,
        snapshots: Vec::new(),
        failure: None,
    };
    decide(state, run, vec![Effect::Pause], "pausing the HostedCluster")
}

fn decide(state: &SequenceState, run: Run, effects: Vec<Effect>, report: &str) -> Decision {
    Decision {
        state: SequenceState {
            run: Some(run),
            ..state.clone()
        },
        effects,
        report: report.to_string(),
    }
}

/// The run failed: record why and resume.
fn fail(
    target: &Target,
    state: &SequenceState,
    mut run: Run,
    why: String,
    observed: &Observed,
    now: i64,
) -> Decision {
    if run.failure.is_none() {
        run.failure = Some(why);
    }
    run.step = Step::Resume;
    resume(target, state, run, observed, now)
}

/// Mark the run failed from outside (an effect the edge could not make); it resumes next.
pub fn failed(state: &SequenceState, why: String) -> SequenceState {
    let mut state = state.clone();
    if let Some(run) = &mut state.run {
        if run.failure.is_none() {
            run.failure = Some(why);
        }
        run.step = Step::Resume;
    }
    state
}

/// Scale back to the recorded replicas and unpause; when both are observed, the run ends.
fn resume(
    _target: &Target,
    state: &SequenceState,
    run: Run,
    observed: &Observed,
    now: i64,
) -> Decision {
    let scale: BTreeMap<String, i32> = run
        .replicas
        .iter()
        .filter(|(name, n)| {
            observed
                .deployments
                .get(*name)
                .is_some_and(|(spec, _)| spec != *n)
        })
        .map(|(name, n)| (name.clone(), *n))
        .collect();
    let paused = observed
        .hosted_cluster
        .as_ref()
        .is_some_and(|hc| hc.paused_until.as_deref() == Some(PAUSED));
    let mut effects = Vec::new();
    if !scale.is_empty() {
        effects.push(Effect::Scale(scale));
    }
    if paused {
        effects.push(Effect::Unpause);
    }
    let why = run.failure.clone();
    if !effects.is_empty() {
        let report = match &why {
            Some(why) => format!("resuming after a failure: {why}"),
            None => "resuming: scaling the API servers back and unpausing".into(),
        };
        return decide(state, run, effects, &report);
    }
    // Resumed (as observed): the run ends.
    let id = run.id.clone();
    let result = RunResult {
        id: run.id.clone(),
        started: run.started,
        finished: now,
        failure: why.clone(),
        api_down_secs: run.down_since.map(|d| now - d),
    };
    let mut next = SequenceState {
        run: None,
        last: Some(result),
        last_snapshots: state.last_snapshots.clone(),
    };
    if why.is_none() {
        next.last_snapshots = run.snapshots;
    }
    let report = match why {
        Some(why) => format!("run {id} failed and the hosted cluster was resumed: {why}"),
        None => format!("run {id} succeeded; the hosted cluster was resumed"),
    };
    Decision {
        state: next,
        effects: vec![Effect::DeleteJobs { run: id }],
        report,
    }
}

#[cfg(test)]
#[path = "plan/tests.rs"]
mod tests;
