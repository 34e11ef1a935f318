//! Which roles fence and how a fenced hub's BackupSchedules are stopped (read by `fence`, which
//! fences, and by `memory`, which remembers the role and the mode).

use serde_json::Value;

use crate::planned::Planned;

pub const FENCED: &str = "fenced";
pub const PASSIVE: &str = "passive";

/// Whether a hub of `role` is fenced: a fenced former primary, or a decommissioned one
/// ([`crate::decommission`]).
pub fn fences(role: Option<&str>) -> bool {
    matches!(role, Some(FENCED | crate::decommission::DECOMMISSIONED))
}

/// How a fenced hub's BackupSchedules are stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Deleted (ACM before 2.12; also the choice when nothing says otherwise).
    #[default]
    Delete,
    /// Paused with `spec.paused: true` (ACM 2.12+).
    Pause,
}

impl Mode {
    /// The mode the render chose: it keeps a fenced hub's BackupSchedule, paused, exactly when
    /// the site's ACM can pause one.
    pub fn of(planned: &[Planned]) -> Self {
        let paused = planned.iter().any(|p| {
            p.id.kind == "BackupSchedule"
                && p.value.pointer("/spec/paused") == Some(&Value::Bool(true))
        });
        if paused {
            Mode::Pause
        } else {
            Mode::Delete
        }
    }
}
