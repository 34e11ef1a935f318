//! The state behind one lock, shared by the HTTP handlers, watches, background steps
//! (CRD establishment, namespace finalization) and every `ServerHandle`.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::state::State;

/// State shared by the HTTP handlers and every [`crate::ServerHandle`].
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    /// The bound loopback address.
    pub addr: SocketAddr,
    /// Flips to `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Shared state for a server bound to `addr`.
    pub fn new(state: State, addr: SocketAddr, shutdown: watch::Receiver<bool>) -> Self {
        Shared {
            state: Mutex::new(state),
            addr,
            shutdown,
        }
    }

    /// Locks the state (a panic in another holder does not poison it for tests).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
