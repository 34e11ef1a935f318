//! Failover benchmark: a planned failover hub-a -> hub-b in the end-to-end fleet (real agents,
//! fake hubs with the fake cluster-backup operator, one git repository), measured on the
//! fleet's own timeline. Prints the RPO and RTO as the new primary reports them (and
//! `hubdr status` shows them), and how many agent passes and how much wall time each phase of
//! the takeover took.
//!
//! `cargo run -p hubdr-e2e --bin failover-bench`

use std::time::{Duration, Instant};

use hubdr_e2e::{Fleet, SITE};

const ALL: [&str; 4] = ["hub-a", "hub-b", "hub-c", "east-1"];

fn takeover_done(fleet: &Fleet) -> bool {
    fleet
        .status("hub-b")
        .and_then(|s| s.observed.takeover)
        .is_some_and(|t| t.generation == 2 && t.backup_schedule_created_at.is_some())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let Some(mut fleet) = Fleet::start(SITE).await else {
        eprintln!("failover-bench: the fleet cannot start (see above)");
        std::process::exit(2);
    };
    let started = Instant::now();
    fleet
        .run_until(&ALL, 6, "hub-a backs up and reports", |f| {
            f.schedule("hub-a").is_some()
                && f.status("hub-a")
                    .is_some_and(|s| s.source.generation == Some(1))
                && f.status("hub-b").is_some()
        })
        .await;
    fleet.round(&ALL).await;
    let steady = started.elapsed();

    let merged = Instant::now();
    fleet.timeline.mark("failover to hub-b merged");
    fleet.failover("hub-b", false);
    let mut rounds = 0;
    let mut fenced_after = None;
    while !takeover_done(&fleet) {
        rounds += 1;
        if rounds > 20 {
            eprintln!(
                "failover-bench: no takeover after 20 rounds\n{}",
                fleet.timeline.render()
            );
            std::process::exit(1);
        }
        fleet.round(&ALL).await;
        if fenced_after.is_none()
            && fleet
                .status("hub-a")
                .and_then(|s| s.observed.fence)
                .is_some_and(|f| f.fenced_at == Some(2))
        {
            fenced_after = Some((rounds, merged.elapsed()));
        }
    }
    let took = merged.elapsed();
    let takeover = fleet.status("hub-b").unwrap().observed.takeover.unwrap();
    // Once more, so that every agent reports the final state before `hubdr status` reads it.
    fleet.round(&ALL).await;

    let command = hubdr::cli::Command::Status(hubdr::cli::StatusArgs {
        command: None,
        show: hubdr::cli::StatusShowArgs {
            repo: fleet.url(),
            branch: hubdr::status::STATUS_BRANCH.into(),
            source_branch: "main".into(),
            watch: false,
            interval: Duration::from_millis(10),
            stall_after: Some(Duration::from_secs(60)),
            ..Default::default()
        },
    });
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ = hubdr::commands::run(&command, &mut out, &mut err);
    let out = String::from_utf8_lossy(&out);
    let recovery = out
        .lines()
        .find(|l| l.contains("took over at generation"))
        .unwrap_or("(hubdr status shows no recovery line)");

    println!("failover-bench: planned failover hub-a -> hub-b, 4 clusters, fake timeline");
    println!("  steady state reached in {:.2?}", steady);
    match fenced_after {
        Some((r, t)) => {
            println!("  old primary fenced at generation 2: after {r} round(s), {t:.2?}")
        }
        None => println!("  old primary fenced: not seen before the takeover completed"),
    }
    println!(
        "  takeover complete (BackupSchedule on hub-b): after {rounds} round(s), {took:.2?} of wall time"
    );
    println!(
        "  restored backup: {}",
        takeover.restored_backup.as_deref().unwrap_or("-")
    );
    println!(
        "  activation finished: {}",
        takeover.activated_at.as_deref().unwrap_or("-")
    );
    println!(
        "  BackupSchedule created: {}",
        takeover
            .backup_schedule_created_at
            .as_deref()
            .unwrap_or("-")
    );
    println!("  hubdr status: {recovery}");
}
