//! Disconnected sites: `Agent::pass_once` with `Source::Inbox` against the fake API server.
//! A signed bundle of the example render is applied; unsigned, tampered, truncated,
//! wrong-key, other-cluster and older-generation bundles are refused with `VerifyFailed`, a
//! message naming the file, and not a single write call; a new bundle is picked up through
//! the notify watch; status travels back through `export-status` and `hubdr status import`.
//! Hostile bundles (decompression bombs, links, path traversal, a failing signature in front
//! of bad entries) are refused the same way, without being decompressed.

#[path = "../../generator/tests/bundle_attack_kit/mod.rs"]
mod attacks;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hubdr::bundle::{self, archive, CreateInput, SecretKey, SIGNATURE_ENTRY};
use hubdr::render::Rendered;
use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use hubdr_agent::git::{Credentials, GitSource, Identity, StatusWriter};
use hubdr_agent::inbox::Inbox;
use hubdr_agent::offline::{self, ExportArgs};
use hubdr_agent::runner::Agent;
use kubefake::FakeApiServer;
use support::*;

const CLUSTER: &str = "west-1";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A bundle of `cluster` from `rendered`, at `generation`, created at `created`.
fn make_bundle(
    rendered: &Rendered,
    key: &SecretKey,
    cluster: &str,
    generation: u64,
    created: &str,
) -> Vec<u8> {
    let mut index = rendered.index.clone();
    index.generation = generation;
    let input = CreateInput {
        index: &index,
        files: &rendered.tree,
        cluster,
        source_commit: Some(COMMIT.into()),
        created_at: created.parse().unwrap(),
    };
    bundle::create(&input, key).unwrap().0
}

/// Put a file into the inbox the way operators should: a hidden name, then a rename.
fn deliver(inbox: &Path, name: &str, bytes: &[u8]) {
    let hidden = inbox.join(format!(".{name}.part"));
    std::fs::write(&hidden, bytes).unwrap();
    std::fs::rename(&hidden, inbox.join(name)).unwrap();
}

struct Site {
    _dir: tempfile::TempDir,
    inbox: PathBuf,
    cache: PathBuf,
    status_repo: PathBuf,
    key: SecretKey,
    rendered: Rendered,
}

impl Site {
    fn new() -> Self {
        sandbox();
        let dir = tempfile::tempdir().unwrap();
        let (inbox, cache) = (dir.path().join("inbox"), dir.path().join("cache"));
        std::fs::create_dir_all(&inbox).unwrap();
        let status_repo = cache.join(offline::STATUS_REPO_DIR);
        offline::ensure_status_repo(&status_repo).unwrap();
        Site {
            _dir: dir,
            inbox,
            cache,
            status_repo,
            key: SecretKey::from_seed([9; 32]),
            rendered: render(EXAMPLE_SITE),
        }
    }

    fn agent(&self, server: &FakeApiServer) -> Agent {
        let url = self.status_repo.display().to_string();
        let inbox = Inbox::new(
            &self.inbox,
            self.key.public(),
            self.cache.join(offline::INBOX_STATE_FILE),
        );
        Agent::new(
            pass_config(CLUSTER),
            inbox,
            Some(GitSource::new(
                &url,
                STATUS_BRANCH,
                self.cache.join("status-read"),
                Credentials::None,
            )),
            Some(StatusWriter::new(
                &url,
                STATUS_BRANCH,
                self.cache.join("status-write"),
                Credentials::None,
                Identity::new("agent", "agent@localhost"),
            )),
            cluster_api(server),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
            Some(self.inbox.clone()),
        )
    }

    fn bundle(&self, generation: u64, created: &str) -> Vec<u8> {
        make_bundle(&self.rendered, &self.key, CLUSTER, generation, created)
    }

    /// Put [`Site::bundle`] into the inbox as `name`.
    fn deliver_bundle(&self, name: &str, generation: u64, created: &str) {
        deliver(&self.inbox, name, &self.bundle(generation, created));
    }

    async fn server(&self) -> FakeApiServer {
        let server = fake().await;
        ensure_prerequisite_namespaces(&server, &cluster_objects(&self.rendered, CLUSTER));
        server
    }
}

fn outcome(status: &ClusterStatus) -> (&str, &str) {
    (status.pass.outcome.as_str(), status.pass.reason.as_str())
}

/// The pass applied the bundle (the pass message when not).
fn assert_applied(status: &ClusterStatus) {
    assert_eq!(
        outcome(status),
        ("Succeeded", "Applied"),
        "{}",
        status.pass.message
    );
}

#[tokio::test]
async fn a_signed_bundle_is_applied_and_the_status_goes_to_the_local_status_repository() {
    let site = Site::new();
    let server = site.server().await;
    site.deliver_bundle("west-1-g1.tar.zst", 1, "2025-06-01T10:00:00Z");
    let mut agent = site.agent(&server);

    let status = agent.pass_once().await;

    assert_applied(&status);
    assert_eq!(
        status.source.commit.as_deref(),
        Some(COMMIT),
        "the bundle's source commit"
    );
    assert_eq!(status.source.generation, Some(1));
    let objects = cluster_objects(&site.rendered, CLUSTER);
    for object in &objects {
        assert!(
            live(&server, object).is_some(),
            "{} was applied",
            object["metadata"]["name"]
        );
    }
    let (files, _) = offline::status_files(&site.status_repo, STATUS_BRANCH).unwrap();
    let published =
        ClusterStatus::parse(std::str::from_utf8(&files["clusters/west-1.yaml"]).unwrap()).unwrap();
    assert_eq!(published, status);

    // Nothing changed: the next pass writes nothing.
    server.clear_writes();
    let again = agent.pass_once().await;
    assert_applied(&again);
    assert!(
        real_writes(&server).is_empty(),
        "{:?}",
        real_writes(&server)
    );
}

/// Each refusal: a fresh cluster and an inbox holding only the bad bundle.
async fn refused(name: &str, bytes: &[u8], needle: &str) {
    let site = Site::new();
    let server = site.server().await;
    deliver(&site.inbox, name, bytes);
    let mut agent = site.agent(&server);

    let status = agent.pass_once().await;

    assert_eq!(
        outcome(&status),
        ("Failed", "VerifyFailed"),
        "{name}: {}",
        status.pass.message
    );
    assert!(
        status
            .pass
            .message
            .starts_with(&format!("bundle {name} refused: ")),
        "{name}: {}",
        status.pass.message
    );
    assert!(
        status.pass.message.contains(needle),
        "{name}: expected {needle:?} in {}",
        status.pass.message
    );
    assert!(
        writes_but_own_key(&server).is_empty(),
        "{name}: nothing may be written, not even a dry run: {:?}",
        server.writes()
    );
    for object in cluster_objects(&site.rendered, CLUSTER) {
        assert!(live(&server, &object).is_none());
    }
}

fn repack(bytes: &[u8], change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut entries = archive::unpack(bytes, &archive::Limits::default()).unwrap();
    change(&mut entries);
    archive::pack(entries.iter().map(|(p, b)| (p.as_str(), b.as_slice()))).unwrap()
}

#[tokio::test]
async fn unsigned_bundles_are_refused() {
    let site = Site::new();
    let bytes = repack(&site.bundle(1, "2025-06-01T10:00:00Z"), |e| {
        e.retain(|(p, _)| p != SIGNATURE_ENTRY)
    });
    refused("unsigned.tar.zst", &bytes, "the bundle is unsigned").await;
}

#[tokio::test]
async fn tampered_archives_are_refused() {
    let site = Site::new();
    let mut bytes = site.bundle(1, "2025-06-01T10:00:00Z");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    refused("flipped.tar.zst", &bytes, "damaged or was altered").await;
}

#[tokio::test]
async fn tampered_file_content_is_refused() {
    let site = Site::new();
    let bytes = repack(&site.bundle(1, "2025-06-01T10:00:00Z"), |entries| {
        let (_, content) = entries
            .iter_mut()
            .find(|(p, _)| p.contains("replicationdestination"))
            .expect("a destination");
        let at = content.len() - 2;
        content[at] ^= 0x01;
    });
    refused("edited.tar.zst", &bytes, "was tampered with after signing").await;
}

#[tokio::test]
async fn truncated_bundles_are_refused() {
    let site = Site::new();
    let bytes = site.bundle(1, "2025-06-01T10:00:00Z");
    refused(
        "cut.tar.zst",
        &bytes[..bytes.len() * 2 / 3],
        "the bundle is truncated",
    )
    .await;
}

/// The entries of a good bundle of `site`, in archive order.
fn good_entries(site: &Site) -> Vec<(String, Vec<u8>)> {
    attacks::entries_of(&site.bundle(1, "2025-06-01T10:00:00Z"))
}

#[tokio::test]
async fn an_unsigned_decompression_bomb_is_refused_as_unsigned() {
    let site = Site::new();
    let entries = good_entries(&site);
    let tar = attacks::Tar::new()
        .files(&entries[..1])
        .huge("clusters/west-1/huge.yaml", 3 * attacks::GIB / 2)
        .end();
    let bytes = attacks::bundle(&tar, attacks::Declared::Lie(attacks::GIB));
    assert!(bytes.len() < 100_000, "{}", bytes.len());
    refused(
        "bomb.tar.zst",
        &bytes,
        "the bundle is unsigned: no manifest.sig follows manifest.yaml",
    )
    .await;
}

#[tokio::test]
async fn a_signed_bundle_padded_to_more_than_the_limit_is_stopped_at_the_limit() {
    let site = Site::new();
    let tar = attacks::Tar::new()
        .files(&good_entries(&site))
        .end()
        .zeros(3 * attacks::GIB / 2);
    let bytes = attacks::bundle(&tar, attacks::Declared::Lie(attacks::GIB));
    refused(
        "padded.tar.zst",
        &bytes,
        "the decompressed size exceeds the 1 GiB limit after 1073741824 bytes",
    )
    .await;
}

#[tokio::test]
async fn links_and_path_traversal_in_a_signed_bundle_are_refused() {
    let site = Site::new();
    let entries = good_entries(&site);
    let last = entries.len() - 1;
    let link = attacks::Tar::new().files(&entries[..last]).entry(
        &entries[last].0,
        attacks::SYMLINK,
        "/etc/shadow",
        b"",
    );
    refused(
        "link.tar.zst",
        &attacks::bundle(&link.end(), attacks::Declared::Honest),
        "is refused: it is a symbolic link, not a regular file",
    )
    .await;
    let traversal = attacks::Tar::new()
        .files(&entries)
        .file("clusters/west-1/../../etc/cron.d/x", b"x");
    refused(
        "traversal.tar.zst",
        &attacks::bundle(&traversal.end(), attacks::Declared::Honest),
        "is refused: the path must not contain empty, `.` or `..` parts",
    )
    .await;
}

#[tokio::test]
async fn nothing_behind_a_failing_signature_is_read() {
    let site = Site::new();
    let mut entries = good_entries(&site);
    entries[0].1.extend_from_slice(b"# edited\n");
    let tar = attacks::Tar::new()
        .files(&entries[..2])
        .file("../../etc/cron.d/x", b"x")
        .huge("clusters/west-1/huge.yaml", 3 * attacks::GIB / 2)
        .end();
    refused(
        "forged.tar.zst",
        &attacks::bundle(&tar, attacks::Declared::Lie(attacks::GIB)),
        "the signature does not verify against the trusted public key",
    )
    .await;
}

#[tokio::test]
async fn bundles_signed_with_another_key_are_refused() {
    let site = Site::new();
    let bytes = make_bundle(
        &site.rendered,
        &SecretKey::from_seed([1; 32]),
        CLUSTER,
        1,
        "2025-06-01T10:00:00Z",
    );
    refused("stranger.tar.zst", &bytes, "signed by another key").await;
}

#[tokio::test]
async fn bundles_for_another_cluster_are_refused() {
    let site = Site::new();
    let bytes = make_bundle(
        &site.rendered,
        &site.key,
        "east-1",
        1,
        "2025-06-01T10:00:00Z",
    );
    refused(
        "east.tar.zst",
        &bytes,
        "the bundle is for cluster east-1, not for west-1",
    )
    .await;
}

/// The pass refused g1.tar.zst as older than the applied generation 2 and wrote nothing.
fn assert_older_generation_refused(status: &ClusterStatus, server: &FakeApiServer) {
    assert_eq!(
        outcome(status),
        ("Failed", "VerifyFailed"),
        "{}",
        status.pass.message
    );
    assert!(
        status
            .pass
            .message
            .starts_with("bundle g1.tar.zst refused: the bundle has generation 1, older than 2"),
        "{}",
        status.pass.message
    );
    assert!(server.writes().is_empty(), "{:?}", server.writes());
}

#[tokio::test]
async fn an_older_generation_than_the_applied_one_is_refused() {
    let site = Site::new();
    let server = site.server().await;
    let mut agent = site.agent(&server);
    site.deliver_bundle("g2.tar.zst", 2, "2025-06-01T10:00:00Z");
    assert_applied(&agent.pass_once().await);

    // The newer bundle goes, an older one (made later) comes: a replay.
    std::fs::remove_file(site.inbox.join("g2.tar.zst")).unwrap();
    site.deliver_bundle("g1.tar.zst", 1, "2025-06-02T10:00:00Z");
    server.clear_writes();
    let status = agent.pass_once().await;

    assert_older_generation_refused(&status, &server);
    assert_eq!(
        status.source.generation,
        Some(2),
        "the status keeps the applied generation"
    );

    // A restarted agent (same cache directory) refuses it too.
    let mut restarted = site.agent(&server);
    assert_eq!(
        outcome(&restarted.pass_once().await),
        ("Failed", "VerifyFailed")
    );
    assert!(server.writes().is_empty());
}

#[tokio::test]
async fn a_replayed_bundle_is_refused_after_the_cache_directory_is_lost() {
    let site = Site::new();
    let server = site.server().await;
    site.deliver_bundle("g2.tar.zst", 2, "2025-06-01T10:00:00Z");
    assert_applied(&site.agent(&server).pass_once().await);

    // The cache volume is lost (the state file with it), the agent restarts, and an older
    // bundle is put into the inbox: the cluster remembers generation 2.
    std::fs::remove_file(site.cache.join(offline::INBOX_STATE_FILE)).unwrap();
    std::fs::remove_file(site.inbox.join("g2.tar.zst")).unwrap();
    site.deliver_bundle("g1.tar.zst", 1, "2025-06-02T10:00:00Z");
    server.clear_writes();
    let status = site.agent(&server).pass_once().await;

    assert_older_generation_refused(&status, &server);
    assert!(
        !site.cache.join(offline::INBOX_STATE_FILE).exists(),
        "the refused bundle is not recorded as applied"
    );
}

#[tokio::test]
async fn the_newest_valid_bundle_wins_and_older_ones_beside_it_are_ignored() {
    let site = Site::new();
    let server = site.server().await;
    site.deliver_bundle("g2-late.tar.zst", 2, "2025-06-03T10:00:00Z");
    site.deliver_bundle("g1.tar.zst", 1, "2025-06-04T10:00:00Z");
    site.deliver_bundle("g2-early.tar.zst", 2, "2025-06-02T10:00:00Z");
    let status = site.agent(&server).pass_once().await;
    assert_applied(&status);
    let state = std::fs::read_to_string(site.cache.join(offline::INBOX_STATE_FILE)).unwrap();
    assert!(state.contains("bundle: g2-late.tar.zst"), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bundle_is_picked_up_through_the_watch() {
    let site = Site::new();
    let server = site.server().await;
    let agent = site.agent(&server); // interval and heartbeat: one hour
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(agent.run(rx));

    // The first pass finds the inbox empty and reports it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while offline::status_files(&site.status_repo, STATUS_BRANCH).is_err() {
        assert!(Instant::now() < deadline, "the first pass never reported");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let objects = cluster_objects(&site.rendered, CLUSTER);
    assert!(live(&server, &objects[0]).is_none());

    let started = Instant::now();
    site.deliver_bundle("west-1.tar.zst", 1, "2025-06-01T10:00:00Z");
    while !objects.iter().all(|o| live(&server, o).is_some()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the bundle was not applied within 30 s (the pass interval is one hour)"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    println!("bundle applied {elapsed:?} after it arrived in the inbox");

    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the agent stops")
        .unwrap();
}

#[tokio::test]
async fn status_export_imported_twice_gives_the_same_central_branch() {
    let site = Site::new();
    let server = site.server().await;
    site.deliver_bundle("west-1.tar.zst", 1, "2025-06-01T10:00:00Z");
    let status = site.agent(&server).pass_once().await;
    assert_applied(&status);

    let export = site.cache.join("../status.tar.zst");
    let args = ExportArgs {
        out: export.clone(),
        status_repo: None,
        cache_dir: site.cache.clone(),
        status_branch: STATUS_BRANCH.into(),
    };
    let summary = offline::export(&args).unwrap();
    assert!(summary.contains("status of west-1"), "{summary}");

    // The central repository already holds another cluster's status.
    let central = Remote::new();
    let mut other = status.clone();
    other.cluster = "east-1".into();
    central.publish_status(&other);
    let import = |file: &Path| {
        let (result, out) = status_import(&central, file);
        assert_eq!(result, Ok(()), "import: {out}");
        out
    };

    let first = import(&export);
    assert!(first.contains("+ clusters/west-1.yaml (new)"), "{first}");
    let tip = central.tip(STATUS_BRANCH).unwrap();
    assert_eq!(central.status_file("west-1").unwrap(), status);
    assert_eq!(
        central.status_file("east-1").unwrap(),
        other,
        "other clusters are kept"
    );

    let second = import(&export);
    assert!(second.contains("nothing to import"), "{second}");
    assert_eq!(
        central.tip(STATUS_BRANCH),
        Some(tip),
        "a second import changes nothing"
    );

    // A newer status reached the central branch (say, after the site reconnected): an old
    // export does not overwrite it.
    let mut newer = status.clone();
    newer.updated_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap()
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string();
    newer.pass.message = "newer".into();
    central.publish_signed_status(&newer, &agent_key(&server, "west-1"));
    let tip = central.tip(STATUS_BRANCH);
    let third = import(&export);
    assert!(third.contains("kept the central status"), "{third}");
    assert_eq!(central.tip(STATUS_BRANCH), tip);
    assert_eq!(central.status_file("west-1").unwrap(), newer);
}

#[tokio::test]
async fn export_status_without_a_status_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let args = ExportArgs {
        out: dir.path().join("x.tar.zst"),
        status_repo: None,
        cache_dir: dir.path().to_path_buf(),
        status_branch: STATUS_BRANCH.into(),
    };
    let (code, message) = offline::export(&args).unwrap_err();
    assert_eq!(code, 2, "{message}");
    assert!(!dir.path().join("x.tar.zst").exists());
}
