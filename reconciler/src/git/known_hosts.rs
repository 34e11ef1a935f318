//! A small reader for OpenSSH known_hosts files, for [`KnownHosts::File`](super::KnownHosts::File).
//!
//! Supported: `host1,host2 key-type base64-key [comment]`, `[host]:port`, `*` and `?`
//! wildcards, `!negated` patterns and the `@revoked` marker. Hashed (`|1|...`) entries and
//! `@cert-authority` lines are skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::GitError;

#[derive(Debug)]
pub(crate) struct KnownHostsFile {
    path: PathBuf,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    revoked: bool,
    patterns: Vec<String>,
    key: Vec<u8>,
}

/// The verdict for one host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKeyCheck {
    Match,
    /// The host is listed, with other keys.
    Mismatch,
    /// The host is not listed.
    Unknown,
    /// The key is listed as `@revoked`.
    Revoked,
}

impl fmt::Display for HostKeyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostKeyCheck::Match => "matches",
            HostKeyCheck::Mismatch => "does not match the key listed",
            HostKeyCheck::Unknown => "is not listed",
            HostKeyCheck::Revoked => "is revoked",
        })
    }
}

impl KnownHostsFile {
    pub(crate) fn load(path: &Path) -> Result<Self, GitError> {
        let text = std::fs::read_to_string(path).map_err(|source| GitError::Credentials {
            what: format!("known_hosts file {}", path.display()),
            source,
        })?;
        Ok(Self::parse(path, &text))
    }

    pub(crate) fn parse(path: &Path, text: &str) -> Self {
        let entries = text.lines().filter_map(parse_line).collect();
        KnownHostsFile {
            path: path.to_path_buf(),
            entries,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Check `key` (the raw SSH wire-format host key) for `host` on `port` (`None` = 22).
    pub(crate) fn check(&self, host: &str, port: Option<u16>, key: &[u8]) -> HostKeyCheck {
        let name = match port {
            Some(port) if port != 22 => format!("[{}]:{port}", host.to_ascii_lowercase()),
            _ => host.to_ascii_lowercase(),
        };
        let mut listed = false;
        let mut matched = false;
        for entry in self
            .entries
            .iter()
            .filter(|e| host_matches(&e.patterns, &name))
        {
            if entry.key == key {
                if entry.revoked {
                    return HostKeyCheck::Revoked;
                }
                matched = true;
            } else if !entry.revoked {
                listed = true;
            }
        }
        match (matched, listed) {
            (true, _) => HostKeyCheck::Match,
            (false, true) => HostKeyCheck::Mismatch,
            (false, false) => HostKeyCheck::Unknown,
        }
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = first.strip_prefix('@') {
        if marker != "revoked" {
            return None;
        }
        revoked = true;
        first = fields.next()?;
    }
    if first.starts_with('|') {
        return None;
    }
    let _key_type = fields.next()?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(fields.next()?)
        .ok()?;
    let patterns = first.split(',').map(|p| p.to_ascii_lowercase()).collect();
    Some(Entry {
        revoked,
        patterns,
        key,
    })
}

/// OpenSSH semantics: a negated pattern that matches excludes the host outright.
fn host_matches(patterns: &[String], name: &str) -> bool {
    let mut positive = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(negated, name) => return false,
            Some(_) => {}
            None => positive |= glob(pattern, name),
        }
    }
    positive
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn key(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    fn file(text: &str) -> KnownHostsFile {
        KnownHostsFile::parse(Path::new("known_hosts"), text)
    }

    #[test]
    fn plain_port_and_wildcard_entries() {
        let f = file(&format!(
            "# comment\ngit.example.com,10.0.0.1 ssh-ed25519 {KEY_A}\n\
             [git.example.com]:2222 ssh-ed25519 {KEY_B}\n\
             *.lab.test,!evil.lab.test ssh-ed25519 {KEY_B} lab\n"
        ));
        assert_eq!(
            f.check("git.example.com", None, &key(KEY_A)),
            HostKeyCheck::Match
        );
        assert_eq!(
            f.check("GIT.example.com", Some(22), &key(KEY_A)),
            HostKeyCheck::Match
        );
        assert_eq!(
            f.check("git.example.com", None, &key(KEY_B)),
            HostKeyCheck::Mismatch
        );
        assert_eq!(
            f.check("git.example.com", Some(2222), &key(KEY_B)),
            HostKeyCheck::Match
        );
        assert_eq!(
            f.check("a.lab.test", None, &key(KEY_B)),
            HostKeyCheck::Match
        );
        assert_eq!(
            f.check("evil.lab.test", None, &key(KEY_B)),
            HostKeyCheck::Unknown
        );
        assert_eq!(
            f.check("other.example", None, &key(KEY_A)),
            HostKeyCheck::Unknown
        );
    }

    #[test]
    fn revoked_and_hashed_entries() {
        let f = file(&format!(
            "@revoked git.example.com ssh-ed25519 {KEY_A}\n\
             git.example.com ssh-ed25519 {KEY_A}\n\
             |1|c2FsdA==|aGFzaA== ssh-ed25519 {KEY_B}\n\
             @cert-authority *.example.com ssh-ed25519 {KEY_B}\n"
        ));
        assert_eq!(
            f.check("git.example.com", None, &key(KEY_A)),
            HostKeyCheck::Revoked
        );
        assert_eq!(
            f.check("hashed.example.com", None, &key(KEY_B)),
            HostKeyCheck::Unknown
        );
    }

    #[test]
    fn glob_basics() {
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc"));
        assert!(glob("*.example.com", "x.y.example.com"));
        assert!(!glob("*.example.com", "example.com"));
    }
}
