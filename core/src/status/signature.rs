//! Signed status: each agent signs the exact bytes of its status file with an ed25519 key it
//! generated in its own cluster. The signed message is domain-separated and names the cluster,
//! so a signature can neither be reused for another cluster nor for anything that is not a
//! status:
//!
//! ```text
//! hubdr-status-v1 \0 <cluster> \0 <the exact bytes of the status file>
//! ```
//!
//! Signing and verifying work on `(cluster, bytes)` only; where the bytes and the signature are
//! stored (today `clusters/<cluster>.yaml` and `clusters/<cluster>.sig` on the status branch) is
//! the caller's business. Keys are written `ed25519:<base64 of the 32-byte public key>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// The domain separator of the signed message.
pub const DOMAIN: &[u8] = b"hubdr-status-v1";
/// The prefix of a key's text form.
pub const KEY_PREFIX: &str = "ed25519:";
/// A signature file is a few lines; anything larger is refused before it is parsed.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

const CLUSTER_LABEL: &str = "cluster";
const KEY_LABEL: &str = "key";
const SIGNATURE_LABEL: &str = "signature";

/// An agent's private signing key. Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct AgentKey(SigningKey);

/// A public status key, `ed25519:<base64>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusKey(VerifyingKey);

/// A detached signature of one status, as written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSignature {
    pub cluster: String,
    /// The key that signed (so a reader can say which key it was, and pin it on first use).
    pub key: StatusKey,
    pub signature: [u8; 64],
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgentKey(key id {})", self.public().id())
    }
}

impl AgentKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| format!("cannot get random bytes from the operating system: {e}"))?;
        Ok(Self::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        AgentKey(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, for the Secret the agent keeps it in. Never log it.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> StatusKey {
        StatusKey(self.0.verifying_key())
    }

    /// Sign `bytes` as the status of `cluster`.
    pub fn sign(&self, cluster: &str, bytes: &[u8]) -> StatusSignature {
        StatusSignature {
            cluster: cluster.to_string(),
            key: self.public(),
            signature: self.0.sign(&signed_message(cluster, bytes)).to_bytes(),
        }
    }
}

/// The message a status signature covers.
pub fn signed_message(cluster: &str, bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + cluster.len() + bytes.len() + 2);
    message.extend_from_slice(DOMAIN);
    message.push(0);
    message.extend_from_slice(cluster.as_bytes());
    message.push(0);
    message.extend_from_slice(bytes);
    message
}

impl StatusKey {
    /// Parse `ed25519:<base64>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let body = text.strip_prefix(KEY_PREFIX).ok_or_else(|| {
            format!(
                "{text:?} is not a status key: write ed25519:<base64 of the 32-byte public key>"
            )
        })?;
        let bytes = STANDARD.decode(body).map_err(|e| {
            format!("{text:?} is not a status key: the part after ed25519: is not base64 ({e})")
        })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "{text:?} is not a status key: it holds {} bytes, an ed25519 public key has 32",
                b.len()
            )
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map(StatusKey)
            .map_err(|e| format!("{text:?} is not a status key: not a valid ed25519 point ({e})"))
    }

    /// The first 16 hex digits of the sha256 of the key: short and printable.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` is this key's signature of `bytes` as the status of `cluster`.
    pub fn verify(&self, cluster: &str, bytes: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0
            .verify_strict(&signed_message(cluster, bytes), &signature)
            .is_ok()
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{KEY_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatusKey({self})")
    }
}

impl StatusSignature {
    /// Whether this signature, by its own key, covers `bytes` as the status of `cluster`.
    pub fn verifies(&self, cluster: &str, bytes: &[u8]) -> bool {
        self.cluster == cluster && self.key.verify(cluster, bytes, &self.signature)
    }

    /// The signature file: three `label: value` lines under a comment.
    pub fn to_text(&self) -> String {
        format!(
            "# hubdr status signature: ed25519 over \"hubdr-status-v1\\0<cluster>\\0\" and the exact bytes of the status file\n\
             {CLUSTER_LABEL}: {}\n{KEY_LABEL}: {}\n{SIGNATURE_LABEL}: {}\n",
            self.cluster,
            self.key,
            STANDARD.encode(self.signature)
        )
    }

    /// Parse a signature file (size-limited, every label exactly once, nothing else).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_SIGNATURE_BYTES {
            return Err(format!(
                "the signature file is {} bytes, more than {MAX_SIGNATURE_BYTES}",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| "the signature file is not UTF-8 text".to_string())?;
        let (mut cluster, mut key, mut signature) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (label, value) = line.split_once(':').ok_or_else(|| {
                format!("the signature file has a line that is not `label: value`: {line:?}")
            })?;
            let slot = match label.trim() {
                CLUSTER_LABEL => &mut cluster,
                KEY_LABEL => &mut key,
                SIGNATURE_LABEL => &mut signature,
                other => {
                    return Err(format!(
                        "the signature file has an unknown line {other:?} (expected cluster, key, signature)"
                    ))
                }
            };
            if slot.replace(value.trim().to_string()).is_some() {
                return Err(format!("the signature file names {} twice", label.trim()));
            }
        }
        let missing = |what: &str| format!("the signature file has no {what} line");
        let cluster = cluster.ok_or_else(|| missing(CLUSTER_LABEL))?;
        let key = StatusKey::parse(&key.ok_or_else(|| missing(KEY_LABEL))?)?;
        let signature = STANDARD
            .decode(signature.ok_or_else(|| missing(SIGNATURE_LABEL))?)
            .map_err(|e| format!("the signature is not base64 ({e})"))?
            .try_into()
            .map_err(|_| "the signature is not 64 bytes".to_string())?;
        Ok(StatusSignature {
            cluster,
            key,
            signature,
        })
    }
}

/// The pin file: the key a cluster's first signed status was signed with.
pub fn pin_text(cluster: &str, key: &StatusKey) -> String {
    format!(
        "# hubdr: the status key of cluster {cluster}, pinned by its first signed status (key id {}).\n\
         # Readers trust only statuses of {cluster} signed by this key. To rotate it, register the new\n\
         # key in site.yaml (spec.agent.statusKeys), or delete this file (see README, Status signatures).\n\
         {KEY_LABEL}: {key}\n",
        key.id()
    )
}

/// Parse a pin file written by [`pin_text`].
pub fn parse_pin(bytes: &[u8]) -> Result<StatusKey, String> {
    if bytes.len() > MAX_SIGNATURE_BYTES {
        return Err(format!(
            "the pin file is {} bytes, more than {MAX_SIGNATURE_BYTES}",
            bytes.len()
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "the pin file is not UTF-8 text".to_string())?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next().ok_or("the pin file holds no key")?;
    if lines.next().is_some() {
        return Err("the pin file holds more than one line besides comments".into());
    }
    match line.split_once(':') {
        Some((KEY_LABEL, value)) => StatusKey::parse(value),
        _ => Err(format!(
            "the pin file line {line:?} is not `key: ed25519:<base64>`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_cluster_and_the_exact_bytes() {
        let key = AgentKey::from_seed([7; 32]);
        let sig = key.sign("west-1", b"status: ok\n");
        assert!(sig.verifies("west-1", b"status: ok\n"));
        assert!(!sig.verifies("west-1", b"status: ok \n"), "one byte more");
        assert!(!sig.verifies("east-1", b"status: ok\n"), "another cluster");
        // The cluster is separated from the bytes: "west-1" + "0..." is not "west-10" + "...".
        let other = key.sign("west-10", b"x");
        assert!(!key.public().verify("west-1", b"0x", &other.signature));
        assert!(!AgentKey::from_seed([8; 32]).public().verify(
            "west-1",
            b"status: ok\n",
            &sig.signature
        ));
        assert_eq!(signed_message("a", b"b"), b"hubdr-status-v1\0a\0b".to_vec());
    }

    #[test]
    fn signature_files_round_trip_and_refuse_damage() {
        let key = AgentKey::from_seed([7; 32]);
        let sig = key.sign("west-1", b"s");
        let text = sig.to_text();
        assert_eq!(StatusSignature::parse(text.as_bytes()).unwrap(), sig);
        for (bad, needle) in [
            ("", "no cluster line"),
            ("cluster: a\ncluster: b\n", "names cluster twice"),
            ("hello\n", "not `label: value`"),
            ("extra: 1\n", "unknown line"),
            ("cluster: a\nkey: ed25519:AAAA\nsignature: x\n", "32"),
        ] {
            let e = StatusSignature::parse(bad.as_bytes()).unwrap_err();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
        let long = vec![b'#'; MAX_SIGNATURE_BYTES + 1];
        assert!(StatusSignature::parse(&long)
            .unwrap_err()
            .contains("more than"));
        let truncated = text.replace(&STANDARD.encode(sig.signature), "AAAA");
        assert!(StatusSignature::parse(truncated.as_bytes())
            .unwrap_err()
            .contains("not 64 bytes"));
    }

    #[test]
    fn keys_have_a_text_form_and_pins_round_trip() {
        let key = AgentKey::from_seed([7; 32]).public();
        let text = key.to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 44,
            "{text}"
        );
        assert_eq!(StatusKey::parse(&text).unwrap(), key);
        assert_eq!(parse_pin(pin_text("west-1", &key).as_bytes()).unwrap(), key);
        assert_eq!(key.id().len(), 16);
        for bad in ["", "ed25519:", "ed25519:!!", "rsa:AAAA", "ed25519:AAAA"] {
            assert!(StatusKey::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_pin(b"key: a\nkey: b\n").is_err());
        assert!(parse_pin(b"# nothing\n").is_err());
        assert_eq!(
            format!("{:?}", AgentKey::from_seed([7; 32])),
            format!("AgentKey(key id {})", key.id()),
            "the private key is never printed"
        );
    }
}
