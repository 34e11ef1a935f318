//! Command-line definitions. Parsing only; the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hubdr",
    version,
    about = "Disaster recovery of ACM hub fleets as a GitOps workflow"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter site file.
    Init {
        /// Where to write it.
        #[arg(long, short, default_value = "site.yaml")]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a site file (and that it renders), without writing anything.
    Validate(SiteArgs),
    /// Render the site into a git repository and commit the changes.
    Render {
        #[command(flatten)]
        site: SiteArgs,
        /// The output git repository (created when missing).
        #[arg(long)]
        out: PathBuf,
        /// Render over uncommitted hand edits of rendered files (they are overwritten).
        #[arg(long)]
        force: bool,
        /// Write the files into a plain directory and make no commit (for pipelines that
        /// commit themselves, and for `repos-example/rendered`).
        #[arg(long)]
        no_git: bool,
        /// Commit author as "Name <email>".
        #[arg(long, default_value = "hubdr <hubdr@localhost>")]
        author: String,
    },
    /// Show per cluster what a render would create, change or remove, and the prerequisites.
    Plan {
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered git repository to compare with (missing: everything is new).
        #[arg(long)]
        out: PathBuf,
        /// Print Markdown, for a pull request description.
        #[arg(long)]
        markdown: bool,
    },
    /// Fail over to a passive hub: edit the site, re-render, commit, print the plan for the pull request.
    Failover {
        /// The passive hub that takes over.
        #[arg(long)]
        to: String,
        /// The old primary is gone: the new primary does not wait for its status.
        #[arg(long)]
        old_primary_unreachable: bool,
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered git repository (must hold the committed render of the current site).
        #[arg(long)]
        out: PathBuf,
        /// Print Markdown, for a pull request description.
        #[arg(long)]
        markdown: bool,
        /// Commit author as "Name <email>".
        #[arg(long, default_value = "hubdr <hubdr@localhost>")]
        author: String,
    },
    /// Turn a fenced former primary back into a passive hub (asks for --yes after the cautions).
    Unfence {
        /// The fenced hub.
        hub: String,
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered git repository.
        #[arg(long)]
        out: PathBuf,
        /// Confirm after reading the cautions.
        #[arg(long)]
        yes: bool,
        /// Commit author as "Name <email>".
        #[arg(long, default_value = "hubdr <hubdr@localhost>")]
        author: String,
    },
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// The site file.
    #[arg(long, default_value = "site.yaml")]
    pub site: PathBuf,
    /// A directory of templates that replace the embedded ones of the same name.
    #[arg(long)]
    pub templates: Option<PathBuf>,
}
