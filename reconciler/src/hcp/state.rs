//! The persisted state of a hosted cluster's snapshot runs (in the cluster, read back after a
//! restart). Read as untrusted input: size-limited, strictly parsed, checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most the state may weigh (it holds a few small records).
pub const STATE_MAX_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SequenceState {
    /// The run in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The last run that ended (succeeded or failed, resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<RunResult>,
    /// The snapshots of the newest run that succeeded, one per member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_snapshots: Vec<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "name")]
pub enum Step {
    /// Set `pausedUntil` and wait to see it.
    Pause,
    /// Scale the API servers to 0 and wait to see them at 0.
    ScaleDown,
    /// Snapshot member `member` (an index into the target's members).
    Snapshot { member: usize },
    /// Scale back and unpause; always the last step.
    Resume,
}

impl Step {
    pub fn describe(self, members: &[String]) -> String {
        match self {
            Step::Pause => "pause".into(),
            Step::ScaleDown => "scale-down".into(),
            Step::Snapshot { member } => format!(
                "snapshot {}",
                members.get(member).map_or("?", String::as_str)
            ),
            Step::Resume => "resume".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Run {
    /// Names the run's Jobs and objects (hex of its start time).
    pub id: String,
    /// Unix seconds.
    pub started: i64,
    pub step: Step,
    /// The API-server replicas before the scale-down; recorded before it, restored by resume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replicas: BTreeMap<String, i32>,
    /// When the scale-down was issued (the API is down from then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_since: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<Snapshot>,
    /// Why the run failed (it then resumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Snapshot {
    pub member: String,
    /// Unix seconds when it was recorded.
    pub time: i64,
    pub revision: u64,
    pub hash: u64,
    pub size: u64,
    /// The object key in the destination bucket.
    pub object: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunResult {
    pub id: String,
    pub started: i64,
    pub finished: i64,
    /// None when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// How long the API was down (scale-down to resume), in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_down_secs: Option<i64>,
}

impl SequenceState {
    /// Parse the stored text (untrusted: it lives in the cluster, anyone with access may edit it).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > STATE_MAX_BYTES {
            return Err(format!(
                "the stored hosted-cluster state is {} bytes (max {STATE_MAX_BYTES})",
                text.len()
            ));
        }
        let state: SequenceState = serde_json::from_str(text)
            .map_err(|e| format!("the stored hosted-cluster state does not parse: {e}"))?;
        if let Some(run) = &state.run {
            if run.id.is_empty()
                || run.id.len() > 16
                || !run.id.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(format!(
                    "the stored run id {:?} is not a hex number",
                    run.id
                ));
            }
            if let Some((name, n)) = run.replicas.iter().find(|(_, n)| !(0..=100).contains(*n)) {
                return Err(format!(
                    "the stored replicas of {name} ({n}) are out of range 0..=100"
                ));
            }
        }
        Ok(state)
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("the state serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_bad_text_is_refused() {
        let state = SequenceState {
            run: Some(Run {
                id: "5f1a".into(),
                started: 10,
                step: Step::Snapshot { member: 1 },
                replicas: BTreeMap::from([("kube-apiserver".to_string(), 3)]),
                down_since: Some(12),
                snapshots: Vec::new(),
                failure: None,
            }),
            last: None,
            last_snapshots: Vec::new(),
        };
        assert_eq!(SequenceState::parse(&state.to_text()).unwrap(), state);
        assert!(SequenceState::parse("{")
            .unwrap_err()
            .contains("does not parse"));
        assert!(SequenceState::parse(&" ".repeat(STATE_MAX_BYTES + 1))
            .unwrap_err()
            .contains("max"));
        let bad = state
            .to_text()
            .replace("\"kube-apiserver\":3", "\"kube-apiserver\":-4");
        assert!(SequenceState::parse(&bad)
            .unwrap_err()
            .contains("out of range"));
        let bad = state.to_text().replace("5f1a", "../x");
        assert!(SequenceState::parse(&bad).unwrap_err().contains("hex"));
    }
}
