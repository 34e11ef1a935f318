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
//! Verification streams the file and holds the limits while reading, never after: the file
//! is checked against its trailer, then decompressed as it is read, the decompressed bytes
//! counted against the limit. `manifest.yaml` must come first and `manifest.sig` second; the
//! signature is checked before a byte of any other entry is decompressed. Each further entry
//! must be listed in the signed manifest (checked on its header) and matches its digest as it
//! streams. Then the index and the expectations (cluster, rollback). Nothing is extracted or
//! applied before all of it holds.
//!
//! Modules, one job each: `frame` (the zstd container and its trailer), `entries` (streaming
//! the tar under limits), `archive` (packing, and the limits), `manifest` (the format),
//! `keys`, `create`, `verify`, `transfer` (status files travelling back from a disconnected
//! site).

pub mod archive;
pub mod create;
pub mod entries;
pub mod frame;
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
/// leaves anything extracted or applied. Cloneable, so that a refusal can be remembered
/// instead of verifying the same file again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    #[error(
        "the bundle is too large: {what} exceeds the {} limit; refused before reading it \
         (it is not a bundle made by `hubdr bundle create`, or it was tampered with)",
        size_text(*limit)
    )]
    TooLarge { what: String, limit: u64 },
    #[error(
        "the archive declares a decompressed size of {declared} bytes, over the {} limit; \
         refused before decompressing (it is not a bundle made by `hubdr bundle create`, or it \
         was tampered with)",
        size_text(*limit)
    )]
    DeclaredTooLarge { declared: u64, limit: u64 },
    #[error(
        "the decompressed size exceeds the {} limit after {after} bytes; decompression was \
         stopped there (it is not a bundle made by `hubdr bundle create`, or it was tampered \
         with)",
        size_text(*limit)
    )]
    Inflated { after: u64, limit: u64 },
    #[error(
        "the archive holds more than {limit} entries, the limit; refused before reading further \
         (it is not a bundle made by `hubdr bundle create`, or it was tampered with)"
    )]
    TooManyEntries { limit: usize },
    #[error(
        "the archive entry {path:?} is refused: {why}; `hubdr bundle create` writes only regular \
         files with plain relative names, each once, so the bundle was tampered with"
    )]
    UnsafeEntry { path: String, why: String },
    #[error("the bundle is truncated ({detail}); it was cut short in transfer: copy it again")]
    Truncated { detail: String },
    #[error("the bundle archive is damaged or was altered ({detail}); it was tampered with or corrupted in transfer")]
    Damaged { detail: String },
    #[error("not a hubdr bundle: {detail}")]
    Malformed { detail: String },
    #[error(
        "the bundle is unsigned: no {SIGNATURE_ENTRY} follows {MANIFEST_ENTRY}; only bundles \
         made by `hubdr bundle create --key` are accepted, and nothing else in this one was read"
    )]
    Unsigned,
    #[error(
        "the bundle is signed by another key (key id {signed_by}), not by the trusted key \
         (key id {trusted}); check --pub, or re-create the bundle with the matching private key"
    )]
    WrongKey { signed_by: String, trusted: String },
    #[error(
        "the signature does not verify against the trusted public key (key id {key_id}): \
         {MANIFEST_ENTRY} was tampered with after signing, or signed by another key; nothing \
         else in the bundle was read. Re-create it with `hubdr bundle create --key` and the \
         private key of that public key"
    )]
    BadSignature { key_id: String },
    #[error(
        "{path} does not match its sha256 in the signed manifest (expected {expected}, found \
         {actual}): the file was tampered with after signing"
    )]
    DigestMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{path} is in the archive but not in the signed manifest: it was added after signing \
         (refused on its header, before reading it)"
    )]
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
            BundleError::TooLarge { .. }
            | BundleError::DeclaredTooLarge { .. }
            | BundleError::Inflated { .. }
            | BundleError::TooManyEntries { .. } => "too-large",
            BundleError::UnsafeEntry { .. } => "unsafe-entry",
            BundleError::Truncated { .. } => "truncated",
            BundleError::Damaged { .. } => "damaged",
            BundleError::Malformed { .. } => "malformed",
            BundleError::Unsigned => "unsigned",
            BundleError::WrongKey { .. } => "wrong-key",
            BundleError::BadSignature { .. } => "bad-signature",
            BundleError::DigestMismatch { .. } => "tampered-file",
            BundleError::Unlisted { .. } => "unlisted-file",
            BundleError::MissingFile { .. } => "missing-file",
            BundleError::OtherCluster { .. } => "other-cluster",
            BundleError::OlderGeneration { .. } => "older-generation",
            BundleError::OlderThanApplied { .. } => "older-than-applied",
        }
    }
}

/// A byte count as the limits are documented: `1 GiB`, `16 MiB`, or `N bytes`.
pub fn size_text(bytes: u64) -> String {
    for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// `sha256` of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::digest::hex(&Sha256::digest(bytes))
}
