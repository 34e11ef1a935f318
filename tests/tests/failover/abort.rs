//! `hubdr failover --abort`: the way back before the new primary's activation finished, with
//! gates of its own; refused once it is too late.

use hubdr_e2e::{Event, SITE};

use super::*;

const DISABLE_AUTO_IMPORT: &str = "import.open-cluster-management.io/disable-auto-import";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abort_before_the_activation_gives_the_role_back_in_order() {
    let Some(mut fleet) = reported_fleet(SITE).await else {
        return;
    };
    let merged = fleet.timeline.mark("failover to hub-b merged");
    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Ok(()), "{out}");
    fleet.pass("hub-b").await;
    fleet.pass("hub-a").await;
    assert_paused(&fleet, "hub-a");
    assert_eq!(fleet.compactor("hub-a").unwrap()["spec"]["replicas"], 0);

    // Called off before hub-b activated anything.
    let (result, out) = fleet.hubdr(&["failover", "--abort"]);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("Abort of the failover to hub-b (generation 2), as generation 3"),
        "{out}"
    );
    assert_eq!(fleet.generation(), 3);
    let aborted = fleet.timeline.now();

    // hub-a first: it stays fenced until hub-b reports generation 3 without an activation.
    let a = fleet.pass("hub-a").await;
    assert_eq!(
        waits_of(&a, SCHEDULE),
        ["not-activated:hub-b@3"],
        "{}",
        a.to_yaml()
    );
    assert!(
        a.gates[0].message.contains("hub-b reports generation 2"),
        "{}",
        a.gates[0].message
    );
    assert_paused(&fleet, "hub-a");
    let east = fleet.managed_cluster("hub-a", "east-1").unwrap();
    assert!(east["metadata"]["annotations"]
        .get(DISABLE_AUTO_IMPORT)
        .is_some());

    let b = fleet.pass("hub-b").await;
    assert_eq!(b.source.generation, Some(3));
    assert!(
        fleet.restore("hub-b", PASSIVE_SYNC_G0).is_none(),
        "the activation Restore is removed"
    );
    // One active Restore per hub: the new passive-sync Restore waits for the old one, still
    // Enabled when the pass began, and is created on the next pass.
    assert!(fleet
        .restore("hub-b", "restore-acm-passive-sync-g3")
        .is_none());
    assert_eq!(
        waits_of(
            &b,
            "Restore open-cluster-management-backup/restore-acm-passive-sync-g3"
        ),
        ["one-active-restore"],
        "{}",
        b.to_yaml()
    );
    fleet.pass("hub-b").await;
    assert!(fleet
        .restore("hub-b", "restore-acm-passive-sync-g3")
        .is_some());

    let a = fleet.pass("hub-a").await;
    assert!(a.gates.is_empty(), "{}", a.to_yaml());
    let schedule = fleet.schedule("hub-a").unwrap();
    assert!(schedule["spec"].get("paused").is_none(), "{schedule}");
    let east = fleet.managed_cluster("hub-a", "east-1").unwrap();
    assert!(
        east["metadata"]["annotations"]
            .get(DISABLE_AUTO_IMPORT)
            .is_none(),
        "{east}"
    );
    let compactor = fleet.compactor("hub-a").unwrap();
    assert_eq!(compactor["spec"]["replicas"], 1, "{compactor}");
    assert!(compactor["metadata"]["annotations"]
        .get("hubdr.io/fenced-replicas")
        .is_none());

    fleet
        .run_until(&ALL, 4, "hub-a backs up again and hub-b syncs", |f| {
            enabled(f, "hub-a")
                && restore_phase(f, "hub-b", "restore-acm-passive-sync-g3") == "Enabled"
        })
        .await;
    let t = &fleet.timeline;
    assert!(
        t.first_after(
            merged,
            |e| matches!(&e.event, Event::Activated { hub, .. } if hub == "hub-b")
        )
        .is_none(),
        "hub-b never activated\n{}",
        t.render()
    );
    assert!(t
        .first_object(merged, "hub-b", "BackupSchedule", |_| true)
        .is_none());
    assert!(t.collisions().is_empty(), "{}", t.render());
    assert_one_schedule_at_a_time(&fleet);
    // hub-b reported generation 3 (its activation Restore gone) before hub-a was unpaused.
    let removed = t
        .first_object(aborted, "hub-b", "Restore", |o| {
            o.name == PASSIVE_SYNC_G0 && deleted(o)
        })
        .unwrap();
    let unpaused = t
        .first_object(aborted, "hub-a", "BackupSchedule", |o| {
            o.change == kubefake::ChangeKind::Modified && o.object["spec"].get("paused").is_none()
        })
        .unwrap();
    assert!(removed < unpaused, "\n{}", t.render());
    assert!(backups_by(&fleet, "hub-a", unpaused) > 0);
    until_all_report(&mut fleet, 3).await;
    let (result, out) = hubdr_status(&fleet, true);
    assert_eq!(result, Ok(()), "{out}");
    assert!(out.trim_end().ends_with("failover complete"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abort_after_the_activation_finished_is_refused() {
    let Some(mut fleet) = reported_fleet(SITE).await else {
        return;
    };
    planned_failover_to_b(&mut fleet).await;
    fleet.pass("hub-b").await;
    let (result, out) = fleet.hubdr(&["failover", "--abort"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(out.contains("cannot abort the failover to hub-b"), "{out}");
    assert!(
        out.contains("it is too late to abort: fail back instead"),
        "{out}"
    );
    assert_eq!(fleet.generation(), 2, "nothing was changed");
}
