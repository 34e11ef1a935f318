//! One active Restore per hub (issue 17 point 3). The cluster-backup operator runs one ACM
//! Restore at a time in a namespace: when it reconciles a Restore while another one there is in
//! any phase but `Finished` or `FinishedWithErrors` (an `Enabled` passive-sync Restore, a
//! `Running` activation, one stuck in `Error`, a new one without a phase yet), it sets the
//! newcomer to `FinishedWithErrors` with the message "Restore instance <other> is currently
//! running, ignoring this request." (stolostron/cluster-backup-operator, the restore
//! controller's `Reconcile` and `isOtherRestoresRunning`). A Restore runs once, so that
//! newcomer is lost for good: an activation attempt, a `--retry` or a one-time restore created
//! beside an active Restore never runs.
//!
//! So the agent creates an ACM Restore only when no other Restore in its namespace is active.
//! It is an implicit gate on every ACM Restore the render asks for that does not exist yet
//! (reported as the condition [`CONDITION`]), naming the Restore that blocks. A Restore hubdr
//! created before and that the render dropped (the previous attempt's) is pruned at the end of
//! the same pass, so the new one is created on the next pass; one made by hand must be removed
//! by a person, and the message says so.
//!
//! The verdict is pure ([`verdict`]: `None` when the Restore may be created, else why it
//! waits); [`evaluate`] only lists the Restores.

use hubdr_core::object::ObjectId;
use serde_json::Value;

use crate::kubeapi::ClusterApi;

pub const ACM_RESTORE: &str = "cluster.open-cluster-management.io/v1beta1";
/// The condition reported for this gate (it has no `hubdr.io/wait-for` annotation).
pub const CONDITION: &str = "one-active-restore";
/// The phases the operator treats as ended: every other phase blocks a new Restore.
pub const FINAL_PHASES: [&str; 2] = ["Finished", "FinishedWithErrors"];

/// Whether `id` is an ACM Restore (the kind the operator runs one at a time).
pub fn is_acm_restore(id: &ObjectId) -> bool {
    id.kind == "Restore" && id.api_version == ACM_RESTORE
}

/// Whether the new Restore `name` may be created beside the live Restores `live` of its
/// namespace `namespace` (`(name, phase)` pairs, in any order).
pub fn verdict(namespace: &str, name: &str, live: &[(String, String)]) -> Option<String> {
    let mut active: Vec<&(String, String)> = live
        .iter()
        .filter(|(other, phase)| other != name && !FINAL_PHASES.contains(&phase.as_str()))
        .collect();
    if active.is_empty() {
        return None;
    }
    active.sort();
    let named: Vec<String> = active
        .iter()
        .map(|(other, phase)| {
            let phase = if phase.is_empty() {
                "no phase yet"
            } else {
                phase
            };
            format!("{namespace}/{other} ({phase})")
        })
        .collect();
    Some(format!(
        "Restore {} is active on this hub, and the cluster-backup operator runs one Restore at a time: \
         created now, {namespace}/{name} would be ignored (FinishedWithErrors: \"Restore instance ... is currently running, ignoring this request\") and never run. \
         It is created once {} is gone or Finished (hubdr removes a Restore of its own that the render dropped; delete one made by hand)",
        named.join(", "),
        if active.len() == 1 { "that one" } else { "each of them" },
    ))
}

/// The gate for the planned ACM Restore `id`, which does not exist yet: lists the live
/// Restores of its namespace.
pub async fn evaluate(api: &mut ClusterApi, id: &ObjectId) -> Option<String> {
    let namespace = id.namespace.clone().unwrap_or_default();
    let live = match api
        .list(ACM_RESTORE, "Restore", Some(&namespace), None)
        .await
    {
        Ok(live) => live,
        Err(e) => {
            return Some(format!(
                "cannot list the Restores in {namespace} ({e}); a new Restore is created only when none other is active"
            ))
        }
    };
    let live: Vec<(String, String)> = live
        .into_iter()
        .map(|o| {
            let phase = o
                .data
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (o.metadata.name.unwrap_or_default(), phase)
        })
        .collect();
    verdict(&namespace, &id.name, &live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn only_finished_restores_let_a_new_one_be_created() {
        assert_eq!(verdict("ns", "new", &[]), None);
        assert_eq!(
            verdict(
                "ns",
                "new",
                &live(&[("a", "Finished"), ("b", "FinishedWithErrors")])
            ),
            None
        );
        for phase in [
            "Enabled",
            "Running",
            "Error",
            "Started",
            "Unknown",
            "",
            "EnabledWithErrors",
        ] {
            let Some(why) = verdict("ns", "new", &live(&[("old", phase)])) else {
                panic!("{phase:?} must block");
            };
            assert!(why.starts_with("Restore ns/old ("), "{why}");
            assert!(why.contains("ns/new would be ignored"), "{why}");
        }
    }

    #[test]
    fn the_restore_itself_does_not_block_and_every_blocker_is_named() {
        assert_eq!(verdict("ns", "new", &live(&[("new", "Running")])), None);
        let Some(why) = verdict(
            "ns",
            "new",
            &live(&[("z", "Enabled"), ("a", "Error"), ("f", "Finished")]),
        ) else {
            panic!("blocks");
        };
        assert!(
            why.starts_with("Restore ns/a (Error), ns/z (Enabled) is active"),
            "{why}"
        );
        assert!(why.contains("each of them"), "{why}");
    }
}
