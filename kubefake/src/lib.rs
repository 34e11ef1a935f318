//! In-process fake Kubernetes API server for tests.
//!
//! `FakeApiServer::start().await` serves the Kubernetes HTTP API on `127.0.0.1:<port>`, so
//! production code keeps using a real [`kube::Client`] (`server.client()`). It implements
//! discovery, CRUD with label selectors, watches, merge/JSON patches and server-side apply
//! with managed fields and conflicts, the status subresource, CRD schemas (pruning,
//! defaults, type/enum/required validation), injected faults and a log of write calls.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kube::api::{Api, DynamicObject, Patch, PatchParams};
//! use kube::discovery::Discovery;
//!
//! let server = kubefake::FakeApiServer::start().await?;
//! server.load_crds_from_dir("../shared/crds")?;
//! let client = server.client();
//! let discovery = Discovery::new(client.clone()).run().await?;
//! # let _ = discovery;
//! assert!(server.mutations().is_empty());
//! # Ok(()) }
//! ```

mod apierror;
mod celrules;
mod commit;
mod crd;
mod discovery;
mod error;
mod faults;
mod fieldset;
mod formats;
mod http;
mod immutable;
mod lifecycle;
mod listorder;
mod meta;
mod namespaces;
mod observe;
mod ops;
mod resources;
mod route;
mod schema;
mod selector;
mod server;
mod shared;
mod ssa;
mod state;
mod store;
mod typecheck;
mod values;
mod watch;

pub use apierror::{ApiError, Cause, Details};
pub use error::Error;
pub use faults::{Fault, FaultAction, Verb};
pub use observe::{ChangeEvent, ChangeKind, WriteOutcome, WriteRecord, WriteVerb};
pub use resources::{ResourceInfo, VersionInfo};
pub use server::{FakeApiServer, ServerHandle, FIXTURE_MANAGER};
