//! A plan short enough for a pull request description, for `plan --markdown` and
//! `failover --markdown`: GitHub takes at most 65,536 characters, and a fleet's full plan
//! (thousands of managed clusters, an add-on per cluster on each hub) is ten times that. Above
//! [`LIMIT`] the description is this summary and the full plan goes to a file beside the site
//! file (the caller writes it). The summary holds:
//!
//! - the totals, and where the full plan is;
//! - the changes per cluster group and kind (hubs by role, managed clusters together);
//! - every hub with its first objects, then how many more;
//! - the managed clusters as counts, and the first of those that change;
//! - the prerequisites (the preflight of the render: once per object, with how many clusters
//!   need it), as many as fit;
//! - the caller's tail, whole when it fits: the prune guard of `plan`, the preflight and the
//!   ordered steps of `failover`.
//!
//! Pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::changes::{Action, ByCluster, ObjectChange};
use crate::index::RenderIndex;

/// Above this many characters a Markdown plan is summarised: GitHub's limit for a pull request
/// description (65,536), less room for what people add to it.
pub const LIMIT: usize = 60_000;
/// Objects listed per hub before "and N more".
const OBJECTS_SHOWN: usize = 20;
/// Managed clusters listed by name.
const CLUSTERS_SHOWN: usize = 50;

/// Whether a Markdown plan of `len` characters needs the summary.
pub fn too_long(len: usize) -> bool {
    len > LIMIT
}

/// The Markdown summary of the plan, then `tail`; `full` names the file with the full plan.
pub fn summary(index: &RenderIndex, grouped: &ByCluster, full: &str, tail: &str) -> String {
    let objects = |name: &str| -> Vec<&ObjectChange> {
        grouped
            .get(name)
            .map(|v| v.iter().filter(|c| !c.what.ends_with(".yaml")).collect())
            .unwrap_or_default()
    };
    let all: Vec<&ObjectChange> = grouped
        .keys()
        .filter(|n| index.clusters.contains_key(*n))
        .flat_map(|n| objects(n))
        .collect();
    let count = |a: Action| all.iter().filter(|c| c.action == a).count();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## Plan for site {} (generation {}): summary\n\n{} to create, {} to change, {} to remove; {} clusters; too long for a pull request description. The full per-object list (and every prerequisite) is in `{full}`.\n",
        index.site,
        index.generation,
        count(Action::Create),
        count(Action::Change),
        count(Action::Remove),
        index.clusters.len()
    );
    groups(&mut text, index, grouped);
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
    let tail = shortened(tail, full);
    prerequisites(&mut text, index, full, LIMIT.saturating_sub(tail.len()));
    text.push_str(&tail);
    text
}

/// The table of changes per cluster group and kind.
fn groups(text: &mut String, index: &RenderIndex, grouped: &ByCluster) {
    // group -> kind -> [create, change, remove], and the clusters per group.
    let mut counts: BTreeMap<String, BTreeMap<String, [usize; 3]>> = BTreeMap::new();
    let mut members: BTreeMap<String, usize> = BTreeMap::new();
    let mut changed: BTreeMap<String, usize> = BTreeMap::new();
    for name in index.clusters.keys() {
        *members.entry(group(index, name)).or_default() += 1;
    }
    for (cluster, list) in grouped {
        let g = group(index, cluster);
        let mut any = false;
        for c in list.iter().filter(|c| !c.what.ends_with(".yaml")) {
            let kind = c.what.split_whitespace().next().unwrap_or("?").to_string();
            let slot = match c.action {
                Action::Create => 0,
                Action::Change => 1,
                Action::Remove => 2,
            };
            counts
                .entry(g.clone())
                .or_default()
                .entry(kind)
                .or_default()[slot] += 1;
            any = true;
        }
        if any {
            *changed.entry(g).or_default() += 1;
        }
    }
    let _ = writeln!(text, "### Changes per cluster group and kind\n");
    let _ = writeln!(
        text,
        "| group | clusters changed | kind | create | change | remove |\n|---|---|---|---|---|---|"
    );
    for (g, kinds) in &counts {
        for (kind, [c, ch, r]) in kinds {
            let _ = writeln!(
                text,
                "| {g} | {} of {} | {kind} | {c} | {ch} | {r} |",
                changed.get(g).copied().unwrap_or(0),
                members.get(g).copied().unwrap_or(0)
            );
        }
    }
    if counts.is_empty() {
        let _ = writeln!(text, "| - | 0 | - | 0 | 0 | 0 |");
    }
    text.push('\n');
}

/// The group a cluster belongs to in the summary: hubs by role, managed clusters together.
fn group(index: &RenderIndex, cluster: &str) -> String {
    match index.clusters.get(cluster) {
        Some(e) if e.kind == "hub" => format!("{} hubs", e.role.as_deref().unwrap_or("other")),
        Some(_) => "managed clusters".into(),
        None => "repository".into(),
    }
}

/// What must exist in the clusters, once per kind/name with how many clusters need it, while
/// `text` stays under `budget` characters.
fn prerequisites(text: &mut String, index: &RenderIndex, full: &str, budget: usize) {
    let mut needed: BTreeMap<String, usize> = BTreeMap::new();
    for entry in index.clusters.values() {
        for p in &entry.prerequisites {
            *needed.entry(p.line()).or_default() += 1;
        }
    }
    if needed.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "### Prerequisites (must exist in the clusters; hubdr never renders them)\n"
    );
    // Room for the line saying how many more.
    let budget = budget.saturating_sub(200);
    for (shown, (line, n)) in needed.iter().enumerate() {
        let line = format!("- {line} (in {n} cluster(s))\n");
        if text.len() + line.len() > budget {
            let _ = writeln!(text, "- … {} more, see `{full}`", needed.len() - shown);
            break;
        }
        text.push_str(&line);
    }
    text.push('\n');
}

/// `tail` whole when it takes at most half the description; otherwise its first lines, then
/// where the rest is.
fn shortened(tail: &str, full: &str) -> String {
    if tail.len() <= LIMIT / 2 {
        return tail.to_string();
    }
    let mut out = String::new();
    let mut lines = tail.lines();
    for line in lines.by_ref() {
        if out.len() + line.len() + 1 > LIMIT / 2 {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    let more = lines.count() + 1;
    let _ = writeln!(out, "- … {more} more line(s), see `{full}`");
    out
}

fn tally(changes: &[&ObjectChange]) -> String {
    [Action::Create, Action::Change, Action::Remove]
        .iter()
        .map(|a| (a, changes.iter().filter(|c| c.action == *a).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(a, n)| format!("{n} `{}`", a.symbol()))
        .collect::<Vec<_>>()
        .join(", ")
}
