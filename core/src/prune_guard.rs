//! The prune guard: when pruning is held back because it looks like an accident. Pure: the
//! agent asks it before pruning a cluster, `hubdr plan` asks it per cluster before a render
//! is merged, so both say the same thing.
//!
//! - An empty desired set (an index that lists nothing for the cluster, a cluster directory
//!   replaced by a symlink, everything refused by the allowlist) never prunes, whatever the
//!   flags: the agent cannot tell "remove everything" from "the repository is broken".
//! - A pass that would delete more than `max_percent` of what the agent owns (default: more
//!   than half), or everything it owns, is held until the agent runs with
//!   `--allow-mass-prune` (or the repository changes so that the share is under the limit).
//!
//! Only deletions count: objects that would be released (adopted objects and the shared
//! singletons of [`release_only`]) lose hubdr's fields but stay, so they are never a mass
//! deletion.

use std::fmt;

/// The share of the inventory a pass may delete without `--allow-mass-prune`, in percent.
pub const DEFAULT_MAX_PERCENT: u8 = 50;

/// Kinds shared with the rest of the cluster (a hub's MultiClusterHub, MultiClusterEngine and
/// DataProtectionApplication, Namespaces that hold applications, a HostedCluster created from
/// a snapshot): when they leave the
/// repository they are released, never deleted, even when hubdr created them. As
/// `(group, kind)`, the core group empty.
pub const RELEASE_ONLY: [(&str, &str); 5] = [
    ("operator.open-cluster-management.io", "MultiClusterHub"),
    ("multicluster.openshift.io", "MultiClusterEngine"),
    ("oadp.openshift.io", "DataProtectionApplication"),
    ("", "Namespace"),
    ("hypershift.openshift.io", "HostedCluster"),
];

/// Whether objects of this kind are only ever released (see [`RELEASE_ONLY`]).
pub fn release_only(api_version: &str, kind: &str) -> bool {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    RELEASE_ONLY.contains(&(group, kind))
}

/// The guard's settings (the agent's `--max-prune-percent` and `--allow-mass-prune`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Deleting more than this share of the inventory, in percent, is held.
    pub max_percent: u8,
    /// Let a mass deletion through (never an empty desired set).
    pub allow_mass_prune: bool,
}

impl Default for Limit {
    fn default() -> Self {
        Self {
            max_percent: DEFAULT_MAX_PERCENT,
            allow_mass_prune: false,
        }
    }
}

/// What one pass would do to one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Objects the agent owns before the pass (its inventory).
    pub owned: usize,
    /// Objects the repository wants on the cluster.
    pub desired: usize,
    /// Owned objects the repository no longer wants (deleted or released).
    pub stale: usize,
    /// Of those, the ones that would be deleted.
    pub deletes: usize,
}

/// Why pruning is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The repository wants nothing on the cluster.
    EmptyDesired { stale: usize },
    /// More than the allowed share (or everything) would be deleted.
    MassDeletion {
        deletes: usize,
        owned: usize,
        max_percent: u8,
    },
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::EmptyDesired { stale } => write!(
                f,
                "the repository wants nothing on this cluster, so none of the {stale} object(s) it owns is pruned \
                 (an empty desired set never prunes: check the cluster's directory and .hubdr/index.yaml)"
            ),
            Hold::MassDeletion {
                deletes,
                owned,
                max_percent,
            } => {
                let share = if deletes == owned {
                    "all".to_string()
                } else {
                    format!("more than {max_percent}%")
                };
                write!(
                    f,
                    "{deletes} of the {owned} object(s) this agent owns would be deleted ({share}), so nothing is pruned; \
                     if that is intended, run the agent once with --allow-mass-prune"
                )
            }
        }
    }
}

/// Whether pruning is held for `counts` under `limit`; `None` lets it go ahead.
pub fn check(counts: Counts, limit: Limit) -> Option<Hold> {
    if counts.stale == 0 {
        return None;
    }
    if counts.desired == 0 {
        return Some(Hold::EmptyDesired {
            stale: counts.stale,
        });
    }
    if limit.allow_mass_prune || counts.deletes == 0 {
        return None;
    }
    let everything = counts.deletes >= counts.owned;
    let too_many = counts.deletes * 100 > usize::from(limit.max_percent) * counts.owned;
    (everything || too_many).then_some(Hold::MassDeletion {
        deletes: counts.deletes,
        owned: counts.owned,
        max_percent: limit.max_percent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(owned: usize, desired: usize, stale: usize, deletes: usize) -> Counts {
        Counts {
            owned,
            desired,
            stale,
            deletes,
        }
    }

    #[test]
    fn more_than_half_is_held_half_is_not() {
        let limit = Limit::default();
        assert_eq!(check(counts(4, 2, 2, 2), limit), None, "exactly half");
        assert_eq!(
            check(counts(4, 1, 3, 3), limit),
            Some(Hold::MassDeletion {
                deletes: 3,
                owned: 4,
                max_percent: 50
            })
        );
        assert_eq!(check(counts(4, 1, 3, 1), limit), None, "two are released");
        assert_eq!(check(counts(10, 10, 0, 0), limit), None, "nothing stale");
    }

    #[test]
    fn everything_is_held_whatever_the_share() {
        let limit = Limit {
            max_percent: 100,
            allow_mass_prune: false,
        };
        assert!(matches!(
            check(counts(1, 1, 1, 1), limit),
            Some(Hold::MassDeletion { .. })
        ));
        assert_eq!(check(counts(2, 1, 1, 1), limit), None);
        let message = check(counts(3, 1, 3, 3), Limit::default())
            .unwrap()
            .to_string();
        assert!(
            message.contains("3 of the 3") && message.contains("(all)"),
            "{message}"
        );
        assert!(message.contains("--allow-mass-prune"), "{message}");
    }

    #[test]
    fn the_flag_lets_a_mass_deletion_through_but_never_an_empty_desired_set() {
        let allow = Limit {
            allow_mass_prune: true,
            ..Limit::default()
        };
        assert_eq!(check(counts(4, 1, 3, 3), allow), None);
        assert_eq!(
            check(counts(4, 0, 4, 4), allow),
            Some(Hold::EmptyDesired { stale: 4 })
        );
        // Also when everything would only be released.
        assert_eq!(
            check(counts(2, 0, 2, 0), Limit::default()),
            Some(Hold::EmptyDesired { stale: 2 })
        );
        assert_eq!(check(counts(0, 0, 0, 0), Limit::default()), None);
    }

    #[test]
    fn shared_singletons_are_release_only() {
        assert!(release_only(
            "operator.open-cluster-management.io/v1",
            "MultiClusterHub"
        ));
        assert!(release_only(
            "oadp.openshift.io/v1alpha1",
            "DataProtectionApplication"
        ));
        assert!(release_only("v1", "Namespace"));
        assert!(!release_only("v1", "PersistentVolumeClaim"));
        assert!(!release_only("example.com/v1", "Namespace"));
    }
}
