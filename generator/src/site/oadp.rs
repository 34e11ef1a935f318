//! Which OADP an ACM release installs, and so how the DataProtectionApplication asks for the
//! node agent: OADP 1.3 renamed `spec.configuration.restic` to `spec.configuration.nodeAgent`
//! (with `uploaderType`); the old field is kept for backwards compatibility, deprecated.
//!
//! Source: stolostron/cluster-backup-operator README, "OADP version" table (added in
//! commit bacb2479, 2024-07-30; 2.10.4 row in 1844ed01): ACM 2.8 → OADP 1.1, 2.8.4 → 1.2,
//! 2.8.5 → 1.3, 2.9 → 1.2, 2.9.3 → 1.3, 2.10 → 1.3, 2.10.4 → 1.4, 2.11 and 2.12 → 1.4, 2.13+ →
//! 1.4 or the stable channel (1.5+). The seeds' DPA samples (ACM 2.8 to 2.10) use `restic`.
//! `acmVersion: "2.8"` or `"2.9"` without a patch level cannot say which: it gets `restic`,
//! which every OADP from 1.1 to the one the shared CRD comes from accepts.

use super::diagnostic::Diagnostic;
use super::model::SiteSpec;

/// How the DPA enables the node agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAgentField {
    /// `spec.configuration.restic: {enable}` (OADP 1.1 and 1.2).
    Restic,
    /// `spec.configuration.nodeAgent: {enable, uploaderType}` (OADP 1.3 and later).
    NodeAgent,
}

/// The OADP `major.minor` an ACM `2.<minor>[.<patch>]` installs, from the table above; `None`
/// for text that is not such a version (reported by the acmVersion check).
pub fn oadp_for(acm: &str) -> Option<(u32, u32)> {
    let mut parts = acm.trim().split('.');
    if parts.next()? != "2" {
        return None;
    }
    let minor: u32 = parts.next()?.parse().ok()?;
    let patch: Option<u32> = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    let patch = patch.unwrap_or(0);
    Some(match minor {
        0..=7 => return None,
        8 if patch >= 5 => (1, 3),
        8 if patch >= 4 => (1, 2),
        8 => (1, 1),
        9 if patch >= 3 => (1, 3),
        9 => (1, 2),
        10 if patch >= 4 => (1, 4),
        10 => (1, 3),
        _ => (1, 4),
    })
}

impl SiteSpec {
    /// The DPA's node-agent field for the site's `acmVersion` (the newest ACM when unset).
    pub fn node_agent_field(&self) -> NodeAgentField {
        match self.acm_version.as_deref().and_then(oadp_for) {
            Some(oadp) if oadp < (1, 3) => NodeAgentField::Restic,
            _ => NodeAgentField::NodeAgent,
        }
    }
}

/// `spec.velero.nodeAgent.uploaderType: kopia` needs OADP 1.3's `nodeAgent`: before it the DPA
/// has only `restic`, which always uses restic.
pub fn check(spec: &SiteSpec) -> Vec<Diagnostic> {
    let Some(agent) = &spec.velero.node_agent else {
        return Vec::new();
    };
    if spec.node_agent_field() == NodeAgentField::NodeAgent || agent.uploader_type == "restic" {
        return Vec::new();
    }
    let acm = spec.acm_version.as_deref().unwrap_or_default();
    let (major, minor) = oadp_for(acm).unwrap_or((1, 1));
    vec![Diagnostic::error(
        "spec.velero.nodeAgent.uploaderType",
        format!(
            "{:?} needs OADP 1.3 or later, but ACM {acm} installs OADP {major}.{minor}, whose DataProtectionApplication has only spec.configuration.restic (restic is the only uploader)",
            agent.uploader_type
        ),
        "set uploaderType: restic, or, if your hubs run ACM 2.8.5+, 2.9.3+ or 2.10+ (OADP 1.3+), write that exact version in acmVersion (e.g. \"2.9.3\")",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oadp_of_each_acm_release() {
        let cases = [
            ("2.8", (1, 1)),
            ("2.8.3", (1, 1)),
            ("2.8.4", (1, 2)),
            ("2.8.5", (1, 3)),
            ("2.9", (1, 2)),
            ("2.9.2", (1, 2)),
            ("2.9.3", (1, 3)),
            ("2.10", (1, 3)),
            ("2.10.4", (1, 4)),
            ("2.11", (1, 4)),
            ("2.15", (1, 4)),
        ];
        for (acm, oadp) in cases {
            assert_eq!(oadp_for(acm), Some(oadp), "{acm}");
        }
        for bad in ["3.1", "2", "2.x", "2.9.x", "2.7"] {
            assert_eq!(oadp_for(bad), None, "{bad}");
        }
    }
}
