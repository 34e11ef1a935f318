//! The crate's error type for the programmatic API.

use std::path::PathBuf;

use crate::apierror::ApiError;

/// Errors of kubefake's own API (HTTP callers get `Status` bodies instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding the loopback listener failed.
    #[error("binding 127.0.0.1:0 failed")]
    Bind(#[source] std::io::Error),
    /// Building a `kube::Client` for the server failed.
    #[error("building a kube client for {url} failed")]
    Client {
        /// The server URL.
        url: String,
        /// The kube error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A CRD could not be turned into a served kind.
    #[error("CustomResourceDefinition {name}: {reason}")]
    Crd {
        /// The CRD's `metadata.name`.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading a file or directory failed.
    #[error("reading {path} failed")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML document could not be parsed.
    #[error("parsing YAML in {path} failed")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser error.
        #[source]
        source: serde_yaml::Error,
    },
    /// The operation failed the way the API would fail it.
    #[error(transparent)]
    Api(#[from] ApiError),
}
