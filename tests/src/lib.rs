//! End-to-end harness for hubdr failovers: fake hubs (kubefake) with a fake cluster-backup
//! operator on one shared storage location, the real agents, one real git repository, and a
//! global timeline of everything that happened, for the tests in `tests/`.
//!
//! - `timeline.rs`: the ordered record and its queries;
//! - `storage.rs`: the shared storage location (who wrote which backup, who activated);
//! - `operator.rs`: the fake cluster-backup operator / OADP / Velero of one hub;
//! - `fixtures.rs`: what exists on a hub before hubdr (ManagedClusters, observability);
//! - `fleet.rs`: clusters, agents, the repository, and the steps a test takes.

pub mod fixtures;
pub mod fleet;
pub mod operator;
pub mod storage;
pub mod timeline;

pub use fleet::Fleet;
pub use operator::{Behaviour, BACKUP_NS};
pub use timeline::{Event, Timeline};

/// The site the scenarios start from: hub-a active, hub-b and hub-c passive, one managed
/// cluster (east-1) with a restic replication, so the active hub renders a volsync add-on.
pub const SITE: &str = include_str!("../fixtures/site.yaml");
