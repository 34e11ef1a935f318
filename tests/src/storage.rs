//! The one object-storage location every hub's Velero points at (an S3 bucket in real life),
//! shared by all fake operators: which hub wrote which backup, and which hub activated when.

use std::sync::{Arc, Mutex};

use crate::timeline::{Event, Timeline};

/// The Velero schedules the cluster-backup operator creates, and the label value their
/// backups carry (`velero.io/schedule-name`).
pub const SCHEDULES: [&str; 5] = [
    "acm-credentials-schedule",
    "acm-resources-schedule",
    "acm-resources-generic-schedule",
    "acm-managed-clusters-schedule",
    "acm-validation-policy-schedule",
];

/// One backup in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBackup {
    pub name: String,
    pub schedule: String,
    /// The hub whose Velero wrote it.
    pub hub: String,
    /// Timeline position when it was written.
    pub seq: u64,
    /// RFC 3339.
    pub started: String,
    pub completed: String,
    pub items: u64,
}

#[derive(Debug, Default)]
struct State {
    backups: Vec<StoredBackup>,
    /// `(hub, timeline position)` of every activation restore.
    activations: Vec<(String, u64)>,
    /// Backup sets written so far (drives the fake clock).
    sets: u64,
}

/// The shared storage location.
#[derive(Debug, Clone)]
pub struct Storage {
    state: Arc<Mutex<State>>,
    timeline: Timeline,
    /// The fake clock's origin: backups are one minute apart from here.
    origin: jiff::Timestamp,
}

impl Storage {
    pub fn new(timeline: Timeline) -> Self {
        let now = jiff::Timestamp::now().as_second();
        // Backup names have second precision; start on a whole minute an hour ago so that
        // even many backup sets stay in the past.
        let origin = jiff::Timestamp::from_second(now - now % 60 - 3600).expect("a valid time");
        Storage {
            state: Arc::default(),
            timeline,
            origin,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write one backup of every schedule for `hub`; returns them.
    pub fn write_set(&self, hub: &str, empty_managed_clusters: bool) -> Vec<StoredBackup> {
        let mut state = self.lock();
        state.sets += 1;
        let at = self.origin + jiff::SignedDuration::from_secs(60 * state.sets as i64);
        let stamp = at.strftime("%Y%m%d%H%M%S").to_string();
        let started = at.to_string();
        let completed = (at + jiff::SignedDuration::from_secs(20)).to_string();
        let mut written = Vec::new();
        for schedule in SCHEDULES {
            let seq = self.timeline.record(Event::BackupWritten {
                hub: hub.into(),
                backup: format!("{schedule}-{stamp}"),
                schedule: schedule.into(),
            });
            let items = if schedule == "acm-managed-clusters-schedule" && empty_managed_clusters {
                0
            } else {
                40
            };
            let backup = StoredBackup {
                name: format!("{schedule}-{stamp}"),
                schedule: schedule.into(),
                hub: hub.into(),
                seq,
                started: started.clone(),
                completed: completed.clone(),
                items,
            };
            state.backups.push(backup.clone());
            written.push(backup);
        }
        written
    }

    pub fn backups(&self) -> Vec<StoredBackup> {
        self.lock().backups.clone()
    }

    /// The newest backup of `schedule`.
    pub fn latest(&self, schedule: &str) -> Option<StoredBackup> {
        self.lock()
            .backups
            .iter()
            .rev()
            .find(|b| b.schedule == schedule)
            .cloned()
    }

    /// The newest backup of any schedule.
    pub fn newest(&self) -> Option<StoredBackup> {
        self.lock().backups.last().cloned()
    }

    pub fn record_activation(&self, hub: &str, seq: u64) {
        self.lock().activations.push((hub.to_string(), seq));
    }

    /// The first activation by a hub other than `hub` after timeline position `after`.
    pub fn activation_by_other_after(&self, hub: &str, after: u64) -> Option<(String, u64)> {
        self.lock()
            .activations
            .iter()
            .find(|(h, seq)| h != hub && *seq > after)
            .cloned()
    }
}
