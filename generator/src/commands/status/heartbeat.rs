//! The agents' heartbeats as `hubdr status` reads them: the committer time of the one commit
//! on `refs/hubdr/heartbeat/<cluster>` (which the agent replaces every heartbeat interval when
//! its status did not change) or of its newest status commit, whichever is newer, and when
//! that is too old to trust the status beside it.
//!
//! A heartbeat is not signed: it only ever makes a cluster look *less* healthy (stalled), and
//! one from the future (beyond the allowed clock skew) is ignored with a reason, so a forged
//! one cannot hide a stall for longer than the clock skew.

use git2::Repository;

pub use super::view::Heartbeat;
use super::view::{human, FleetView};
use crate::status::refs::{heartbeat_ref, status_ref};

/// The agent's heartbeat interval when the render does not say (the site default).
pub const DEFAULT_INTERVAL_SECS: i64 = 600;

/// A heartbeat older than this many intervals counts as stalled (unless `--stall-after` is
/// given).
pub const INTERVALS_BEFORE_STALL: i64 = 3;

/// The last sign of life of `cluster`'s agent in `repo`: the newer of its heartbeat commit
/// and the tip of its status ref (an agent whose status changes publishes a status commit
/// instead of a heartbeat). `None` when it has neither (an agent older than these refs, which
/// reports on the shared branch, or one that never reported).
pub fn read(repo: &Repository, cluster: &str, now: i64) -> Option<Heartbeat> {
    let beat = heartbeat_ref(cluster)
        .ok()
        .and_then(|r| committed_at(repo, &r, now));
    let status = status_ref(cluster)
        .ok()
        .and_then(|r| committed_at(repo, &r, now));
    match (beat, status) {
        (Some(Heartbeat::At(a)), Some(Heartbeat::At(b))) => Some(Heartbeat::At(a.max(b))),
        (Some(Heartbeat::Ignored(why)), _) | (_, Some(Heartbeat::Ignored(why))) => {
            Some(Heartbeat::Ignored(why))
        }
        (one, None) | (None, one) => one,
    }
}

/// The committer time of the commit `refname` points at, refused when it is in the future.
fn committed_at(repo: &Repository, refname: &str, now: i64) -> Option<Heartbeat> {
    let reference = repo.find_reference(refname).ok()?;
    let commit = match reference.peel_to_commit() {
        Ok(c) => c,
        Err(e) => {
            return Some(Heartbeat::Ignored(format!(
                "{refname} does not point at a commit ({}): delete it, the agent writes a new one",
                e.message()
            )))
        }
    };
    let at = commit.committer().when().seconds();
    let skew = crate::status::trust::MAX_CLOCK_SKEW_SECS;
    if at > now + skew {
        return Some(Heartbeat::Ignored(format!(
            "{refname} is dated {} in the future (more than the allowed clock skew of {}): check the clock of the agent",
            human(at - now),
            human(skew)
        )));
    }
    Some(Heartbeat::At(at))
}

/// The heartbeat interval the render gives the agents (`--heartbeat` in the agent Deployment
/// of `agents/<cluster>.yaml`, from `spec.agent.heartbeat`), if it can be read from `text`.
pub fn interval_in_agent_manifest(text: &str) -> Option<i64> {
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == "- --heartbeat" {
            let value = lines.next()?.strip_prefix("- ")?;
            let value = value.trim().trim_matches(['\'', '"']);
            return crate::site::units::parse_duration(value)
                .ok()
                .map(|d| d.as_secs() as i64)
                .filter(|s| *s > 0);
        }
    }
    None
}

/// The first cluster (in the fleet's order) that reported a status but whose last heartbeat
/// is older than `fleet.heartbeat_stall_after`, with the verdict line. Fenced hubs the
/// failover does not wait for are left out, and so are clusters without a heartbeat ref.
pub fn stalled(fleet: &FleetView, now: i64) -> Option<String> {
    let limit = fleet.heartbeat_stall_after;
    fleet
        .clusters
        .iter()
        .filter(|c| c.status.is_some())
        .filter(|c| {
            c.kind != "hub"
                || c.role.as_deref() != Some("fenced")
                || fleet.waited_for.contains(&c.name)
        })
        .find_map(|c| match c.heartbeat {
            Some(Heartbeat::At(at)) if now - at > limit => Some(format!(
                "{}: its agent's last heartbeat was {} ago (allowed: {}), so its status may be out of date: check that its agent runs and can push to the repository",
                c.name,
                human(now - at),
                human(limit)
            )),
            _ => None,
        })
}

/// The HEARTBEAT column: `5m ago`, `-` (none), `ignored`.
pub fn cell(heartbeat: Option<&Heartbeat>, now: i64, limit: i64) -> String {
    match heartbeat {
        None => "-".into(),
        Some(Heartbeat::Ignored(_)) => "ignored".into(),
        Some(Heartbeat::At(at)) if now - at > limit => format!("{} ago (stalled)", human(now - at)),
        Some(Heartbeat::At(at)) => format!("{} ago", human((now - at).max(0))),
    }
}

/// The `heartbeat` of a cluster in `-o json`: `null` without a heartbeat ref, else
/// `{"at": RFC 3339, "ageSeconds", "stalled"}` or `{"ignored": reason}`.
pub fn json(heartbeat: Option<&Heartbeat>, now: i64, limit: i64) -> serde_json::Value {
    match heartbeat {
        None => serde_json::Value::Null,
        Some(Heartbeat::Ignored(why)) => serde_json::json!({ "ignored": why }),
        Some(Heartbeat::At(at)) => serde_json::json!({
            "at": jiff::Timestamp::from_second(*at)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            "ageSeconds": (now - at).max(0),
            "stalled": now - at > limit,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::fleet;
    use super::*;

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn an_old_heartbeat_stalls_a_complete_cluster() {
        let mut f = fleet(2, 2);
        f.heartbeat_stall_after = 1800;
        f.clusters[1].heartbeat = Some(Heartbeat::At(NOW - 1801));
        let why = stalled(&f, NOW).expect("stalled");
        assert!(
            why.starts_with("hub-b: its agent's last heartbeat was 30m ago (allowed: 30m)"),
            "{why}"
        );
        f.clusters[1].heartbeat = Some(Heartbeat::At(NOW - 1799));
        assert_eq!(stalled(&f, NOW), None);
    }

    #[test]
    fn no_heartbeat_ref_an_ignored_one_and_an_unreachable_fenced_hub_are_not_judged() {
        let mut f = fleet(2, 2);
        f.heartbeat_stall_after = 60;
        f.clusters[2].heartbeat = Some(Heartbeat::Ignored("future".into()));
        f.clusters[0].heartbeat = Some(Heartbeat::At(NOW - 3600));
        f.waited_for.clear();
        assert_eq!(stalled(&f, NOW), None);
        f.waited_for = vec!["hub-a".into()];
        assert!(stalled(&f, NOW).unwrap().starts_with("hub-a:"));
    }

    #[test]
    fn the_interval_comes_from_the_agent_manifest() {
        let text = "        args:\n        - --interval\n        - 30s\n        - --heartbeat\n        - 5m\n        - --cache-dir\n";
        assert_eq!(interval_in_agent_manifest(text), Some(300));
        assert_eq!(interval_in_agent_manifest("- --heartbeat\n- soon\n"), None);
        assert_eq!(interval_in_agent_manifest("kind: Deployment\n"), None);
    }

    #[test]
    fn cells_and_json() {
        assert_eq!(cell(None, NOW, 60), "-");
        assert_eq!(cell(Some(&Heartbeat::At(NOW - 120)), NOW, 600), "2m ago");
        assert_eq!(
            cell(Some(&Heartbeat::At(NOW - 7200)), NOW, 600),
            "2h ago (stalled)"
        );
        let doc = json(Some(&Heartbeat::At(0)), 90, 60);
        assert_eq!(doc["at"], "1970-01-01T00:00:00Z");
        assert_eq!(doc["ageSeconds"], 90);
        assert_eq!(doc["stalled"], true);
        assert_eq!(json(None, NOW, 60), serde_json::Value::Null);
    }
}
