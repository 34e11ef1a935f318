//! `restoreFrom: latest` end to end: the site renders the HostedCluster with a late-bound
//! `restoreSnapshotURL`; the management cluster's agent (hub-a) creates it on the fake API
//! server loaded with the real HyperShift CRD (and its CEL rules) with ONE pre-signed URL of the
//! newest snapshot, refuses an existing HostedCluster, waits while there is no snapshot, and
//! leaves the URL and the bucket credentials nowhere: not in the status, the inventory, the
//! agent's ConfigMaps, its log or the git repository.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use hubdr_agent::hcp::edge::{HOSTED_CLUSTER_API, STATE_KEY};
use hubdr_agent::hcp::restore::{presign, S3Keys};
use hubdr_agent::hcp::state::{SequenceState, Snapshot};
use hubdr_agent::hcp::Target;
use kubefake::FakeApiServer;
use serde_json::{json, Value};
use support::*;

const SITE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../generator/tests/data/matrix/hosted-clusters.yaml"
));
const HC: &str = "HostedCluster clusters/tenant-b";
const ACCESS_KEY: &str = "AKIAHUBDRTESTKEY0001";
const SECRET_KEY: &str = "hubdrTestSecretKey/DoNotLeak+0123456789ab";
const OBJECT: &str = "clusters/tenant-b/run-7/etcd-0-snapshot.db";

/// hub-a's `--hcp-snapshot` for tenant-b, exactly as its rendered install file gives it.
fn target(rendered: &hubdr::render::Rendered) -> Target {
    let install = String::from_utf8(rendered.tree["agents/hub-a.yaml"].clone()).unwrap();
    let flag = install
        .lines()
        .skip_while(|l| !l.trim().ends_with("- --hcp-snapshot"))
        .nth(1)
        .expect("hub-a's agent snapshots tenant-b")
        .trim()
        .trim_start_matches("- ")
        .to_string();
    assert!(flag.contains(";restoreExpiry=1800;"), "{flag}");
    hubdr_agent::hcp::flag::parse(&flag, "etcd", "upload").unwrap()
}

fn secret(name: &str, key: &str, text: &str) -> Value {
    use base64::Engine;
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "clusters"},
        "data": {key: base64::engine::general_purpose::STANDARD.encode(text)},
    })
}

async fn hub_a(rendered: &hubdr::render::Rendered, secrets: bool) -> FakeApiServer {
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(rendered, "hub-a"));
    server.ensure_namespace("clusters");
    if secrets {
        server
            .put_object(secret(
                "hcp-s3",
                "cloud",
                &format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
            ))
            .unwrap();
        server
            .put_object(secret("tenant-b-etcd-encryption-key", "key", "an-aes-key"))
            .unwrap();
    }
    server
}

/// The snapshot state hub-a's agent keeps after a run that succeeded.
fn record_snapshot(server: &FakeApiServer) {
    let state = SequenceState {
        last_snapshots: vec![Snapshot {
            member: "etcd-0".into(),
            time: 1_800_000_000,
            revision: 42,
            hash: 7,
            size: 1024,
            object: OBJECT.into(),
        }],
        ..Default::default()
    };
    server
        .put_object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hubdr-hcp-clusters-tenant-b", "namespace": AGENT_NAMESPACE},
            "data": {STATE_KEY: state.to_text()},
        }))
        .unwrap();
}

fn hosted_cluster(server: &FakeApiServer) -> Option<Value> {
    server.get(
        &gvk_of(HOSTED_CLUSTER_API, "HostedCluster"),
        Some("clusters"),
        "tenant-b",
    )
}

/// A log sink for the agent's tracing output.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every blob of every branch of the remote, as text.
fn repository_text(remote: &Remote) -> String {
    let mut out = String::new();
    remote
        .repo
        .odb()
        .unwrap()
        .foreach(|oid| {
            if let Ok(blob) = remote.repo.find_blob(*oid) {
                out.push_str(&String::from_utf8_lossy(blob.content()));
            }
            true
        })
        .unwrap();
    out
}

#[tokio::test]
async fn the_agent_creates_the_hosted_cluster_from_the_newest_snapshot_with_one_presigned_url() {
    let log = Log::default();
    let sink = log.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .finish(),
    );
    let remote = Remote::new();
    let rendered = render(SITE);
    remote.commit(&rendered.tree, "render");
    let server = hub_a(&rendered, true).await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote
        .agent("hub-a", &server, cache.path())
        .with_hosted_clusters(vec![target(&rendered)]);

    // No snapshot recorded yet: nothing is created, the status says why.
    let status = agent.pass_once().await;
    let (result, message) = result_of(&status, HC);
    assert_eq!(result, "waiting", "{message}");
    assert!(
        message.contains("waiting for a snapshot of hosted cluster clusters/tenant-b"),
        "{message}"
    );
    assert!(hosted_cluster(&server).is_none());

    // A snapshot run succeeded: the HostedCluster is created with exactly one URL.
    record_snapshot(&server);
    let before = jiff::Timestamp::now();
    let status = agent.pass_once().await;
    assert_eq!(
        result_of(&status, HC),
        ("created", ""),
        "{:#?}",
        status.objects
    );
    let live = hosted_cluster(&server).expect("created");
    let urls = live["spec"]["etcd"]["managed"]["storage"]["restoreSnapshotURL"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(urls.len(), 1, "{urls:?}");
    let url = urls[0].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://hcp-snapshots.s3.amazonaws.com/{OBJECT}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={ACCESS_KEY}%2F")),
        "{url}"
    );
    assert!(
        url.contains("&X-Amz-Expires=1800&"),
        "the site's expiry: {url}"
    );
    // The signature is the SigV4 signature of that request at that time with those keys.
    let date = url.split("X-Amz-Date=").nth(1).unwrap()[..16].to_string();
    let signed_at: jiff::Timestamp = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", &date)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    assert!(signed_at.as_second() >= before.as_second() - 1);
    let expected = presign(
        "hcp-snapshots",
        "us-east-1",
        OBJECT,
        &S3Keys::new(ACCESS_KEY, SECRET_KEY, None),
        std::time::Duration::from_secs(1800),
        &signed_at,
    )
    .unwrap();
    assert_eq!(url, expected);
    assert_eq!(
        live["metadata"]["annotations"]["hubdr.io/restored-from"],
        OBJECT
    );
    assert_eq!(
        live["spec"]["secretEncryption"]["aescbc"]["activeKey"]["name"],
        "tenant-b-etcd-encryption-key"
    );
    let signature = url.split("X-Amz-Signature=").nth(1).unwrap().to_string();

    // Next pass: it exists (created from the snapshot): skipped, never written again.
    server.clear_writes();
    let status = agent.pass_once().await;
    let (result, message) = result_of(&status, HC);
    assert_eq!(result, "skipped", "{message}");
    assert!(message.contains(OBJECT), "{message}");
    assert!(
        writes_to(&server, "hostedclusters", "tenant-b")
            .iter()
            .all(|w| w.dry_run || w.field_manager.as_deref() != Some("hubdr")),
        "{:#?}",
        writes_to(&server, "hostedclusters", "tenant-b")
    );

    // The URL and the credentials are nowhere but in the HostedCluster.
    let published = serde_yaml::to_string(&remote.status_file("hub-a").unwrap()).unwrap();
    let config_maps =
        serde_json::to_string(&server.list(&gvk_of("v1", "ConfigMap"), Some(AGENT_NAMESPACE)))
            .unwrap();
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "the log was captured");
    for (place, text) in [
        ("the status", published),
        ("the inventory and the agent's ConfigMaps", config_maps),
        ("the agent's log", logged),
        ("the git repository", repository_text(&remote)),
    ] {
        for secret in [signature.as_str(), SECRET_KEY, ACCESS_KEY, "X-Amz-"] {
            assert!(!text.contains(secret), "{secret:?} found in {place}");
        }
    }
}

#[tokio::test]
async fn an_existing_hosted_cluster_is_refused_and_left_as_it_is() {
    let remote = Remote::new();
    let rendered = render(SITE);
    remote.commit(&rendered.tree, "render");
    let server = hub_a(&rendered, true).await;
    record_snapshot(&server);
    // A HostedCluster of that name is already there (not created by a restore).
    let mut existing = cluster_objects(&rendered, "hub-a")
        .into_iter()
        .find(|o| o["kind"] == "HostedCluster")
        .unwrap();
    existing["metadata"]["annotations"] = json!({});
    existing["metadata"]["labels"] = json!({});
    server.put_object(existing).unwrap();
    let before = hosted_cluster(&server).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote
        .agent("hub-a", &server, cache.path())
        .with_hosted_clusters(vec![target(&rendered)]);

    server.clear_writes();
    let status = agent.pass_once().await;
    let (result, message) = result_of(&status, HC);
    assert_eq!(result, "failed", "{message}");
    assert!(
        message.contains("HostedCluster clusters/tenant-b already exists")
            && message.contains("only when it creates the HostedCluster")
            && message.contains("never patches a restore URL"),
        "{message}"
    );
    let after = hosted_cluster(&server).unwrap();
    assert!(after
        .pointer("/spec/etcd/managed/storage/restoreSnapshotURL")
        .is_none());
    assert_eq!(after["spec"]["etcd"], before["spec"]["etcd"]);
    assert!(
        writes_to(&server, "hostedclusters", "tenant-b")
            .iter()
            .all(|w| w.dry_run || w.field_manager.as_deref() != Some("hubdr")),
        "hubdr applied nothing to it"
    );
}

#[tokio::test]
async fn without_its_configuration_or_the_encryption_key_nothing_is_created() {
    let remote = Remote::new();
    let rendered = render(SITE);
    remote.commit(&rendered.tree, "render");
    let cache = tempfile::tempdir().unwrap();

    // The agent's own flag does not allow the restore (installed from an older render): the
    // repository alone never makes it read the Secret.
    let server = hub_a(&rendered, true).await;
    record_snapshot(&server);
    let mut plain = target(&rendered);
    plain.restore = None;
    let mut agent = remote
        .agent("hub-a", &server, cache.path())
        .with_hosted_clusters(vec![plain]);
    let status = agent.pass_once().await;
    let (result, message) = result_of(&status, HC);
    assert_eq!(result, "failed", "{message}");
    assert!(message.contains("does not allow restoring"), "{message}");
    assert!(hosted_cluster(&server).is_none());

    // The encryption key Secret is missing: waits, names it.
    let server = hub_a(&rendered, false).await;
    record_snapshot(&server);
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote
        .agent("hub-a", &server, cache.path())
        .with_hosted_clusters(vec![target(&rendered)]);
    let status = agent.pass_once().await;
    let (result, message) = result_of(&status, HC);
    assert_eq!(result, "waiting", "{message}");
    assert!(
        message.contains("Secret clusters/tenant-b-etcd-encryption-key")
            && message.contains("SAME key"),
        "{message}"
    );
    assert!(hosted_cluster(&server).is_none());
}
