use super::*;

fn target(members: &[&str]) -> Target {
    Target {
        name: "tenant-b".into(),
        namespace: "clusters".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        max_api_down_secs: 600,
        interval_secs: 3600,
        bucket: "hcp-snapshots".into(),
        prefix: None,
        region: None,
        credentials_secret: "hcp-s3".into(),
        credentials_key: "cloud".into(),
        etcd_image: "etcd".into(),
        upload_image: "curl".into(),
        restore: None,
    }
}

fn up() -> Observed {
    Observed {
        hosted_cluster: Some(HostedClusterObs { paused_until: None }),
        deployments: API_DEPLOYMENTS
            .iter()
            .map(|d| (d.to_string(), (2, 2)))
            .collect(),
        job: None,
    }
}

/// A fake world: applies the effects the way the operators would, at once.
fn world_after(mut o: Observed, effects: &[Effect]) -> Observed {
    for e in effects {
        match e {
            Effect::Pause => o.hosted_cluster.as_mut().unwrap().paused_until = Some("true".into()),
            Effect::Unpause => o.hosted_cluster.as_mut().unwrap().paused_until = None,
            Effect::Scale(m) => {
                for (name, n) in m {
                    o.deployments.insert(name.clone(), (*n, *n));
                }
            }
            Effect::CreateJob { .. } => o.job = Some(JobObs::Running),
            Effect::DeleteJobs { .. } => o.job = None,
        }
    }
    o
}

fn step(
    t: &Target,
    s: &SequenceState,
    o: &Observed,
    now: i64,
) -> (SequenceState, Observed, Decision) {
    let d = plan(t, s, o, now);
    let o = world_after(o.clone(), &d.effects);
    (d.state.clone(), o, d)
}

#[test]
fn a_full_run_pauses_scales_down_snapshots_every_member_and_resumes() {
    let t = target(&["etcd-0", "etcd-1", "etcd-2"]);
    let (s, o, d) = step(&t, &SequenceState::default(), &up(), 1000);
    assert_eq!(d.effects, [Effect::Pause]);
    let (s, o, d) = step(&t, &s, &o, 1001);
    assert!(matches!(&d.effects[..], [Effect::Scale(m)] if m.values().all(|n| *n == 0)));
    assert_eq!(s.run.as_ref().unwrap().replicas["kube-apiserver"], 2);
    let (mut s, mut o, d) = step(&t, &s, &o, 1002);
    assert_eq!(
        d.effects,
        [Effect::CreateJob {
            run: "3e8".into(),
            member: 0
        }]
    );
    for (i, now) in [(1usize, 1010), (2, 1020)] {
        o.job = Some(JobObs::Succeeded(Ok((7, 8, 9))));
        let d = plan(&t, &s, &o, now);
        assert_eq!(
            d.effects,
            [Effect::CreateJob {
                run: "3e8".into(),
                member: i
            }]
        );
        s = d.state;
        o = world_after(o, &d.effects);
    }
    o.job = Some(JobObs::Succeeded(Ok((7, 8, 9))));
    let (s, o, d) = step(&t, &s, &o, 1030);
    assert!(d.effects.contains(&Effect::Unpause), "{d:?}");
    assert!(d.effects.contains(&Effect::Scale(
        API_DEPLOYMENTS.iter().map(|d| (d.to_string(), 2)).collect()
    )));
    let (s, _, d) = step(&t, &s, &o, 1031);
    assert_eq!(d.effects, [Effect::DeleteJobs { run: "3e8".into() }]);
    assert!(s.run.is_none());
    let last = s.last.unwrap();
    assert_eq!(last.failure, None);
    assert_eq!(last.api_down_secs, Some(30));
    assert_eq!(s.last_snapshots.len(), 3);
    assert_eq!(
        s.last_snapshots[2].object,
        "clusters/tenant-b/3e8/etcd-2-snapshot.db"
    );
}

/// Runs to a step (pause, or a snapshot Job running), then breaks the world there; resume follows.
#[test]
fn a_failure_at_each_step_resumes_the_hosted_cluster() {
    let t = target(&["etcd-0"]);
    type Breaker = fn(&mut Observed);
    let breakers: [(&str, Breaker); 4] = [
        ("the HostedCluster is gone", |o| o.hosted_cluster = None),
        ("Deployment kube-apiserver is not in", |o| {
            o.deployments.remove("kube-apiserver");
        }),
        ("the snapshot Job of etcd-0 failed", |o| {
            o.job = Some(JobObs::Failed("exit 1".into()))
        }),
        ("unusable", |o| {
            o.job = Some(JobObs::Succeeded(Err("no status".into())))
        }),
    ];
    for (at, (says, breaker)) in [0usize, 0, 3, 3].into_iter().zip(breakers) {
        let mut s = SequenceState::default();
        let mut o = up();
        let mut now = 100;
        for _ in 0..at {
            let d = plan(&t, &s, &o, now);
            s = d.state;
            o = world_after(o, &d.effects);
            now += 1;
        }
        // Pause first, so the broken world is seen while a run is in progress.
        if at == 0 {
            let d = plan(&t, &s, &o, now);
            s = d.state;
            o = world_after(o, &d.effects);
            now += 1;
        }
        breaker(&mut o);
        let mut resumed = false;
        for _ in 0..4 {
            let d = plan(&t, &s, &o, now);
            s = d.state;
            o = world_after(o, &d.effects);
            now += 1;
            if s.run.is_none() {
                resumed = true;
                break;
            }
        }
        assert!(resumed, "{says}: the run ended");
        let last = s.last.as_ref().unwrap();
        assert!(last.failure.as_deref().unwrap().contains(says), "{last:?}");
        assert_ne!(
            o.hosted_cluster
                .as_ref()
                .and_then(|h| h.paused_until.clone()),
            Some("true".into()),
            "{says}: unpaused"
        );
        for d in API_DEPLOYMENTS {
            if let Some((spec, _)) = o.deployments.get(d) {
                assert_eq!(*spec, 2, "{says}: {d} scaled back");
            }
        }
        assert!(
            s.last_snapshots.is_empty(),
            "{says}: a failed run records no snapshot"
        );
    }
}

#[test]
fn past_the_api_down_limit_the_run_resumes_and_fails() {
    let t = target(&["etcd-0"]);
    let (s, o, _) = step(&t, &SequenceState::default(), &up(), 0);
    let (s, o, _) = step(&t, &s, &o, 1);
    let (s, o, _) = step(&t, &s, &o, 2);
    // The Job runs and runs.
    let d = plan(&t, &s, &o, 1 + 600);
    assert!(d.effects.is_empty(), "at the limit it still waits: {d:?}");
    let d = plan(&t, &s, &o, 1 + 601);
    assert!(d.effects.contains(&Effect::Unpause));
    assert!(d
        .state
        .run
        .as_ref()
        .unwrap()
        .failure
        .as_deref()
        .unwrap()
        .contains("maxApiDowntime"));
    let o = world_after(o, &d.effects);
    let d = plan(&t, &d.state, &o, 1 + 602);
    assert_eq!(d.state.last.unwrap().api_down_secs, Some(602));
}

#[test]
fn no_run_starts_while_one_is_in_progress_or_before_it_is_due() {
    let t = target(&["etcd-0"]);
    let (s, o, _) = step(&t, &SequenceState::default(), &up(), 0);
    // A run is in progress: whatever the time, no second Pause/run starts; same run id.
    let d = plan(&t, &s, &o, 5000);
    assert_eq!(d.state.run.as_ref().unwrap().id, "0");
    // Not due: nothing.
    let done = SequenceState {
        last: Some(RunResult {
            id: "0".into(),
            started: 0,
            finished: 10,
            failure: None,
            api_down_secs: Some(5),
        }),
        ..Default::default()
    };
    assert!(plan(&t, &done, &up(), 3599).effects.is_empty());
    assert_eq!(plan(&t, &done, &up(), 3600).effects, [Effect::Pause]);
}

#[test]
fn a_hosted_cluster_paused_by_someone_else_or_missing_is_left_alone() {
    let t = target(&["etcd-0"]);
    let mut o = up();
    o.hosted_cluster.as_mut().unwrap().paused_until = Some("2030-01-01T00:00:00Z".into());
    let d = plan(&t, &SequenceState::default(), &o, 0);
    assert!(d.effects.is_empty() && d.state.run.is_none() && d.report.contains("someone else"));
    o.hosted_cluster = None;
    let d = plan(&t, &SequenceState::default(), &o, 0);
    assert!(d.effects.is_empty() && d.report.contains("does not exist"));
}

#[test]
fn an_agent_restarted_mid_run_resumes_from_the_stored_state() {
    let t = target(&["etcd-0"]);
    let (s, o, _) = step(&t, &SequenceState::default(), &up(), 0);
    let (s, o, _) = step(&t, &s, &o, 1);
    // The agent dies here; a new one reads the stored state back.
    let stored = SequenceState::parse(&s.to_text()).unwrap();
    let mut o = o;
    o.job = Some(JobObs::Failed("pod evicted".into()));
    let (s, o, d) = step(&t, &stored, &o, 2);
    // At scale-down observed 0 -> creates the Job; then it fails -> resume.
    assert!(matches!(d.effects[..], [Effect::CreateJob { .. }]));
    let mut o = o;
    o.job = Some(JobObs::Failed("pod evicted".into()));
    let (s, o, _) = step(&t, &s, &o, 3);
    let (s, o, _) = step(&t, &s, &o, 4);
    assert!(s.run.is_none());
    assert_eq!(o.deployments["kube-apiserver"].0, 2);
    assert_eq!(o.hosted_cluster.unwrap().paused_until, None);
}
