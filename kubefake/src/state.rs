//! Everything the server holds behind one lock.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::faults::Faults;
use crate::observe::{ChangeEvent, WriteRecord};
use crate::resources::Registry;
use crate::store::Store;

/// Behaviour switches tests can flip.
#[derive(Debug, Clone)]
pub struct Options {
    /// Creating a namespaced object in a missing namespace fails with 404 (as on a real server).
    pub require_namespaces: bool,
    /// How long after a CRD is created through the API it becomes Established and served.
    pub crd_establish_delay: Duration,
    /// How long a terminating Namespace waits for the fake's finalization step before it
    /// can be removed (once empty). Zero: removed as soon as it is empty.
    pub namespace_finalize_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            require_namespaces: true,
            crd_establish_delay: Duration::ZERO,
            namespace_finalize_delay: Duration::ZERO,
        }
    }
}

/// The whole mutable state of one fake API server.
#[derive(Debug)]
pub struct State {
    /// Served kinds.
    pub registry: Registry,
    /// Stored objects.
    pub store: Store,
    /// Injected faults.
    pub faults: Faults,
    /// Write calls received over HTTP.
    pub writes: Vec<WriteRecord>,
    /// Behaviour switches.
    pub options: Options,
    /// CRDs written through the API that still wait for establishment.
    pub pending_crds: Vec<String>,
    /// Terminating namespaces whose finalization delay has not passed yet.
    pub namespaces_waiting: Vec<String>,
    /// Terminating namespaces whose finalization delay still has to be scheduled.
    pub pending_namespaces: Vec<String>,
    /// CEL validation rules kubefake could not evaluate (each once).
    pub unevaluated_rules: Vec<String>,
    /// Change notifications.
    pub events: broadcast::Sender<ChangeEvent>,
}

impl State {
    /// A fresh state with built-in kinds and no objects.
    pub fn new(events: broadcast::Sender<ChangeEvent>) -> Self {
        State {
            registry: crate::resources::Registry::with_builtins(),
            store: Store::default(),
            faults: Faults::default(),
            writes: Vec::new(),
            options: Options::default(),
            pending_crds: Vec::new(),
            namespaces_waiting: Vec::new(),
            pending_namespaces: Vec::new(),
            unevaluated_rules: Vec::new(),
            events,
        }
    }

    /// Publishes a change (nobody listening is fine).
    pub fn emit(&self, event: ChangeEvent) {
        let _ = self.events.send(event);
    }
}
