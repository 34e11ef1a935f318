//! Which changes of hub roles and failover generation a render may commit, compared with the
//! committed render (`.hubdr/index.yaml` at `HEAD` of the output repository). Pure.
//!
//! The failover generation only grows: a lower one (a `git revert` of a failover's site
//! change, a hand edit) would give the fenced hub its BackupSchedule back and skip every
//! gate. Roles change only through the commands that sequence and gate the change (`hubdr
//! failover`, `hubdr failover --abort`, `hubdr unfence`), never by a hand
//! edit rendered with `hubdr render`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The command that renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `hubdr render`: no role may change.
    Render,
    /// `hubdr failover --to`, `--retry`, `--abort`, `hubdr unfence`:
    /// the command made the role changes itself.
    Sequenced(&'static str),
}

/// What a render index says about roles and the generation: enough of `.hubdr/index.yaml`
/// (read without its file list, the bulk of a large fleet's index).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Roles {
    pub generation: u64,
    #[serde(default)]
    pub clusters: BTreeMap<String, ClusterRole>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClusterRole {
    #[serde(default)]
    pub role: Option<String>,
}

impl Roles {
    /// Read the roles of an index's text; its `files:` section (the last) is not parsed.
    pub fn parse(index: &str) -> Result<Self, String> {
        let head = match index.find("\nfiles:") {
            Some(at) => &index[..at + 1],
            None => index,
        };
        // A fleet's index head is megabytes (every cluster's prerequisites): read by the fast
        // subset parser when it can (as `hubdr render` wrote it), else guarded serde_yaml.
        let value = hubdr_core::untrusted_yaml::value(head, hubdr_core::limits::INDEX_MAX_BYTES)
            .map_err(|e| format!("cannot read the committed render index: {e}"))?;
        serde_json::from_value(value)
            .map_err(|e| format!("cannot read the committed render index: {e}"))
    }

    pub fn of(index: &crate::index::RenderIndex) -> Self {
        Roles {
            generation: index.generation,
            clusters: index
                .clusters
                .iter()
                .map(|(name, entry)| {
                    (
                        name.clone(),
                        ClusterRole {
                            role: entry.role.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// The commands that change roles, for messages.
pub const ROLE_COMMANDS: &str = "`hubdr failover --to HUB` (a takeover), `hubdr failover --abort` (back before the activation finished), `hubdr unfence HUB` or `hubdr decommission HUB`";

/// Whether `next` may be committed over `previous` by `verb`.
pub fn check(previous: &Roles, next: &Roles, verb: Verb) -> Result<(), String> {
    if next.generation < previous.generation {
        return Err(format!(
            "failover.generation {} is lower than {}, the generation of the committed render (.hubdr/index.yaml): the generation only grows, and a lower one (a `git revert` of a failover, a hand edit) would give the old primary its BackupSchedule back without any gate\n  fix: put failover.generation (and the roles) back as the committed render has them; to go back before the new primary's activation finished, run `hubdr failover --abort`; after it, fail back with `hubdr unfence HUB` and `hubdr failover --to HUB`",
            next.generation, previous.generation
        ));
    }
    if let Verb::Sequenced(_) = verb {
        return Ok(());
    }
    let changed: Vec<String> = next
        .clusters
        .iter()
        .filter_map(|(name, entry)| {
            let before = previous.clusters.get(name)?;
            (before.role != entry.role).then(|| {
                format!(
                    "{name}: {} -> {}",
                    before.role.as_deref().unwrap_or("none"),
                    entry.role.as_deref().unwrap_or("none")
                )
            })
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    if changed.iter().any(|c| c.contains("decommissioned")) {
        return Err(format!(
            "hub roles differ from the committed render (.hubdr/index.yaml): {}; `hubdr render` does not decommission a hub nor bring a decommissioned one back, because that skips the checks that every managed cluster is Available on the active hub and every ClusterDeployment is preserved\n  fix: put the roles back in the site file; decommission a fenced former primary with `hubdr decommission HUB`; a decommissioned hub does not come back: reinstall it and add it as a new passive hub",
            changed.join(", ")
        ));
    }
    Err(format!(
        "hub roles differ from the committed render (.hubdr/index.yaml): {}; `hubdr render` does not change roles, because a role change rendered by hand skips the gates that sequence a failover (fence first, activate, verify, then back up)\n  fix: put the roles back in the site file and run {ROLE_COMMANDS} instead",
        changed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(generation: u64, hubs: &[(&str, &str)]) -> Roles {
        Roles {
            generation,
            clusters: hubs
                .iter()
                .map(|(n, r)| {
                    (
                        n.to_string(),
                        ClusterRole {
                            role: Some(r.to_string()),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_lower_generation_is_refused_whoever_renders() {
        let before = roles(3, &[("hub-a", "fenced"), ("hub-b", "active")]);
        let reverted = roles(2, &[("hub-a", "active"), ("hub-b", "passive")]);
        for verb in [Verb::Render, Verb::Sequenced("hubdr failover")] {
            let e = check(&before, &reverted, verb).unwrap_err();
            assert!(e.contains("failover.generation 2 is lower than 3"), "{e}");
            assert!(e.contains("`hubdr failover --abort`"), "{e}");
        }
    }

    #[test]
    fn roles_change_only_through_the_sequenced_commands() {
        let before = roles(2, &[("hub-a", "active"), ("hub-b", "passive")]);
        let swapped = roles(2, &[("hub-a", "passive"), ("hub-b", "active")]);
        let e = check(&before, &swapped, Verb::Render).unwrap_err();
        assert!(
            e.contains("hub-a: active -> passive, hub-b: passive -> active"),
            "{e}"
        );
        assert!(e.contains("`hubdr failover --to HUB`"), "{e}");
        let raised = roles(3, &[("hub-a", "fenced"), ("hub-b", "active")]);
        assert_eq!(
            check(&before, &raised, Verb::Sequenced("hubdr failover")),
            Ok(())
        );
        // Same roles: a render may raise the generation, add or remove clusters.
        let mut grown = roles(3, &[("hub-a", "active"), ("hub-b", "passive")]);
        grown
            .clusters
            .insert("east-1".into(), ClusterRole { role: None });
        assert_eq!(check(&before, &grown, Verb::Render), Ok(()));
    }

    #[test]
    fn a_hand_made_decommission_names_the_command() {
        let before = roles(2, &[("hub-a", "fenced"), ("hub-b", "active")]);
        let gone = roles(2, &[("hub-a", "decommissioned"), ("hub-b", "active")]);
        let e = check(&before, &gone, Verb::Render).unwrap_err();
        assert!(e.contains("hub-a: fenced -> decommissioned"), "{e}");
        assert!(e.contains("`hubdr decommission HUB`"), "{e}");
        let e = check(&gone, &before, Verb::Render).unwrap_err();
        assert!(e.contains("hub-a: decommissioned -> fenced"), "{e}");
        assert!(e.contains("does not come back"), "{e}");
        assert_eq!(
            check(&before, &gone, Verb::Sequenced("hubdr decommission")),
            Ok(())
        );
    }

    #[test]
    fn reads_roles_without_the_file_list() {
        let index = "apiVersion: hubdr.io/v1alpha1\nkind: RenderIndex\ngeneration: 4\nclusters:\n  east-1:\n    kind: managed\n  hub-a:\n    kind: hub\n    role: active\nfiles:\n  not: [valid, yaml\n";
        let r = Roles::parse(index).unwrap();
        assert_eq!(r.generation, 4);
        assert_eq!(r.clusters["hub-a"].role.as_deref(), Some("active"));
        assert_eq!(r.clusters["east-1"].role, None);
    }
}
