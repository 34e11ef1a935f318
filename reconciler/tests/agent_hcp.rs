//! The etcd-snapshot sequence of a hosted cluster against the fake API server loaded with the
//! real HyperShift CRDs, and a fake control-plane operator (it scales the API-server pods to
//! what the Deployments ask and completes or fails the snapshot Jobs), run between the agent's
//! passes so the tests are deterministic.

mod support;

use hubdr_agent::hcp::edge::{self, HOSTED_CLUSTER_API};
use hubdr_agent::hcp::state::SequenceState;
use hubdr_agent::hcp::{Target, API_DEPLOYMENTS};
use kube::core::GroupVersionKind;
use kubefake::{FakeApiServer, Fault, ResourceInfo, Verb};
use serde_json::{json, Value};
use support::*;

const NS: &str = "clusters";
const CP: &str = "clusters-tenant-b";

fn target(members: &[&str]) -> Target {
    Target {
        name: "tenant-b".into(),
        namespace: NS.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        max_api_down_secs: 600,
        interval_secs: 3600,
        bucket: "hcp-snapshots".into(),
        prefix: Some("emea".into()),
        region: Some("eu-west-1".into()),
        credentials_secret: "hcp-s3".into(),
        credentials_key: "cloud".into(),
        etcd_image: "quay.io/example/etcd:v3.5".into(),
        upload_image: "quay.io/example/curl:8".into(),
        restore: None,
    }
}

/// The hosted cluster `tenant-b` with its control plane: API servers at 2 replicas.
async fn management_cluster() -> FakeApiServer {
    let server = fake().await;
    server.register_resource(ResourceInfo::namespaced_v1("batch", "Job", "jobs"));
    server.register_resource(ResourceInfo::namespaced_v1("", "Pod", "pods"));
    server.ensure_namespace(NS);
    server.ensure_namespace(CP);
    server
        .put_object(json!({
            "apiVersion": HOSTED_CLUSTER_API, "kind": "HostedCluster",
            "metadata": {"name": "tenant-b", "namespace": NS},
            "spec": {
                "release": {"image": "quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64"},
                "pullSecret": {"name": "pull-secret"},
                "platform": {"type": "None"},
                "networking": {"networkType": "OVNKubernetes"},
                // The CRD's CEL rules want the four services of a non-IBMCloud platform.
                "services": [
                    {"service": "APIServer", "servicePublishingStrategy": {"type": "LoadBalancer"}},
                    {"service": "OAuthServer", "servicePublishingStrategy": {"type": "Route"}},
                    {"service": "Konnectivity", "servicePublishingStrategy": {"type": "Route"}},
                    {"service": "Ignition", "servicePublishingStrategy": {"type": "Route"}},
                ],
                "etcd": {"managementType": "Managed", "managed": {"storage": {"type": "PersistentVolume"}}},
                "secretEncryption": {"type": "aescbc", "aescbc": {"activeKey": {"name": "tenant-b-etcd-encryption-key"}}},
            },
        }))
        .expect("the HostedCluster fixture is valid against the real CRD");
    for d in API_DEPLOYMENTS {
        server
            .put_object(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": d, "namespace": CP},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": d}},
                         "template": {"metadata": {"labels": {"app": d}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}},
                "status": {"replicas": 2},
            }))
            .unwrap();
    }
    server
}

#[derive(Clone, Copy, PartialEq)]
enum Jobs {
    Succeed,
    Fail,
    /// Succeeds without a snapshot status.
    NoResult,
    /// Never finish.
    Hang,
}

/// The fake control-plane operator: pods follow the Deployments (unless `scale` is false),
/// snapshot Jobs complete as `jobs` says.
fn operate(server: &FakeApiServer, jobs: Jobs, scale: bool) {
    let deploy = GroupVersionKind::gvk("apps", "v1", "Deployment");
    for d in server.list(&deploy, Some(CP)) {
        let spec = d["spec"]["replicas"].as_i64().unwrap_or(1);
        if scale && d["status"]["replicas"].as_i64() != Some(spec) {
            let name = d["metadata"]["name"].as_str().unwrap();
            server
                .set_status(&deploy, Some(CP), name, json!({"replicas": spec}))
                .unwrap();
        }
    }
    let job = GroupVersionKind::gvk("batch", "v1", "Job");
    for j in server.list(&job, Some(CP)) {
        let name = j["metadata"]["name"].as_str().unwrap().to_string();
        if !j["status"].is_null() && j["status"] != json!({}) || jobs == Jobs::Hang {
            continue;
        }
        if jobs == Jobs::Fail {
            server
                .set_status(&job, Some(CP), &name, json!({"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}))
                .unwrap();
            continue;
        }
        let message = match jobs {
            Jobs::NoResult => Value::Null,
            _ => json!(r#"{"hash":1234,"revision":42,"totalKey":900,"totalSize":8192000}"#),
        };
        server
            .put_object(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{name}-x"), "namespace": CP, "labels": {"job-name": name}},
                "spec": {"containers": [{"name": "upload", "image": "curl"}]},
                "status": {"containerStatuses": [{"name": "upload", "state": {"terminated": {"exitCode": 0, "message": message}}}]},
            }))
            .unwrap();
        server
            .set_status(&job, Some(CP), &name, json!({"succeeded": 1}))
            .unwrap();
    }
}

fn hosted_cluster(server: &FakeApiServer) -> Value {
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", "HostedCluster");
    server.get(&gvk, Some(NS), "tenant-b").unwrap()
}

fn replicas(server: &FakeApiServer) -> Vec<i64> {
    let deploy = GroupVersionKind::gvk("apps", "v1", "Deployment");
    API_DEPLOYMENTS
        .iter()
        .map(|d| {
            server.get(&deploy, Some(CP), d).unwrap()["spec"]["replicas"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn jobs(server: &FakeApiServer) -> Vec<String> {
    let job = GroupVersionKind::gvk("batch", "v1", "Job");
    server
        .list(&job, Some(CP))
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn assert_resumed(server: &FakeApiServer) {
    assert!(
        hosted_cluster(server)["spec"].get("pausedUntil").is_none(),
        "unpaused: {}",
        hosted_cluster(server)["spec"]
    );
    assert_eq!(replicas(server), [2, 2, 2], "scaled back");
}

/// Passes (the operator acting after each) until the run ends; the state at the end.
async fn run(
    server: &FakeApiServer,
    t: &Target,
    jobs: Jobs,
    scale: bool,
    mut now: i64,
    step: i64,
) -> (SequenceState, Vec<String>) {
    let mut api = cluster_api(server);
    let mut reports = Vec::new();
    for _ in 0..40 {
        let pass = edge::pass(&mut api, AGENT_NAMESPACE, t, now).await.unwrap();
        reports.push(pass.report.clone());
        operate(server, jobs, scale);
        if pass.state.run.is_none() && pass.state.last.is_some() {
            return (pass.state, reports);
        }
        now += step;
    }
    panic!("the run never ended: {reports:#?}");
}

#[tokio::test]
async fn a_full_run_snapshots_every_member_and_resumes() {
    let server = management_cluster().await;
    let t = target(&["etcd-0", "etcd-1", "etcd-2"]);
    let (state, reports) = run(&server, &t, Jobs::Succeed, true, 1_000_000, 5).await;
    assert_resumed(&server);
    let last = state.last.unwrap();
    assert_eq!(last.failure, None, "{reports:#?}");
    assert!(last.api_down_secs.unwrap() > 0);
    let members: Vec<&str> = state
        .last_snapshots
        .iter()
        .map(|s| s.member.as_str())
        .collect();
    assert_eq!(members, ["etcd-0", "etcd-1", "etcd-2"]);
    assert_eq!(state.last_snapshots[0].revision, 42);
    assert_eq!(state.last_snapshots[0].size, 8192000);
    assert_eq!(
        state.last_snapshots[1].object,
        "emea/clusters/tenant-b/f4240/etcd-1-snapshot.db"
    );
    assert!(jobs(&server).is_empty(), "the run's Jobs are deleted");
    // In order: paused before any API server is scaled down; each Job after the scale-down.
    let writes: Vec<(String, String)> = server
        .mutations()
        .iter()
        .filter(|w| ["hostedclusters", "deployments", "jobs"].contains(&w.plural.as_str()))
        .filter(|w| w.field_manager.as_deref() != Some(kubefake::FIXTURE_MANAGER))
        .map(|w| (w.plural.clone(), w.name.clone()))
        .collect();
    let first = |plural: &str| writes.iter().position(|w| w.0 == plural).unwrap();
    assert!(first("hostedclusters") < first("deployments"), "{writes:?}");
    assert!(first("deployments") < first("jobs"), "{writes:?}");
}

#[tokio::test]
async fn a_failed_snapshot_job_resumes_the_hosted_cluster_and_is_reported() {
    for (jobs, says) in [
        (Jobs::Fail, "backoff limit"),
        (Jobs::NoResult, "reported no snapshot status"),
    ] {
        let server = management_cluster().await;
        let t = target(&["etcd-0"]);
        let (state, _) = run(&server, &t, jobs, true, 1_000_000, 5).await;
        assert_resumed(&server);
        let failure = state.last.unwrap().failure.unwrap();
        assert!(failure.contains(says), "{failure}");
        assert!(state.last_snapshots.is_empty());
    }
}

#[tokio::test]
async fn a_refused_pause_or_scale_down_fails_the_run_and_resumes() {
    for resource in ["hostedclusters", "deployments"] {
        let server = management_cluster().await;
        // The first write of the run to this resource is refused.
        server.inject(
            Fault::error(422, "admission webhook denied the request")
                .verb(Verb::Patch)
                .resource(resource)
                .times(1),
        );
        let t = target(&["etcd-0"]);
        let (state, _) = run(&server, &t, Jobs::Succeed, true, 1_000_000, 5).await;
        assert_resumed(&server);
        let failure = state.last.unwrap().failure.unwrap();
        assert!(
            failure.contains("admission webhook denied"),
            "{resource}: {failure}"
        );
    }
}

#[tokio::test]
async fn the_api_down_limit_resumes_a_run_that_takes_too_long() {
    // The pods never go away (scale-down never observed), then a Job that never ends.
    for (jobs, scale) in [(Jobs::Succeed, false), (Jobs::Hang, true)] {
        let server = management_cluster().await;
        let t = target(&["etcd-0"]);
        let (state, _) = run(&server, &t, jobs, scale, 1_000_000, 120).await;
        assert_resumed(&server);
        let last = state.last.unwrap();
        assert!(last.failure.unwrap().contains("maxApiDowntime"));
        assert!(last.api_down_secs.unwrap() > 600);
    }
}

#[tokio::test]
async fn no_second_run_starts_while_one_is_in_progress() {
    let server = management_cluster().await;
    let t = target(&["etcd-0"]);
    let mut api = cluster_api(&server);
    let mut now = 1_000_000;
    for _ in 0..4 {
        edge::pass(&mut api, AGENT_NAMESPACE, &t, now)
            .await
            .unwrap();
        operate(&server, Jobs::Hang, true);
        // Far past the interval each time (but within the API-down limit).
        now += 100;
    }
    // A second agent (e.g. a Deployment rollout overlap) on the same cluster, later still.
    let mut other = cluster_api(&server);
    let pass = edge::pass(&mut other, AGENT_NAMESPACE, &t, now + 50)
        .await
        .unwrap();
    let run = pass.state.run.expect("the run is still in progress");
    assert_eq!(run.id, format!("{:x}", 1_000_000));
    assert_eq!(
        jobs(&server).len(),
        1,
        "one snapshot Job: {:?}",
        jobs(&server)
    );
}

#[tokio::test]
async fn an_agent_killed_mid_sequence_resumes_the_hosted_cluster_on_restart() {
    let server = management_cluster().await;
    let t = target(&["etcd-0", "etcd-1"]);
    {
        let mut api = cluster_api(&server);
        let mut now = 1_000_000;
        // Pause, scale down: the API is down when the agent dies.
        for _ in 0..2 {
            edge::pass(&mut api, AGENT_NAMESPACE, &t, now)
                .await
                .unwrap();
            operate(&server, Jobs::Hang, true);
            now += 5;
        }
        assert_eq!(replicas(&server), [0, 0, 0]);
        assert_eq!(hosted_cluster(&server)["spec"]["pausedUntil"], "true");
    } // killed: nothing of it survives but what it stored in the cluster.
      // A new agent, much later: past the API-down limit, it resumes right away.
    let (state, _) = run(&server, &t, Jobs::Hang, true, 1_000_000 + 10_000, 5).await;
    assert_resumed(&server);
    assert!(state
        .last
        .unwrap()
        .failure
        .unwrap()
        .contains("maxApiDowntime"));
}
