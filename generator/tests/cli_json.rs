//! `-o json` on `failover` and `bundle verify`, and `failover`'s `--cluster` / `--changed-only`
//! output filters, through the real binary in a sandbox.

mod support;

use std::fs;

use serde_json::Value;
use support::Sandbox;

fn starter_rendered() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.hubdr(&["init"]).expect_code(0);
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    sandbox
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn failover(sandbox: &Sandbox, extra: &[&str]) -> support::Run {
    let mut args = vec![
        "failover",
        "--to",
        "hub-b",
        "--out",
        "repo",
        "--skip-preflight",
        "no agents in this test",
    ];
    args.extend_from_slice(extra);
    sandbox.hubdr(&args)
}

fn cluster_names(doc: &Value) -> Vec<&str> {
    doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn failover_prints_a_failover_result_document() {
    let sandbox = starter_rendered();
    let run = failover(&sandbox, &["-o", "json"]);
    run.expect_code(0);
    let doc = json(&run.stdout);
    assert_eq!(doc["apiVersion"], "hubdr.io/v1alpha1");
    assert_eq!(doc["kind"], "FailoverResult");
    assert_eq!(doc["site"], "my-site");
    assert_eq!(
        (doc["from"].as_str(), doc["to"].as_str()),
        (Some("hub-a"), Some("hub-b"))
    );
    assert_eq!(doc["generation"], 1);
    assert_eq!(doc["oldPrimaryUnreachable"], false);
    let head = support::commits(&sandbox.join("repo"))[0].0.to_string();
    assert_eq!(doc["commit"], head);
    assert_eq!(doc["preflight"]["passed"], false);
    assert_eq!(doc["preflight"]["skipped"], "no agents in this test");
    let checks = doc["preflight"]["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["name"] == "status-branch" && c["ok"] == false));
    let steps = doc["steps"].as_array().unwrap();
    assert!(steps.len() >= 3, "{steps:?}");
    assert!(
        steps[0].as_str().unwrap().starts_with("hub-a (fenced)"),
        "{steps:?}"
    );
    assert!(doc["summary"]["change"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(cluster_names(&doc), ["east-1", "hub-a", "hub-b", "west-1"]);
    let hub_a = &doc["clusters"][1];
    assert_eq!(hub_a["role"], "fenced");
    assert!(!hub_a["changes"].as_array().unwrap().is_empty(), "{hub_a}");
    // Nothing but the document on stdout.
    assert!(run.stdout.trim_end().ends_with('}'));
}

#[test]
fn failover_cluster_filters_the_plan_never_the_change() {
    let unfiltered = starter_rendered();
    failover(&unfiltered, &[]).expect_code(0);
    let filtered = starter_rendered();
    let run = failover(&filtered, &["--cluster", "hub-b", "-o", "json"]);
    run.expect_code(0);
    let doc = json(&run.stdout);
    assert_eq!(cluster_names(&doc), ["hub-b"]);
    // The same failover was made: the same site and the same rendered tree.
    assert_eq!(
        fs::read_to_string(unfiltered.join("site.yaml")).unwrap(),
        fs::read_to_string(filtered.join("site.yaml")).unwrap()
    );
    assert_eq!(
        support::head_tree(&unfiltered.join("repo")),
        support::head_tree(&filtered.join("repo"))
    );

    // Text output: only hub-a's section.
    let sandbox = starter_rendered();
    let run = failover(&sandbox, &["--cluster", "hub-a"]);
    run.expect_code(0).expect_stdout("hub-a");
    assert!(!run.stdout.contains("\nhub-b:\n"), "{run}");
    assert!(!run.stdout.contains("\neast-1:\n"), "{run}");

    // --changed-only: the managed clusters, which the failover does not change, are left out.
    let sandbox = starter_rendered();
    let run = failover(&sandbox, &["--changed-only", "-o", "json"]);
    run.expect_code(0);
    assert_eq!(cluster_names(&json(&run.stdout)), ["hub-a", "hub-b"]);
}

#[test]
fn failover_refuses_a_misspelt_cluster_before_changing_anything() {
    let sandbox = starter_rendered();
    let site = fs::read_to_string(sandbox.join("site.yaml")).unwrap();
    let commits = support::commits(&sandbox.join("repo"));
    failover(&sandbox, &["--cluster", "hb-b"])
        .expect_code(2)
        .expect_stderr("--cluster hb-b: the site has no such cluster");
    assert_eq!(fs::read_to_string(sandbox.join("site.yaml")).unwrap(), site);
    assert_eq!(support::commits(&sandbox.join("repo")), commits);
}

#[test]
fn failover_help_says_the_filters_never_change_the_failover() {
    let run = Sandbox::new().hubdr(&["failover", "--help"]);
    run.expect_code(0)
        .expect_stdout("--cluster <NAME>")
        .expect_stdout("--changed-only")
        .expect_stdout("never the change")
        .expect_stdout("-o, --output");
}

#[test]
fn bundle_verify_prints_a_bundle_verify_result_document() {
    let sandbox = Sandbox::new();
    let site = support::manifest_dir().join("../repos-example/site.yaml");
    sandbox
        .hubdr(&["render", "--site", site.to_str().unwrap(), "--out", "repo"])
        .expect_code(0);
    sandbox.hubdr(&["keygen", "-o", "signing"]).expect_code(0);
    sandbox.hubdr(&["keygen", "-o", "other"]).expect_code(0);
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "repo",
            "--cluster",
            "west-1",
            "--key",
            "signing",
            "-o",
            "west-1.bundle",
        ])
        .expect_code(0);
    let run = sandbox.hubdr(&[
        "bundle",
        "verify",
        "west-1.bundle",
        "--pub",
        "signing.pub",
        "-o",
        "json",
    ]);
    run.expect_code(0);
    let doc = json(&run.stdout);
    assert_eq!(doc["apiVersion"], "hubdr.io/v1alpha1");
    assert_eq!(doc["kind"], "BundleVerifyResult");
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["file"], "west-1.bundle");
    assert_eq!(doc["cluster"], "west-1");
    assert_eq!(doc["site"], "prod-emea");
    let head = support::commits(&sandbox.join("repo"))[0].0.to_string();
    assert_eq!(doc["commit"], head);
    assert!(doc["keyId"].as_str().is_some_and(|k| !k.is_empty()));
    let files = doc["files"].as_array().unwrap();
    assert!(!files.is_empty());
    for f in files {
        let path = f["path"].as_str().unwrap();
        assert!(
            path == ".hubdr/index.yaml" || path.starts_with("clusters/west-1/"),
            "{f}"
        );
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64, "{f}");
    }
    assert!(files
        .iter()
        .any(|f| f["path"].as_str().unwrap().starts_with("clusters/west-1/")));

    // Refused (another key): a document too, and exit 2.
    let run = sandbox.hubdr(&[
        "bundle",
        "verify",
        "west-1.bundle",
        "--pub",
        "other.pub",
        "-o",
        "json",
    ]);
    run.expect_code(2);
    let doc = json(&run.stdout);
    assert_eq!(doc["kind"], "BundleVerifyResult");
    assert_eq!(doc["verified"], false);
    assert!(doc["error"].as_str().unwrap().contains("refused"), "{doc}");
}
