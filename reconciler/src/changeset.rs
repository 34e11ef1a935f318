//! The result of a pass, object by object: feeds logs, the inventory and the status file.

use std::fmt;

use hubdr_core::object::ObjectId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    /// Deleted by pruning (or already gone).
    Pruned,
    /// Left the repository but not deleted: hubdr's fields were dropped by server-side
    /// apply (an adopted object, or a shared one such as a Namespace or MultiClusterHub).
    Released,
    /// Not applied yet: a gate or a missing CRD; retried next pass.
    Waiting(String),
    /// Left alone on purpose (prune disabled, not ours, not allowed).
    Skipped(String),
    Failed(String),
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
            Action::Released => "released",
            Action::Waiting(_) => "waiting",
            Action::Skipped(_) => "skipped",
            Action::Failed(_) => "failed",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Action::Waiting(m) | Action::Skipped(m) | Action::Failed(m) => m,
            _ => "",
        }
    }

    /// True for results that changed the cluster.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Action::Created | Action::Configured | Action::Pruned | Action::Released
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: ObjectId,
    pub action: Action,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.action.name())?;
        if !self.action.message().is_empty() {
            write!(f, ": {}", self.action.message())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
}

impl ChangeSet {
    pub fn push(&mut self, id: ObjectId, action: Action) {
        self.changes.push(Change { id, action });
    }

    pub fn count(&self, name: &str) -> usize {
        self.changes
            .iter()
            .filter(|c| c.action.name() == name)
            .count()
    }

    pub fn failed(&self) -> usize {
        self.count("failed")
    }

    pub fn waiting(&self) -> usize {
        self.count("waiting")
    }

    pub fn writes(&self) -> usize {
        self.changes.iter().filter(|c| c.action.is_write()).count()
    }

    /// `3 created, 1 configured, 10 unchanged, 0 pruned, 0 released, 1 waiting, 0 skipped, 0 failed`.
    pub fn summary(&self) -> String {
        [
            "created",
            "configured",
            "unchanged",
            "pruned",
            "released",
            "waiting",
            "skipped",
            "failed",
        ]
        .iter()
        .map(|n| format!("{} {n}", self.count(n)))
        .collect::<Vec<_>>()
        .join(", ")
    }
}
