//! One global, ordered record of what happened in every fake cluster and in the shared
//! storage location: object changes (whoever made them: agents, fake operators, fixtures),
//! backups written, restores synced, activations, collisions, and harness marks.
//!
//! Every entry gets the next number of ONE sequence shared by all clusters. Each cluster's
//! changes are recorded by one task in the order its API server made them, and the harness
//! waits until every cluster's recorder has caught up after each step, so the order across
//! clusters is the order of the steps (see `fleet.rs`).

use std::fmt;
use std::sync::{Arc, Mutex};

use kubefake::ChangeKind;
use serde_json::Value;

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A stored object changed in `cluster`; `object` is after the change (before it, for a
    /// deletion).
    Object {
        cluster: String,
        change: ChangeKind,
        kind: String,
        group: String,
        namespace: Option<String>,
        name: String,
        object: Value,
    },
    /// Hub `hub` wrote backup `backup` (of Velero schedule `schedule`) to the shared storage.
    BackupWritten {
        hub: String,
        backup: String,
        schedule: String,
    },
    /// Hub `hub`'s Restore `restore` restored `backup`, which hub `written_by` wrote.
    Synced {
        hub: String,
        restore: String,
        backup: String,
        written_by: String,
    },
    /// Hub `hub` activated managed clusters with Restore `restore`.
    Activated {
        hub: String,
        restore: String,
        failed: bool,
    },
    /// Hub `hub`'s BackupSchedule went to `BackupCollision`.
    Collision {
        hub: String,
        schedule: String,
        message: String,
    },
    /// A note from the test (a step began, a hub went down).
    Mark(String),
    /// Hub `hub`'s operator ignored the new Restore `restore` because `running` was active.
    RestoreIgnored {
        hub: String,
        restore: String,
        running: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub event: Event,
}

impl Entry {
    /// `(cluster, kind, name, change, phase)` for object events.
    pub fn object(&self) -> Option<ObjectView<'_>> {
        match &self.event {
            Event::Object {
                cluster,
                change,
                kind,
                name,
                object,
                ..
            } => Some(ObjectView {
                cluster,
                change: *change,
                kind,
                name,
                object,
            }),
            _ => None,
        }
    }
}

/// An object event, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ObjectView<'a> {
    pub cluster: &'a str,
    pub change: ChangeKind,
    pub kind: &'a str,
    pub name: &'a str,
    pub object: &'a Value,
}

impl ObjectView<'_> {
    pub fn phase(&self) -> &str {
        self.object
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn spec(&self, field: &str) -> &str {
        self.object
            .pointer(&format!("/spec/{field}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn is(&self, cluster: &str, kind: &str) -> bool {
        self.cluster == cluster && self.kind == kind
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>5} ", self.seq)?;
        match &self.event {
            Event::Object {
                cluster,
                change,
                kind,
                namespace,
                name,
                object,
                ..
            } => {
                let phase = object
                    .pointer("/status/phase")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let ns = namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default();
                write!(f, "{cluster:<7} {change:?} {kind} {ns}{name}")?;
                if !phase.is_empty() {
                    write!(f, " phase={phase}")?;
                }
                Ok(())
            }
            Event::BackupWritten { hub, backup, .. } => {
                write!(f, "{hub:<7} BACKUP WRITTEN {backup}")
            }
            Event::Synced {
                hub,
                restore,
                backup,
                written_by,
            } => write!(f, "{hub:<7} SYNCED {restore} <- {backup} (by {written_by})"),
            Event::Activated {
                hub,
                restore,
                failed,
            } => write!(
                f,
                "{hub:<7} ACTIVATED {restore}{}",
                if *failed { " WITH ERRORS" } else { "" }
            ),
            Event::Collision { hub, schedule, .. } => write!(f, "{hub:<7} COLLISION {schedule}"),
            Event::RestoreIgnored {
                hub,
                restore,
                running,
            } => write!(
                f,
                "{hub:<7} IGNORED Restore {restore} ({running} is running)"
            ),
            Event::Mark(text) => write!(f, "------- {text}"),
        }
    }
}

/// The shared, append-only timeline.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Timeline {
    pub fn record(&self, event: Event) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let seq = entries.len() as u64 + 1;
        entries.push(Entry { seq, event });
        seq
    }

    pub fn mark(&self, text: impl Into<String>) -> u64 {
        self.record(Event::Mark(text.into()))
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The latest sequence number (0 when empty).
    pub fn now(&self) -> u64 {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }

    /// The first entry after `after` matching `pred`.
    pub fn first_after(&self, after: u64, pred: impl Fn(&Entry) -> bool) -> Option<Entry> {
        self.entries()
            .into_iter()
            .filter(|e| e.seq > after)
            .find(|e| pred(e))
    }

    /// The first object event after `after` in `cluster` of `kind` matching `pred`.
    pub fn first_object(
        &self,
        after: u64,
        cluster: &str,
        kind: &str,
        pred: impl Fn(&ObjectView<'_>) -> bool,
    ) -> Option<u64> {
        self.first_after(after, |e| {
            e.object().is_some_and(|o| o.is(cluster, kind) && pred(&o))
        })
        .map(|e| e.seq)
    }

    /// The whole timeline, one entry per line (for assertion messages).
    pub fn render(&self) -> String {
        self.entries().iter().map(|e| format!("{e}\n")).collect()
    }

    /// The most running (not paused) BackupSchedules at once across all clusters (`Added`,
    /// `Modified` and `Deleted` events replayed in order), with the entry where the maximum was
    /// reached.
    pub fn max_concurrent_backup_schedules(&self) -> (usize, u64) {
        let mut live = std::collections::BTreeSet::new();
        let mut max = (0, 0);
        for e in self.entries() {
            let Some(o) = e.object() else { continue };
            if o.kind != "BackupSchedule" {
                continue;
            }
            let key = (o.cluster.to_string(), o.name.to_string());
            let paused = o.object.pointer("/spec/paused") == Some(&Value::Bool(true));
            match o.change {
                ChangeKind::Added | ChangeKind::Modified if !paused => {
                    live.insert(key);
                }
                _ => {
                    live.remove(&key);
                }
            }
            if live.len() > max.0 {
                max = (live.len(), e.seq);
            }
        }
        max
    }

    /// Restores the operator ignored because another one was running.
    pub fn ignored_restores(&self) -> Vec<Entry> {
        self.entries()
            .into_iter()
            .filter(|e| matches!(e.event, Event::RestoreIgnored { .. }))
            .collect()
    }

    pub fn collisions(&self) -> Vec<Entry> {
        self.entries()
            .into_iter()
            .filter(|e| matches!(e.event, Event::Collision { .. }))
            .collect()
    }
}
