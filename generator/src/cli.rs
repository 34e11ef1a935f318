//! Command-line definitions. Parsing only; the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hubdr",
    version = VERSION,
    about = "Disaster recovery of ACM hub fleets as a GitOps workflow"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only results and errors (no warnings, notes or progress on stderr).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print how long each phase took (on stderr).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `hubdr --version`: the package version and the git commit it was built from (`unknown`
/// when built outside a git checkout; see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("HUBDR_GIT_COMMIT"),
    ")"
);

/// `-o/--output`: text for people, JSON (schema `hubdr.io/v1alpha1`, see docs) for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
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
    Validate(ValidateArgs),
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
        #[arg(long, conflicts_with = "output")]
        markdown: bool,
        /// Exit 0 when nothing would change, 1 when something would, 2 on an error (like
        /// `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
        #[command(flatten)]
        filter: ClusterFilter,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Fail over to a passive hub: edit the site, re-render, commit, print the plan for the pull request.
    Failover {
        /// The passive hub that takes over.
        #[arg(long, required_unless_present_any = ["retry", "abort"], conflicts_with_all = ["retry", "abort"])]
        to: Option<String>,
        /// Start a new activation attempt after a failed one (a Restore of its own: a Restore
        /// runs once). Reads the status branch to check that the current attempt failed.
        #[arg(long, conflicts_with = "abort")]
        retry: bool,
        /// Go back before the new primary's activation finished: the old primary becomes active
        /// again once the target reports it did not activate. Reads the status branch.
        #[arg(long)]
        abort: bool,
        /// The old primary is gone: the new primary does not wait for its status.
        #[arg(long, conflicts_with_all = ["retry", "abort"])]
        old_primary_unreachable: bool,
        /// Go ahead although the preflight failed, for this reason (recorded in the commit
        /// message and the plan).
        #[arg(long, value_name = "REASON", conflicts_with_all = ["retry", "abort"])]
        skip_preflight: Option<String>,
        /// With --markdown, where the full plan goes when it is too long for a pull request
        /// description (65,536 characters); default: failover-plan-g<N>.md beside the site file.
        #[arg(long)]
        plan_file: Option<PathBuf>,
        /// The status branch the agents report to (the local branch, else origin's).
        #[arg(long, default_value = crate::status::STATUS_BRANCH)]
        status_branch: String,
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
        /// Show only this cluster's part of the printed plan (repeatable). Filters the output
        /// only: the failover changes every cluster it must.
        #[arg(long = "cluster", value_name = "NAME", conflicts_with_all = ["retry", "abort"])]
        clusters: Vec<String>,
        /// Show only the clusters the failover changes in the printed plan. Filters the output
        /// only, never the change.
        #[arg(long, conflicts_with_all = ["retry", "abort"])]
        changed_only: bool,
        /// Output format (`json`: a `FailoverResult` document, see README "Scripting").
        #[arg(short, long, value_enum, default_value_t, conflicts_with_all = ["markdown", "retry", "abort"])]
        output: OutputFormat,
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
    /// Generate an ed25519 key pair for signing offline bundles: KEY (private, mode 0600) and KEY.pub.
    Keygen {
        /// The private key file; the public key is written beside it as <KEY>.pub.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Signed offline bundles for disconnected sites.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Where every cluster stands in the current failover, from the status branch (`--watch` to
    /// follow it); `hubdr status import`: status carried back from a disconnected site.
    Status(StatusArgs),
    /// Hosted control planes (`spec.hostedClusters`).
    #[command(subcommand)]
    Hcp(HcpCommand),
    /// etcd backups of the site's OpenShift clusters (`spec.etcdBackup`).
    #[command(subcommand)]
    Etcd(EtcdCommand),
    /// Print a shell completion script: `hubdr completion bash > /etc/bash_completion.d/hubdr`,
    /// `hubdr completion zsh > "${fpath[1]}/_hubdr"`, `hubdr completion fish > ~/.config/fish/completions/hubdr.fish`.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Take a fenced former primary out of the site for good: detach its ManagedClusters and
    /// remove its ACM backup objects (never its storage). Refused until the status branch shows
    /// every managed cluster Available on the active hub and every ClusterDeployment preserved.
    Decommission {
        /// The fenced former primary.
        hub: String,
        /// The status branch the agents report to (the local branch, else origin's).
        #[arg(long, default_value = crate::status::STATUS_BRANCH)]
        status_branch: String,
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered git repository (must hold the committed render of the current site).
        #[arg(long)]
        out: PathBuf,
        /// Commit author as "Name <email>".
        #[arg(long, default_value = "hubdr <hubdr@localhost>")]
        author: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EtcdCommand {
    /// Print the steps to restore a cluster's etcd from its newest backup of the same
    /// z-stream, filled with that backup's files. Never runs them.
    RestorePlan {
        /// The cluster (a hub or OpenShift managed cluster spec.etcdBackup covers).
        cluster: String,
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered repository holding the status refs (a local path).
        #[arg(long, default_value = ".")]
        repo: String,
        /// The status branch the agents report to.
        #[arg(long, default_value = crate::status::STATUS_BRANCH)]
        branch: String,
        /// The branch holding the render.
        #[arg(long, default_value = "main")]
        source_branch: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HcpCommand {
    /// Print the steps to recreate a hosted cluster from its newest etcd snapshot.
    RestorePlan {
        /// The hosted cluster: `name` or `namespace/name`.
        name: String,
        #[command(flatten)]
        site: SiteArgs,
        /// The rendered repository holding the status branch (a local path).
        #[arg(long, default_value = ".")]
        repo: String,
        /// The status branch the agents report to.
        #[arg(long, default_value = crate::status::STATUS_BRANCH)]
        branch: String,
        /// The branch holding the render.
        #[arg(long, default_value = "main")]
        source_branch: String,
    },
}

/// `hubdr validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Which clusters a command shows.
#[derive(Debug, Args, Default, Clone)]
pub struct ClusterFilter {
    /// Show only this cluster (repeatable).
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// Show only clusters with something to report (changes; for status: not done yet).
    #[arg(long)]
    pub changed_only: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct StatusArgs {
    #[command(subcommand)]
    pub command: Option<StatusCommand>,
    #[command(flatten)]
    pub show: StatusShowArgs,
}

/// `hubdr status` without a subcommand: every cluster's state in the current failover.
#[derive(Debug, Args, Default)]
pub struct StatusShowArgs {
    /// The rendered repository holding the status branch (a local path or file:// URL).
    #[arg(long, default_value = ".")]
    pub repo: String,
    /// The status branch the agents report to.
    #[arg(long, default_value = crate::status::STATUS_BRANCH)]
    pub branch: String,
    /// The branch holding the render (roles and generation).
    #[arg(long, default_value = "main")]
    pub source_branch: String,
    /// `git fetch origin` first, then read the fetched (remote-tracking) branches. Without it
    /// a branch missing locally is read from its remote-tracking branch (`origin/<branch>`).
    #[arg(long)]
    pub fetch: bool,
    #[command(flatten)]
    pub filter: ClusterFilter,
    /// Output format (JSON: one document per read; with --watch, one per change).
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Re-read until the failover at the current generation completes (exit 0) or stalls (exit 1).
    #[arg(long)]
    pub watch: bool,
    /// How often --watch re-reads.
    #[arg(long, default_value = "5s", value_parser = crate::site::units::parse_duration)]
    pub interval: std::time::Duration,
    /// A gate waiting longer than this counts as stalled (default 15m), and so does a cluster
    /// whose agent's last heartbeat is older (default: 3 of the render's heartbeat intervals,
    /// 30m with the default `spec.agent.heartbeat` of 10m).
    #[arg(long, value_parser = crate::site::units::parse_duration)]
    pub stall_after: Option<std::time::Duration>,
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Pack one cluster's part of the committed render into a signed tar+zstd bundle.
    Create {
        /// The rendered git repository (its HEAD commit is bundled).
        #[arg(long, required_unless_present = "dir", conflicts_with = "dir")]
        repo: Option<PathBuf>,
        /// A directory written by `hubdr render --no-git`, instead of --repo.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The cluster whose directory is bundled.
        #[arg(long)]
        cluster: String,
        /// The private key (from `hubdr keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The bundle file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Check a bundle's signature and every digest, and print what it holds.
    Verify {
        /// The bundle file.
        file: PathBuf,
        /// The public key (KEY.pub from `hubdr keygen`).
        #[arg(long = "pub")]
        public_key: PathBuf,
        /// Refuse a bundle made for another cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Refuse a bundle whose generation is lower (no rollback).
        #[arg(long)]
        min_generation: Option<u64>,
        /// Output format (`json`: a `BundleVerifyResult` document, also for a refused bundle;
        /// see README "Scripting").
        #[arg(short, long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Merge a status export from a disconnected site (`hubdr-agent export-status`) into the
    /// central status branch: every status must be signed by its cluster's key (registered in
    /// the site, or pinned); a newer trusted status there is never replaced by an older one.
    Import {
        /// The export file.
        file: PathBuf,
        /// The central git repository holding the status branch.
        #[arg(long)]
        repo: PathBuf,
        /// The status branch.
        #[arg(long, default_value = crate::status::STATUS_BRANCH)]
        branch: String,
        /// The branch holding the render, whose index lists the registered status keys.
        #[arg(long, default_value = "main")]
        source_branch: String,
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
