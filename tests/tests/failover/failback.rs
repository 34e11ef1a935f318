//! Failing back to the former primary.

use std::collections::BTreeMap;

use hubdr_e2e::SITE;
use kubefake::ChangeKind;

use super::*;

/// Scenario 5: failing back to hub-a later (unfenced first, then generation 3). No one-shot
/// Restore name is ever reused in a cluster, and the order holds again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_back_reuses_no_restore_name_and_keeps_the_order() {
    let Some(mut fleet) = steady_fleet(SITE).await else {
        return;
    };
    let first = planned_failover_to_b(&mut fleet).await;
    assert_takeover_order(&fleet, first, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);

    fleet.unfence("hub-a");
    assert_eq!(fleet.generation(), 2);
    let passive_g2 = "restore-acm-passive-sync-g2";
    fleet
        .run_until(&ALL, 3, "hub-a syncs again as a passive hub", |f| {
            restore_phase(f, "hub-a", passive_g2) == "Enabled"
        })
        .await;

    let back = fleet.timeline.mark("failback to hub-a merged");
    fleet.failover("hub-a", false);
    assert_eq!(fleet.generation(), 3);
    fleet
        .run_until(
            &["hub-a", "hub-c", "east-1", "hub-b"],
            4,
            "hub-a backs up again",
            |f| {
                enabled(f, "hub-a")
                    && f.status("hub-b")
                        .is_some_and(|s| s.source.generation == Some(3))
            },
        )
        .await;
    assert_takeover_order(&fleet, back, Some("hub-b"), "hub-a", passive_g2);
    assert_one_schedule_at_a_time(&fleet);
    assert!(
        fleet.restore("hub-b", PASSIVE_SYNC_G0).is_none(),
        "the fenced hub keeps no Restore"
    );

    // Every object created per cluster over the whole run: Restores (ACM's and Velero's) are
    // one-shot, so none may have been created twice under the same name.
    let mut created: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in fleet.timeline.entries() {
        if let Some(o) = e.object().filter(|o| o.change == ChangeKind::Added) {
            let group = o.object["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *created
                .entry((
                    o.cluster.to_string(),
                    format!("{} {group}", o.kind),
                    o.name.to_string(),
                ))
                .or_default() += 1;
        }
    }
    let reused: Vec<_> = created
        .iter()
        .filter(|((_, kind, _), n)| kind.starts_with("Restore ") && **n > 1)
        .collect();
    assert!(
        reused.is_empty(),
        "one-shot Restore names reused: {reused:?}"
    );
    let activations: Vec<_> = created
        .keys()
        .filter(|(c, kind, name)| {
            kind.contains("cluster.open-cluster-management.io")
                && kind.starts_with("Restore")
                && (c == "hub-a" || c == "hub-b")
                && name.contains("sync")
        })
        .collect();
    assert!(activations.len() >= 2, "{activations:?}");
}
