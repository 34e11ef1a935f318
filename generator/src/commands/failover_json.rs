//! The `FailoverResult` document of `hubdr failover -o json` (schema in README "Scripting").

use serde_json::{json, Value};

use crate::changes::ByCluster;
use crate::failover::preflight::Preflight;
use crate::failover::Failover;
use crate::index::RenderIndex;

/// What a committed failover reports.
pub struct Result<'a> {
    pub failover: &'a Failover,
    /// The render after the failover, restricted to `--cluster` / `--changed-only`.
    pub index: &'a RenderIndex,
    pub grouped: &'a ByCluster,
    pub preflight: &'a Preflight,
    /// The `--skip-preflight` reason, when the preflight failed and was skipped.
    pub skipped: Option<&'a str>,
    /// The render commit (`None`: the repository already held it).
    pub commit: Option<String>,
    /// The ordered steps as text (`failover::steps`, not Markdown).
    pub steps: &'a str,
}

impl Result<'_> {
    /// The fields after `apiVersion` and `kind`.
    pub fn json(&self) -> Value {
        let plan = super::plan::plan_json(self.index, self.grouped, &[], true);
        let checks: Vec<Value> = self
            .preflight
            .checks
            .iter()
            .map(|c| json!({"name": c.name, "hub": c.hub, "ok": c.ok, "detail": c.detail}))
            .collect();
        json!({
            "site": self.index.site,
            "generation": self.failover.generation,
            "from": self.failover.from,
            "to": self.failover.to,
            "oldPrimaryUnreachable": self.failover.old_primary_unreachable,
            "commit": self.commit,
            "preflight": {
                "passed": self.preflight.failed().is_empty(),
                "skipped": self.skipped.map(str::trim),
                "checks": checks,
            },
            "steps": steps(self.steps),
            "summary": plan["summary"],
            "clusters": plan["clusters"],
        })
    }
}

/// The numbered steps of `text` ("1. ..."), without their numbers.
fn steps(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let (number, rest) = line.split_once(". ")?;
            (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn steps_are_the_numbered_lines() {
        let text = "Failover to hub-b (generation 1)\n\n1. hub-a: first. Waits for: nothing.\n2. hub-b: then.\n10. last\n";
        assert_eq!(
            super::steps(text),
            vec!["hub-a: first. Waits for: nothing.", "hub-b: then.", "last"]
        );
    }
}
