//! Attacks on the status branch, each with the exact refusal: another cluster's status forged
//! to redirect a replication (the source agent must make no write call for it, and `hubdr
//! status` must say it ignores the status), a key pinned by someone else, a forged status
//! export from the future, an address outside the destination's declared network.

mod support;

use std::time::Duration;

use hubdr::status::signature::{pin_text, AgentKey};
use hubdr::status::{ClusterStatus, STATUS_BRANCH};
use support::*;

const GOOD_ADDRESS: &str = "10.0.0.7";
const EVIL_ADDRESS: &str = "203.0.113.66";

/// west-1's status with its destination's address replaced by the attacker's.
fn forged(real: &ClusterStatus) -> ClusterStatus {
    let mut status = real.clone();
    for d in &mut status.observed.replication_destinations {
        d.address = Some(EVIL_ADDRESS.into());
    }
    status
}

/// `hubdr status` on the remote: its output.
fn hubdr_status(remote: &Remote) -> String {
    let command = hubdr::cli::Command::Status(hubdr::cli::StatusArgs {
        command: None,
        show: hubdr::cli::StatusShowArgs {
            repo: remote.url(),
            branch: STATUS_BRANCH.into(),
            source_branch: "main".into(),
            watch: false,
            interval: Duration::from_millis(10),
            stall_after: Some(Duration::from_secs(900)),
            ..Default::default()
        },
    });
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ = hubdr::commands::run(&command, &mut out, &mut err);
    String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap()
}

/// One way to forge west-1's status, and the exact refusal the source agent reports.
struct Forgery {
    name: &'static str,
    /// The files written onto the status branch (`None` removes one).
    files: Vec<(&'static str, Option<Vec<u8>>)>,
    /// What east-1's agent says (after `status of west-1 ignored: `).
    refusal: String,
    /// Whether `hubdr status`, which remembers no pins, sees through it too.
    seen_by_hubdr_status: bool,
}

fn forgeries(real: &ClusterStatus, west: &AgentKey) -> Vec<Forgery> {
    let attacker = AgentKey::from_seed([66; 32]);
    let bytes = forged(real).to_yaml().into_bytes();
    let attacker_sig = attacker.sign("west-1", &bytes).to_text().into_bytes();
    let attacker_pin = pin_text("west-1", &attacker.public()).into_bytes();
    let wrong_key = format!(
        "signature does not match the key pinned for it: signed by key id {} ({}), the trusted key has id {}",
        attacker.public().id(),
        attacker.public(),
        west.public().id()
    );
    vec![
        Forgery {
            name: "the status rewritten, its signature left as it was",
            files: vec![("clusters/west-1.yaml", Some(bytes.clone()))],
            refusal: "signature does not match its content: the status was changed after it was signed".into(),
            seen_by_hubdr_status: true,
        },
        Forgery {
            name: "the status rewritten and its signature removed",
            files: vec![
                ("clusters/west-1.yaml", Some(bytes.clone())),
                ("clusters/west-1.sig", None),
            ],
            refusal: "it is unsigned; only statuses signed by the cluster's own agent are trusted".into(),
            seen_by_hubdr_status: true,
        },
        Forgery {
            name: "the status signed by another key",
            files: vec![
                ("clusters/west-1.yaml", Some(bytes.clone())),
                ("clusters/west-1.sig", Some(attacker_sig.clone())),
            ],
            refusal: wrong_key,
            seen_by_hubdr_status: true,
        },
        Forgery {
            name: "the status signed by another key, and that key pinned instead of west-1's",
            files: vec![
                ("clusters/west-1.yaml", Some(bytes.clone())),
                ("clusters/west-1.sig", Some(attacker_sig)),
                ("keys/west-1.pub", Some(attacker_pin)),
            ],
            refusal: format!(
                "the key pinned for west-1 on the status branch changed (from key id {} to {}) since this reader first saw it",
                west.public().id(),
                attacker.public().id()
            ),
            // A reader without memory (hubdr status) cannot tell a replaced pin: the trade-off
            // of trust on first use (README); registered keys close it.
            seen_by_hubdr_status: false,
        },
    ]
}

#[tokio::test]
async fn a_forged_status_does_not_redirect_a_replication_source() {
    let remote = Remote::new();
    let (east, west, mut east_agent, mut west_agent) = example_east_west(&remote).await;
    let rs = gvk_of("volsync.backube/v1alpha1", "ReplicationSource");

    // The real destination publishes its address and the source binds it.
    west_agent.pass_once().await;
    publish_orders_address(&west, GOOD_ADDRESS);
    let real = west_agent.pass_once().await;
    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS).0, "created");
    let legit = remote.status_snapshot();
    assert!(!hubdr_status(&remote).contains("ignored"));

    for forgery in forgeries(&real, &agent_key(&west, "west-1")) {
        // Someone with write access to the status branch rewrites west-1's status.
        remote.restore_status(&legit);
        remote.tamper_status_branch(&forgery.files);
        east.clear_writes();
        let status = east_agent.pass_once().await;

        let name = forgery.name;
        assert_eq!(
            writes_to(&east, "replicationsources", "orders-db"),
            vec![],
            "{name}: no write call for the ReplicationSource"
        );
        assert_eq!(
            east.get(&rs, Some("shop"), "orders-db").unwrap()["spec"]["rsyncTLS"]["address"],
            GOOD_ADDRESS,
            "{name}"
        );
        let expected = format!(
            "waiting for cluster west-1 to publish the address of ReplicationDestination shop/orders-db in its signed status: \
             status of west-1 ignored: {}",
            forgery.refusal
        );
        let (result, message) = result_of(&status, ORDERS_RS);
        assert_eq!(result, "waiting", "{name}");
        assert!(
            message.starts_with(&expected),
            "{name}:\n{message}\n{expected}"
        );

        let out = hubdr_status(&remote);
        if forgery.seen_by_hubdr_status {
            let line = format!("status of west-1 ignored: {}", forgery.refusal);
            assert!(out.contains(&line), "{name}: {out}");
            assert!(out.contains("status ignored"), "{name}: {out}");
        }
    }

    // Back to the real status: bound again, nothing to change.
    remote.restore_status(&legit);
    east.clear_writes();
    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS).0, "unchanged");
}

#[tokio::test]
async fn the_first_signed_status_pins_its_key_and_the_agent_never_replaces_a_pin() {
    let remote = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    remote.commit(&rendered.tree, "render");
    // Someone pins their key for west-1 before its agent ever reported.
    let squatter = AgentKey::from_seed([66; 32]);
    remote.tamper_status_branch(&[(
        "keys/west-1.pub",
        Some(pin_text("west-1", &squatter.public()).into_bytes()),
    )]);
    let west = cluster_for(&rendered, "west-1").await;
    let cache = tempfile::tempdir().unwrap();
    let mut agent = remote.agent("west-1", &west, cache.path());

    agent.pass_once().await;
    let status = agent.pass_once().await;

    let key = agent_key(&west, "west-1");
    assert!(
        status.pass.message.contains(&format!(
            "keys/west-1.pub on the status branch pins key id {}",
            squatter.public().id()
        )) && status
            .pass
            .message
            .contains(&format!("spec.agent.statusKeys.west-1: {}", key.public())),
        "{}",
        status.pass.message
    );
    let out = hubdr_status(&remote);
    assert!(
        out.contains("status of west-1 ignored: signature does not match the key pinned for it"),
        "{out}"
    );
}

/// An export holding `files`, written where `dir` is.
fn export_of(dir: &std::path::Path, name: &str, files: Vec<(&str, Vec<u8>)>) -> std::path::PathBuf {
    let files: hubdr::gitrepo::Tree = files.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
    let bytes = hubdr::bundle::transfer::pack(&files, None, jiff::Timestamp::now()).expect("packs");
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    file
}

#[tokio::test]
async fn a_forged_status_export_is_refused() {
    let central = Remote::new();
    let rendered = render(EXAMPLE_SITE);
    central.commit(&rendered.tree, "render");
    let west = cluster_for(&rendered, "west-1").await;
    let cache = tempfile::tempdir().unwrap();
    let real = central
        .agent("west-1", &west, cache.path())
        .pass_once()
        .await;
    let tip = central.tip(STATUS_BRANCH);
    let west_key = agent_key(&west, "west-1");
    let attacker = AgentKey::from_seed([66; 32]);

    // A status that claims west-1 reported in 2099: it would never be replaced again.
    let mut future = forged(&real);
    future.updated_at = "2099-01-01T00:00:00Z".into();
    let future = future.to_yaml().into_bytes();
    let signed = |key: &AgentKey| key.sign("west-1", &future).to_text().into_bytes();
    let pin = |key: &AgentKey| pin_text("west-1", &key.public()).into_bytes();
    let cases = [
        (
            "unsigned",
            vec![("clusters/west-1.yaml", future.clone())],
            "status of west-1 ignored: it is unsigned; only statuses signed by the cluster's own agent are trusted".to_string(),
        ),
        (
            "signed by another key, which the export pins",
            vec![
                ("clusters/west-1.yaml", future.clone()),
                ("clusters/west-1.sig", signed(&attacker)),
                ("keys/west-1.pub", pin(&attacker)),
            ],
            format!(
                "status of west-1 ignored: signature does not match the key pinned for it: signed by key id {} ({}), the trusted key has id {}",
                attacker.public().id(),
                attacker.public(),
                west_key.public().id()
            ),
        ),
        (
            "signed by west-1's own key, from the future",
            vec![
                ("clusters/west-1.yaml", future.clone()),
                ("clusters/west-1.sig", signed(&west_key)),
                ("keys/west-1.pub", pin(&west_key)),
            ],
            "status of west-1 ignored: its updatedAt 2099-01-01T00:00:00Z is in the future (more than 5m ahead of this clock".to_string(),
        ),
    ];
    for (name, files, refusal) in cases {
        let file = export_of(cache.path(), "forged.tar.zst", files);

        let (result, out) = status_import(&central, &file);

        assert_eq!(result, Err(2), "{name}: {out}");
        assert!(
            out.contains("refused; nothing was imported"),
            "{name}: {out}"
        );
        assert!(out.contains(&refusal), "{name}: {out}\n{refusal}");
        assert_eq!(
            central.tip(STATUS_BRANCH),
            tip,
            "{name}: nothing was imported"
        );
    }

    // A central status from the future (written before imports were checked) does not hold
    // the place of a real one for ever.
    central.tamper_status_branch(&[
        ("clusters/west-1.yaml", Some(future.clone())),
        ("clusters/west-1.sig", Some(signed(&west_key))),
    ]);
    let real_bytes = real.to_yaml().into_bytes();
    let file = export_of(
        cache.path(),
        "real.tar.zst",
        vec![
            ("clusters/west-1.yaml", real_bytes.clone()),
            (
                "clusters/west-1.sig",
                west_key.sign("west-1", &real_bytes).to_text().into_bytes(),
            ),
            ("keys/west-1.pub", pin(&west_key)),
        ],
    );
    let (result, out) = status_import(&central, &file);
    assert_eq!(result, Ok(()), "{out}");
    assert!(
        out.contains("~ clusters/west-1.yaml (replaces the central status: status of west-1 ignored: its updatedAt 2099-01-01T00:00:00Z is in the future"),
        "{out}"
    );
    assert_eq!(central.status_file("west-1").unwrap(), real);
}

#[tokio::test]
async fn a_late_bound_address_outside_the_declared_network_is_refused() {
    let remote = Remote::new();
    let (east, west, mut east_agent, mut west_agent) = example_east_west(&remote).await;
    let rs = gvk_of("volsync.backube/v1alpha1", "ReplicationSource");
    west_agent.pass_once().await;
    // The example site declares west-1's network: addresses 10.0.0.0/16, domains
    // west-1.example and elb.amazonaws.com.
    let declared = "(addresses 10.0.0.0/16; domains west-1.example, elb.amazonaws.com; spec.managedClusters[west-1].network)";
    for (address, why) in [
        (EVIL_ADDRESS, format!("{EVIL_ADDRESS} is outside the network west-1 declares {declared}")),
        ("db.attacker.example", format!("db.attacker.example is outside the network west-1 declares {declared}")),
        ("169.254.169.254", "169.254.169.254 is a link-local address (the range of the cloud metadata service); such an address is never bound".into()),
        ("127.0.0.1", "127.0.0.1 is a loopback address; such an address is never bound".into()),
    ] {
        // west-1's own agent reports it (signed): the destination itself is not trusted to
        // point anywhere.
        publish_orders_address(&west, address);
        west_agent.pass_once().await;
        east.clear_writes();
        let status = east_agent.pass_once().await;

        assert_eq!(writes_to(&east, "replicationsources", "orders-db"), vec![], "{address}");
        assert!(east.get(&rs, Some("shop"), "orders-db").is_none(), "{address}");
        let (result, message) = result_of(&status, ORDERS_RS);
        assert_eq!(result, "failed", "{address}");
        assert_eq!(
            message,
            format!(
                "refused: the address west-1 published for ReplicationDestination shop/orders-db: {why}; \
                 nothing is applied for this object until it publishes an allowed address"
            )
        );
    }

    for address in ["10.0.3.4", "a1b2.eu-west-1.elb.amazonaws.com"] {
        publish_orders_address(&west, address);
        west_agent.pass_once().await;
        let status = east_agent.pass_once().await;
        assert!(
            ["created", "configured"].contains(&result_of(&status, ORDERS_RS).0),
            "{address}: {:?}",
            result_of(&status, ORDERS_RS)
        );
        assert_eq!(
            east.get(&rs, Some("shop"), "orders-db").unwrap()["spec"]["rsyncTLS"]["address"],
            address
        );
    }
}

#[tokio::test]
async fn a_key_registered_in_the_site_wins_over_any_pin() {
    // west-1's key, brought by the operator (a Secret created before the agent starts) and
    // registered in the site.
    let west_key = AgentKey::from_seed([7; 32]);
    let site = edit(
        EXAMPLE_SITE,
        "  argocd:\n",
        &format!(
            "  agent:\n    statusKeys:\n      west-1: \"{}\"\n\n  argocd:\n",
            west_key.public()
        ),
    );
    let remote = Remote::new();
    let rendered = render(&site);
    remote.commit(&rendered.tree, "render");
    // Someone pinned their own key for west-1 first.
    let squatter = AgentKey::from_seed([66; 32]);
    remote.tamper_status_branch(&[(
        "keys/west-1.pub",
        Some(pin_text("west-1", &squatter.public()).into_bytes()),
    )]);
    let (east, west, mut east_agent, mut west_agent) = east_west(&remote, &rendered).await;
    west.put_object(hubdr_agent::status_key::secret(
        AGENT_NAMESPACE,
        "west-1",
        &west_key,
    ))
    .unwrap();

    west_agent.pass_once().await;
    publish_orders_address(&west, GOOD_ADDRESS);
    let real = west_agent.pass_once().await;
    assert_eq!(
        agent_key(&west, "west-1").public(),
        west_key.public(),
        "the agent uses the key of the Secret it found"
    );
    assert!(
        !real.pass.message.contains("pins key id"),
        "the registered key counts, not the squatted pin: {}",
        real.pass.message
    );

    let status = east_agent.pass_once().await;
    assert_eq!(result_of(&status, ORDERS_RS).0, "created");
    assert!(!hubdr_status(&remote).contains("ignored"));

    // The squatter signs a forged status with the key it pinned: the registered key decides.
    let bytes = forged(&real).to_yaml().into_bytes();
    remote.tamper_status_branch(&[
        ("clusters/west-1.yaml", Some(bytes.clone())),
        (
            "clusters/west-1.sig",
            Some(squatter.sign("west-1", &bytes).to_text().into_bytes()),
        ),
    ]);
    east.clear_writes();
    let status = east_agent.pass_once().await;
    assert_eq!(writes_to(&east, "replicationsources", "orders-db"), vec![]);
    let refusal = format!(
        "status of west-1 ignored: signature does not match the key registered in the site (spec.agent.statusKeys) for it: signed by key id {}",
        squatter.public().id()
    );
    assert!(
        result_of(&status, ORDERS_RS).1.contains(&refusal),
        "{:?}",
        result_of(&status, ORDERS_RS)
    );
    assert!(hubdr_status(&remote).contains(&refusal));
}
