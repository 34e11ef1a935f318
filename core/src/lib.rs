//! hubdr-core: what the generator (`hubdr`) and the agent (`hubdr-agent`) both read and
//! write — object ids, the index format, the status format, gate and late-binding syntax,
//! label and annotation names, the bundle format and its verification, and the YAML and
//! size limits they are read with. No rendering and no git-writing code.
pub mod api_url;
pub mod bundle;
pub mod digest;
pub mod fsutil;
pub mod gates;
pub mod index;
pub mod kinds;
pub mod labels;
pub mod limits;
pub mod network;
pub mod object;
pub mod par;
pub mod prune_guard;
pub mod redact;
pub mod status;
pub mod tree;
pub mod units;
pub mod untrusted_yaml;
pub mod yaml;
pub mod yaml_guard;
pub mod yaml_subset;

/// The `apiVersion` of site files, bundle manifests and the index.
pub const API_VERSION: &str = "hubdr.io/v1alpha1";
