//! What `hubdr render` refuses: undoing a failover by lowering the generation (a `git revert`
//! of its site change) or changing roles by hand, either of which would skip every gate.

use hubdr_e2e::{Fleet, SITE};

use super::*;

/// The commit `main` points at in the agents' repository.
fn merged_commit(fleet: &Fleet) -> git2::Oid {
    git2::Repository::open(&fleet.repo)
        .unwrap()
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reverted_or_hand_edited_failover_is_refused_by_render() {
    let Some(mut fleet) = reported_fleet(SITE).await else {
        return;
    };
    let before_failover = fleet.site.clone();
    let (result, out) = fleet.hubdr(&["failover", "--to", "hub-b"]);
    assert_eq!(result, Ok(()), "{out}");
    assert_eq!(fleet.generation(), 2);
    let merged = merged_commit(&fleet);

    // `git revert` of the failover's site change: generation 1 again, hub-a active.
    let (result, out) = fleet.hubdr_on(&before_failover, &["render"]);
    assert_eq!(result, Err(2), "{out}");
    for expected in [
        "failover.generation 1 is lower than 2, the generation of the committed render",
        "`hubdr failover --abort`",
        "nothing was written",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }

    // Roles swapped back by hand at the same generation.
    let swapped = fleet
        .site
        .replacen(
            "    - name: hub-a\n      role: fenced\n",
            "    - name: hub-a\n      role: active\n",
            1,
        )
        .replacen(
            "    - name: hub-b\n      role: active\n",
            "    - name: hub-b\n      role: passive\n",
            1,
        );
    assert_ne!(swapped, fleet.site);
    let (result, out) = fleet.hubdr_on(&swapped, &["render"]);
    assert_eq!(result, Err(2), "{out}");
    assert!(
        out.contains("hub-a: fenced -> active, hub-b: active -> passive"),
        "{out}"
    );
    assert!(out.contains("`hubdr failover --to HUB`"), "{out}");
    assert_eq!(merged_commit(&fleet), merged, "nothing reached the agents");

    // The failover goes on as merged.
    fleet
        .run_until(&ALL, 5, "hub-b backs up", |f| enabled(f, "hub-b"))
        .await;
    assert_takeover_order(&fleet, 0, Some("hub-a"), "hub-b", PASSIVE_SYNC_G0);
    assert_paused(&fleet, "hub-a");
}
