//! Credentials for fetch and push, as small wrappers around git2's callbacks.
//!
//! * HTTPS: a token used as the password (read from a file or an environment variable at
//!   every operation, so a rotated token is picked up), with a fixed username such as
//!   `x-access-token` (GitHub) or `oauth2` (GitLab).
//! * SSH: a private key file, optionally with a passphrase, and a [`KnownHosts`] policy.
//! * Local paths and `file://` need none.
//!
//! Each kind of credential is offered once per operation: a rejected token or key fails
//! with [`GitError::Auth`] instead of looping.

use std::path::{Path, PathBuf};

use git2::{CertificateCheckStatus, Cred, CredentialType, ErrorClass, ErrorCode, RemoteCallbacks};

use super::known_hosts::{HostKeyCheck, KnownHostsFile};
use super::GitError;

/// How the agent authenticates to the remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing: local paths, `file://` and public HTTPS repositories.
    #[default]
    None,
    /// HTTPS with a token as the password.
    Token { username: String, token: Secret },
    /// SSH with a private key file.
    SshKey {
        /// Used unless the URL names a user (`git@host:...`).
        username: String,
        private_key: PathBuf,
        passphrase: Option<Secret>,
        known_hosts: KnownHosts,
    },
}

/// Where a secret value is read from. The value itself is never stored or printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A file holding the secret (surrounding whitespace is ignored), e.g. a mounted Secret.
    File(PathBuf),
    /// An environment variable holding the secret.
    Env(String),
}

/// Which SSH host keys are trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KnownHosts {
    /// libgit2's own check against `$HOME/.ssh/known_hosts` (hashed entries work there);
    /// an unknown or changed host key is refused.
    #[default]
    User,
    /// Only the keys listed in this known_hosts file. Plain host patterns (`host`,
    /// `[host]:port`, wildcards, `!negation`, `@revoked`) are supported; hashed `|1|` entries
    /// are skipped, so write the file with `ssh-keyscan` without `-H`.
    File(PathBuf),
    /// Any host key is accepted. This allows a man in the middle: only for throwaway labs.
    AcceptAny,
}

impl Credentials {
    /// HTTPS token credentials, e.g. `Credentials::token("x-access-token", Secret::Env("GIT_TOKEN".into()))`.
    pub fn token(username: impl Into<String>, token: Secret) -> Self {
        Credentials::Token {
            username: username.into(),
            token,
        }
    }

    /// SSH key credentials checked against `$HOME/.ssh/known_hosts`.
    pub fn ssh_key(username: impl Into<String>, private_key: impl Into<PathBuf>) -> Self {
        Credentials::SshKey {
            username: username.into(),
            private_key: private_key.into(),
            passphrase: None,
            known_hosts: KnownHosts::User,
        }
    }

    /// What of these credentials, or of `url` itself, would travel in clear to `url`: a token,
    /// a key or a password in the URL, sent over plain `http://`. `None` when nothing would.
    pub fn sent_in_clear(&self, url: &str) -> Option<&'static str> {
        let scheme = url.split_once("://").map(|(s, _)| s);
        if !scheme.is_some_and(|s| s.eq_ignore_ascii_case("http")) {
            return None;
        }
        match self {
            Credentials::Token { .. } => Some("the git token"),
            Credentials::SshKey { .. } => Some("the git credentials"),
            Credentials::None if hubdr_core::redact::redact_urls(url) != url => {
                Some("the credentials in the URL")
            }
            Credentials::None => None,
        }
    }

    /// Read the secrets now, so a missing token file fails before any network traffic. Refused
    /// when they would be sent in clear ([`sent_in_clear`](Self::sent_in_clear)).
    pub(crate) fn resolve(&self, url: &str) -> Result<Resolved, GitError> {
        if let Some(what) = self.sent_in_clear(url) {
            return Err(GitError::Cleartext {
                url: super::error::shown(url),
                what,
            });
        }
        let kind = match self {
            Credentials::None => Kind::None,
            Credentials::Token { username, token } => Kind::Token {
                username: username.clone(),
                token: token.read()?,
            },
            Credentials::SshKey {
                username,
                private_key,
                passphrase,
                known_hosts,
            } => Kind::Ssh {
                username: username.clone(),
                private_key: private_key.clone(),
                passphrase: passphrase.as_ref().map(Secret::read).transpose()?,
                known_hosts: match known_hosts {
                    KnownHosts::User => HostPolicy::User,
                    KnownHosts::AcceptAny => HostPolicy::AcceptAny,
                    KnownHosts::File(path) => HostPolicy::File(KnownHostsFile::load(path)?),
                },
            },
        };
        Ok(Resolved {
            kind,
            port: ssh_port(url),
        })
    }
}

impl Secret {
    /// The secret's value, trimmed.
    pub fn read(&self) -> Result<String, GitError> {
        let value = match self {
            Secret::File(path) => {
                std::fs::read_to_string(path).map_err(|source| GitError::Credentials {
                    what: format!("token file {}", path.display()),
                    source,
                })?
            }
            Secret::Env(name) => std::env::var(name).map_err(|e| GitError::Credentials {
                what: format!("environment variable {name}"),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, e),
            })?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(GitError::Credentials {
                what: self.describe(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is empty"),
            });
        }
        Ok(value.to_string())
    }

    fn describe(&self) -> String {
        match self {
            Secret::File(path) => format!("token file {}", path.display()),
            Secret::Env(name) => format!("environment variable {name}"),
        }
    }
}

/// Credentials with their secrets read, for one operation.
pub(crate) struct Resolved {
    kind: Kind,
    port: Option<u16>,
}

enum Kind {
    None,
    Token {
        username: String,
        token: String,
    },
    Ssh {
        username: String,
        private_key: PathBuf,
        passphrase: Option<String>,
        known_hosts: HostPolicy,
    },
}

enum HostPolicy {
    User,
    AcceptAny,
    File(KnownHostsFile),
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::None => "none",
            Kind::Token { .. } => "token (redacted)",
            Kind::Ssh { .. } => "ssh key",
        };
        f.debug_struct("Resolved").field("kind", &kind).finish()
    }
}

impl Resolved {
    /// Callbacks that answer credential requests and check SSH host keys.
    pub(crate) fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        let mut offered = CredentialType::empty();
        callbacks.credentials(move |_url, user_from_url, allowed| {
            self.credential(user_from_url, allowed, &mut offered)
        });
        if let Kind::Ssh { known_hosts, .. } = &self.kind {
            let port = self.port;
            callbacks.certificate_check(move |cert, host| {
                let Some(hostkey) = cert.as_hostkey() else {
                    // TLS: libgit2 verifies against the system CA bundle.
                    return Ok(CertificateCheckStatus::CertificatePassthrough);
                };
                match known_hosts {
                    HostPolicy::User => Ok(CertificateCheckStatus::CertificatePassthrough),
                    HostPolicy::AcceptAny => Ok(CertificateCheckStatus::CertificateOk),
                    HostPolicy::File(file) => {
                        let key = hostkey.hostkey().unwrap_or_default();
                        match file.check(host, port, key) {
                            HostKeyCheck::Match => Ok(CertificateCheckStatus::CertificateOk),
                            other => Err(git2::Error::new(
                                ErrorCode::Certificate,
                                ErrorClass::Ssh,
                                format!("host key of {host} {other} in {}", file.path().display()),
                            )),
                        }
                    }
                }
            });
        }
        callbacks
    }

    fn credential(
        &self,
        user_from_url: Option<&str>,
        allowed: CredentialType,
        offered: &mut CredentialType,
    ) -> Result<Cred, git2::Error> {
        let refuse = |message: &str| {
            Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Callback,
                message,
            ))
        };
        match &self.kind {
            Kind::None => {
                refuse("the remote asks for credentials but the agent has none configured")
            }
            Kind::Token { username, token } => {
                if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                    return refuse("the remote does not accept a username and token");
                }
                if offered.contains(CredentialType::USER_PASS_PLAINTEXT) {
                    return refuse("the remote rejected the token");
                }
                offered.insert(CredentialType::USER_PASS_PLAINTEXT);
                Cred::userpass_plaintext(username, token)
            }
            Kind::Ssh {
                username,
                private_key,
                passphrase,
                ..
            } => {
                let user = user_from_url.unwrap_or(username);
                if allowed.contains(CredentialType::USERNAME) {
                    return Cred::username(user);
                }
                if !allowed.contains(CredentialType::SSH_KEY) {
                    return refuse("the remote does not accept an ssh key");
                }
                if offered.contains(CredentialType::SSH_KEY) {
                    return refuse("the remote rejected the ssh key");
                }
                offered.insert(CredentialType::SSH_KEY);
                Cred::ssh_key(user, None, Path::new(private_key), passphrase.as_deref())
            }
        }
    }
}

/// The port of an `ssh://host:port/...` URL; `None` for the default port and scp-like URLs.
fn ssh_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let (_, port) = host_port.rsplit_once(':')?;
    port.parse().ok().filter(|p| *p != 22)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_port_of_urls() {
        assert_eq!(ssh_port("ssh://git@example.com:2222/a/b.git"), Some(2222));
        assert_eq!(ssh_port("ssh://git@example.com/a/b.git"), None);
        assert_eq!(ssh_port("ssh://example.com:22/a.git"), None);
        assert_eq!(ssh_port("git@example.com:a/b.git"), None);
        assert_eq!(ssh_port("https://example.com:8443/a.git"), None);
    }

    #[test]
    fn token_is_offered_once_then_refused() {
        std::env::set_var("HUBDR_TEST_TOKEN_ONCE", " s3cret\n");
        let creds = Credentials::token(
            "x-access-token",
            Secret::Env("HUBDR_TEST_TOKEN_ONCE".into()),
        );
        let resolved = creds.resolve("https://example.com/r.git").unwrap();
        let mut offered = CredentialType::empty();
        let first = resolved.credential(None, CredentialType::USER_PASS_PLAINTEXT, &mut offered);
        assert!(first.is_ok());
        let second = resolved
            .credential(None, CredentialType::USER_PASS_PLAINTEXT, &mut offered)
            .err()
            .unwrap();
        assert_eq!(second.code(), ErrorCode::Auth);
        assert!(format!("{resolved:?}").contains("redacted"));
    }

    #[test]
    fn token_file_is_trimmed_and_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(Secret::File(path.clone()).read().unwrap(), "abc");
        let err = Secret::File(dir.path().join("nope")).read().unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        std::fs::write(&path, "\n").unwrap();
        assert!(Secret::File(path).read().is_err());
    }

    #[test]
    fn nothing_secret_goes_over_plain_http() {
        let token = Credentials::token("x-access-token", Secret::Env("UNUSED".into()));
        let key = Credentials::ssh_key("git", "/nonexistent/id_ed25519");
        let http = "http://git.example.com/r.git";
        assert_eq!(token.sent_in_clear(http), Some("the git token"));
        assert_eq!(
            token.sent_in_clear("HTTP://git.example.com/r.git"),
            Some("the git token")
        );
        assert!(key.sent_in_clear(http).is_some());
        assert_eq!(
            Credentials::None.sent_in_clear("http://u:TOKEN@git.example.com/r.git"),
            Some("the credentials in the URL")
        );
        assert_eq!(Credentials::None.sent_in_clear(http), None);
        assert_eq!(token.sent_in_clear("https://git.example.com/r.git"), None);
        // Refused before the secret is even read.
        let err = token
            .resolve("http://u:TOKEN@git.example.com/r.git")
            .unwrap_err();
        assert!(matches!(err, GitError::Cleartext { .. }), "{err:?}");
        let message = err.to_string();
        assert!(!message.contains("TOKEN"), "{message}");
        assert!(
            message.starts_with(
                "http://***@git.example.com/r.git: the git token would travel in clear"
            ),
            "{message}"
        );
    }

    #[test]
    fn no_credentials_refuse_with_auth_code() {
        let resolved = Credentials::None
            .resolve("https://example.com/r.git")
            .unwrap();
        let mut offered = CredentialType::empty();
        let err = resolved
            .credential(None, CredentialType::USER_PASS_PLAINTEXT, &mut offered)
            .err()
            .unwrap();
        assert_eq!(err.code(), ErrorCode::Auth);
    }

    #[test]
    fn ssh_asks_username_then_key_once() {
        let creds = Credentials::ssh_key("git", "/nonexistent/id_ed25519");
        let resolved = creds.resolve("ssh://git@example.com/r.git").unwrap();
        let mut offered = CredentialType::empty();
        let user = resolved
            .credential(Some("alice"), CredentialType::USERNAME, &mut offered)
            .unwrap();
        assert!(user.has_username());
        assert!(resolved
            .credential(None, CredentialType::SSH_KEY, &mut offered)
            .is_ok());
        assert!(resolved
            .credential(None, CredentialType::SSH_KEY, &mut offered)
            .is_err());
    }
}
