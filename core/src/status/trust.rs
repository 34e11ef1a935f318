//! Which status files to believe. A status is trusted only when it is signed (see
//! [`signature`](super::signature)) by the key trusted for its cluster and its `updatedAt` is
//! not in the future. The key trusted for a cluster is, in this order:
//!
//! 1. the key registered in the site (`spec.agent.statusKeys`, rendered into the index as
//!    `statusKeys`): the strong form, reviewed like every other change to the site;
//! 2. otherwise the key pinned on the status branch (`keys/<cluster>.pub`), written by the
//!    cluster's agent together with its first signed status (trust on first use). An agent never
//!    replaces a pin, and an agent that remembers a pin refuses a pin that changed.
//!
//! Everything here is pure: bytes in, verdicts out. [`check`] works on one `(cluster, status
//! bytes, signature bytes)` whatever the storage layout; [`read_branch`] applies it to the
//! files of today's status branch.

use std::collections::BTreeMap;
use std::fmt;

use super::signature::{parse_pin, StatusKey, StatusSignature};
use super::ClusterStatus;

/// How far ahead of the reader's clock an `updatedAt` may be (clock skew between clusters).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// A status file larger than this is refused before it is parsed.
pub const MAX_STATUS_BYTES: usize = 4 * 1024 * 1024;

/// Where a trusted key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `spec.agent.statusKeys` in the site (the render index's `statusKeys`).
    Registered,
    /// `keys/<cluster>.pub` on the status branch, written with the cluster's first signed status.
    Pinned,
}

/// The key statuses of one cluster must be signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub key: StatusKey,
    pub source: KeySource,
}

/// Why a status is not believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// No signature beside the status.
    Unsigned,
    /// The signature file cannot be read.
    BadSignatureFile(String),
    /// The signature names another cluster.
    OtherCluster(String),
    /// Neither a registered nor a pinned key: nothing to check the signature against.
    NoKey,
    /// The key trusted for the cluster cannot be used (an invalid registration or pin, a
    /// changed pin).
    BadAnchor(String),
    /// Signed, but by another key than the trusted one.
    WrongKey {
        source: KeySource,
        trusted: Box<StatusKey>,
        signed_by: Box<StatusKey>,
    },
    /// The right key, but the signature does not cover these bytes.
    BadSignature,
    /// Too large, not a status, or the status of another cluster.
    Malformed(String),
    /// `updatedAt` is beyond the allowed clock skew in the future, or not a time.
    Future(String),
}

/// A status that was not believed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub cluster: String,
    pub why: Untrusted,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeySource::Registered => "registered in the site (spec.agent.statusKeys)",
            KeySource::Pinned => "pinned",
        })
    }
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Untrusted::Unsigned => f.write_str(
                "it is unsigned; only statuses signed by the cluster's own agent are trusted",
            ),
            Untrusted::BadSignatureFile(why) => write!(f, "its signature cannot be read: {why}"),
            Untrusted::OtherCluster(other) => {
                write!(f, "its signature is for cluster {other}, not for this one")
            }
            Untrusted::NoKey => f.write_str(
                "no key is registered (spec.agent.statusKeys) or pinned for it, so its signature cannot be checked",
            ),
            Untrusted::BadAnchor(why) => f.write_str(why),
            Untrusted::WrongKey {
                source,
                trusted,
                signed_by,
            } => write!(
                f,
                "signature does not match the key {source} for it: signed by key id {} ({signed_by}), the trusted key has id {}",
                signed_by.id(),
                trusted.id()
            ),
            Untrusted::BadSignature => f.write_str(
                "signature does not match its content: the status was changed after it was signed",
            ),
            Untrusted::Malformed(why) => f.write_str(why),
            Untrusted::Future(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status of {} ignored: {}", self.cluster, self.why)
    }
}

impl Refusal {
    pub fn new(cluster: &str, why: Untrusted) -> Self {
        Refusal {
            cluster: cluster.to_string(),
            why,
        }
    }
}

/// Check one status: `bytes` claimed to be `cluster`'s, with its `signature` file, against
/// the key trusted for the cluster. `now` is the reader's clock.
pub fn check(
    cluster: &str,
    bytes: &[u8],
    signature: Option<&[u8]>,
    anchor: Result<Option<&Anchor>, &str>,
    now: jiff::Timestamp,
) -> Result<ClusterStatus, Untrusted> {
    if bytes.len() > MAX_STATUS_BYTES {
        return Err(Untrusted::Malformed(format!(
            "it is {} bytes, more than the {MAX_STATUS_BYTES} a status may have",
            bytes.len()
        )));
    }
    let signature = StatusSignature::parse(signature.ok_or(Untrusted::Unsigned)?)
        .map_err(Untrusted::BadSignatureFile)?;
    if signature.cluster != cluster {
        return Err(Untrusted::OtherCluster(signature.cluster));
    }
    let anchor = anchor
        .map_err(|why| Untrusted::BadAnchor(why.to_string()))?
        .ok_or(Untrusted::NoKey)?;
    if signature.key != anchor.key {
        return Err(Untrusted::WrongKey {
            source: anchor.source,
            trusted: Box::new(anchor.key),
            signed_by: Box::new(signature.key),
        });
    }
    if !signature.verifies(cluster, bytes) {
        return Err(Untrusted::BadSignature);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Untrusted::Malformed("it is not UTF-8 text".into()))?;
    let status = ClusterStatus::parse(text).map_err(Untrusted::Malformed)?;
    if status.cluster != cluster {
        return Err(Untrusted::Malformed(format!(
            "it says it is the status of cluster {}",
            status.cluster
        )));
    }
    check_time(&status.updated_at, now)?;
    Ok(status)
}

/// `updatedAt` must be a time, and not more than [`MAX_CLOCK_SKEW_SECS`] ahead of `now`.
pub fn check_time(updated_at: &str, now: jiff::Timestamp) -> Result<(), Untrusted> {
    let at: jiff::Timestamp = updated_at.parse().map_err(|_| {
        Untrusted::Future(format!(
            "its updatedAt {updated_at:?} is not an RFC 3339 time"
        ))
    })?;
    if at.as_second() - now.as_second() > MAX_CLOCK_SKEW_SECS {
        return Err(Untrusted::Future(format!(
            "its updatedAt {updated_at} is in the future (more than {}m ahead of this clock, {})",
            MAX_CLOCK_SKEW_SECS / 60,
            now.round(jiff::Unit::Second).unwrap_or(now)
        )));
    }
    Ok(())
}

/// The trusted key of every cluster that has one, and why others have none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anchors {
    anchors: BTreeMap<String, Result<Anchor, String>>,
}

impl Anchors {
    /// The keys registered in the site, as the render index lists them (`statusKeys`).
    pub fn registered(keys: &BTreeMap<String, String>) -> Self {
        let anchors = keys
            .iter()
            .map(|(cluster, text)| {
                let anchor = StatusKey::parse(text)
                    .map(|key| Anchor {
                        key,
                        source: KeySource::Registered,
                    })
                    .map_err(|e| {
                        format!("the key registered for {cluster} in the render index is not usable: {e}; fix spec.agent.statusKeys and re-render")
                    });
                (cluster.clone(), anchor)
            })
            .collect();
        Anchors { anchors }
    }

    /// Add the pin of `cluster` (the bytes of its pin file), unless a key is registered for it.
    pub fn pin(&mut self, cluster: &str, pin: &[u8]) {
        if self.anchors.contains_key(cluster) {
            return;
        }
        let anchor = parse_pin(pin)
            .map(|key| Anchor {
                key,
                source: KeySource::Pinned,
            })
            .map_err(|e| format!("the key pinned for {cluster} cannot be read: {e}"));
        self.anchors.insert(cluster.to_string(), anchor);
    }

    /// The key trusted for `cluster`: `Ok(None)` when there is none.
    pub fn get(&self, cluster: &str) -> Result<Option<&Anchor>, &str> {
        match self.anchors.get(cluster) {
            None => Ok(None),
            Some(Ok(anchor)) => Ok(Some(anchor)),
            Some(Err(why)) => Err(why),
        }
    }

    /// Compare pins with the ones `memory` saw before: a pin that changed is not trusted (it
    /// takes a registered key, or a restart of the reader, to accept a new one). New pins are
    /// remembered.
    pub fn hold_to(&mut self, memory: &mut PinMemory) {
        for (cluster, anchor) in &mut self.anchors {
            let Ok(Anchor {
                key,
                source: KeySource::Pinned,
            }) = anchor
            else {
                continue;
            };
            match memory.0.get(cluster) {
                Some(first) if first != key => {
                    *anchor = Err(format!(
                        "the key pinned for {cluster} on the status branch changed (from key id {} to {}) since this reader first saw it; \
                         if {cluster}'s agent really has a new key, register it in site.yaml (spec.agent.statusKeys.{cluster}: {key}) and re-render",
                        first.id(),
                        key.id()
                    ));
                }
                Some(_) => {}
                None => {
                    memory.0.insert(cluster.clone(), *key);
                }
            }
        }
    }
}

/// The pins a long-running reader (an agent) has seen, so a replaced pin is noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinMemory(BTreeMap<String, StatusKey>);

/// The statuses of a status branch, sorted into believed and refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchStatuses {
    pub trusted: BTreeMap<String, ClusterStatus>,
    pub refused: BTreeMap<String, Refusal>,
}

/// Check every `clusters/<cluster>.yaml` of a status branch's `files` (paths as on the branch:
/// the status, `clusters/<cluster>.sig` and `keys/<cluster>.pub`). `registered` are the keys of
/// the render index; `memory`, when given, holds the pins seen before.
pub fn read_branch(
    files: &BTreeMap<String, Vec<u8>>,
    registered: &BTreeMap<String, String>,
    memory: Option<&mut PinMemory>,
    now: jiff::Timestamp,
) -> BranchStatuses {
    let mut anchors = Anchors::registered(registered);
    for (path, bytes) in files {
        if let Some(cluster) = cluster_of(path, super::PIN_DIR, super::PIN_SUFFIX) {
            anchors.pin(cluster, bytes);
        }
    }
    if let Some(memory) = memory {
        anchors.hold_to(memory);
    }
    let mut out = BranchStatuses::default();
    for (path, bytes) in files {
        let Some(cluster) = cluster_of(path, super::STATUS_DIR, super::STATUS_SUFFIX) else {
            continue;
        };
        let signature = files
            .get(&super::signature_path(cluster))
            .map(Vec::as_slice);
        match check(cluster, bytes, signature, anchors.get(cluster), now) {
            Ok(status) => {
                out.trusted.insert(cluster.to_string(), status);
            }
            Err(why) => {
                out.refused
                    .insert(cluster.to_string(), Refusal::new(cluster, why));
            }
        }
    }
    out
}

/// `<cluster>` of `<dir>/<cluster><suffix>`.
pub fn cluster_of<'a>(path: &'a str, dir: &str, suffix: &str) -> Option<&'a str> {
    path.strip_prefix(dir)?
        .strip_prefix('/')?
        .strip_suffix(suffix)
        .filter(|c| !c.is_empty() && !c.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::super::signature::{pin_text, AgentKey};
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-18T11:00:00Z".parse().unwrap()
    }

    fn status(cluster: &str, updated_at: &str) -> Vec<u8> {
        format!(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: {cluster}\nagentVersion: t\nupdatedAt: '{updated_at}'\nsource: {{}}\npass: {{outcome: Succeeded, reason: Applied}}\n"
        )
        .into_bytes()
    }

    fn pinned(key: &AgentKey) -> Anchor {
        Anchor {
            key: key.public(),
            source: KeySource::Pinned,
        }
    }

    #[test]
    fn only_a_status_signed_by_the_trusted_key_is_believed() {
        let agent = AgentKey::from_seed([1; 32]);
        let attacker = AgentKey::from_seed([2; 32]);
        let bytes = status("west-1", "2026-11-18T10:59:00Z");
        let sig = agent.sign("west-1", &bytes).to_text();
        let anchor = pinned(&agent);
        let ok = check(
            "west-1",
            &bytes,
            Some(sig.as_bytes()),
            Ok(Some(&anchor)),
            now(),
        );
        assert_eq!(ok.unwrap().cluster, "west-1");

        let refuse = |bytes: &[u8], sig: Option<&str>, anchor: Result<Option<&Anchor>, &str>| {
            let why = check("west-1", bytes, sig.map(str::as_bytes), anchor, now()).unwrap_err();
            Refusal::new("west-1", why).to_string()
        };
        assert_eq!(
            refuse(&bytes, None, Ok(Some(&anchor))),
            "status of west-1 ignored: it is unsigned; only statuses signed by the cluster's own agent are trusted"
        );
        let forged = attacker.sign("west-1", &bytes).to_text();
        let e = refuse(&bytes, Some(&forged), Ok(Some(&anchor)));
        assert!(
            e.starts_with("status of west-1 ignored: signature does not match the key pinned for it: signed by key id"),
            "{e}"
        );
        let changed = status("west-1", "2026-11-18T10:59:01Z");
        assert_eq!(
            refuse(&changed, Some(&sig), Ok(Some(&anchor))),
            "status of west-1 ignored: signature does not match its content: the status was changed after it was signed"
        );
        assert!(refuse(&bytes, Some(&sig), Ok(None)).contains("no key is registered"));
        assert_eq!(
            refuse(&bytes, Some(&sig), Err("the pin changed")),
            "status of west-1 ignored: the pin changed"
        );
        let east = agent.sign("east-1", &bytes).to_text();
        assert!(refuse(&bytes, Some(&east), Ok(Some(&anchor))).contains("for cluster east-1"));
        // Signed properly, but the file says it is another cluster's.
        let other = status("east-1", "2026-11-18T10:59:00Z");
        let other_sig = agent.sign("west-1", &other).to_text();
        assert!(refuse(&other, Some(&other_sig), Ok(Some(&anchor)))
            .contains("it says it is the status of cluster east-1"));
    }

    #[test]
    fn a_status_from_the_future_is_not_believed() {
        let agent = AgentKey::from_seed([1; 32]);
        let anchor = pinned(&agent);
        let at = |t: &str| {
            let bytes = status("hub-a", t);
            let sig = agent.sign("hub-a", &bytes).to_text();
            check(
                "hub-a",
                &bytes,
                Some(sig.as_bytes()),
                Ok(Some(&anchor)),
                now(),
            )
        };
        assert!(at("2026-11-18T11:04:59Z").is_ok(), "within the clock skew");
        let e = at("2099-01-01T00:00:00Z").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "its updatedAt 2099-01-01T00:00:00Z is in the future (more than 5m ahead"
            ),
            "{e}"
        );
        assert!(at("soon")
            .unwrap_err()
            .to_string()
            .contains("not an RFC 3339 time"));
    }

    #[test]
    fn registered_keys_win_over_pins_and_changed_pins_are_noticed() {
        let agent = AgentKey::from_seed([1; 32]);
        let attacker = AgentKey::from_seed([2; 32]);
        let registered = BTreeMap::from([("west-1".to_string(), agent.public().to_string())]);
        let mut anchors = Anchors::registered(&registered);
        anchors.pin("west-1", pin_text("west-1", &attacker.public()).as_bytes());
        assert_eq!(
            anchors.get("west-1").unwrap().unwrap().source,
            KeySource::Registered
        );
        let bad = BTreeMap::from([("hub-a".to_string(), "ed25519:nope".to_string())]);
        assert!(Anchors::registered(&bad)
            .get("hub-a")
            .unwrap_err()
            .contains("not usable"));

        let mut memory = PinMemory::default();
        let mut first = Anchors::default();
        first.pin("east-1", pin_text("east-1", &agent.public()).as_bytes());
        first.hold_to(&mut memory);
        assert!(first.get("east-1").unwrap().is_some());
        let mut replaced = Anchors::default();
        replaced.pin("east-1", pin_text("east-1", &attacker.public()).as_bytes());
        replaced.hold_to(&mut memory);
        let e = replaced.get("east-1").unwrap_err();
        assert!(
            e.contains("the key pinned for east-1 on the status branch changed"),
            "{e}"
        );
        let mut broken = Anchors::default();
        broken.pin("east-1", b"garbage");
        assert!(broken.get("east-1").unwrap_err().contains("cannot be read"));
    }

    #[test]
    fn a_branch_is_sorted_into_trusted_and_refused() {
        let west = AgentKey::from_seed([1; 32]);
        let attacker = AgentKey::from_seed([2; 32]);
        let mut files = BTreeMap::new();
        let mut put = |path: &str, bytes: Vec<u8>| {
            files.insert(path.to_string(), bytes);
        };
        let w = status("west-1", "2026-11-18T10:00:00Z");
        put(
            "clusters/west-1.sig",
            west.sign("west-1", &w).to_text().into_bytes(),
        );
        put("clusters/west-1.yaml", w);
        put(
            "keys/west-1.pub",
            pin_text("west-1", &west.public()).into_bytes(),
        );
        // The attacker writes a status for east-1 and pins its own key for it.
        let e = status("east-1", "2026-11-18T10:00:00Z");
        put(
            "clusters/east-1.sig",
            attacker.sign("east-1", &e).to_text().into_bytes(),
        );
        put("clusters/east-1.yaml", e);
        put(
            "keys/east-1.pub",
            pin_text("east-1", &attacker.public()).into_bytes(),
        );
        put(
            "clusters/hub-a.yaml",
            status("hub-a", "2026-11-18T10:00:00Z"),
        );
        // east-1's key is registered in the site: the attacker's pin does not count.
        let registered = BTreeMap::from([(
            "east-1".to_string(),
            AgentKey::from_seed([3; 32]).public().to_string(),
        )]);
        let read = read_branch(&files, &registered, None, now());
        assert_eq!(read.trusted.keys().collect::<Vec<_>>(), ["west-1"]);
        assert!(matches!(
            read.refused["east-1"].why,
            Untrusted::WrongKey {
                source: KeySource::Registered,
                ..
            }
        ));
        assert_eq!(read.refused["hub-a"].why, Untrusted::Unsigned);
        assert_eq!(
            cluster_of("clusters/a.yaml", "clusters", ".yaml"),
            Some("a")
        );
        assert_eq!(cluster_of("clusters/x/a.yaml", "clusters", ".yaml"), None);
        assert_eq!(cluster_of("clusters/.yaml", "clusters", ".yaml"), None);
    }
}
