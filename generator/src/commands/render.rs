use std::path::Path;

use crate::changes;
use crate::cli::SiteArgs;
use crate::gitrepo::{FileChange, GitRepoError, OutputRepo};
use crate::render::MANAGED_PREFIXES;

use super::{load_and_render, CommandError};

pub fn run(
    args: &SiteArgs,
    repo_dir: &Path,
    force: bool,
    author: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(author)?;
    let (loaded, rendered) = load_and_render(args, err)?;
    let repo = OutputRepo::open_or_init(repo_dir).map_err(git_error)?;
    if !force {
        let edited = repo
            .uncommitted_changes(&MANAGED_PREFIXES)
            .map_err(git_error)?;
        if !edited.is_empty() {
            return Err(CommandError::BadInput(format!(
                "error: rendered files in {} have uncommitted changes:\n  {}\n  fix: commit or revert them (rendered files are overwritten; change the site file instead), or pass --force",
                repo_dir.display(),
                edited.join("\n  ")
            )));
        }
    }
    let diff = repo
        .diff(&rendered.tree, &MANAGED_PREFIXES)
        .map_err(git_error)?;
    if diff.is_empty() {
        let _ = writeln!(out, "{}: up to date, nothing to commit", repo_dir.display());
        return Ok(());
    }
    let removed: Vec<&str> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            FileChange::Removed(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let old = if removed.is_empty() {
        Default::default()
    } else {
        repo.head_files(&removed).map_err(git_error)?
    };
    let grouped = changes::by_cluster(&diff, &rendered.tree, &|p| old.get(p).cloned());
    let message = changes::commit_message(
        &loaded.site.metadata.name,
        loaded.site.spec.failover.generation,
        &grouped,
    );
    let commit = repo
        .commit(
            &rendered.tree,
            &diff,
            &message,
            (author.0.as_str(), author.1.as_str()),
        )
        .map_err(git_error)?;
    let commit = commit
        .map(|c| c.to_string()[..12].to_string())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: committed {commit}: {} file(s) changed",
        repo_dir.display(),
        diff.len()
    );
    let _ = write!(
        out,
        "{}",
        message
            .split_once('\n')
            .map(|(_, rest)| rest.trim_start_matches('\n'))
            .unwrap_or("")
    );
    Ok(())
}

fn parse_author(text: &str) -> Result<(String, String), CommandError> {
    let bad = || {
        CommandError::BadInput(format!("error: --author {text:?} is not \"Name <email>\"\n  fix: write it like \"Platform Team <platform@example.com>\""))
    };
    let (name, rest) = text.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    if name.trim().is_empty() || email.trim().is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), email.trim().to_string()))
}

pub(super) fn git_error(e: GitRepoError) -> CommandError {
    match e {
        GitRepoError::NotARepository { .. } | GitRepoError::NotADirectory { .. } => {
            CommandError::BadInput(format!("error: {e}"))
        }
        other => {
            let mut text = format!("error: {other}");
            let mut source = std::error::Error::source(&other);
            while let Some(s) = source {
                text.push_str(&format!("\n  caused by: {s}"));
                source = s.source();
            }
            CommandError::Failed(text)
        }
    }
}
