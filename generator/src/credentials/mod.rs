//! Keeping credentials out of git: recognising key material in the strings and keys of a site
//! or a rendered object, and hiding the credentials of repository URLs wherever one is shown.
//!
//! * [`detect`]: what one string looks like (an AWS key, a private key, a token, ...).
//! * [`scan`]: every string and key of a JSON value, with the field path of each finding.
//! * [`text`]: a cheap first pass over a site file's text, before the search of its value.
//! * [`redact`]: URLs with their user and password replaced, for logs, messages and status.

pub mod detect;
pub use hubdr_core::redact;
pub mod scan;
pub mod text;

pub use detect::What;
pub use redact::redact_urls;
pub use scan::Finding;

/// The fix for every finding: where credentials belong instead.
pub const FIX: &str = "remove it from the file: keep the credential in a Secret on the cluster \
     (kubectl create secret generic ...) and reference the Secret by name (e.g. \
     spec.storage.credentialsSecret, pskSecret, spec.agent.gitCredentialsSecret)";
