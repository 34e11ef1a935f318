use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::changes::{self, Action, ByCluster};
use crate::cli::{ClusterFilter, OutputFormat, SiteArgs};
use crate::gitrepo::{OutputRepo, Tree};
use crate::index::RenderIndex;
use crate::prune_guard::{self, Counts, Hold, Limit};
use crate::render::access::{privilege_grants, SiteAccess};
use crate::render::{ObjectId, MANAGED_PREFIXES};
use crate::site::Site;

use super::render::git_error;
use super::{load_and_render, CommandError};

/// How `hubdr plan` prints.
pub struct PlanOptions<'a> {
    pub markdown: bool,
    pub filter: &'a ClusterFilter,
    pub output: OutputFormat,
}

/// Print the plan; `Ok(true)` when the render would change something (for `--exit-code`).
pub fn run(
    args: &SiteArgs,
    repo_dir: &Path,
    options: &PlanOptions<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<bool, CommandError> {
    let (loaded, rendered) = load_and_render(args, err)?;
    let old: Tree = if repo_dir.exists() {
        let repo = OutputRepo::open(repo_dir).map_err(git_error)?;
        warn_hand_edits(&repo, repo_dir, err)?;
        repo.head_files(&MANAGED_PREFIXES).map_err(git_error)?
    } else {
        Tree::new()
    };
    let diff = changes::diff_trees(&old, &rendered.tree);
    let changed = !diff.is_empty();
    let grouped = changes::by_cluster_rendered(&diff, &rendered, &|p| old.get(p).cloned());
    let grants = grants(&loaded.site);
    let (index, grouped) = filtered(&rendered.index, grouped, options.filter)?;
    let held = guards(&index, &old, &rendered.tree);
    if options.output == OutputFormat::Json {
        super::json::print(
            out,
            "PlanResult",
            plan_json(&index, &grouped, &held, changed),
        );
        return Ok(changed);
    }
    let text = format!(
        "{}{}",
        plan_text(&index, &grouped, &grants, options.markdown),
        super::hcp::plan_notes(&loaded.site, options.markdown)
    );
    let guard = guard_text(&held, options.markdown);
    if options.markdown && super::plan_summary::too_long(text.len() + guard.len()) {
        let full = full_plan_path(&args.site);
        crate::fsutil::write_atomic(&full, format!("{text}{guard}").as_bytes()).map_err(|e| {
            CommandError::Failed(format!(
                "error: cannot write the full plan to {}: {e}",
                full.display()
            ))
        })?;
        let name = full.file_name().map_or_else(
            || full.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let _ = write!(
            out,
            "{}",
            super::plan_summary::summary(&index, &grouped, &name, &guard)
        );
        return Ok(changed);
    }
    let _ = write!(out, "{text}{guard}");
    Ok(changed)
}

/// Where `plan --markdown` writes the full plan when the description is a summary: beside the
/// site file (`site.yaml` -> `site.plan.md`), in the change that the pull request reviews.
fn full_plan_path(site: &Path) -> std::path::PathBuf {
    let stem = site
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "-")
        .unwrap_or_else(|| "site".into());
    site.with_file_name(format!("{stem}.plan.md"))
}

/// Uncommitted changes under the managed paths make the next `hubdr render` refuse: say so.
fn warn_hand_edits(
    repo: &OutputRepo,
    repo_dir: &Path,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let edited = repo
        .uncommitted_changes(&MANAGED_PREFIXES)
        .map_err(git_error)?;
    if !edited.is_empty() {
        let _ = writeln!(
            err,
            "warning: {} has {} uncommitted change(s) under the rendered paths; the next `hubdr render` refuses until they are committed or reverted (or --force):\n  {}\n  (the plan compares with the last commit)\n",
            repo_dir.display(),
            edited.len(),
            edited.join("\n  ")
        );
    }
    Ok(())
}

/// The index and changes restricted to `--cluster` and `--changed-only`.
pub(super) fn filtered(
    index: &RenderIndex,
    mut grouped: ByCluster,
    filter: &ClusterFilter,
) -> Result<(RenderIndex, ByCluster), CommandError> {
    if let Some(unknown) = filter
        .clusters
        .iter()
        .find(|c| !index.clusters.contains_key(*c))
    {
        return Err(CommandError::BadInput(format!(
            "error: --cluster {unknown}: the site has no such cluster\n  fix: name one of: {}",
            index
                .clusters
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if filter.clusters.is_empty() && !filter.changed_only {
        return Ok((index.clone(), grouped));
    }
    let has_objects = |grouped: &ByCluster, name: &str| {
        grouped
            .get(name)
            .is_some_and(|v| v.iter().any(|c| !c.what.ends_with(".yaml")))
    };
    let mut index = index.clone();
    index.clusters.retain(|name, _| {
        (filter.clusters.is_empty() || filter.clusters.contains(name))
            && (!filter.changed_only || has_objects(&grouped, name))
    });
    grouped.retain(|name, _| index.clusters.contains_key(name));
    Ok((index, grouped))
}

/// The `PlanResult` document (after `apiVersion` and `kind`).
pub(super) fn plan_json(
    index: &RenderIndex,
    grouped: &ByCluster,
    held: &[(String, Hold)],
    changed: bool,
) -> serde_json::Value {
    let action = |a: Action| match a {
        Action::Create => "create",
        Action::Change => "change",
        Action::Remove => "remove",
    };
    let clusters: Vec<serde_json::Value> = index
        .clusters
        .iter()
        .map(|(name, entry)| {
            let changes: Vec<serde_json::Value> = grouped
                .get(name)
                .map(|v| {
                    v.iter()
                        .filter(|c| !c.what.ends_with(".yaml"))
                        .map(|c| serde_json::json!({"action": action(c.action), "object": c.what}))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "name": name,
                "kind": entry.kind,
                "role": entry.role,
                "changes": changes,
                "prerequisites": entry.prerequisites,
            })
        })
        .collect();
    let count = |a: Action| {
        grouped
            .values()
            .flatten()
            .filter(|c| c.action == a && !c.what.ends_with(".yaml"))
            .count()
    };
    serde_json::json!({
        "site": index.site,
        "generation": index.generation,
        "changed": changed,
        "summary": {
            "create": count(Action::Create),
            "change": count(Action::Change),
            "remove": count(Action::Remove),
        },
        "clusters": clusters,
        "pruneGuard": held
            .iter()
            .map(|(cluster, hold)| serde_json::json!({"cluster": cluster, "reason": hold.to_string()}))
            .collect::<Vec<_>>(),
    })
}

/// Clusters whose agent would hold pruning (`hubdr::prune_guard`) after this render, compared
/// with HEAD. The plan cannot see the agents' inventories: it counts HEAD's objects as owned
/// and every removed object as deleted unless its kind is only ever released.
pub fn guards(index: &RenderIndex, old: &Tree, new: &Tree) -> Vec<(String, Hold)> {
    let objects = |tree: &Tree, cluster: &str| -> Vec<String> {
        let dir = format!("clusters/{cluster}/");
        tree.range(dir.clone()..)
            .take_while(|(p, _)| p.starts_with(&dir))
            .filter(|(p, _)| !p.ends_with("/kustomization.yaml"))
            .map(|(p, _)| p.clone())
            .collect()
    };
    let mut held = Vec::new();
    for cluster in index.clusters.keys() {
        let owned = objects(old, cluster);
        let removed: Vec<&String> = owned.iter().filter(|p| !new.contains_key(*p)).collect();
        let deletes = removed
            .iter()
            .filter(|p| {
                let id = serde_yaml::from_slice::<serde_json::Value>(&old[p.as_str()])
                    .ok()
                    .and_then(|v| ObjectId::of(&v).ok());
                !id.is_some_and(|id| prune_guard::release_only(&id.api_version, &id.kind))
            })
            .count();
        let counts = Counts {
            owned: owned.len(),
            desired: objects(new, cluster).len(),
            stale: removed.len(),
            deletes,
        };
        if let Some(hold) = prune_guard::check(counts, Limit::default()) {
            held.push((cluster.clone(), hold));
        }
    }
    held
}

fn guard_text(held: &[(String, Hold)], markdown: bool) -> String {
    let mut text = String::new();
    if held.is_empty() {
        return text;
    }
    let head = "Prune guard: these agents will hold pruning (status reason PruneGuard)";
    if markdown {
        let _ = writeln!(text, "### {head}\n");
    } else {
        let _ = writeln!(text, "{head}:");
    }
    for (cluster, hold) in held {
        if markdown {
            let _ = writeln!(text, "- **{cluster}**: {hold}");
        } else {
            let _ = writeln!(text, "  {cluster}: {hold}");
        }
    }
    let _ = writeln!(text);
    text
}

/// Per cluster, what `spec.agent.extraKinds` grants its agent beyond hubdr's own kinds.
pub fn grants(site: &Site) -> BTreeMap<String, Vec<String>> {
    privilege_grants(&SiteAccess::of(site))
}

/// The plan as text or Markdown: per cluster the object changes, the privilege grants of
/// `spec.agent.extraKinds` (`grants`, see [`grants`]) and the prerequisites.
pub fn plan_text(
    index: &RenderIndex,
    grouped: &ByCluster,
    grants: &BTreeMap<String, Vec<String>>,
    markdown: bool,
) -> String {
    let mut text = String::new();
    let count = |a: Action| {
        grouped
            .iter()
            .filter(|(c, _)| *c != "repository")
            .flat_map(|(_, v)| v)
            // Objects only, as listed below (kustomization.yaml files are not objects).
            .filter(|c| c.action == a && !c.what.ends_with(".yaml"))
            .count()
    };
    let (create, change, remove) = (
        count(Action::Create),
        count(Action::Change),
        count(Action::Remove),
    );
    let head = format!(
        "Plan for site {} (generation {})",
        index.site, index.generation
    );
    let summary = format!("{create} to create, {change} to change, {remove} to remove");
    if markdown {
        let _ = writeln!(text, "## {head}\n\n{summary}\n");
    } else {
        let _ = writeln!(text, "{head}: {summary}\n");
    }
    for (name, entry) in &index.clusters {
        let role = entry
            .role
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default();
        if markdown {
            let _ = writeln!(text, "### {name} ({}{role})\n", entry.kind);
        } else {
            let _ = writeln!(text, "{name} ({}{role})", entry.kind);
        }
        let objects: Vec<_> = grouped
            .get(name)
            .map(|v| v.iter().filter(|c| !c.what.ends_with(".yaml")).collect())
            .unwrap_or_default();
        if objects.is_empty() {
            let _ = writeln!(
                text,
                "{}",
                if markdown {
                    "_no changes_"
                } else {
                    "  no changes"
                }
            );
        }
        for c in objects {
            if markdown {
                let _ = writeln!(text, "- `{}` {}", c.action.symbol(), c.what);
            } else {
                let _ = writeln!(text, "  {} {}", c.action.symbol(), c.what);
            }
        }
        if let Some(lines) = grants.get(name) {
            let _ = writeln!(
                text,
                "{}privilege grant (spec.agent.extraKinds; RBAC and --allow-kind in agents/{name}.yaml):",
                if markdown { "\n" } else { "  " }
            );
            for line in lines {
                if markdown {
                    let _ = writeln!(text, "- {line}");
                } else {
                    let _ = writeln!(text, "    {line}");
                }
            }
        }
        if !entry.prerequisites.is_empty() {
            let _ = writeln!(
                text,
                "{}prerequisites (must exist in the cluster; hubdr never renders them):",
                if markdown { "\n" } else { "  " }
            );
            for p in &entry.prerequisites {
                let line = p.line();
                if markdown {
                    let _ = writeln!(text, "- {line}");
                } else {
                    let _ = writeln!(text, "    {line}");
                }
            }
        }
        let _ = writeln!(text);
    }
    text
}
