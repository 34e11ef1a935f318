//! `hubdr failover` and `hubdr unfence`: edit the site, re-render, commit, and explain.

use std::path::Path;

use crate::changes;
use crate::cli::SiteArgs;
use crate::failover;
use crate::gitrepo::OutputRepo;
use crate::render::MANAGED_PREFIXES;

use super::render::{commit_locked_as, git_error, lock_repository, parse_author};
use super::{load, load_and_render, plan_text, render_loaded, CommandError};
use crate::transition::Verb;

pub struct FailoverArgs<'a> {
    pub site: &'a SiteArgs,
    pub repo: &'a Path,
    pub to: &'a str,
    pub old_primary_unreachable: bool,
    pub markdown: bool,
    pub author: &'a str,
    pub status_branch: &'a str,
    /// Why to go ahead although the preflight failed.
    pub skip_preflight: Option<&'a str>,
    /// Where the full plan goes when the Markdown is too long for a pull request.
    pub plan_file: Option<&'a Path>,
    /// `--cluster` and `--changed-only`: what the printed plan shows (never what changes).
    pub filter: &'a crate::cli::ClusterFilter,
    pub output: crate::cli::OutputFormat,
}

pub fn run(
    args: &FailoverArgs<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(args.author)?;
    let lock = lock_repository(args.repo, "hubdr failover", err)?;
    let (before, previous) = load_and_render(args.site, err)?;
    // A misspelt --cluster is refused before anything changes.
    super::plan::filtered(&previous.index, Default::default(), args.filter)?;
    let plan = failover::plan(&before.site, args.to, args.old_primary_unreachable)
        .map_err(|e| bad(&e, "choose a passive hub (see spec.hubs)"))?;
    let (preflight, note) = preflight(args, &before.site, &plan)?;
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
    let committed = commit_locked_as(
        &after,
        &rendered,
        args.repo,
        false,
        (author.0.as_str(), author.1.as_str()),
        Verb::Sequenced("hubdr failover"),
        note.as_deref(),
        &lock,
    )?;
    let grouped = changes::by_cluster_rendered(&committed.changes, &rendered, &|p| {
        previous.tree.get(p).cloned()
    });
    let (index, grouped) = super::plan::filtered(&rendered.index, grouped, args.filter)?;
    if args.output == crate::cli::OutputFormat::Json {
        let result = super::failover_json::Result {
            failover: &plan,
            index: &index,
            grouped: &grouped,
            preflight: &preflight,
            skipped: args.skip_preflight.filter(|_| note.is_some()),
            commit: committed.commit.map(|c| c.to_string()),
            steps: &failover::steps(&after.site, &plan, false),
        };
        super::json::print(out, "FailoverResult", result.json());
        return Ok(());
    }
    let mut rest = preflight.table(args.markdown);
    if let Some(note) = &note {
        rest.push_str(&format!("{note}\n\n"));
    }
    rest.push_str(&failover::steps(&after.site, &plan, args.markdown));
    rest.push_str(&format!(
        "\n{} updated and the render committed in {}: commit both in a pull request; after the merge, follow it with `hubdr status --watch`.\n",
        args.site.site.display(),
        args.repo.display()
    ));
    let full = plan_text(
        &index,
        &grouped,
        &super::plan::grants(&after.site),
        args.markdown,
    );
    if !args.markdown || !super::plan_summary::too_long(full.len() + rest.len()) {
        let _ = write!(out, "{full}{rest}");
        return Ok(());
    }
    // Too long for a pull request description: the full list goes to a file beside it.
    let file = args.plan_file.map(Path::to_path_buf).unwrap_or_else(|| {
        args.site.site.with_file_name(format!(
            "failover-plan-g{}.md",
            after.site.spec.failover.generation
        ))
    });
    crate::fsutil::write_atomic(&file, format!("{full}{rest}").as_bytes()).map_err(|e| {
        CommandError::Failed(format!(
            "error: cannot write the full plan to {}: {e}; the failover is committed, write it again with `hubdr plan --markdown`",
            file.display()
        ))
    })?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let _ = write!(
        out,
        "{}",
        super::plan_summary::summary(&index, &grouped, &name, &rest)
    );
    Ok(())
}

/// The preflight of `plan` from the status branch: refuses when a check failed, unless
/// `--skip-preflight` gives a reason, which becomes a note for the commit and the plan.
fn preflight(
    args: &FailoverArgs<'_>,
    site: &crate::site::Site,
    plan: &failover::Failover,
) -> Result<(failover::preflight::Preflight, Option<String>), CommandError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let (statuses, unreadable) =
        match super::status::read_status_branch(args.repo, args.status_branch) {
            Ok(statuses) => (statuses, None),
            Err(e) => (Default::default(), Some(e)),
        };
    let mut preflight = failover::preflight::run(site, plan, &statuses, now);
    if let Some(e) = unreadable {
        preflight.checks.insert(
            0,
            failover::preflight::Check {
                name: "status-branch",
                hub: "-".into(),
                ok: false,
                detail: e,
            },
        );
    }
    let failed: Vec<String> = preflight
        .failed()
        .iter()
        .map(|c| format!("{} {}: {}", c.hub, c.name, c.detail))
        .collect();
    if failed.is_empty() {
        return Ok((preflight, None));
    }
    let Some(reason) = args.skip_preflight.filter(|r| !r.trim().is_empty()) else {
        return Err(CommandError::BadInput(format!(
            "{}error: the preflight of the failover to {} failed {} check(s), so nothing was changed:\n  {}\n  fix: fix what failed (see the table), or, if you know why it is safe, pass --skip-preflight \"<reason>\" (recorded in the commit and the plan)",
            preflight.table(false),
            plan.to,
            failed.len(),
            failed.join("\n  ")
        )));
    };
    let note = format!(
        "Preflight skipped: {}\nFailed checks:\n- {}",
        reason.trim(),
        failed.join("\n- ")
    );
    Ok((preflight, Some(note)))
}

/// `hubdr failover --retry`: a new activation attempt, once the status branch shows the
/// current one failed.
pub fn retry(
    args: &FailoverArgs<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(args.author)?;
    let lock = lock_repository(args.repo, "hubdr failover --retry", err)?;
    let (before, previous) = load_and_render(args.site, err)?;
    let retry = failover::retry::plan(&before.site).map_err(|e| {
        bad(
            &e,
            "start a failover with `hubdr failover --to HUB` instead",
        )
    })?;
    let statuses =
        super::status::read_status_branch(args.repo, args.status_branch).map_err(|e| {
            bad(
                &e,
                "fetch the status branch the agents report to, then retry",
            )
        })?;
    failover::retry::check_failed(
        &retry,
        &before.site.spec.backup_namespace,
        statuses.get(&retry.hub),
    )
    .map_err(|e| {
        bad(
            &format!("cannot start activation attempt {}: {e}", retry.attempt),
            "follow the takeover with `hubdr status`; retry only after the activation failed",
        )
    })?;
    ensure_no_drift(args.repo, &previous.tree)?;
    let text = failover::retry::apply(&before.text, &retry)
        .map_err(|e| bad(&e, "edit the site file by hand"))?;
    let after = SequencedEdit {
        site: args.site,
        repo: args.repo,
        author: (&author.0, &author.1),
        verb: "hubdr failover --retry",
        markdown: args.markdown,
        previous: &previous,
        lock: &lock,
    }
    .commit(&text, out, err)?;
    let ns = &after.site.spec.backup_namespace;
    let _ = writeln!(
        out,
        "{}Activation attempt {} at generation {}\n\n1. {}: Restore {ns}/{} is created (managed clusters, credentials and resources: latest); the failed attempt's Restore {ns}/{} is removed. Waits for: the old primary's fence report, as before.\n2. {}: the BackupSchedule waits for Restore {ns}/{} to finish.",
        if args.markdown { "## " } else { "" },
        retry.attempt,
        retry.generation,
        retry.hub,
        retry.restore,
        retry.failed_restore,
        retry.hub,
        retry.restore,
    );
    let _ = writeln!(
        out,
        "\n{} updated and the render committed in {}: commit both in a pull request; after the merge, follow it with `hubdr status --watch`.",
        args.site.site.display(),
        args.repo.display()
    );
    Ok(())
}

/// `hubdr failover --abort`: the way back before the activation finished, once the status
/// branch shows it has not restored anything.
pub fn abort(
    args: &FailoverArgs<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(args.author)?;
    let lock = lock_repository(args.repo, "hubdr failover --abort", err)?;
    let (before, previous) = load_and_render(args.site, err)?;
    let abort = failover::abort::plan(&before.site).map_err(|e| {
        bad(
            &e,
            "abort only a failover in progress; otherwise fail over again with `hubdr failover --to HUB`",
        )
    })?;
    let statuses =
        super::status::read_status_branch(args.repo, args.status_branch).map_err(|e| {
            bad(
                &e,
                "fetch the status branch the agents report to, then abort",
            )
        })?;
    failover::abort::check(
        &abort,
        &before.site.spec.backup_namespace,
        statuses.get(&abort.target),
    )
    .map_err(|e| {
        bad(
            &format!("cannot abort the failover to {}: {e}", abort.target),
            "see `hubdr status`",
        )
    })?;
    ensure_no_drift(args.repo, &previous.tree)?;
    let text = failover::abort::apply(&before.text, &before.site, &abort)
        .map_err(|e| bad(&e, "edit the site file by hand"))?;
    let after = SequencedEdit {
        site: args.site,
        repo: args.repo,
        author: (&author.0, &author.1),
        verb: "hubdr failover --abort",
        markdown: args.markdown,
        previous: &previous,
        lock: &lock,
    }
    .commit(&text, out, err)?;
    let _ = write!(
        out,
        "{}",
        failover::abort::steps(&after.site, &abort, args.markdown)
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
    SequencedEdit {
        site,
        repo,
        author: (&author.0, &author.1),
        verb: "hubdr unfence",
        markdown: false,
        previous: &previous,
        lock: &lock,
    }
    .commit(&text, out, err)?;
    let _ = writeln!(
        out,
        "{hub} is passive again: commit {} and the render in a pull request.",
        site.site.display()
    );
    Ok(())
}

/// The repository must hold exactly the render of the current site, committed.
pub(super) fn ensure_no_drift(
    repo_dir: &Path,
    tree: &crate::gitrepo::Tree,
) -> Result<(), CommandError> {
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

/// A sequenced edit of the site (`failover --retry`, `--abort`, `unfence`, `decommission`), its
/// checks passed and the render lock held: the site file rewritten, rendered, the render
/// committed under `verb`, and its plan printed.
pub(super) struct SequencedEdit<'a> {
    pub site: &'a SiteArgs,
    pub repo: &'a Path,
    pub author: (&'a str, &'a str),
    pub verb: &'static str,
    pub markdown: bool,
    /// The render of the site before the edit, which the plan compares with.
    pub previous: &'a crate::render::Rendered,
    pub lock: &'a crate::gitrepo::RenderLock,
}

impl SequencedEdit<'_> {
    /// Commit the site `text`; the edited site, loaded.
    pub fn commit(
        &self,
        text: &str,
        out: &mut dyn std::io::Write,
        err: &mut dyn std::io::Write,
    ) -> Result<crate::site::LoadedSite, CommandError> {
        let after = change_site(self.site, text, err)?;
        let rendered = render_loaded(self.site, &after)?;
        let committed = commit_locked_as(
            &after,
            &rendered,
            self.repo,
            false,
            self.author,
            Verb::Sequenced(self.verb),
            None,
            self.lock,
        )?;
        let grouped = changes::by_cluster_rendered(&committed.changes, &rendered, &|p| {
            self.previous.tree.get(p).cloned()
        });
        let grants = super::plan::grants(&after.site);
        let _ = write!(
            out,
            "{}",
            plan_text(&rendered.index, &grouped, &grants, self.markdown)
        );
        Ok(after)
    }
}

/// Validate the edited text, then replace the site file atomically.
pub(super) fn change_site(
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

pub(super) fn bad(message: &str, fix: &str) -> CommandError {
    CommandError::BadInput(format!("error: {message}\n  fix: {fix}"))
}
