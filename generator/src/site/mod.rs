//! The site file: model, parsing and validation.
pub mod diagnostic;
pub mod edit;
pub mod failover_rules;
pub mod load;
pub mod locate;
pub mod model;
pub mod strict_value;
pub mod units;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{load_file, load_str, LoadedSite, SiteError};
pub use model::*;
