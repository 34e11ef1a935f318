//! Sequenced edits of the site file (`hubdr failover` and its `--retry` and `--abort`, `hubdr
//! unfence`, `hubdr decommission`): the repository checked for render drift, the site file
//! rewritten, rendered, and the render committed under the command's name
//! ([`SequencedEdit`]); with [`GuardedEdit`], all the steps of the edits the status branch
//! must allow first.

use std::collections::BTreeMap;
use std::path::Path;

use crate::changes::{self, ByCluster};
use crate::cli::SiteArgs;
use crate::gitrepo::{OutputRepo, RenderLock};
use crate::render::{Rendered, MANAGED_PREFIXES};
use crate::site::{LoadedSite, Site};
use crate::status::ClusterStatus;
use crate::transition::Verb;

use super::render::{commit_locked_as, git_error, lock_repository, parse_author, Committed};
use super::{load, load_and_render, plan_text, render_loaded, CommandError};

/// The signed statuses of the status branch, by cluster.
pub(super) type Statuses = BTreeMap<String, ClusterStatus>;

/// An edit of the site that the status branch must allow (`failover --retry`, `--abort`,
/// `decommission`), run by [`GuardedEdit::run`] in the same steps each time: the author
/// parsed, the render lock taken under `verb`, the site loaded and rendered, the edit
/// planned, the status branch read and the plan checked against it, the repository checked
/// for render drift, the site text edited, then committed as a [`SequencedEdit`].
pub(super) struct GuardedEdit<'a> {
    pub site: &'a SiteArgs,
    pub repo: &'a Path,
    /// `Name <email>`, as `--author` gives it.
    pub author: &'a str,
    pub status_branch: &'a str,
    pub verb: &'static str,
    pub markdown: bool,
}

impl GuardedEdit<'_> {
    /// The edit: `plan` from the site as it is (refused: why), `unreadable` the error when the
    /// status branch cannot be read, `check` whether the status branch allows the plan,
    /// `apply` the edited site text. The plan and the edited site, loaded.
    pub fn run<P>(
        &self,
        plan: impl FnOnce(&Site) -> Result<P, CommandError>,
        unreadable: impl FnOnce(String) -> CommandError,
        check: impl FnOnce(&P, &Site, &Statuses) -> Result<(), CommandError>,
        apply: impl FnOnce(&P, &str, &Site) -> Result<String, String>,
        out: &mut dyn std::io::Write,
        err: &mut dyn std::io::Write,
    ) -> Result<(P, LoadedSite), CommandError> {
        let author = parse_author(self.author)?;
        let lock = lock_repository(self.repo, self.verb, err)?;
        let (before, previous) = load_and_render(self.site, err)?;
        let planned = plan(&before.site)?;
        let statuses =
            super::status::read_status_branch(self.repo, self.status_branch).map_err(unreadable)?;
        check(&planned, &before.site, &statuses)?;
        ensure_no_drift(self.repo, &previous.tree)?;
        let text = apply(&planned, &before.text, &before.site)
            .map_err(|e| bad(&e, "edit the site file by hand"))?;
        let edit = SequencedEdit::new(self.site, self.repo, self.verb, &author, &previous, &lock);
        let after = edit.commit(&text, self.markdown, out, err)?;
        Ok((planned, after))
    }
}

/// The fix for a status branch that cannot be read: fetch it, then run `again`.
pub(super) fn fetch_then(again: &str) -> String {
    format!("fetch the status branch the agents report to, then {again}")
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

/// A sequenced edit of the site (`failover`, `--retry`, `--abort`, `unfence`, `decommission`),
/// its checks passed and the render lock held: the site file rewritten, rendered, and the
/// render committed under `verb`.
pub(super) struct SequencedEdit<'a> {
    site: &'a SiteArgs,
    repo: &'a Path,
    verb: &'static str,
    author: (&'a str, &'a str),
    /// The render of the site before the edit, which the changes compare with.
    previous: &'a Rendered,
    lock: &'a RenderLock,
}

/// A sequenced edit written: the edited site, its render and commit, and the changes by
/// cluster.
pub(super) struct Written {
    pub after: LoadedSite,
    pub rendered: Rendered,
    pub committed: Committed,
    pub grouped: ByCluster,
}

impl<'a> SequencedEdit<'a> {
    /// The edit of `site` committed to `repo` under `verb` by `author` (name, email).
    pub fn new(
        site: &'a SiteArgs,
        repo: &'a Path,
        verb: &'static str,
        author: &'a (String, String),
        previous: &'a Rendered,
        lock: &'a RenderLock,
    ) -> Self {
        SequencedEdit {
            site,
            repo,
            verb,
            author: (&author.0, &author.1),
            previous,
            lock,
        }
    }

    /// Write the site `text`, render it and commit the render, with `note` in the commit
    /// message.
    pub fn write(
        &self,
        text: &str,
        note: Option<&str>,
        err: &mut dyn std::io::Write,
    ) -> Result<Written, CommandError> {
        let after = change_site(self.site, text, err)?;
        let rendered = render_loaded(self.site, &after)?;
        let committed = commit_locked_as(
            &after,
            &rendered,
            self.repo,
            false,
            self.author,
            Verb::Sequenced(self.verb),
            note,
            self.lock,
        )?;
        let grouped = changes::by_cluster_rendered(&committed.changes, &rendered, &|p| {
            self.previous.tree.get(p).cloned()
        });
        Ok(Written {
            after,
            rendered,
            committed,
            grouped,
        })
    }

    /// [`SequencedEdit::write`] the site `text`, then print the plan of the commit (Markdown
    /// when asked); the edited site, loaded.
    pub fn commit(
        &self,
        text: &str,
        markdown: bool,
        out: &mut dyn std::io::Write,
        err: &mut dyn std::io::Write,
    ) -> Result<LoadedSite, CommandError> {
        let written = self.write(text, None, err)?;
        let grants = super::plan::grants(&written.after.site);
        let _ = write!(
            out,
            "{}",
            plan_text(&written.rendered.index, &written.grouped, &grants, markdown)
        );
        Ok(written.after)
    }
}

/// Validate the edited text, then replace the site file atomically.
pub(super) fn change_site(
    site: &SiteArgs,
    text: &str,
    err: &mut dyn std::io::Write,
) -> Result<LoadedSite, CommandError> {
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
