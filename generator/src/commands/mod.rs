//! The `hubdr` commands. Each returns what it printed as a result, so it can be tested
//! without a process, and an `Outcome` that maps to the exit status.

pub mod bundle;
mod decommission;
mod etcd;
mod failover;
mod failover_json;
mod hcp;
mod init;
pub mod json;
mod plan;
mod plan_summary;
pub mod render;
mod site_edit;
pub mod status;
mod status_import;
mod validate;

use std::path::Path;

use crate::cli::{Command, EtcdCommand, HcpCommand, SiteArgs, StatusArgs, StatusCommand};
use crate::render::{RenderError, Rendered, Templates};
use crate::site::{self, LoadedSite, SiteError};

pub use plan::plan_text;

/// Why a command failed: bad input (exit 2) or a failure while carrying it out (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Failed(String),
    /// Exit with this status without a message (`plan --exit-code` when there are changes).
    #[error("")]
    Exit(i32),
}

/// `-v`: how much more to print on stderr (0: the default).
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Set by `main` from `-v`.
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, std::sync::atomic::Ordering::Relaxed);
}

/// The `-v` level.
pub fn verbosity() -> u8 {
    VERBOSITY.load(std::sync::atomic::Ordering::Relaxed)
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::BadInput(_) => 2,
            CommandError::Failed(_) => 1,
            CommandError::Exit(code) => *code,
        }
    }
}

pub fn run(
    command: &Command,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    match command {
        Command::Failover {
            to,
            retry,
            abort,
            old_primary_unreachable,
            skip_preflight,
            plan_file,
            status_branch,
            site,
            out: repo,
            markdown,
            author,
            clusters,
            changed_only,
            output,
        } => {
            let filter = crate::cli::ClusterFilter {
                clusters: clusters.clone(),
                changed_only: *changed_only,
            };
            let args = failover::FailoverArgs {
                site,
                repo,
                to: to.as_deref().unwrap_or_default(),
                old_primary_unreachable: *old_primary_unreachable,
                markdown: *markdown,
                author,
                status_branch,
                skip_preflight: skip_preflight.as_deref(),
                plan_file: plan_file.as_deref(),
                filter: &filter,
                output: *output,
            };
            if *retry {
                failover::retry(&args, out, err)
            } else if *abort {
                failover::abort(&args, out, err)
            } else {
                failover::run(&args, out, err)
            }
        }
        Command::Unfence {
            hub,
            site,
            out: repo,
            yes,
            author,
        } => failover::unfence(site, repo, hub, *yes, author, out, err),
        Command::Decommission {
            hub,
            status_branch,
            site,
            out: repo,
            author,
        } => decommission::run(site, repo, hub, status_branch, author, out, err),
        Command::Init { out: path, force } => init::run(path, *force, out),
        Command::Keygen { out: path, force } => bundle::keygen(path, *force, out),
        Command::Bundle(command) => bundle::run(command, out),
        Command::Status(StatusArgs {
            command:
                Some(StatusCommand::Import {
                    file,
                    repo,
                    branch,
                    source_branch,
                    author,
                }),
            ..
        }) => status_import::run(
            &status_import::ImportArgs {
                file,
                repo,
                branch,
                source_branch,
                author,
            },
            out,
        ),
        Command::Status(StatusArgs {
            command: None,
            show,
        }) => status::run(show, out),
        Command::Validate(args) => validate::run(&args.site, args.output, out, err),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut command = crate::cli::Cli::command();
            clap_complete::generate(*shell, &mut command, "hubdr", out);
            Ok(())
        }
        Command::Render {
            site,
            out: repo,
            no_git: true,
            force,
            ..
        } => render::run_plain(site, repo, *force, out, err),
        Command::Render {
            site,
            out: repo,
            force,
            author,
            no_git: false,
        } => render::run(site, repo, *force, author, out, err),
        Command::Plan {
            site,
            out: repo,
            markdown,
            exit_code,
            filter,
            output,
        } => {
            let result = plan::run(
                site,
                repo,
                &plan::PlanOptions {
                    markdown: *markdown,
                    filter,
                    output: *output,
                },
                out,
                err,
            );
            match (result, *exit_code) {
                (Ok(changes), true) if changes => Err(CommandError::Exit(1)),
                (Ok(_), _) => Ok(()),
                // Errors are 2 with --exit-code, so 1 always means "changes".
                (Err(CommandError::Failed(m)), true) => Err(CommandError::BadInput(m)),
                (Err(e), _) => Err(e),
            }
        }
        Command::Hcp(HcpCommand::RestorePlan {
            name,
            site,
            repo,
            branch,
            source_branch,
        }) => hcp::run(&site.site, repo, source_branch, branch, name, out, err),
        Command::Etcd(EtcdCommand::RestorePlan {
            cluster,
            site,
            repo,
            branch,
            source_branch,
        }) => etcd::run(&site.site, repo, source_branch, branch, cluster, out, err),
    }
}

/// Load the site (printing its warnings) and render it in memory.
fn load_and_render(
    args: &SiteArgs,
    err: &mut dyn std::io::Write,
) -> Result<(LoadedSite, Rendered), CommandError> {
    let loaded = load(&args.site, err)?;
    let rendered = render_loaded(args, &loaded)?;
    Ok((loaded, rendered))
}

/// Render a loaded site in memory with the templates `args` selects.
pub fn render_loaded(args: &SiteArgs, loaded: &LoadedSite) -> Result<Rendered, CommandError> {
    render_with(loaded, &templates_for(args)?)
}

/// The templates `args` selects: the embedded ones, overridden from `--templates DIR`.
pub fn templates_for(args: &SiteArgs) -> Result<Templates, CommandError> {
    match &args.templates {
        Some(dir) => Templates::with_overrides(dir).map_err(|e| {
            use crate::render::templates::TemplateError;
            let fix = match e {
                TemplateError::Read { .. } => "check the --templates directory and its permissions",
                TemplateError::Unknown { .. } => {
                    "name the file after the embedded template it replaces, or move it out of the --templates directory"
                }
                TemplateError::Compile { .. } => "correct the template syntax at the line shown",
            };
            CommandError::BadInput(format!("error: {e}\n  fix: {fix}; nothing was written"))
        }),
        None => Ok(Templates::embedded()),
    }
}

/// Render a loaded site in memory with `templates`.
pub fn render_with(loaded: &LoadedSite, templates: &Templates) -> Result<Rendered, CommandError> {
    crate::render::render(loaded, templates).map_err(|e| render_error(e, loaded))
}

/// Read and validate the site file, printing its warnings to `err`.
pub fn load(path: &Path, err: &mut dyn std::io::Write) -> Result<LoadedSite, CommandError> {
    let file = path.display().to_string();
    match site::load_file(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                let _ = writeln!(err, "{}\n", w.in_file(&file));
            }
            Ok(loaded)
        }
        Err(SiteError::Read { path, source }) => Err(CommandError::BadInput(format!(
            "error: cannot read site file {}: {source}\n  fix: check the path, or run `hubdr init` to write a starter site file",
            path.display()
        ))),
        Err(e @ SiteError::TooLarge { .. }) => Err(CommandError::BadInput(format!(
            "error: {e}\n  fix: a site file holds settings and the lists of clusters and replications (5,000 of each take about 2 MiB): remove the oversized value, or check that --site names the site file; nothing was written"
        ))),
        Err(e @ SiteError::Invalid { .. }) => {
            let SiteError::Invalid { diagnostics, .. } = &e else { unreachable!() };
            let mut text = String::new();
            for d in diagnostics {
                text.push_str(&format!("{}\n\n", d.in_file(&file)));
            }
            text.push_str(&format!("{e}; nothing was written"));
            Err(CommandError::BadInput(text))
        }
    }
}

fn render_error(e: RenderError, loaded: &LoadedSite) -> CommandError {
    match e {
        RenderError::Patch(p) => {
            // A patch problem is a site problem: point at the patch in the file.
            let file = loaded.path.display().to_string();
            let diagnostic = site::Diagnostic::error(p.path, p.message, p.fix)
                .located(&site::locate::Locator::new(&loaded.text));
            CommandError::BadInput(format!(
                "{}\n\n{file} has 1 error(s); nothing was written",
                diagnostic.in_file(&file)
            ))
        }
        RenderError::Template { .. } | RenderError::Parse { .. } => CommandError::BadInput(format!(
            "error: {e}\n  fix: correct the template (see --templates) or report a bug if it is an embedded one; nothing was written"
        )),
        RenderError::TooLarge { .. } => CommandError::BadInput(format!(
            "error: {e}\n  fix: shorten that value in the site file (or in the patch that sets it); nothing was written"
        )),
        RenderError::Duplicate { .. } | RenderError::Checks(_) => {
            CommandError::BadInput(format!("error: {e}\nnothing was written"))
        }
    }
}
