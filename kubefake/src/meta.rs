//! Small metadata helpers: timestamps, uids, generated names, name validation.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// The current time as the API server writes it (`2026-01-02T03:04:05Z`).
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// A random version-4-shaped UUID.
pub fn new_uid() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// `prefix` plus five random characters from the API server's alphabet.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = random_u64();
    let mut out = prefix.to_string();
    for _ in 0..5 {
        out.push(ALPHABET[(r % ALPHABET.len() as u64) as usize] as char);
        r /= ALPHABET.len() as u64;
    }
    out
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Why `name` is not a valid object name, or `None`. Namespaces must be DNS labels,
/// RBAC objects path segments, everything else DNS subdomains.
pub fn name_problem(name: &str, group: &str, kind: &str) -> Option<String> {
    if kind == "Namespace" {
        return (!is_dns_label(name)).then(|| {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character"
                .to_string()
        });
    }
    if group == "rbac.authorization.k8s.io" {
        let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '%']);
        return bad.then(|| "may not contain '/' or '%'".to_string());
    }
    let ok = name.len() <= 253 && name.split('.').all(is_dns_label);
    (!ok).then(|| {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
         '-' or '.', and must start and end with an alphanumeric character"
            .to_string()
    })
}

/// `metadata.<field>` as a string.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_unique_and_uuid_shaped() {
        let (a, b) = (new_uid(), new_uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn names_are_validated_per_kind() {
        assert!(name_problem("open-cluster-management-backup", "", "Namespace").is_none());
        assert!(name_problem("a.b", "", "Namespace").is_some());
        assert!(name_problem("restore-acm.g4", "velero.io", "Restore").is_none());
        assert!(name_problem("Upper", "velero.io", "Restore").is_some());
        assert!(name_problem(
            "system:controller:x",
            "rbac.authorization.k8s.io",
            "ClusterRole"
        )
        .is_none());
        assert_eq!(generate_name("x-").len(), 7);
        assert!(now().ends_with('Z'));
    }
}
