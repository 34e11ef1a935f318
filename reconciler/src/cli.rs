//! Command-line definitions of `hubdr-agent`. Parsing only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hubdr-agent",
    version,
    about = "Applies this cluster's part of the hubdr repository with server-side apply, prunes what was removed, and writes status back to git",
    after_help = "Disconnected sites: `hubdr-agent export-status -o FILE [--status-repo PATH] [--cache-dir DIR]` packs the local status for `hubdr status import`."
)]
pub struct AgentArgs {
    /// The rendered repository: https://..., ssh://..., git@host:path, file:///path or a local path.
    /// Not needed with --source inbox:DIR.
    #[arg(long, env = "HUBDR_REPO", required_unless_present = "source")]
    pub repo: Option<String>,
    /// Where desired state comes from: `git` (--repo, the default) or `inbox:DIR`, a
    /// directory of signed offline bundles (`hubdr bundle create`) for a disconnected site.
    #[arg(long, env = "HUBDR_SOURCE", value_parser = parse_source)]
    pub source: Option<SourceArg>,
    /// With --source inbox:DIR: the public key bundles must be signed with (KEY.pub from
    /// `hubdr keygen`).
    #[arg(long = "pub", env = "HUBDR_PUB")]
    pub public_key: Option<PathBuf>,
    /// With --source inbox:DIR: the local git repository status is written to (default:
    /// <cache-dir>/status-repo); `hubdr-agent export-status` packs it for the trip back.
    #[arg(long)]
    pub status_repo: Option<PathBuf>,
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
    /// Replace the heartbeat ref (refs/hubdr/heartbeat/<cluster>) at least this often, even
    /// when nothing changed (a status commit is made only when the status changed).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub heartbeat: Duration,
    /// The agent's namespace (holds its inventory ConfigMap).
    #[arg(long, default_value = "hubdr-agent", env = "HUBDR_NAMESPACE")]
    pub namespace: String,
    /// A kind this agent may apply and prune, as group/Kind (core/Namespace); repeatable.
    /// Default: every kind hubdr renders.
    #[arg(long = "allow-kind")]
    pub allow_kinds: Vec<String>,
    /// A namespace this agent may use (its objects, and the Namespace itself); repeatable.
    /// `agents/<cluster>.yaml` lists the namespaces the site renders into for the cluster.
    /// Default: every namespace but kube-*, openshift, openshift-* and default.
    #[arg(long = "allow-namespace")]
    pub allow_namespaces: Vec<String>,
    /// A YAML config file (`allowKinds: [...]`, `allowNamespaces: [...]`), each used when no
    /// --allow-kind (--allow-namespace) is given.
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
    /// The shared status branch older agents wrote: still read (merged with the per-cluster
    /// status refs), never written.
    #[arg(long, default_value = hubdr_core::status::STATUS_BRANCH)]
    pub status_branch: String,
    /// Do not write status to git.
    #[arg(long)]
    pub no_status: bool,
    /// Take ownership of fields another field manager owns instead of reporting a conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Let a pass delete more than --max-prune-percent of the inventory (or all of it).
    /// Without it such a pass prunes nothing and reports PruneGuard. An empty desired set
    /// never prunes, even with this flag.
    #[arg(long, env = "HUBDR_ALLOW_MASS_PRUNE")]
    pub allow_mass_prune: bool,
    /// A pass that would delete more than this share of the inventory, in percent, prunes
    /// nothing and reports PruneGuard (released objects do not count).
    #[arg(long, default_value_t = hubdr_core::prune_guard::DEFAULT_MAX_PERCENT, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_prune_percent: u8,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// A hosted cluster whose etcd this agent snapshots (rendered into its install file from
    /// `spec.hostedClusters`); repeatable.
    #[arg(long = "hcp-snapshot")]
    pub hcp_snapshots: Vec<String>,
    /// Image of the snapshot Jobs' etcdctl container.
    #[arg(long, default_value = crate::hcp::flag::DEFAULT_ETCD_IMAGE)]
    pub hcp_etcd_image: String,
    /// Image of the snapshot Jobs' upload container (curl with --aws-sigv4).
    #[arg(long, default_value = crate::hcp::flag::DEFAULT_UPLOAD_IMAGE)]
    pub hcp_upload_image: String,
}

/// The value of `--source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceArg {
    Git,
    Inbox(PathBuf),
}

fn parse_source(text: &str) -> Result<SourceArg, String> {
    match text.split_once(':') {
        _ if text == "git" => Ok(SourceArg::Git),
        Some(("inbox", dir)) if !dir.is_empty() => Ok(SourceArg::Inbox(PathBuf::from(dir))),
        _ => Err("expected `git` or `inbox:DIR`".into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = hubdr_core::units::parse_duration(text)?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}
