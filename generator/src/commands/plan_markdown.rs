//! `plan --markdown` at fleet size: a pull-request description holds 65,536 characters, the
//! full plan of 2,000 clusters is ten times that. Above [`LIMIT`] the description is a summary
//! (changes per cluster group and kind, the preflight: prerequisites and prune guard) and the
//! full plan goes to a file beside the site file. Pure, but for writing that file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::changes::{Action, ByCluster};
use crate::index::RenderIndex;

/// GitHub's limit for a pull request description, less room for what people add.
pub const LIMIT: usize = 60_000;

/// The group a cluster belongs to in the summary: hubs by role, managed clusters together.
fn group(index: &RenderIndex, cluster: &str) -> String {
    match index.clusters.get(cluster) {
        Some(e) if e.kind == "hub" => format!("{} hubs", e.role.as_deref().unwrap_or("other")),
        Some(_) => "managed clusters".into(),
        None => "repository".into(),
    }
}

/// The Markdown summary; `full` names the file with the full plan.
pub fn summary(index: &RenderIndex, grouped: &ByCluster, guard: &str, full: &str) -> String {
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
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## Plan for site {} (generation {}): summary\n\nThe full plan (every object of every cluster) is too long for a pull request description: it is in `{full}`.\n",
        index.site, index.generation
    );
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
    // Preflight: what must exist in the clusters, once per kind/name with how many need it.
    let mut needed: BTreeMap<String, usize> = BTreeMap::new();
    for entry in index.clusters.values() {
        for p in &entry.prerequisites {
            *needed.entry(p.line()).or_default() += 1;
        }
    }
    let _ = writeln!(
        text,
        "\n### Preflight: prerequisites (must exist in the clusters; hubdr never renders them)\n"
    );
    for (shown, (line, n)) in needed.iter().enumerate() {
        if text.len() > LIMIT - 4_000 {
            let _ = writeln!(text, "- ... {} more, see `{full}`", needed.len() - shown);
            break;
        }
        let _ = writeln!(text, "- {line} (in {n} cluster(s))");
    }
    if !guard.is_empty() {
        let _ = writeln!(text);
        if text.len() + guard.len() < LIMIT {
            text.push_str(guard);
        } else {
            let _ = writeln!(
                text,
                "### Prune guard\n\n{} agent(s) will hold pruning: see `{full}`.",
                guard.lines().filter(|l| l.starts_with("- ")).count()
            );
        }
    }
    text
}
