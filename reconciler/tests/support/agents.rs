//! Agents of the example site against fake clusters: east-1 and west-1 each with an agent (the
//! late-binding pair: orders-db replicates from east-1 to west-1), what a status says about an
//! object, and `hubdr status import` run as the CLI runs it.

use std::path::Path;

use hubdr::render::Rendered;
use hubdr::status::ClusterStatus;
use hubdr_agent::runner::Agent;
use kubefake::FakeApiServer;

use super::{cluster_objects, ensure_prerequisite_namespaces, fake, Remote};

/// The ReplicationSource of the example site's late-bound replication (east-1 -> west-1).
pub const ORDERS_RS: &str = "ReplicationSource shop/orders-db";

/// A fake cluster with the namespaces `cluster`'s objects need but the repository does not render.
pub async fn cluster_for(rendered: &Rendered, cluster: &str) -> FakeApiServer {
    let server = fake().await;
    ensure_prerequisite_namespaces(&server, &cluster_objects(rendered, cluster));
    server
}

/// `object`'s result and message in `status` (panics, listing the objects, when absent).
pub fn result_of<'a>(status: &'a ClusterStatus, object: &str) -> (&'a str, &'a str) {
    let found = status
        .objects
        .iter()
        .find(|o| o.object == object)
        .unwrap_or_else(|| panic!("{object} in {:#?}", status.objects));
    (found.result.as_str(), found.message.as_str())
}

/// east-1 and west-1 of a render committed to a remote, a fake cluster and an agent each:
/// (east-1, west-1, east-1's agent, west-1's agent). The agents' caches are in the remote's
/// directory, so they last as long as the remote.
pub type EastWest = (FakeApiServer, FakeApiServer, Agent, Agent);

/// [`EastWest`] for `rendered`, already committed to `remote`.
pub async fn east_west(remote: &Remote, rendered: &Rendered) -> EastWest {
    let (east, west) = (
        cluster_for(rendered, "east-1").await,
        cluster_for(rendered, "west-1").await,
    );
    let cache = |cluster: &str| {
        let dir = remote.dir.path().join(format!("{cluster}-cache"));
        std::fs::create_dir(&dir).expect("a cache directory of its own");
        dir
    };
    let east_agent = remote.agent("east-1", &east, &cache("east-1"));
    let west_agent = remote.agent("west-1", &west, &cache("west-1"));
    (east, west, east_agent, west_agent)
}

/// [`east_west`] of the example site, rendered and committed to `remote`.
pub async fn example_east_west(remote: &Remote) -> EastWest {
    let rendered = super::render(super::EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    east_west(remote, &rendered).await
}

/// VolSync on west-1 (`west`) publishes `address` in the status of ReplicationDestination
/// shop/orders-db, the destination of the late-bound replication.
pub fn publish_orders_address(west: &FakeApiServer, address: &str) {
    let rd = super::gvk_of("volsync.backube/v1alpha1", "ReplicationDestination");
    west.set_status(
        &rd,
        Some("shop"),
        "orders-db",
        serde_json::json!({"rsyncTLS": {"address": address}}),
    )
    .unwrap();
}

/// `hubdr status import FILE --repo CENTRAL`: the exit code on failure, and the output
/// (stdout, then stderr and the error).
pub fn status_import(central: &Remote, file: &Path) -> (Result<(), i32>, String) {
    use clap::Parser;
    let args = [
        "hubdr",
        "status",
        "import",
        file.to_str().unwrap(),
        "--repo",
        central.path.to_str().unwrap(),
    ];
    let cli = hubdr::cli::Cli::try_parse_from(args).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = hubdr::commands::run(&cli.command, &mut out, &mut err).map_err(|e| {
        err.extend_from_slice(e.to_string().as_bytes());
        e.exit_code()
    });
    (
        result,
        String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap(),
    )
}
