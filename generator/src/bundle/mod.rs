//! Signed offline bundles for disconnected sites: one cluster's part of a committed render,
//! packed into a tar + zstd archive with a manifest that lists every file's sha256 and a
//! detached ed25519 signature over that manifest.
//!
//! Archive layout (in this order):
//!
//! ```text
//! manifest.yaml                      BundleManifest: site, cluster, generation, source commit,
//!                                    creation time, sha256 of every file below
//! manifest.sig                       ed25519 signature over the exact bytes of manifest.yaml
//! .hubdr/index.yaml                  the render index cut down to this cluster
//! clusters/<cluster>/...             the cluster's rendered files
//! ```
//!
//! Verification is pure and all in memory, under size limits: decompress, read the tar,
//! check the signature, then every digest, then the expectations (cluster, rollback). Nothing
//! is extracted or applied before all of it holds.
//!
//! Modules, one job each: `archive` (tar + zstd), `manifest` (the format), `keys`,
//! `create`, `verify`, `transfer` (status files travelling back from a disconnected site).

pub mod archive;
pub mod create;
pub mod keys;
pub mod manifest;
pub mod transfer;
pub mod verify;

pub use archive::Limits;
pub use create::{create, CreateError, CreateInput};
pub use keys::{KeyError, PublicKey, SecretKey};
pub use manifest::{BundleManifest, SignatureEntry, MANIFEST_ENTRY, SIGNATURE_ENTRY};
pub use verify::{verify, verify_file, Applied, Expect, Verified};

/// Why a bundle was refused. Each refusal has its own variant and message; none of them
/// leaves anything extracted or applied.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle is too large: {what} exceeds the limit of {limit} bytes; refused without unpacking")]
    TooLarge { what: String, limit: u64 },
    #[error("the bundle is truncated ({detail}); it was cut short in transfer: copy it again")]
    Truncated { detail: String },
    #[error("the bundle archive is damaged or was altered ({detail}); it was tampered with or corrupted in transfer")]
    Damaged { detail: String },
    #[error("not a hubdr bundle: {detail}")]
    Malformed { detail: String },
    #[error(
        "the bundle is unsigned: it has no {SIGNATURE_ENTRY}; only bundles made by \
         `hubdr bundle create --key` are accepted"
    )]
    Unsigned,
    #[error(
        "the bundle is signed by another key (key id {signed_by}), not by the trusted key \
         (key id {trusted}); check --pub, or re-create the bundle with the matching private key"
    )]
    WrongKey { signed_by: String, trusted: String },
    #[error(
        "the signature does not match {MANIFEST_ENTRY}: the manifest was tampered with after \
         signing"
    )]
    BadSignature,
    #[error(
        "{path} does not match its sha256 in the signed manifest (expected {expected}, found \
         {actual}): the file was tampered with after signing"
    )]
    DigestMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path} is in the archive but not in the signed manifest: it was added after signing")]
    Unlisted { path: String },
    #[error("{path} is listed in the signed manifest but missing from the archive")]
    MissingFile { path: String },
    #[error("the bundle is for cluster {bundle}, not for {expected}; copy the bundle made for {expected}")]
    OtherCluster { bundle: String, expected: String },
    #[error(
        "the bundle has generation {generation}, older than {minimum}: replaying an older bundle \
         is refused (no rollback); create a bundle from the current render"
    )]
    OlderGeneration { generation: u64, minimum: u64 },
    #[error(
        "the bundle (generation {generation}, created {created}) is older than the bundle already \
         applied (created {applied}): replaying an older bundle is refused (no rollback)"
    )]
    OlderThanApplied {
        generation: u64,
        created: String,
        applied: String,
    },
}

impl BundleError {
    /// A short name for the refusal, for logs and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            BundleError::Read { .. } => "unreadable",
            BundleError::TooLarge { .. } => "too-large",
            BundleError::Truncated { .. } => "truncated",
            BundleError::Damaged { .. } => "damaged",
            BundleError::Malformed { .. } => "malformed",
            BundleError::Unsigned => "unsigned",
            BundleError::WrongKey { .. } => "wrong-key",
            BundleError::BadSignature => "bad-signature",
            BundleError::DigestMismatch { .. } => "tampered-file",
            BundleError::Unlisted { .. } => "unlisted-file",
            BundleError::MissingFile { .. } => "missing-file",
            BundleError::OtherCluster { .. } => "other-cluster",
            BundleError::OlderGeneration { .. } => "older-generation",
            BundleError::OlderThanApplied { .. } => "older-than-applied",
        }
    }
}

/// `sha256` of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::site::load::hex(&Sha256::digest(bytes))
}
