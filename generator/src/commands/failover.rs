//! `hubdr failover` and `hubdr unfence`: edit the site, re-render, commit, and explain.

use std::path::Path;

use crate::cli::SiteArgs;
use crate::failover;

use super::render::{lock_repository, parse_author};
use super::site_edit::{bad, ensure_no_drift, fetch_then, GuardedEdit, SequencedEdit, Written};
use super::{load_and_render, plan_text, CommandError};

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
    let edit = SequencedEdit::new(
        args.site,
        args.repo,
        "hubdr failover",
        &author,
        &previous,
        &lock,
    );
    let Written {
        after,
        rendered,
        committed,
        grouped,
    } = edit.write(&text, note.as_deref(), err)?;
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
    rest.push_str(&pull_request_note(args));
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
    let retry_fix =
        "follow the takeover with `hubdr status`; retry only after the activation failed";
    let (retry, after) = guarded(args, "hubdr failover --retry").run(
        |site| failover::retry::plan(site).map_err(|e| bad(&e, RETRY_INSTEAD)),
        |e| bad(&e, &fetch_then("retry")),
        |retry, site, statuses| {
            let ns = &site.spec.backup_namespace;
            let refused =
                |e: String| format!("cannot start activation attempt {}: {e}", retry.attempt);
            failover::retry::check_failed(retry, ns, statuses.get(&retry.hub))
                .map_err(|e| bad(&refused(e), retry_fix))
        },
        |retry, text, _| failover::retry::apply(text, retry),
        out,
        err,
    )?;
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
    let _ = write!(out, "{}", pull_request_note(args));
    Ok(())
}

/// The fix when there is no activation to retry.
const RETRY_INSTEAD: &str = "start a failover with `hubdr failover --to HUB` instead";

/// The fix when there is no failover to abort.
const ABORT_INSTEAD: &str =
    "abort only a failover in progress; otherwise fail over again with `hubdr failover --to HUB`";

/// `hubdr failover --abort`: the way back before the activation finished, once the status
/// branch shows it has not restored anything.
pub fn abort(
    args: &FailoverArgs<'_>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let edit = guarded(args, "hubdr failover --abort");
    let (abort, after) = edit.run(
        |site| failover::abort::plan(site).map_err(|e| bad(&e, ABORT_INSTEAD)),
        |e| bad(&e, &fetch_then("abort")),
        |abort, site, statuses| {
            let target = statuses.get(&abort.target);
            failover::abort::check(abort, &site.spec.backup_namespace, target).map_err(|e| {
                let refused = format!("cannot abort the failover to {}: {e}", abort.target);
                bad(&refused, "see `hubdr status`")
            })
        },
        |abort, text, site| failover::abort::apply(text, site, abort),
        out,
        err,
    )?;
    let steps = failover::abort::steps(&after.site, &abort, args.markdown);
    let _ = write!(out, "{steps}{}", pull_request_note(args));
    Ok(())
}

/// The steps of `failover --retry` and `--abort` for `args`.
fn guarded<'a>(args: &'a FailoverArgs<'_>, verb: &'static str) -> GuardedEdit<'a> {
    GuardedEdit {
        site: args.site,
        repo: args.repo,
        author: args.author,
        status_branch: args.status_branch,
        verb,
        markdown: args.markdown,
    }
}

/// The last line of `hubdr failover` (also `--retry` and `--abort`): what to do with the
/// commit.
fn pull_request_note(args: &FailoverArgs<'_>) -> String {
    format!(
        "\n{} updated and the render committed in {}: commit both in a pull request; after the merge, follow it with `hubdr status --watch`.\n",
        args.site.site.display(),
        args.repo.display()
    )
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
    SequencedEdit::new(site, repo, "hubdr unfence", &author, &previous, &lock)
        .commit(&text, false, out, err)?;
    let _ = writeln!(
        out,
        "{hub} is passive again: commit {} and the render in a pull request.",
        site.site.display()
    );
    Ok(())
}
