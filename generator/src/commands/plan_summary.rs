//! A plan short enough for a pull request description: GitHub takes at most 65,536 characters,
//! and a fleet's full plan (thousands of managed clusters, an add-on per cluster on each hub)
//! is far longer. Every hub is listed (a few objects each, then how many more), managed
//! clusters as counts and the first of those that change; the full per-object list goes to a
//! file beside it. Pure.

use std::fmt::Write as _;

use crate::changes::{Action, ByCluster};
use crate::index::RenderIndex;

/// What GitHub accepts in a pull request description.
pub const PR_DESCRIPTION_LIMIT: usize = 65_536;
/// Objects listed per cluster before "and N more".
const OBJECTS_SHOWN: usize = 20;
/// Managed clusters listed by name.
const CLUSTERS_SHOWN: usize = 50;

/// The plan in Markdown, summarised, pointing at `full` (where the whole plan is).
pub fn summary(index: &RenderIndex, grouped: &ByCluster, full: &str) -> String {
    let objects = |name: &str| -> Vec<&crate::changes::ObjectChange> {
        grouped
            .get(name)
            .map(|v| v.iter().filter(|c| !c.what.ends_with(".yaml")).collect())
            .unwrap_or_default()
    };
    let count = |a: Action| {
        index
            .clusters
            .keys()
            .flat_map(|n| objects(n))
            .filter(|c| c.action == a)
            .count()
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## Plan for site {} (generation {})\n\n{} to create, {} to change, {} to remove; {} clusters. The full per-object list (and every prerequisite) is in `{full}`.\n",
        index.site,
        index.generation,
        count(Action::Create),
        count(Action::Change),
        count(Action::Remove),
        index.clusters.len()
    );
    let (hubs, managed): (Vec<_>, Vec<_>) =
        index.clusters.iter().partition(|(_, e)| e.kind == "hub");
    for (name, entry) in hubs {
        let role = entry.role.as_deref().unwrap_or("hub");
        let list = objects(name);
        let _ = writeln!(text, "### {name} (hub, {role})\n");
        if list.is_empty() {
            text.push_str("_no changes_\n");
        }
        for c in list.iter().take(OBJECTS_SHOWN) {
            let _ = writeln!(text, "- `{}` {}", c.action.symbol(), c.what);
        }
        if list.len() > OBJECTS_SHOWN {
            let tally = tally(&list[OBJECTS_SHOWN..]);
            let _ = writeln!(
                text,
                "- … and {} more ({tally})",
                list.len() - OBJECTS_SHOWN
            );
        }
        text.push('\n');
    }
    let changed: Vec<(&String, usize)> = managed
        .iter()
        .map(|(n, _)| (*n, objects(n).len()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let _ = writeln!(
        text,
        "### Managed clusters\n\n{} managed clusters: {} unchanged, {} with changes{}\n",
        managed.len(),
        managed.len() - changed.len(),
        changed.len(),
        if changed.is_empty() { "." } else { ":" }
    );
    for (name, n) in changed.iter().take(CLUSTERS_SHOWN) {
        let _ = writeln!(text, "- {name}: {n} object(s)");
    }
    if changed.len() > CLUSTERS_SHOWN {
        let _ = writeln!(text, "- … and {} more", changed.len() - CLUSTERS_SHOWN);
    }
    text.push('\n');
    text
}

fn tally(changes: &[&crate::changes::ObjectChange]) -> String {
    [Action::Create, Action::Change, Action::Remove]
        .iter()
        .map(|a| (a, changes.iter().filter(|c| c.action == *a).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(a, n)| format!("{n} `{}`", a.symbol()))
        .collect::<Vec<_>>()
        .join(", ")
}
