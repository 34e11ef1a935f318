use std::path::Path;
use std::time::{Duration, Instant};

use git2::Oid;

use crate::changes;
use crate::cli::SiteArgs;
use crate::gitrepo::{lock, Changes, FileChange, GitRepoError, OutputRepo, RenderLock};
use crate::index::INDEX_PATH;
use crate::render::{Rendered, MANAGED_PREFIXES};
use crate::site::LoadedSite;
use crate::stamp::{self, Stamp};
use crate::transition::{self, Roles, Verb};

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
    let created = !repo_dir.join(".git").exists();
    let outcome = render_to_repo(
        args,
        repo_dir,
        force,
        (author.0.as_str(), author.1.as_str()),
        err,
    )?;
    // Skipped by the render stamp, or rendered with nothing to commit.
    if let Some(c) = &outcome.committed {
        report_forced(c, err);
    }
    let Some((committed, commit)) = outcome
        .committed
        .and_then(|c| c.commit.map(|commit| (c, commit)))
    else {
        let _ = writeln!(out, "{}: up to date, nothing to commit", repo_dir.display());
        return Ok(());
    };
    let _ = writeln!(
        out,
        "{}: committed {}: {} file(s) changed",
        repo_dir.display(),
        &commit.to_string()[..12],
        committed.changes.len()
    );
    let _ = write!(
        out,
        "{}",
        committed
            .message
            .split_once('\n')
            .map(|(_, rest)| rest.trim_start_matches('\n'))
            .unwrap_or("")
    );
    if created {
        site_note(&args.site, repo_dir, out);
    }
    Ok(())
}

/// Before a command commits a change that should be reviewed (`failover`): warn when the
/// repository's current branch is `site_branch`, the branch the agents pull, because the change
/// then takes effect as soon as it is pushed, without a pull request.
pub fn warn_review_branch(
    repo_dir: &Path,
    site_branch: &str,
    what: &str,
    err: &mut dyn std::io::Write,
) {
    let Ok(repo) = git2::Repository::open(repo_dir) else {
        return;
    };
    let current = repo
        .head()
        .ok()
        .and_then(|h| h.shorthand().map(str::to_string))
        .or_else(|| {
            // An unborn branch: HEAD names it all the same.
            repo.find_reference("HEAD").ok().and_then(|h| {
                h.symbolic_target()
                    .map(|t| t.trim_start_matches("refs/heads/").to_string())
            })
        });
    if current.as_deref() == Some(site_branch) {
        let _ = writeln!(
            err,
            "warning: {what} commits onto {site_branch} in {}, the branch the agents pull (spec.git.branch): pushed as it is, it takes effect without review\n  to review it in a pull request, first create a branch (`git -C {} switch -c {}`), then push that branch and open the pull request against {site_branch}\n",
            repo_dir.display(),
            repo_dir.display(),
            what.replace(' ', "-").trim_start_matches("hubdr-"),
        );
    }
}

/// The render commits the rendered files only: when it creates the repository, say where the
/// site file stands.
fn site_note(site: &Path, repo_dir: &Path, out: &mut dyn std::io::Write) {
    let inside = match (site.canonicalize(), repo_dir.canonicalize()) {
        (Ok(site), Ok(repo)) => site.starts_with(repo),
        _ => false,
    };
    if !inside {
        let _ = writeln!(
            out,
            "\nnote: only the rendered files were committed; the site file {} is not in {} and is not committed by hubdr: keep it under version control yourself (it is the source of truth, and `hubdr failover` edits it)",
            site.display(),
            repo_dir.display()
        );
    }
}

/// What `--force` did to files in the way: every overwritten file, every file left in place.
fn report_forced(c: &Committed, err: &mut dyn std::io::Write) {
    if !c.overwritten.is_empty() {
        let _ = writeln!(
            err,
            "--force: overwrote {} hand-edited rendered file(s):\n  {}",
            c.overwritten.len(),
            c.overwritten.join("\n  ")
        );
    }
    if !c.left.is_empty() {
        let _ = writeln!(
            err,
            "--force: left {} file(s) hubdr did not write in place:\n  {}",
            c.left.len(),
            c.left.join("\n  ")
        );
    }
}

/// What [`render_to_repo`] did, and how long each phase took.
#[derive(Debug)]
pub struct RenderOutcome {
    /// `None` when the render stamp showed the repository up to date, so nothing was loaded
    /// or rendered; otherwise what [`commit_rendered`] did.
    pub committed: Option<Committed>,
    pub timings: Timings,
}

/// Wall-clock time of the phases of [`render_to_repo`] (zero for a phase that did not run).
#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    /// Templates, inputs digest and the render stamp check.
    pub check: Duration,
    /// Reading, parsing and validating the site file.
    pub load: Duration,
    /// Rendering in memory.
    pub render: Duration,
    /// Hand-edit check, diff, writing and committing.
    pub git: Duration,
}

/// `hubdr render` without the printing: render the site into the repository at `repo_dir` and
/// commit, unless the render stamp (see [`crate::stamp`]) shows that the repository already
/// holds the render of exactly these inputs. The site's warnings go to `err`.
pub fn render_to_repo(
    args: &SiteArgs,
    repo_dir: &Path,
    force: bool,
    author: (&str, &str),
    err: &mut dyn std::io::Write,
) -> Result<RenderOutcome, CommandError> {
    let mut timings = Timings::default();
    let start = Instant::now();
    // Held until the stamp is written: one render at a time (see `gitrepo::lock`).
    let lock = lock_repository(repo_dir, "hubdr render", err)?;
    let templates = super::templates_for(args)?;
    // Bounded like the load below, which reports a file over the limit.
    let site_bytes = crate::site::load::read_bytes(&args.site).ok();
    let inputs = site_bytes
        .as_deref()
        .and_then(|bytes| stamp::inputs_digest(bytes, &templates.digest));
    if let Some(warnings) = inputs.as_deref().and_then(|i| up_to_date(repo_dir, i)) {
        let _ = err.write_all(warnings.as_bytes());
        timings.check = start.elapsed();
        return Ok(RenderOutcome {
            committed: None,
            timings,
        });
    }
    timings.check = start.elapsed();

    let phase = Instant::now();
    let mut warnings = Vec::new();
    let loaded = super::load(&args.site, &mut warnings);
    let _ = err.write_all(&warnings);
    let loaded = loaded?;
    timings.load = phase.elapsed();
    let phase = Instant::now();
    let rendered = super::render_with(&loaded, &templates)?;
    timings.render = phase.elapsed();
    let phase = Instant::now();
    let committed = commit_locked(&loaded, &rendered, repo_dir, force, author, &lock)?;
    // Stamp only what was hashed: the site file may have changed since it was read.
    if let Some(inputs) = inputs.filter(|_| site_bytes.as_deref() == Some(loaded.text.as_bytes())) {
        write_stamp(
            repo_dir,
            inputs,
            String::from_utf8_lossy(&warnings).into_owned(),
        );
    }
    drop_in_background((loaded, rendered));
    timings.git = phase.elapsed();
    Ok(RenderOutcome {
        committed: Some(committed),
        timings,
    })
}

/// Free `value` on another thread: the objects of a fleet-sized render take tens of
/// milliseconds to free, which the command need not wait for. (Freed here when no thread can
/// be started.)
fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("hubdr-free".into())
        .spawn(move || drop(value));
}

/// The warnings to print again when the stamp shows `repo_dir` holding the render of `inputs`,
/// unchanged and clean under the managed paths; `None` (take the full path) otherwise.
fn up_to_date(repo_dir: &Path, inputs: &str) -> Option<String> {
    if !repo_dir.join(".git").exists() {
        return None;
    }
    let repo = OutputRepo::open(repo_dir).ok()?;
    let stamp = stamp::read(repo.git_dir()).filter(|s| s.inputs == inputs)?;
    let trees = repo.managed_tree_ids(&MANAGED_PREFIXES).ok()??;
    if trees != stamp.trees {
        return None;
    }
    let edited = repo.uncommitted_changes(&MANAGED_PREFIXES).ok()?;
    edited.is_empty().then_some(stamp.warnings)
}

/// Record that `repo_dir`'s `HEAD` holds the render of `inputs`. Best effort: without a stamp
/// the next render just takes the full path.
fn write_stamp(repo_dir: &Path, inputs: String, warnings: String) {
    let Ok(repo) = OutputRepo::open(repo_dir) else {
        return;
    };
    let stamp = match repo.managed_tree_ids(&MANAGED_PREFIXES) {
        Ok(Some(trees)) => Stamp {
            inputs,
            trees,
            warnings,
        },
        _ => {
            let _ = stamp::remove(repo.git_dir());
            return;
        }
    };
    if stamp::write(repo.git_dir(), &stamp).is_err() {
        let _ = stamp::remove(repo.git_dir());
    }
}

/// What [`commit_rendered`] did.
#[derive(Debug)]
pub struct Committed {
    /// The managed files that differed from `HEAD` (and were written or removed).
    pub changes: Changes,
    /// The new commit; `None` when the repository was already up to date.
    pub commit: Option<Oid>,
    /// The commit message (empty when nothing was committed).
    pub message: String,
    /// Hand-edited rendered files `--force` put back to their rendered content (or removed).
    pub overwritten: Vec<String>,
    /// Files under the managed paths that hubdr did not write, left in place by `--force`.
    pub left: Vec<String>,
}

/// Uncommitted changes under the managed paths, split by who wrote the file.
struct HandEdits {
    /// Files the last render wrote (listed in `HEAD`'s index) or this render writes.
    rendered: Vec<String>,
    /// Files neither lists: notes, runbooks. Never overwritten nor deleted.
    foreign: Vec<String>,
}

/// Split `edited` by the index of the last render at `HEAD` and the new render.
fn classify_edits(
    repo: &OutputRepo,
    rendered: &Rendered,
    edited: Vec<String>,
) -> Result<HandEdits, CommandError> {
    use crate::index::{RenderIndex, INDEX_PATH};
    let head = repo.head_files(&[INDEX_PATH]).map_err(git_error)?;
    let known = head
        .get(INDEX_PATH)
        .and_then(|bytes| RenderIndex::parse(&String::from_utf8_lossy(bytes)).ok())
        .map(|index| index.files)
        .unwrap_or_default();
    let (rendered, foreign) = edited.into_iter().partition(|p| {
        known.contains_key(p) || rendered.tree.contains_key(p) || p.starts_with(".hubdr/")
    });
    Ok(HandEdits { rendered, foreign })
}

impl HandEdits {
    /// The error without `--force`: each group named for what it is.
    fn refusal(&self, repo_dir: &Path, what: &str) -> String {
        let mut text = format!("error: {} has {what}:", repo_dir.display());
        if !self.rendered.is_empty() {
            text.push_str(&format!(
                "\n  hand edits of rendered files (--force overwrites them with the render):\n    {}",
                self.rendered.join("\n    ")
            ));
        }
        if !self.foreign.is_empty() {
            text.push_str(&format!(
                "\n  files hubdr did not write (never deleted, also not with --force):\n    {}",
                self.foreign.join("\n    ")
            ));
        }
        text.push_str(&format!(
            "\n  fix: change the site file instead of rendered files, and commit or revert the edits (or pass --force); keep other files outside {}",
            MANAGED_PREFIXES.join(", ")
        ));
        text
    }
}

/// Take the render lock of the output repository at `repo_dir` for `what` (e.g. `hubdr
/// render`), waiting for another holder as long as [`lock::wait_from_env`] says (printing to
/// `err` whom it waits for), then recover a render that was interrupted there (printing what
/// was done). Every command that writes the output repository holds this lock until it is done.
pub fn lock_repository(
    repo_dir: &Path,
    what: &str,
    err: &mut dyn std::io::Write,
) -> Result<RenderLock, CommandError> {
    let wait = lock::wait_from_env().map_err(|m| CommandError::BadInput(format!("error: {m}")))?;
    let lock = RenderLock::for_repository(repo_dir, what, wait, &mut |holder| {
        let _ = writeln!(
            err,
            "waiting for {holder} to finish writing {} (up to {} s)",
            repo_dir.display(),
            lock::seconds(wait)
        );
    })
    .map_err(git_error)?;
    // Not a repository yet: nothing to recover.
    if let Ok(repo) = OutputRepo::open(repo_dir) {
        if let Some(recovery) = repo.recover(&MANAGED_PREFIXES).map_err(git_error)? {
            let _ = writeln!(err, "note: {}: {recovery}", repo_dir.display());
        }
    }
    Ok(lock)
}

/// Write a rendered tree into the git repository at `repo_dir` (created when missing) and commit
/// the changed files, as `hubdr render`: see [`commit_rendered_as`].
pub fn commit_rendered(
    loaded: &LoadedSite,
    rendered: &Rendered,
    repo_dir: &Path,
    force: bool,
    author: (&str, &str),
) -> Result<Committed, CommandError> {
    commit_rendered_as(loaded, rendered, repo_dir, force, author, Verb::Render)
}

/// Write a rendered tree into the git repository at `repo_dir` (created when missing) and commit
/// the changed files, holding its render lock (see [`lock_repository`]). Without `force`,
/// refuses when rendered files have uncommitted edits. Refuses a lower failover generation than
/// the committed render's, and (unless `verb` is a command that sequences it) any change of a
/// hub's role: see [`crate::transition`].
pub fn commit_rendered_as(
    loaded: &LoadedSite,
    rendered: &Rendered,
    repo_dir: &Path,
    force: bool,
    author: (&str, &str),
    verb: Verb,
) -> Result<Committed, CommandError> {
    let lock = lock_repository(repo_dir, "hubdr render", &mut std::io::sink())?;
    commit_locked_as(loaded, rendered, repo_dir, force, author, verb, None, &lock)
}

/// [`commit_rendered`] by a command that holds the render lock already.
pub fn commit_locked(
    loaded: &LoadedSite,
    rendered: &Rendered,
    repo_dir: &Path,
    force: bool,
    author: (&str, &str),
    held: &RenderLock,
) -> Result<Committed, CommandError> {
    commit_locked_as(
        loaded,
        rendered,
        repo_dir,
        force,
        author,
        Verb::Render,
        None,
        held,
    )
}

/// [`commit_rendered_as`] by a command that holds the render lock already, with `note` appended
/// to the commit message (e.g. why a failover's preflight was skipped).
#[allow(clippy::too_many_arguments)]
pub fn commit_locked_as(
    loaded: &LoadedSite,
    rendered: &Rendered,
    repo_dir: &Path,
    force: bool,
    author: (&str, &str),
    verb: Verb,
    note: Option<&str>,
    _held: &RenderLock,
) -> Result<Committed, CommandError> {
    let repo =
        OutputRepo::open_or_init_on(repo_dir, &loaded.site.spec.git.branch).map_err(git_error)?;
    check_transition(&repo, rendered, verb)?;
    let edited = repo
        .uncommitted_changes(&MANAGED_PREFIXES)
        .map_err(git_error)?;
    let mut overwritten = Vec::new();
    let mut left = Vec::new();
    if !edited.is_empty() {
        let hand = classify_edits(&repo, rendered, edited)?;
        if !force {
            return Err(CommandError::BadInput(
                hand.refusal(repo_dir, "uncommitted changes"),
            ));
        }
        // The commit below only writes files that differ from HEAD: put the rendered content
        // back over the hand edits first, as --force promises. Files hubdr did not write are
        // never touched.
        repo.discard_edits(&rendered.tree, &hand.rendered)
            .map_err(|e| {
                CommandError::Failed(format!(
                    "error: cannot overwrite hand edits in {}: {e}",
                    repo_dir.display()
                ))
            })?;
        overwritten = hand.rendered;
        left = hand.foreign;
    }
    let diff = repo
        .diff(&rendered.tree, &MANAGED_PREFIXES)
        .map_err(git_error)?;
    if diff.is_empty() {
        return Ok(Committed {
            changes: diff,
            commit: None,
            message: String::new(),
            overwritten,
            left,
        });
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
    let grouped = changes::by_cluster_rendered(&diff, rendered, &|p| old.get(p).cloned());
    let mut message = changes::commit_message(
        &loaded.site.metadata.name,
        loaded.site.spec.failover.generation,
        &grouped,
    );
    if let Some(note) = note {
        message = format!("{}\n\n{}\n", message.trim_end(), note.trim_end());
    }
    let commit = repo
        .commit(&rendered.tree, &diff, &message, author)
        .map_err(git_error)?;
    Ok(Committed {
        changes: diff,
        commit,
        message,
        overwritten,
        left,
    })
}

/// The committed render's roles and generation against the new render's.
fn check_transition(
    repo: &OutputRepo,
    rendered: &Rendered,
    verb: Verb,
) -> Result<(), CommandError> {
    let committed = repo.head_files(&[INDEX_PATH]).map_err(git_error)?;
    let Some(bytes) = committed.get(INDEX_PATH) else {
        return Ok(());
    };
    let previous = Roles::parse(&String::from_utf8_lossy(bytes)).map_err(|e| {
        CommandError::BadInput(format!(
            "error: {e}\n  fix: restore {INDEX_PATH} as `hubdr render` wrote it (it is compared with the new render), e.g. with `git checkout`"
        ))
    })?;
    transition::check(&previous, &Roles::of(&rendered.index), verb)
        .map_err(|e| CommandError::BadInput(format!("error: {e}\nnothing was written")))
}

/// `render --no-git`: make the directory's managed files equal the render, without git.
pub fn run_plain(
    args: &SiteArgs,
    dir: &Path,
    force: bool,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let wait = lock::wait_from_env().map_err(|m| CommandError::BadInput(format!("error: {m}")))?;
    let _lock = RenderLock::for_directory(dir, "hubdr render --no-git", wait, &mut |holder| {
        let _ = writeln!(
            err,
            "waiting for {holder} to finish writing {} (up to {} s)",
            dir.display(),
            lock::seconds(wait)
        );
    })
    .map_err(git_error)?;
    let (_, rendered) = load_and_render(args, err)?;
    // The directory's own index is the previous render: the same rules as for a commit.
    if let Ok(previous) = std::fs::read_to_string(dir.join(INDEX_PATH)) {
        let previous = Roles::parse(&previous).map_err(|e| {
            CommandError::BadInput(format!(
                "error: {}: {e}\n  fix: restore it as `hubdr render` wrote it, or empty the directory",
                dir.join(INDEX_PATH).display()
            ))
        })?;
        transition::check(&previous, &Roles::of(&rendered.index), Verb::Render)
            .map_err(|e| CommandError::BadInput(format!("error: {e}\nnothing was written")))?;
    }
    let cannot = |e: std::io::Error| {
        CommandError::Failed(format!("error: cannot write into {}: {e}", dir.display()))
    };
    let plan = crate::plain_sync::plan(dir, &rendered.tree, &MANAGED_PREFIXES).map_err(cannot)?;
    let hand = HandEdits {
        rendered: plan.edited.clone(),
        foreign: plan.foreign_overwritten.clone(),
    };
    if plan.needs_force() && !force {
        let mut text = hand.refusal(dir, "files changed since the last render");
        text.push_str("\n  (without git, hand edits are found by the digests the last render recorded in .hubdr/index.yaml)");
        return Err(CommandError::BadInput(text));
    }
    crate::plain_sync::apply(dir, &rendered.tree, &plan).map_err(cannot)?;
    report_forced(
        &Committed {
            changes: Default::default(),
            commit: None,
            message: String::new(),
            overwritten: [plan.edited.clone(), plan.foreign_overwritten.clone()].concat(),
            left: plan.foreign.clone(),
        },
        err,
    );
    let _ = writeln!(
        out,
        "{}: {} file(s) written, {} removed",
        dir.display(),
        plan.write.len(),
        plan.remove.len()
    );
    Ok(())
}

pub fn parse_author(text: &str) -> Result<(String, String), CommandError> {
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
