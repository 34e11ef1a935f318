//! The site file: model, parsing and validation.
pub mod credentials;
pub mod destinations;
pub mod diagnostic;
pub mod domain_rules;
pub mod edit;
pub mod etcd_backup;
pub mod failover_rules;
pub mod hosted;
pub mod load;
pub mod locate;
pub mod model;
pub mod oadp;
pub mod privileges;
pub mod schedule_offset;
pub mod secret_key_ref;
pub mod strict_value;
pub use hubdr_core::units;
mod all_errors;
pub mod api_server;
pub mod validate;
mod validate_etcd;
mod validate_trust;
pub mod yaml_positions;

pub use diagnostic::{Diagnostic, Severity};
pub use etcd_backup::{EtcdBackup, EtcdDestination, EtcdImages, EtcdRetention};
pub use load::{load_file, load_str, LoadedSite, SiteError};
pub use model::*;
