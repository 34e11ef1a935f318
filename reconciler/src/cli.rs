//! Command-line definitions of `hubdr-agent`. Parsing only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hubdr-agent",
    version,
    about = "Applies this cluster's part of the hubdr repository with server-side apply, prunes what was removed, and writes status back to git"
)]
pub struct AgentArgs {
    /// The rendered repository: https://..., ssh://..., git@host:path, file:///path or a local path.
    #[arg(long, env = "HUBDR_REPO")]
    pub repo: String,
    #[arg(long, default_value = "main", env = "HUBDR_BRANCH")]
    pub branch: String,
    /// This cluster's name in the site file (its directory `clusters/<name>/`).
    #[arg(long, env = "HUBDR_CLUSTER")]
    pub cluster: String,
    /// Kubeconfig to use; default: in-cluster config, then ~/.kube/config.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Time between passes, e.g. 30s, 5m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Run one pass and exit (status 0 when it succeeded, 1 otherwise).
    #[arg(long)]
    pub once: bool,
    /// Publish the status at least this often even when nothing changed.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub heartbeat: Duration,
    /// The agent's namespace (holds its inventory ConfigMap).
    #[arg(long, default_value = "hubdr-agent", env = "HUBDR_NAMESPACE")]
    pub namespace: String,
    /// A kind this agent may apply and prune, as group/Kind (core/Namespace); repeatable.
    /// Default: every kind hubdr renders.
    #[arg(long = "allow-kind")]
    pub allow_kinds: Vec<String>,
    /// A YAML config file (`allowKinds: [...]`), used when no --allow-kind is given.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the git caches live.
    #[arg(long, default_value = "/var/cache/hubdr")]
    pub cache_dir: PathBuf,
    /// HTTPS: a file holding the token (re-read on every fetch).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// HTTPS: an environment variable holding the token.
    #[arg(long)]
    pub token_env: Option<String>,
    /// HTTPS: the username sent with the token.
    #[arg(long, default_value = "x-access-token")]
    pub token_username: String,
    /// SSH: the private key file.
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// SSH: a known_hosts file to check the server key against (default: ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// The branch status is written to.
    #[arg(long, default_value = hubdr::status::STATUS_BRANCH)]
    pub status_branch: String,
    /// Do not write status to git.
    #[arg(long)]
    pub no_status: bool,
    /// Take ownership of fields another field manager owns instead of reporting a conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = hubdr::site::units::parse_duration(text)?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}
