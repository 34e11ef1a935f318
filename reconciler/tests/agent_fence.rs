//! Fencing, through `Agent::pass_once`: a hub whose role is `fenced` loses (ACM before 2.12)
//! or pauses (2.12+) every BackupSchedule before anything else is written, also after a
//! restart with the repository unreachable (the role and mode it remembers in the cluster),
//! and a BackupSchedule list it cannot read is reported, never silent.

mod support;

use std::path::Path;

use hubdr::render::Rendered;
use hubdr::status::ClusterStatus;
use hubdr_agent::memory::{FENCE_MODE_KEY, GENERATION_KEY, ROLE_KEY};
use hubdr_agent::runner::Agent;
use kubefake::{FakeApiServer, Fault, Verb, WriteVerb};
use serde_json::{json, Value};
use support::*;

const ACM: &str = "cluster.open-cluster-management.io/v1beta1";
const BACKUP_NS: &str = "open-cluster-management-backup";

fn schedules(server: &FakeApiServer) -> Vec<String> {
    server
        .objects_snapshot()
        .iter()
        .filter(|o| o["kind"] == "BackupSchedule")
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn by_hand(name: &str) -> Value {
    json!({
        "apiVersion": ACM, "kind": "BackupSchedule",
        "metadata": {"name": name, "namespace": BACKUP_NS},
        "spec": {"veleroSchedule": "0 */2 * * *", "veleroTtl": "120h"},
    })
}

fn result<'a>(status: &'a ClusterStatus, object: &str) -> &'a str {
    status
        .objects
        .iter()
        .find(|o| o.object == object)
        .map(|o| o.result.as_str())
        .unwrap_or_else(|| panic!("{object} in {:#?}", status.objects))
}

/// The example site on ACM `version`.
fn site_on(version: &str) -> String {
    let site = EXAMPLE_SITE.replacen(
        "spec:\n",
        &format!("spec:\n  acmVersion: \"{version}\"\n"),
        1,
    );
    assert_ne!(site, EXAMPLE_SITE);
    site
}

/// ACM 2.11: a fenced hub's BackupSchedules are deleted.
fn deleting() -> String {
    site_on("2.11")
}

/// hub-a applied as the active hub (it has its BackupSchedule), then the failover to hub-b
/// is committed: hub-a is fenced in the repository, its agent has not run since.
async fn failed_over(
    remote: &Remote,
    cache: &Path,
    site: &str,
) -> (FakeApiServer, Agent, Rendered) {
    let active = render(site);
    let fenced_site = hubdr::failover::edit_site(site, "hub-b", false).unwrap();
    let fenced = render(&fenced_site);
    assert_eq!(
        fenced.index.clusters["hub-a"].role.as_deref(),
        Some("fenced")
    );
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(&active, "hub-a"));
    ensure_prerequisite_namespaces(&server, &cluster_objects(&fenced, "hub-a"));
    remote.commit(&active.tree, "render");
    let mut agent = remote.agent("hub-a", &server, cache);
    let first = agent.pass_once().await;
    // (No operators run in the fake: the health checks fail, the objects are applied.)
    assert_eq!(first.pass.reason, "HealthFailed", "{}", first.pass.message);
    assert!(
        first.objects.iter().all(|o| o.result == "created"),
        "{:#?}",
        first.objects
    );
    assert_eq!(schedules(&server), ["schedule-acm"]);
    remote.commit(&fenced.tree, "failover to hub-b");
    server.clear_writes();
    (server, agent, fenced)
}

#[tokio::test]
async fn a_fenced_hub_loses_its_backup_schedules_before_anything_is_written() {
    let remote = Remote::new();
    let cache = tempfile::tempdir().unwrap();
    let (server, mut agent, _) = failed_over(&remote, cache.path(), &deleting()).await;
    // Also one nobody rendered (a person, an older agent, a restored hub).
    server.put_object(by_hand("by-hand")).unwrap();
    server.clear_writes();

    let status = agent.pass_once().await;

    assert!(schedules(&server).is_empty(), "{:?}", schedules(&server));
    let writes = server.writes();
    let first_other = writes
        .iter()
        .position(|w| w.plural != "backupschedules")
        .expect("the pass applies the fenced hub's objects");
    let fenced: Vec<(WriteVerb, &str)> = writes[..first_other]
        .iter()
        .map(|w| (w.verb, w.name.as_str()))
        .collect();
    assert_eq!(
        fenced.len(),
        2,
        "both deleted before anything else: {writes:#?}"
    );
    assert!(fenced.iter().all(|(verb, _)| *verb == WriteVerb::Delete));
    assert_eq!(
        result(
            &status,
            "BackupSchedule open-cluster-management-backup/by-hand"
        ),
        "pruned"
    );
    let memory = server
        .get(
            &gvk_of("v1", "ConfigMap"),
            Some(AGENT_NAMESPACE),
            "hubdr-inventory-hub-a",
        )
        .unwrap();
    assert_eq!(memory["data"][ROLE_KEY], "fenced", "{memory}");
    assert_eq!(memory["data"][GENERATION_KEY], "2", "{memory}");
    assert_eq!(memory["data"][FENCE_MODE_KEY], "delete", "{memory}");
}

#[tokio::test]
async fn a_restarted_agent_fences_from_its_remembered_role_while_the_repository_is_unreachable() {
    let remote = Remote::new();
    let cache = tempfile::tempdir().unwrap();
    let (server, mut agent, _) = failed_over(&remote, cache.path(), &deleting()).await;
    let fenced = agent.pass_once().await;
    assert!(schedules(&server).is_empty(), "{}", fenced.pass.message);

    // The agent restarts (nothing in memory, a fresh cache) while the repository is gone,
    // and the hub comes back with a BackupSchedule.
    drop(agent);
    let moved = remote.path.with_extension("moved");
    std::fs::rename(&remote.path, &moved).unwrap();
    server.put_object(by_hand("schedule-acm")).unwrap();
    server.clear_writes();
    let fresh = tempfile::tempdir().unwrap();
    let mut restarted = remote.agent("hub-a", &server, fresh.path());

    let status = restarted.pass_once().await;

    assert_eq!(status.pass.reason, "FetchFailed", "{}", status.pass.message);
    assert!(status.source.stale);
    assert!(schedules(&server).is_empty(), "{:?}", schedules(&server));
    assert_eq!(
        result(
            &status,
            "BackupSchedule open-cluster-management-backup/schedule-acm"
        ),
        "pruned"
    );
    let writes = server.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(
        (writes[0].verb, writes[0].plural.as_str()),
        (WriteVerb::Delete, "backupschedules")
    );
    std::fs::rename(&moved, &remote.path).unwrap();
}

#[tokio::test]
async fn a_backup_schedule_list_that_fails_on_a_fenced_hub_is_reported() {
    let remote = Remote::new();
    let cache = tempfile::tempdir().unwrap();
    let (server, mut agent, _) = failed_over(&remote, cache.path(), &deleting()).await;
    server.inject(
        Fault::error(500, "etcd is sad")
            .verb(Verb::List)
            .resource("backupschedules"),
    );

    let status = agent.pass_once().await;

    assert_eq!(status.pass.outcome, "Failed", "{}", status.pass.message);
    assert!(
        status
            .pass
            .message
            .contains("this hub is fenced but its BackupSchedules in open-cluster-management-backup cannot be listed"),
        "{}",
        status.pass.message
    );

    // The same after a restart with the repository unreachable: fencing from memory.
    server.clear_faults();
    agent.pass_once().await;
    drop(agent);
    let moved = remote.path.with_extension("moved");
    std::fs::rename(&remote.path, &moved).unwrap();
    server.inject(
        Fault::error(500, "etcd is sad")
            .verb(Verb::List)
            .resource("backupschedules"),
    );
    let fresh = tempfile::tempdir().unwrap();
    let status = remote
        .agent("hub-a", &server, fresh.path())
        .pass_once()
        .await;
    assert_eq!(status.pass.reason, "FetchFailed");
    assert!(
        status.pass.message.contains("cannot be listed")
            && status.pass.message.contains("etcd is sad"),
        "{}",
        status.pass.message
    );
    std::fs::rename(&moved, &remote.path).unwrap();
}

/// ACM 2.12+: the restarted agent of a fenced hub, with its repository unreachable, pauses
/// the BackupSchedule the hub came back with (the mode it remembers), and deletes nothing.
#[tokio::test]
async fn a_restarted_agent_on_acm_2_12_pauses_from_memory_and_deletes_nothing() {
    let remote = Remote::new();
    let cache = tempfile::tempdir().unwrap();
    let (server, mut agent, _) = failed_over(&remote, cache.path(), &site_on("2.12")).await;
    agent.pass_once().await;
    let memory = server
        .get(
            &gvk_of("v1", "ConfigMap"),
            Some(AGENT_NAMESPACE),
            "hubdr-inventory-hub-a",
        )
        .unwrap();
    assert_eq!(memory["data"][FENCE_MODE_KEY], "pause", "{memory}");

    drop(agent);
    let moved = remote.path.with_extension("moved");
    std::fs::rename(&remote.path, &moved).unwrap();
    server
        .delete_object(
            &gvk_of(ACM, "BackupSchedule"),
            Some(BACKUP_NS),
            "schedule-acm",
        )
        .unwrap();
    server.put_object(by_hand("schedule-acm")).unwrap();
    server.clear_writes();
    let fresh = tempfile::tempdir().unwrap();
    let mut restarted = remote.agent("hub-a", &server, fresh.path());

    let status = restarted.pass_once().await;

    assert_eq!(status.pass.reason, "FetchFailed", "{}", status.pass.message);
    assert_eq!(schedules(&server), ["schedule-acm"], "paused, not deleted");
    let schedule = server
        .get(
            &gvk_of(ACM, "BackupSchedule"),
            Some(BACKUP_NS),
            "schedule-acm",
        )
        .unwrap();
    assert_eq!(schedule["spec"]["paused"], true, "{schedule}");
    let writes = server.writes();
    assert!(
        writes.iter().all(|w| w.verb != WriteVerb::Delete),
        "{writes:#?}"
    );
    assert_eq!(
        result(
            &status,
            "BackupSchedule open-cluster-management-backup/schedule-acm"
        ),
        "configured"
    );
    std::fs::rename(&moved, &remote.path).unwrap();
}
