//! agent-pass-bench: one cluster with N objects (VolSync ReplicationSources, Destinations and
//! replica PVCs rendered by `hubdr` from a synthetic site) applied to an in-process fake API
//! server by the production pass. Prints the time of the first pass, of passes over an
//! unchanged cluster and of a pass that changes one object, with the API calls each made and
//! the write calls of the unchanged passes. Exits 1 unless the unchanged passes made no
//! write call other than dry runs.
//!
//! `cargo run --release -p hubdr-e2e --bin agent-pass-bench -- --objects 500`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hubdr::render::Rendered;
use hubdr_agent::apply::ApplyOptions;
use hubdr_agent::changeset::ChangeSet;
use hubdr_agent::config::Allowlist;
use hubdr_agent::kubeapi::{ClusterApi, Retry};
use hubdr_agent::reconcile::{self, PassConfig, PassReport};
use kubefake::FakeApiServer;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

const CLUSTER: &str = "bench";
const AGENT_NAMESPACE: &str = "hubdr-agent";

#[derive(Parser)]
#[command(about = "Measure an agent pass over a cluster of N objects against a fake API server")]
struct Args {
    /// Objects in the cluster (rounded up to whole replications of 3 objects each).
    #[arg(long, default_value_t = 500)]
    objects: usize,
    /// Namespaces the replications are spread over.
    #[arg(long, default_value_t = 10)]
    namespaces: usize,
    /// Passes over the unchanged cluster to time.
    #[arg(long, default_value_t = 3)]
    noop_passes: usize,
    /// The upstream CRDs (default: shared/crds beside the workspace).
    #[arg(long)]
    crds: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let calls = CallCounter::default();
    if tracing::subscriber::set_global_default(tracing_subscriber::registry().with(calls.clone()))
        .is_err()
    {
        eprintln!("error: cannot install the call counter");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&args, &calls)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args, calls: &CallCounter) -> Result<bool> {
    if args.namespaces == 0 {
        bail!("--namespaces must be at least 1");
    }
    let replications = args.objects.div_ceil(3).max(1);
    let started = Instant::now();
    let v1 = objects(&render(&site(replications, args.namespaces, None))?);
    let v2 = objects(&render(&site(
        replications,
        args.namespaces,
        Some(replications - 1),
    ))?);
    let render_time = started.elapsed();

    let server = FakeApiServer::start()
        .await
        .context("starting the fake API server")?;
    let crds = args
        .crds
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds"));
    server
        .load_crds_from_dir(&crds)
        .with_context(|| format!("loading CRDs from {}", crds.display()))?;
    server.ensure_namespace(AGENT_NAMESPACE);
    for i in 0..args.namespaces {
        server.ensure_namespace(&format!("ns-{i}"));
    }
    let config = PassConfig {
        cluster: CLUSTER.into(),
        namespace: AGENT_NAMESPACE.into(),
        allowlist: Allowlist::default_kinds(),
        apply: ApplyOptions::default(),
        prune: Default::default(),
    };
    let mut api = ClusterApi::new(client(&server)?, Retry::default());

    println!(
        "objects:            {} ({replications} replications x RS + RD + PVC, {} namespaces)",
        v1.len(),
        args.namespaces
    );
    println!("render (2 sites):   {render_time:.2?}");

    let first = measure(&server, calls, &mut api, &config, &v1).await;
    first.print("first pass");
    let mut ok = first.report.changes.count("created") == v1.len();

    let mut noop_times = Vec::new();
    for i in 1..=args.noop_passes {
        let noop = measure(&server, calls, &mut api, &config, &v1).await;
        noop.print(&format!("no-op pass {i}"));
        let real = noop.real_writes;
        println!(
            "  write calls:      {} mutating, {real} not dry-run (both must be 0)",
            noop.mutations
        );
        ok &=
            noop.mutations == 0 && real == 0 && noop.report.changes.count("unchanged") == v1.len();
        noop_times.push(noop.elapsed);
    }
    // A fresh ClusterApi, as after a restart: discovery is not cached either.
    let mut restarted = ClusterApi::new(client(&server)?, Retry::default());
    let noop = measure(&server, calls, &mut restarted, &config, &v1).await;
    noop.print("no-op pass, restarted agent");
    ok &= noop.mutations == 0 && noop.real_writes == 0;

    let one = measure(&server, calls, &mut api, &config, &v2).await;
    one.print("pass changing 1 object");
    ok &= one.report.changes.count("configured") == 1 && one.mutations == 1;

    noop_times.sort();
    if let Some(median) = noop_times.get(noop_times.len() / 2) {
        let per_object = median.as_secs_f64() * 1e6 / v1.len() as f64;
        println!("no-op pass median:  {median:.2?} ({per_object:.0} us per object)");
    }
    println!(
        "result:             {}",
        if ok { "ok" } else { "FAILED (see above)" }
    );
    Ok(ok)
}

struct Measured {
    elapsed: Duration,
    calls: BTreeMap<String, Calls>,
    mutations: usize,
    real_writes: usize,
    dry_runs: usize,
    report: PassReport,
}

impl Measured {
    fn print(&self, what: &str) {
        let total: u32 = self.calls.values().map(|c| c.count).sum();
        let by_method: Vec<String> = self
            .calls
            .iter()
            .map(|(m, c)| format!("{} {m} avg {:.2?}", c.count, c.time / c.count.max(1)))
            .collect();
        println!("{what}:");
        println!("  time:             {:.2?}", self.elapsed);
        println!("  API calls:        {total} ({})", by_method.join(", "));
        println!(
            "  writes:           {} mutating, {} dry runs",
            self.mutations, self.dry_runs
        );
        println!("  results:          {}", self.report.changes.summary());
        for problem in &self.report.problems {
            println!("  problem:          {problem}");
        }
    }
}

async fn measure(
    server: &FakeApiServer,
    calls: &CallCounter,
    api: &mut ClusterApi,
    config: &PassConfig,
    objects: &[Value],
) -> Measured {
    server.clear_writes();
    calls.reset();
    let started = Instant::now();
    let mut changes = ChangeSet::default();
    let planned = reconcile::plan(objects, &config.allowlist, &mut changes);
    let report = reconcile::pass(api, config, &planned, &Default::default(), changes).await;
    let elapsed = started.elapsed();
    let writes = server.writes();
    Measured {
        elapsed,
        calls: calls.take(),
        mutations: writes.iter().filter(|w| w.is_mutation()).count(),
        real_writes: writes.iter().filter(|w| !w.dry_run).count(),
        dry_runs: writes.iter().filter(|w| w.dry_run).count(),
        report,
    }
}

/// A kube client configured like the agent's (`start.rs`: kube's own retry layer off).
fn client(server: &FakeApiServer) -> Result<kube::Client> {
    let mut config = server.config();
    config.default_retry = false;
    Ok(kube::Client::try_from(config)?)
}

/// A site with one managed cluster holding both ends of `n` rsync replications; replication
/// `changed` gets another schedule.
fn site(n: usize, namespaces: usize, changed: Option<usize>) -> String {
    let mut text = String::from(
        "apiVersion: hubdr.io/v1alpha1
kind: Site
metadata: {name: bench}
spec:
  git: {url: https://git.example.com/platform/bench.git, branch: main}
  storage:
    provider: aws
    bucket: acm-backups
    prefix: bench
    region: eu-west-1
    credentialsSecret: {name: cloud-credentials, key: cloud}
  backup: {schedule: \"0 */2 * * *\", ttl: 120h}
  hubs:
    - {name: hub-a, role: active}
  failover: {generation: 0}
  managedClusters:
    - {name: bench, apiServer: https://api.bench.example.com:6443}
  volsync:
    channel: stable-0.9
    replications:
",
    );
    for i in 0..n {
        let ns = format!("ns-{}", i % namespaces);
        let schedule = if changed == Some(i) {
            "*/20 * * * *"
        } else {
            "*/15 * * * *"
        };
        text.push_str(&format!(
            "      - name: r{i}
        method: rsync
        schedule: \"{schedule}\"
        sshKeysSecret: r{i}-ssh
        source: {{cluster: bench, namespace: {ns}, pvc: data-{i}}}
        destination:
          cluster: bench
          namespace: {ns}
          capacity: 1Gi
          serviceType: ClusterIP
          address: r{i}.{ns}.svc
          pvc: {{name: replica-{i}}}
"
        ));
    }
    text
}

fn render(site: &str) -> Result<Rendered> {
    let loaded = hubdr::site::load_str(site, Path::new("bench-site.yaml"))
        .map_err(|e| anyhow::anyhow!("the synthetic site is invalid: {e:?}"))?;
    Ok(hubdr::render::render(
        &loaded,
        &hubdr::render::Templates::embedded(),
    )?)
}

/// The objects of the bench cluster, parsed from the rendered files as the agent reads them.
fn objects(rendered: &Rendered) -> Vec<Value> {
    let dir = format!("clusters/{CLUSTER}/");
    rendered
        .tree
        .iter()
        .filter(|(path, _)| path.starts_with(&dir) && !path.ends_with("/kustomization.yaml"))
        .filter_map(|(_, bytes)| serde_yaml::from_slice(bytes).ok())
        .collect()
}

/// Counts the HTTP requests kube's client makes (its `HTTP` span, one per attempt) by
/// method, with the time each spent from request to end of response.
#[derive(Clone, Default)]
struct CallCounter(Arc<Mutex<BTreeMap<String, Calls>>>);

#[derive(Debug, Clone, Copy, Default)]
struct Calls {
    count: u32,
    time: Duration,
}

impl CallCounter {
    fn reset(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn take(&self) -> BTreeMap<String, Calls> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Kept in the span's extensions until it closes.
struct Started(String, Instant);

impl<S> tracing_subscriber::Layer<S> for CallCounter
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() != "HTTP" {
            return;
        }
        let mut method = MethodField::default();
        attrs.record(&mut method);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(Started(method.0, Instant::now()));
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(Started(method, at)) = extensions.get::<Started>() else {
            return;
        };
        let mut calls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = calls.entry(method.clone()).or_default();
        entry.count += 1;
        entry.time += at.elapsed();
    }
}

#[derive(Default)]
struct MethodField(String);

impl tracing::field::Visit for MethodField {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "http.method" {
            self.0 = format!("{value:?}");
        }
    }
}
