//! Offline bundle benchmark: create and verify the bundle of one cluster with N objects.
//!
//! ```sh
//! cargo run --release -p hubdr --bin bundle-bench -- --objects 5000
//! ```
//!
//! The cluster `big` gets N rsync-tls ReplicationSources (N replications to cluster `dr`),
//! rendered by the real renderer; the bundle is created from the render in memory and then
//! verified (signature, every digest) from bytes and from a file, as the agent does.

use std::path::Path;
use std::time::{Duration, Instant};

use hubdr::bundle::{self, CreateInput, Expect, Limits, SecretKey};

fn site(objects: usize) -> String {
    let mut text = String::from(
        "apiVersion: hubdr.io/v1alpha1\nkind: Site\nmetadata: {name: bench}\nspec:\n  git: {url: https://git.example.com/acm-dr.git}\n  \
         storage: {provider: aws, bucket: b, region: eu-west-1, credentialsSecret: {name: cloud-credentials}}\n  \
         backup: {schedule: \"0 */2 * * *\"}\n  hubs:\n    - {name: hub-a, role: active}\n    - {name: hub-b, role: passive}\n  \
         managedClusters:\n    - {name: big, apiServer: \"https://api.big.example.com:6443\"}\n    - {name: dr, apiServer: \"https://api.dr.example.com:6443\"}\n  \
         volsync:\n    replications:\n",
    );
    for i in 0..objects {
        text.push_str(&format!(
            "      - {{name: r{i}, method: rsync-tls, schedule: \"*/10 * * * *\", pskSecret: psk-{i}, \
             source: {{cluster: big, namespace: ns-{ns}, pvc: data-{i}}}, \
             destination: {{cluster: dr, namespace: ns-{ns}, capacity: 10Gi}}}}\n",
            ns = i % 50
        ));
    }
    text
}

fn parse_args() -> Result<(usize, usize), String> {
    let mut objects = 5000;
    let mut iterations = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or(format!("{name} needs a value"))?
                .parse::<usize>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match arg.as_str() {
            "--objects" => objects = value("--objects")?,
            "--iterations" => iterations = value("--iterations")?.max(1),
            "-h" | "--help" => {
                return Err("usage: bundle-bench [--objects N] [--iterations K]".into())
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: bundle-bench [--objects N] [--iterations K]"
                ))
            }
        }
    }
    Ok((objects, iterations))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let (objects, iterations) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let loaded = hubdr::site::load_str(&site(objects), Path::new("bench-site.yaml"))
        .expect("the bench site is valid");
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
        .expect("the bench site renders");
    let render_time = started.elapsed();
    let in_cluster = rendered
        .tree
        .keys()
        .filter(|p| p.starts_with("clusters/big/") && !p.ends_with("kustomization.yaml"))
        .count();
    let raw: usize = rendered
        .tree
        .iter()
        .filter(|(p, _)| p.starts_with("clusters/big/"))
        .map(|(_, b)| b.len())
        .sum();

    let key = SecretKey::from_seed([42; 32]);
    let input = CreateInput {
        index: &rendered.index,
        files: &rendered.tree,
        cluster: "big",
        source_commit: Some("0".repeat(40)),
        created_at: jiff::Timestamp::now(),
    };
    let mut create_times = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        bytes = bundle::create(&input, &key)
            .expect("the bundle is created")
            .0;
        create_times.push(t.elapsed());
    }
    let expect = Expect {
        cluster: Some("big".into()),
        ..Expect::default()
    };
    let mut verify_times = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let verified = bundle::verify(&bytes, &key.public(), &expect, &Limits::default())
            .expect("the bundle verifies");
        verify_times.push(t.elapsed());
        assert_eq!(verified.files.len(), in_cluster + 1);
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("big.tar.zst");
    let mut file_times = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        hubdr::fsutil::write_atomic(&path, &bytes).expect("the bundle is written");
        file_times.push(t.elapsed());
    }
    let mut verify_file_times = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        bundle::verify_file(&path, &key.public(), &expect, &Limits::default())
            .expect("the bundle file verifies");
        verify_file_times.push(t.elapsed());
    }

    println!("bundle-bench: cluster with {in_cluster} objects ({raw} bytes of YAML), median of {iterations} runs");
    println!(
        "  render (site with {objects} replications, once): {:.1} ms",
        render_time.as_secs_f64() * 1e3
    );
    println!(
        "  bundle size:              {} bytes ({:.1}% of the YAML)",
        bytes.len(),
        bytes.len() as f64 * 100.0 / raw as f64
    );
    println!(
        "  create (in memory):       {:.1} ms",
        median(create_times).as_secs_f64() * 1e3
    );
    println!(
        "  write (atomic, synced):   {:.1} ms",
        median(file_times).as_secs_f64() * 1e3
    );
    println!(
        "  verify (from bytes):      {:.1} ms",
        median(verify_times).as_secs_f64() * 1e3
    );
    println!(
        "  verify (read the file):   {:.1} ms",
        median(verify_file_times).as_secs_f64() * 1e3
    );
}
