//! Site rules about failovers beyond the hubs' roles (see `validate.rs`): the ACM version the
//! hubs run, which decides how a former primary is fenced, the activation attempt, and an
//! abort's `resumedSince`.

use super::diagnostic::Diagnostic;
use super::model::{HubRole, SiteSpec};

/// The ACM versions hubdr knows how to fail over: `2.<minor>`.
pub const OLDEST_MINOR: u32 = 8;
pub const NEWEST_MINOR: u32 = 15;
/// From this minor on a BackupSchedule can be paused (`spec.paused`) instead of deleted.
pub const PAUSE_MINOR: u32 = 12;
/// From this minor on the import controller has an auto-import strategy (`ImportOnly` by
/// default), which a takeover sets to `ImportAndSync` while it runs.
pub const AUTO_IMPORT_STRATEGY_MINOR: u32 = 14;

/// An ACM version, `2.<minor>` (a patch level is accepted and ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcmVersion {
    pub minor: u32,
}

impl AcmVersion {
    pub const NEWEST: AcmVersion = AcmVersion {
        minor: NEWEST_MINOR,
    };

    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not an ACM version 2.{OLDEST_MINOR} to 2.{NEWEST_MINOR} (write it quoted, e.g. \"2.12\")"
            )
        };
        let mut parts = text.trim().split('.');
        let (Some("2"), Some(minor)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        let minor: u32 = minor.parse().map_err(|_| bad())?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() || !(OLDEST_MINOR..=NEWEST_MINOR).contains(&minor) {
            return Err(bad());
        }
        Ok(AcmVersion { minor })
    }

    /// The MultiClusterEngine component that provides managed service accounts:
    /// `managedserviceaccount-preview` in ACM 2.8, `managedserviceaccount` from 2.9 on.
    pub fn managed_service_account_component(self) -> &'static str {
        if self.minor <= 8 {
            "managedserviceaccount-preview"
        } else {
            "managedserviceaccount"
        }
    }

    /// Whether the import controller reads an auto-import strategy (2.14+: the ConfigMap
    /// `multicluster-engine/import-controller-config`, key `autoImportStrategy`).
    pub fn has_auto_import_strategy(self) -> bool {
        self.minor >= AUTO_IMPORT_STRATEGY_MINOR
    }

    /// Whether a BackupSchedule can be paused (2.12+) rather than deleted.
    pub fn can_pause(self) -> bool {
        self.minor >= PAUSE_MINOR
    }
}

impl std::fmt::Display for AcmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "2.{}", self.minor)
    }
}

impl SiteSpec {
    /// The ACM version the site declares, or the newest supported (an invalid one is a
    /// validation error, so it never reaches rendering).
    pub fn acm(&self) -> AcmVersion {
        self.acm_version
            .as_deref()
            .and_then(|v| AcmVersion::parse(v).ok())
            .unwrap_or(AcmVersion::NEWEST)
    }
}

pub fn check(spec: &SiteSpec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(version) = &spec.acm_version {
        if let Err(message) = AcmVersion::parse(version) {
            out.push(Diagnostic::error(
                "spec.acmVersion",
                message,
                format!("set the version your hubs run, e.g. acmVersion: \"2.{NEWEST_MINOR}\" (all hubs of a site must run the same)"),
            ));
        }
    }
    for (i, hub) in spec.hubs.iter().enumerate() {
        let Some(resumed) = hub.resumed_since else {
            continue;
        };
        if resumed > spec.failover.generation {
            out.push(Diagnostic::error(
                format!("spec.hubs[{i}].resumedSince"),
                format!(
                    "generation {resumed} is newer than failover.generation {}",
                    spec.failover.generation
                ),
                "use `hubdr failover --abort`, which sets both together",
            ));
        } else if hub.role != HubRole::Active {
            out.push(Diagnostic::warning(
                format!("spec.hubs[{i}].resumedSince"),
                format!("has no effect on a {} hub", hub.role.as_str()),
                "remove it; `hubdr failover --abort` sets it on the hub it gives the role back to",
            ));
        }
    }
    let attempt = spec.failover.attempt;
    if attempt == 0 {
        out.push(Diagnostic::error(
            "spec.failover.attempt",
            "attempt 0: attempts count from 1",
            "remove attempt (the first attempt), or let `hubdr failover --retry` raise it",
        ));
    } else if attempt > 1
        && !spec
            .hubs
            .iter()
            .any(|h| h.role == HubRole::Active && h.active_since == Some(spec.failover.generation))
    {
        out.push(Diagnostic::warning(
            "spec.failover.attempt",
            format!(
                "attempt {attempt} has no effect: no hub took over at generation {}",
                spec.failover.generation
            ),
            "remove attempt; `hubdr failover --retry` sets it during a takeover",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_2_8_to_the_newest() {
        assert_eq!(AcmVersion::parse("2.12").unwrap().minor, 12);
        assert_eq!(AcmVersion::parse("2.8.3").unwrap().minor, 8);
        assert!(AcmVersion::parse("2.11").is_ok_and(|v| !v.can_pause()));
        assert!(AcmVersion::parse("2.12").is_ok_and(|v| v.can_pause()));
        for bad in ["2.7", "2.16", "3.1", "2", "2.x", "2.12.1.1", "", "2.1"] {
            assert!(AcmVersion::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(AcmVersion::NEWEST.to_string(), "2.15");
    }
}
