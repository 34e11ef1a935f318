//! Building the agent from its flags and running it: the binary's whole job, testable.

use std::process::ExitCode;

use hubdr_core::redact::redact_urls;

use crate::cli::{AgentArgs, SourceArg};
use crate::config::{self, ConfigFile};
use crate::git::{Credentials, GitSource, Identity, KnownHosts, Secret, StatusWriter};
use crate::kubeapi::{ClusterApi, Retry};
use crate::reconcile::PassConfig;
use crate::runner::Agent;

/// Exit statuses: 0 success, 1 a pass failed (`--once`), 2 bad flags or configuration,
/// 3 the Kubernetes API could not be configured.
pub async fn run(args: AgentArgs) -> ExitCode {
    let agent = match build(&args).await {
        Ok(agent) => agent,
        Err((code, message)) => {
            // Once, as a command-line error: the log is stderr too, so no second copy there.
            let message = redact_urls(&message);
            eprintln!("error: {message}");
            return ExitCode::from(code);
        }
    };
    if args.once {
        let mut agent = agent;
        let status = agent.pass_once().await;
        println!("{}", status.to_yaml());
        return if status.pass.outcome == "Failed" {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received: finishing the current pass, then writing status");
        let _ = tx.send(true);
    });
    agent.run(rx).await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn build(args: &AgentArgs) -> Result<Agent, (u8, String)> {
    hubdr_core::units::check_dns1123_label(&args.cluster)
        .map_err(|e| (2, format!("--cluster: {e}")))?;
    let file = match &args.config {
        Some(path) => Some(ConfigFile::read(path).map_err(|e| (2, e))?),
        None => None,
    };
    let allowlist = config::allowlist(&args.allow_kinds, &args.allow_namespaces, file.as_ref())
        .map_err(|e| (2, e))?;
    if let config::Namespaces::Unlisted = allowlist.namespaces() {
        tracing::warn!("no --allow-namespace given: every namespace but kube-*, openshift, openshift-* and default may be used; agents/<cluster>.yaml lists the site's namespaces");
    }
    let hosted = hosted_clusters(args, &allowlist)?;
    let credentials = credentials(args)?;
    // A disconnected site reads signed bundles from an inbox and reports to a local repository.
    if let Some(SourceArg::Inbox(dir)) = &args.source {
        let parts = crate::offline::inbox_parts(args, dir)?;
        let (client, server) = kube_client(args).await.map_err(|e| (3, e))?;
        let config = pass_config(args, allowlist);
        let api = ClusterApi::new(client, Retry::default()).with_server(server);
        return Ok(Agent::new(
            config,
            parts.source,
            parts.status_source,
            parts.writer,
            api,
            args.interval,
            args.heartbeat,
            Some(parts.watch),
        )
        .with_hosted_clusters(hosted));
    }
    let repo = args.repo.as_deref().ok_or((
        2,
        "give --repo (or --source inbox:DIR with --pub)".to_string(),
    ))?;
    if let Some(what) = credentials.sent_in_clear(repo) {
        return Err((
            2,
            format!(
                "--repo {}: {what} would travel in clear over http://, readable by anyone on the \
                 path; use an https:// URL",
                redact_urls(repo)
            ),
        ));
    }
    let source = GitSource::new(
        repo,
        &args.branch,
        args.cache_dir.join("source"),
        credentials.clone(),
    );
    // A misspelt --cluster is refused before anything is written (status, cluster objects).
    crate::cluster_check::refuse_unknown(&source, &args.cluster)
        .await
        .map_err(|e| (2, e))?;
    let (status_source, writer) = if args.no_status {
        (None, None)
    } else {
        let identity = Identity::new(
            format!("hubdr-agent {}", args.cluster),
            format!("hubdr-agent+{}@localhost", args.cluster),
        );
        (
            Some(GitSource::new(
                repo,
                &args.status_branch,
                args.cache_dir.join("status-read"),
                credentials.clone(),
            )),
            Some(StatusWriter::new(
                repo,
                &args.status_branch,
                args.cache_dir.join("status-write"),
                credentials,
                identity,
            )),
        )
    };
    let (client, server) = kube_client(args).await.map_err(|e| (3, e))?;
    let config = pass_config(args, allowlist);
    Ok(Agent::new(
        config,
        source,
        status_source,
        writer,
        ClusterApi::new(client, Retry::default()).with_server(server),
        args.interval,
        args.heartbeat,
        crate::watch::local_path(repo),
    )
    .with_hosted_clusters(hosted))
}

/// The `--hcp-snapshot` hosted clusters, each in namespaces this agent may use.
fn hosted_clusters(
    args: &AgentArgs,
    allowlist: &config::Allowlist,
) -> Result<Vec<crate::hcp::Target>, (u8, String)> {
    let mut out = Vec::new();
    for value in &args.hcp_snapshots {
        let t = crate::hcp::flag::parse(value, &args.hcp_etcd_image, &args.hcp_upload_image)
            .map_err(|e| (2, e))?;
        for ns in [t.namespace.clone(), t.control_plane_namespace()] {
            if !allowlist.allows_namespace(&ns) {
                return Err((
                    2,
                    format!("--hcp-snapshot {value:?}: namespace {ns} is not in --allow-namespace"),
                ));
            }
        }
        out.push(t);
    }
    Ok(out)
}

fn pass_config(args: &AgentArgs, allowlist: config::Allowlist) -> PassConfig {
    PassConfig {
        cluster: args.cluster.clone(),
        namespace: args.namespace.clone(),
        allowlist,
        apply: crate::apply::ApplyOptions {
            force_conflicts: args.force_conflicts,
            ..Default::default()
        },
        prune: hubdr_core::prune_guard::Limit {
            max_percent: args.max_prune_percent,
            allow_mass_prune: args.allow_mass_prune,
        },
    }
}

fn credentials(args: &AgentArgs) -> Result<Credentials, (u8, String)> {
    match (&args.token_file, &args.token_env, &args.ssh_key) {
        (None, None, None) => Ok(Credentials::None),
        (Some(file), None, None) => Ok(Credentials::token(
            &args.token_username,
            Secret::File(file.clone()),
        )),
        (None, Some(var), None) => Ok(Credentials::token(
            &args.token_username,
            Secret::Env(var.clone()),
        )),
        (None, None, Some(key)) => {
            let mut c = Credentials::ssh_key("git", key.clone());
            if let (Credentials::SshKey { known_hosts, .. }, Some(file)) =
                (&mut c, &args.known_hosts)
            {
                *known_hosts = KnownHosts::File(file.clone());
            }
            Ok(c)
        }
        _ => Err((
            2,
            "give one of --token-file, --token-env or --ssh-key".into(),
        )),
    }
}

/// The client and the server it talks to (`scheme://host:port`, see [`crate::api_server`]).
async fn kube_client(args: &AgentArgs) -> Result<(kube::Client, String), String> {
    let mut config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            format!("no Kubernetes configuration found (in-cluster or ~/.kube/config): {e}")
        })?,
    };
    config.read_timeout = Some(std::time::Duration::from_secs(30));
    // `kubeapi::with_retry` retries 429/5xx itself; kube's own retry of 429/503/504 (15
    // retries, exponential backoff) stacked under it would stall a pass for minutes per object.
    config.default_retry = false;
    let server = crate::api_server::of_config(&config);
    tracing::info!(%server, "Kubernetes API server");
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("cannot build the Kubernetes client for {server}: {e}"))?;
    Ok((client, server))
}
