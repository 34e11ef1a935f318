//! What tests observe: the log of write calls and the stream of stored changes.

use std::time::SystemTime;

use serde_json::Value;

/// The kind of write call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteVerb {
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH with merge, JSON or strategic patch.
    Patch,
    /// PATCH with `application/apply-patch+yaml`.
    Apply,
    /// DELETE.
    Delete,
}

/// How a write call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new object was stored (or would have been, for a dry run).
    Created,
    /// An existing object changed (or would have).
    Changed,
    /// The call succeeded but changed nothing (e.g. an identical apply).
    Unchanged,
    /// The object was deleted or marked for deletion.
    Deleted,
    /// The call failed with this HTTP code and reason (including injected faults).
    Failed {
        /// HTTP code.
        code: u16,
        /// `Status.reason`.
        reason: String,
    },
}

/// One write call received over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRecord {
    /// Position in the log, starting at 1.
    pub seq: u64,
    /// Create, update, patch, apply or delete.
    pub verb: WriteVerb,
    /// API group.
    pub group: String,
    /// API version from the URL.
    pub version: String,
    /// Kind (empty when the resource is unknown).
    pub kind: String,
    /// Plural resource name from the URL.
    pub plural: String,
    /// Namespace, for namespaced resources.
    pub namespace: Option<String>,
    /// Object name (from the URL, or the body for creates).
    pub name: String,
    /// `Some("status")` for status subresource writes.
    pub subresource: Option<String>,
    /// Whether `dryRun=All` was requested.
    pub dry_run: bool,
    /// The `fieldManager` query parameter, if any.
    pub field_manager: Option<String>,
    /// Whether `force=true` was requested.
    pub force: bool,
    /// How the call ended.
    pub outcome: WriteOutcome,
    /// When the call was handled.
    pub at: SystemTime,
}

impl WriteRecord {
    /// Whether the call changed stored state (not a dry run, not unchanged, not failed).
    pub fn is_mutation(&self) -> bool {
        !self.dry_run
            && matches!(
                self.outcome,
                WriteOutcome::Created | WriteOutcome::Changed | WriteOutcome::Deleted
            )
    }
}

/// What happened to a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Changed (including status and deletion marks).
    Modified,
    /// Removed from the store.
    Deleted,
}

/// A change to stored state, from API calls or from the programmatic API.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Added, modified or deleted.
    pub kind: ChangeKind,
    /// API group of the object.
    pub group: String,
    /// Kind of the object.
    pub object_kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
    /// The resourceVersion after the change.
    pub resource_version: u64,
    /// The object after the change (before it, for deletions).
    pub object: Value,
}
