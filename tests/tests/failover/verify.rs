//! Verify before calling it done: the new primary backs up only once every managed cluster is
//! Available and Joined on it; until then the failover waits and names the stragglers.

use hubdr_e2e::{Behaviour, SITE};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn straggling_managed_clusters_hold_the_backup_schedule_and_are_named() {
    let site = SITE.replacen(
        "  managedClusters:\n    - name: east-1\n      apiServer: https://api.east-1.example.com:6443\n",
        "  managedClusters:\n    - name: east-1\n      apiServer: https://api.east-1.example.com:6443\n    - name: west-2\n      apiServer: https://api.west-2.example.com:6443\n",
        1,
    );
    assert_ne!(site, SITE);
    let stragglers = Behaviour {
        pending_import: vec!["east-1".into()],
        unavailable: vec!["west-2".into()],
        ..Behaviour::default()
    };
    let Some((mut fleet, merged)) = failover_to_b_with(&site, stragglers).await else {
        return;
    };
    fleet
        .run_until(
            &B_FIRST,
            6,
            "hub-b waits only for its managed clusters",
            |f| {
                f.status("hub-b").is_some_and(|s| {
                    gate_conditions(&s) == ["managed-clusters-available", "auto-import-restored:2"]
                }) && restore_phase(f, "hub-b", PASSIVE_SYNC_G0) == "Finished"
            },
        )
        .await;
    fleet.rounds(&B_FIRST, 2).await;
    assert!(
        fleet.schedule("hub-b").is_none(),
        "no BackupSchedule before the clusters are back"
    );
    let b = fleet.status("hub-b").unwrap();
    // ACM 2.14+: the auto-import strategy is put back only once the clusters are back too.
    assert_eq!(
        gate_conditions(&b),
        ["managed-clusters-available", "auto-import-restored:2"]
    );
    for expected in [
        "0 of 2 ManagedCluster(s) Available and Joined",
        "Pending Import (1): east-1",
        "joined but not Available (1): west-2",
        "no BackupSchedule yet",
    ] {
        assert!(
            b.gates[0].message.contains(expected),
            "{expected:?} not in {:?}",
            b.gates[0].message
        );
    }
    let clusters = b.observed.managed_clusters.clone().unwrap();
    assert_eq!((clusters.total, clusters.available), (2, 0));
    assert_eq!(clusters.pending_import, ["east-1"]);
    assert_eq!(clusters.not_available, ["west-2"]);

    let (result, out) = hubdr_status(&fleet, false);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("for managed-clusters-available: 0 of 2 ManagedCluster(s) Available and Joined; Pending Import (1): east-1"),
        "{out}"
    );
    assert!(
        out.contains("joined but not Available (1): west-2"),
        "{out}"
    );
    assert!(!out.trim_end().ends_with("failover complete"), "{out}");

    // The clusters come back: the takeover is verified and the new primary backs up.
    fleet.set_behaviour("hub-b", Behaviour::default());
    until_b_backs_up(&mut fleet, 3, "hub-b backs up").await;
    let created = assert_takeover_order(&fleet, merged, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    let all_back = fleet
        .timeline
        .entries()
        .iter()
        .filter_map(|e| e.object().map(|o| (e.seq, o)))
        .filter(|(_, o)| o.is("hub-b", "ManagedCluster") && o.name == "east-1")
        .find(|(_, o)| {
            o.object["status"]["conditions"]
                .as_array()
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "ManagedClusterJoined" && c["status"] == "True")
                })
        })
        .map(|(seq, _)| seq)
        .unwrap();
    assert!(
        all_back < created,
        "verified before the BackupSchedule\n{}",
        fleet.timeline.render()
    );
}
