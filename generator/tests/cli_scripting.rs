//! The Kubernetes-CLI expectations of issue 21, with the real binary: `-o json`, `--exit-code`,
//! `--cluster`/`--changed-only`, `completion`, `--version`, `-q`/`-v`.

mod support;

use std::fs;

use support::starter::{edit_site, starter, FAILOVER};
use support::Sandbox;

fn json(run: &support::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}

#[test]
fn plan_exit_code_is_0_without_changes_1_with_and_2_on_error() {
    let sandbox = starter();
    sandbox
        .hubdr(&["plan", "--out", "repo", "--exit-code"])
        .expect_code(1)
        .expect_stdout("to create");
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    sandbox
        .hubdr(&["plan", "--out", "repo", "--exit-code"])
        .expect_code(0);
    fs::write(sandbox.join("notarepo"), "x").unwrap();
    sandbox
        .hubdr(&["plan", "--out", "notarepo", "--exit-code"])
        .expect_code(2);
    // Without --exit-code, changes are not an error.
    edit_site(&sandbox, FAILOVER);
    sandbox.hubdr(&["plan", "--out", "repo"]).expect_code(0);
}

#[test]
fn plan_filters_clusters_and_prints_json() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    edit_site(&sandbox, FAILOVER);
    let run = sandbox.hubdr(&["plan", "--out", "repo", "--changed-only"]);
    run.expect_code(0)
        .expect_stdout("hub-a (hub, fenced)")
        .expect_stdout("hub-b (hub, active)");
    assert!(!run.stdout.contains("east-1 (managed"), "{run}");
    assert!(
        run.stdout
            // hub-a is fenced on ACM 2.15: its BackupSchedule is paused (changed), not removed.
            .contains(": 3 to create, 2 to change, 1 to remove"),
        "{run}"
    );
    let run = sandbox.hubdr(&["plan", "--out", "repo", "--cluster", "hub-b", "-o", "json"]);
    run.expect_code(0);
    let doc = json(&run);
    assert_eq!(doc["apiVersion"], "hubdr.io/v1alpha1");
    assert_eq!(doc["kind"], "PlanResult");
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["generation"], 1);
    let clusters = doc["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{run}");
    assert_eq!(clusters[0]["name"], "hub-b");
    assert!(
        clusters[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["action"] == "create"
                && c["object"].as_str().unwrap().starts_with("BackupSchedule")),
        "{run}"
    );
    sandbox
        .hubdr(&["plan", "--out", "repo", "--cluster", "hub-z"])
        .expect_code(2)
        .expect_stderr("--cluster hub-z: the site has no such cluster")
        .expect_stderr("hub-a");
}

#[test]
fn plan_warns_about_hand_edits_the_next_render_refuses() {
    let sandbox = starter();
    sandbox.hubdr(&["render", "--out", "repo"]).expect_code(0);
    let dir = sandbox.join("repo/clusters/hub-a");
    let file = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "kustomization.yaml")
        .unwrap();
    fs::write(&file, "kind: Edited\n").unwrap();
    sandbox
        .hubdr(&["plan", "--out", "repo"])
        .expect_code(0)
        .expect_stderr(
            "1 uncommitted change(s) under the rendered paths; the next `hubdr render` refuses",
        );
}

#[test]
fn validate_prints_json() {
    let sandbox = starter();
    let run = sandbox.hubdr(&["validate", "-o", "json"]);
    run.expect_code(0);
    let doc = json(&run);
    assert_eq!(doc["kind"], "ValidateResult");
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["hubs"], 2);
    assert_eq!(doc["managedClusters"], 2);
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    let sandbox = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef hubdr"),
        ("fish", "complete -c hubdr"),
    ] {
        let run = sandbox.hubdr(&["completion", shell]);
        run.expect_code(0)
            .expect_stdout(marker)
            .expect_stdout("failover");
    }
    sandbox.hubdr(&["completion", "tcsh"]).expect_code(2);
}

#[test]
fn version_names_the_commit() {
    let run = Sandbox::new().hubdr(&["--version"]);
    run.expect_code(0);
    let line = run.stdout.trim();
    let commit = line
        .strip_prefix(&format!("hubdr {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{run}"
    );
}

#[test]
fn quiet_drops_warnings_and_verbose_adds_timing() {
    let sandbox = starter();
    sandbox
        .hubdr(&["-v", "validate"])
        .expect_code(0)
        .expect_stderr("hubdr: took ");
    // A hand-edited failover validates with a warning.
    edit_site(&sandbox, FAILOVER);
    let loud = sandbox.hubdr(&["validate"]);
    loud.expect_code(0).expect_stderr("warning:");
    let quiet = sandbox.hubdr(&["validate", "-q"]);
    quiet.expect_code(0);
    assert!(quiet.stderr.is_empty(), "{quiet}");
    assert_eq!(quiet.stdout, loud.stdout);
    // Errors are still printed.
    sandbox
        .hubdr(&["-q", "validate", "--site", "missing.yaml"])
        .expect_code(2)
        .expect_stderr("cannot read site file");
}

/// The starter with `n` more managed clusters, each replicating a volume to the next.
fn fleet_site(sandbox: &Sandbox, n: usize) {
    let path = sandbox.join("site.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    let mut clusters = String::from("  managedClusters:\n");
    let mut replications = String::from("    replications:\n");
    for i in 0..n {
        let _ = std::fmt::Write::write_fmt(
            &mut clusters,
            format_args!(
                "    - name: m-{i:04}\n      apiServer: https://api.m-{i:04}.example.com:6443\n      network: {{addresses: [10.0.0.0/16]}}\n"
            ),
        );
        let _ = std::fmt::Write::write_fmt(
            &mut replications,
            format_args!(
                "      - name: r-{i:04}\n        method: rsync-tls\n        schedule: \"*/15 * * * *\"\n        pskSecret: db-psk\n        source: {{cluster: m-{i:04}, namespace: shop, pvc: db-{i:04}}}\n        destination: {{cluster: m-{:04}, namespace: shop, capacity: 10Gi}}\n",
                (i + 1) % n
            ),
        );
    }
    text = text.replacen("  managedClusters:\n", &clusters, 1);
    text = text.replacen("    replications:\n", &replications, 1);
    fs::write(&path, text).unwrap();
}

#[test]
fn plan_markdown_at_fleet_size_fits_a_pull_request_and_writes_the_full_plan_beside_the_site() {
    let sandbox = starter();
    fleet_site(&sandbox, 800);
    let run = sandbox.hubdr(&["plan", "--out", "repo", "--markdown"]);
    run.expect_code(0)
        .expect_stdout("summary")
        .expect_stdout("| managed clusters | 802 of 802 | ReplicationSource | 801 | 0 | 0 |")
        .expect_stdout("### Prerequisites")
        .expect_stdout("`site.plan.md`")
        // The same summary as `failover --markdown`: every hub, the managed clusters as counts.
        .expect_stdout("### hub-a (hub, active)")
        .expect_stdout("### Managed clusters");
    assert!(
        run.stdout.chars().count() <= 65_536,
        "{} characters",
        run.stdout.chars().count()
    );
    let full = fs::read_to_string(sandbox.join("site.plan.md")).unwrap();
    assert!(full.len() > 65_536, "{}", full.len());
    assert!(
        full.contains("- `+` ReplicationSource shop/r-0799"),
        "the full list"
    );
    // A small plan stays whole.
    let small = starter();
    let run = small.hubdr(&["plan", "--out", "repo", "--markdown"]);
    run.expect_code(0).expect_stdout("### hub-a (hub, active)");
    assert!(!small.join("site.plan.md").exists());
}
