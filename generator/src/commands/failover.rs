//! `hubdr failover` and `hubdr unfence`: edit the site, re-render, commit, and explain.

use std::path::Path;

use crate::changes;
use crate::cli::SiteArgs;
use crate::failover;
use crate::gitrepo::OutputRepo;
use crate::render::MANAGED_PREFIXES;

use super::render::{commit_locked, git_error, lock_repository, parse_author};
use super::{load, load_and_render, plan_text, render_loaded, CommandError};

pub struct FailoverArgs<'a> {
    pub site: &'a SiteArgs,
    pub repo: &'a Path,
    pub to: &'a str,
    pub old_primary_unreachable: bool,
    pub markdown: bool,
    pub author: &'a str,
}

pub fn run(
    args: &FailoverArgs<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(args.author)?;
    let lock = lock_repository(args.repo, "hubdr failover", err)?;
    let (before, previous) = load_and_render(args.site, err)?;
    let plan = failover::plan(&before.site, args.to, args.old_primary_unreachable)
        .map_err(|e| bad(&e, "choose a passive hub (see spec.hubs)"))?;
    ensure_no_drift(args.repo, &previous.tree)?;
    super::render::warn_review_branch(
        args.repo,
        &before.site.spec.git.branch,
        "hubdr failover",
        err,
    );
    let text = failover::apply(&before.text, &before.site, &plan)
        .map_err(|e| bad(&e, "edit the site file by hand"))?;
    let after = change_site(args.site, &text, err)?;
    let rendered = render_loaded(args.site, &after)?;
    let committed = commit_locked(
        &after,
        &rendered,
        args.repo,
        false,
        (author.0.as_str(), author.1.as_str()),
        &lock,
    )?;
    let grouped = changes::by_cluster_rendered(&committed.changes, &rendered, &|p| {
        previous.tree.get(p).cloned()
    });
    let _ = write!(
        out,
        "{}",
        plan_text(
            &rendered.index,
            &grouped,
            &super::plan::grants(&after.site),
            args.markdown
        )
    );
    let _ = write!(
        out,
        "{}",
        failover::steps(&after.site, &plan, args.markdown)
    );
    let _ = writeln!(
        out,
        "\n{} updated and the render committed in {}: commit both in a pull request; after the merge, follow it with `hubdr status --watch`.",
        args.site.site.display(),
        args.repo.display()
    );
    Ok(())
}

pub fn unfence(
    site: &SiteArgs,
    repo: &Path,
    hub: &str,
    yes: bool,
    author: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(author)?;
    let (before, previous) = load_and_render(site, err)?;
    let text = failover::unfence_site(&before.text, &before.site, hub)
        .map_err(|e| bad(&e, "name a hub whose role is fenced"))?;
    let _ = writeln!(err, "{}\n", failover::UNFENCE_CAUTIONS);
    if !yes {
        return Err(CommandError::BadInput(format!(
            "error: unfencing {hub} needs confirmation\n  fix: check the cautions above, then re-run with --yes"
        )));
    }
    let lock = lock_repository(repo, "hubdr unfence", err)?;
    ensure_no_drift(repo, &previous.tree)?;
    let after = change_site(site, &text, err)?;
    let rendered = render_loaded(site, &after)?;
    let committed = commit_locked(
        &after,
        &rendered,
        repo,
        false,
        (author.0.as_str(), author.1.as_str()),
        &lock,
    )?;
    let grouped = changes::by_cluster_rendered(&committed.changes, &rendered, &|p| {
        previous.tree.get(p).cloned()
    });
    let grants = super::plan::grants(&after.site);
    let _ = write!(
        out,
        "{}",
        plan_text(&rendered.index, &grouped, &grants, false)
    );
    let _ = writeln!(
        out,
        "{hub} is passive again: commit {} and the render in a pull request.",
        site.site.display()
    );
    Ok(())
}

/// The repository must hold exactly the render of the current site, committed.
fn ensure_no_drift(repo_dir: &Path, tree: &crate::gitrepo::Tree) -> Result<(), CommandError> {
    let repo = OutputRepo::open(repo_dir).map_err(|e| {
        CommandError::BadInput(format!(
            "error: {e}\n  fix: render the current site into {} first",
            repo_dir.display()
        ))
    })?;
    let edited = repo
        .uncommitted_changes(&MANAGED_PREFIXES)
        .map_err(git_error)?;
    let drift = repo.diff(tree, &MANAGED_PREFIXES).map_err(git_error)?;
    if !edited.is_empty() || !drift.is_empty() {
        let mut paths: Vec<String> = edited;
        paths.extend(drift.changes.iter().map(|c| c.to_string()));
        return Err(CommandError::BadInput(format!(
            "error: {} does not hold the committed render of the current site (render drift):\n  {}\n  fix: run `hubdr render` and merge that first, so the failover pull request shows only the failover",
            repo_dir.display(),
            paths.join("\n  ")
        )));
    }
    Ok(())
}

/// Validate the edited text, then replace the site file atomically.
fn change_site(
    site: &SiteArgs,
    text: &str,
    err: &mut dyn std::io::Write,
) -> Result<crate::site::LoadedSite, CommandError> {
    crate::site::load_str(text, &site.site).map_err(|e| {
        bad(
            &format!("the edited site does not validate: {e}"),
            "report a bug; the site file was not changed",
        )
    })?;
    crate::fsutil::write_atomic(&site.site, text.as_bytes()).map_err(|e| {
        CommandError::Failed(format!("error: cannot write {}: {e}", site.site.display()))
    })?;
    load(&site.site, err)
}

fn bad(message: &str, fix: &str) -> CommandError {
    CommandError::BadInput(format!("error: {message}\n  fix: {fix}"))
}
