//! ed25519 key files: `KEY` (the private seed, mode 0600) and `KEY.pub`.
//!
//! Both are one-line text files with comments, so they survive copy and paste:
//!
//! ```text
//! # hubdr bundle signing key (ed25519), key id 3f2a...; keep it secret
//! ed25519-private-key: <64 hex digits>
//! ```

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

const PRIVATE_LABEL: &str = "ed25519-private-key";
const PUBLIC_LABEL: &str = "ed25519-public-key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} already exists; pass --force to replace it (bundles signed with the old key will no longer verify against the new .pub)")]
    Exists { path: PathBuf },
    #[error("{path} is not a hubdr {expected} key file: {detail}")]
    Invalid {
        path: PathBuf,
        expected: &'static str,
        detail: String,
    },
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

/// The private signing key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

/// The public verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(key id {})", self.public().id())
    }
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    pub fn to_file_text(&self) -> String {
        format!(
            "# hubdr bundle signing key (ed25519), key id {}. Keep it secret; give sites the .pub file.\n{PRIVATE_LABEL}: {}\n",
            self.public().id(),
            hex(self.0.as_bytes())
        )
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, KeyError> {
        let bytes = parse_line(text, PRIVATE_LABEL, PUBLIC_LABEL, path, "private")?;
        Ok(Self::from_seed(bytes))
    }

    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = read_small(path)?;
        Self::parse(&text, path)
    }
}

impl PublicKey {
    /// The first 16 hex digits of the sha256 of the key: short, printable, compared on verify.
    pub fn id(&self) -> String {
        super::sha256_hex(self.0.as_bytes())[..16].to_string()
    }

    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }

    pub fn to_file_text(&self) -> String {
        format!(
            "# hubdr bundle verification key (ed25519), key id {}\n{PUBLIC_LABEL}: {}\n",
            self.id(),
            hex(self.0.as_bytes())
        )
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, KeyError> {
        let bytes = parse_line(text, PUBLIC_LABEL, PRIVATE_LABEL, path, "public")?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|e| KeyError::Invalid {
                path: path.to_path_buf(),
                expected: "public",
                detail: format!("not a valid ed25519 point: {e}"),
            })
    }

    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = read_small(path)?;
        Self::parse(&text, path)
    }
}

/// Write `KEY` (mode 0600) and `KEY.pub` for a new key; refuses to replace files unless `force`.
/// Returns the path of the public key file.
pub fn write_pair(key: &SecretKey, path: &Path, force: bool) -> Result<PathBuf, KeyError> {
    let public = public_path(path);
    if !force {
        for p in [path, public.as_path()] {
            if p.exists() {
                return Err(KeyError::Exists {
                    path: p.to_path_buf(),
                });
            }
        }
    }
    write_private(path, key.to_file_text().as_bytes()).map_err(|source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    crate::fsutil::write_atomic(&public, key.public().to_file_text().as_bytes())
        .and_then(|()| set_mode(&public, 0o644))
        .map_err(|source| KeyError::Write {
            path: public.clone(),
            source,
        })?;
    Ok(public)
}

/// `KEY.pub` beside `KEY`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".pub");
    path.with_file_name(name)
}

/// Atomically, and never readable by others, not even briefly: the temporary file is created
/// with mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = crate::fsutil::temp_beside(path)?;
    set_mode(tmp.path(), 0o600)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

fn read_small(path: &Path) -> Result<String, KeyError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut text = String::new();
    file.take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(text)
}

fn parse_line(
    text: &str,
    label: &str,
    other: &str,
    path: &Path,
    expected: &'static str,
) -> Result<[u8; 32], KeyError> {
    let invalid = |detail: String| KeyError::Invalid {
        path: path.to_path_buf(),
        expected,
        detail,
    };
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines
        .next()
        .ok_or_else(|| invalid("it holds no key".into()))?;
    if lines.next().is_some() {
        return Err(invalid(
            "it holds more than one line besides comments".into(),
        ));
    }
    let Some((found, value)) = line.split_once(':') else {
        return Err(invalid(format!("expected `{label}: <64 hex digits>`")));
    };
    if found.trim() == other {
        return Err(invalid(format!(
            "it is a {} key; give the {expected} key",
            if expected == "public" {
                "private"
            } else {
                "public"
            }
        )));
    }
    if found.trim() != label {
        return Err(invalid(format!(
            "expected `{label}: <64 hex digits>`, found `{}:`",
            found.trim()
        )));
    }
    let bytes = from_hex(value.trim()).ok_or_else(|| invalid("the key is not hex".into()))?;
    bytes
        .try_into()
        .map_err(|_| invalid("the key is not 32 bytes (64 hex digits)".into()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::digest::hex(bytes)
}

pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_sign() {
        let key = SecretKey::from_seed([7; 32]);
        let path = Path::new("k");
        let back = SecretKey::parse(&key.to_file_text(), path).unwrap();
        assert_eq!(back.public(), key.public());
        let public = PublicKey::parse(&key.public().to_file_text(), path).unwrap();
        let sig = key.sign(b"hello");
        assert!(public.verify(b"hello", &sig));
        assert!(!public.verify(b"hellO", &sig));
        assert!(!SecretKey::from_seed([8; 32])
            .public()
            .verify(b"hello", &sig));
        assert_eq!(public.id().len(), 16);
    }

    #[test]
    fn mixed_up_or_broken_key_files_are_explained() {
        let key = SecretKey::from_seed([7; 32]);
        let path = Path::new("k");
        let e = PublicKey::parse(&key.to_file_text(), path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("it is a private key; give the public key"),
            "{e}"
        );
        let e = SecretKey::parse(&key.public().to_file_text(), path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("it is a public key; give the private key"),
            "{e}"
        );
        for bad in [
            "",
            "# only a comment\n",
            "ed25519-public-key: zz\n",
            "ed25519-public-key: 00\n",
            "hello\n",
        ] {
            assert!(PublicKey::parse(bad, path).is_err(), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn written_private_key_is_0600_and_not_replaced_without_force() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing");
        let key = SecretKey::generate().unwrap();
        let public = write_pair(&key, &path, false).unwrap();
        assert_eq!(public, dir.path().join("signing.pub"));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            SecretKey::read(&path).unwrap().public(),
            PublicKey::read(&public).unwrap()
        );
        assert!(matches!(
            write_pair(&key, &path, false),
            Err(KeyError::Exists { .. })
        ));
        write_pair(&SecretKey::generate().unwrap(), &path, true).unwrap();
        assert_ne!(PublicKey::read(&public).unwrap(), key.public());
    }
}
