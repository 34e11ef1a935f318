//! Invalid site files (`tests/data/bad/*.yaml`) through the real binary. Each file says in its
//! header which field paths must be reported at which lines and a message the output must
//! contain:
//!
//! ```text
//! # <what is wrong>
//! # expect: spec.hubs[1].restoreSyncIntreval @ 25
//! # expect-message: unknown field `restoreSyncIntreval`
//! ```
//!
//! `hubdr render` must exit 2, write nothing, and print for each problem `error: <path>: ...`,
//! `  --> <file>:<line>:<col>` and `  fix: ...`. Stderr is snapshotted.

mod support;

use support::{Run, Sandbox};

fixture_tests! {
    check_bad, BAD;
    wrong_type_generation => "wrong-type-generation",
    acm_version_unsupported => "acm-version-unsupported",
    kopia_before_oadp_1_3 => "kopia-before-oadp-1-3",
    unknown_field_typo => "unknown-field-typo",
    bad_cron => "bad-cron",
    bad_duration_days => "bad-duration-days",
    bad_quantity => "bad-quantity",
    hub_name_not_dns => "hub-name-not-dns",
    namespace_not_dns => "namespace-not-dns",
    no_active_hub => "no-active-hub",
    two_active_hubs => "two-active-hubs",
    replication_unknown_cluster => "replication-unknown-cluster",
    rsync_tls_without_psk => "rsync-tls-without-psk",
    rsync_without_ssh_keys => "rsync-without-ssh-keys",
    restic_without_repository => "restic-without-repository",
    rclone_without_destinations => "rclone-without-destinations",
    rclone_destination_same_schedule => "rclone-destination-same-schedule",
    duplicate_cluster_names => "duplicate-cluster-names",
    hub_and_cluster_same_name => "hub-and-cluster-same-name",
    duplicate_replication_names => "duplicate-replication-names",
    replications_render_one_object => "replications-render-one-object",
    patch_matches_nothing => "patch-matches-nothing",
    json_patch_bad_op => "json-patch-bad-op",
    json_patch_bad_path => "json-patch-bad-path",
    cleanup_invalid => "cleanup-invalid",
    bad_api_server_url => "bad-api-server-url",
    wrong_api_version => "wrong-api-version",
    wrong_kind => "wrong-kind",
    yaml_syntax_error => "yaml-syntax-error",
    missing_storage => "missing-storage",
    retain_on_rsync_tls => "retain-on-rsync-tls",
    unknown_method => "unknown-method",
    passive_since_in_future => "passive-since-in-future",
    active_since_in_future => "active-since-in-future",
    fenced_since_in_future => "fenced-since-in-future",
    hub_disconnected_without_catalog => "hub-disconnected-without-catalog",
    several_errors => "several-errors",
    replica_pvc_without_snapshot => "replica-pvc-without-snapshot",
    restic_shared_repository => "restic-shared-repository",
    restore_run_not_an_id => "restore-run-not-an-id",
    bad_network => "bad-network",
    bad_status_keys => "bad-status-keys",
    hosted_unknown_management_cluster => "hosted-unknown-management-cluster",
    hosted_bad_fields => "hosted-bad-fields",
    hosted_restore_without_spec => "hosted-restore-without-spec",
    etcd_backup_not_openshift => "etcd-backup-not-openshift",
    etcd_backup_keys_beside_snapshots => "etcd-backup-keys-beside-snapshots",
    etcd_backup_missing_credentials => "etcd-backup-missing-credentials",
    etcd_backup_never_fires => "etcd-backup-never-fires",
}

#[test]
fn every_bad_file_has_a_test() {
    support::fixtures::assert_listed(&support::data("bad"), |_| true, BAD, "fixture_tests!");
}

/// What a data file's header promises.
struct Expectation {
    /// (field path, line)
    at: Vec<(String, usize)>,
    message: String,
}

fn expectation(text: &str, file: &str) -> Expectation {
    let mut at = Vec::new();
    let mut message = None;
    for (key, value) in support::fixtures::header(text) {
        match key {
            "expect" => at.push(support::fixtures::expect_at(value, file)),
            "expect-message" => message = Some(value.to_string()),
            _ => {}
        }
    }
    assert!(!at.is_empty(), "{file}: no `# expect:` line");
    Expectation {
        at,
        message: message.unwrap_or_else(|| panic!("{file}: no `# expect-message:` line")),
    }
}

/// One reported problem, as printed.
#[derive(Debug)]
struct Reported {
    severity: String,
    path: String,
    file: String,
    line: usize,
    column: usize,
    fix: String,
}

/// Parse `error: <path>: <message>` / `  --> <file>:<line>:<col>` / `  fix: <fix>` blocks.
fn reported(stderr: &str) -> Vec<Reported> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((severity, rest)) = line
            .strip_prefix("error: ")
            .map(|r| ("error", r))
            .or_else(|| line.strip_prefix("warning: ").map(|r| ("warning", r)))
        else {
            continue;
        };
        let path = rest.split_once(": ").map(|(p, _)| p).unwrap_or_default();
        let arrow = lines.get(i + 1).and_then(|l| l.strip_prefix("  --> "));
        let (file, line, column) = match arrow.map(|a| a.rsplitn(3, ':').collect::<Vec<_>>()) {
            Some(parts) if parts.len() == 3 => (
                parts[2].to_string(),
                parts[1].parse().unwrap_or(0),
                parts[0].parse().unwrap_or(0),
            ),
            _ => (String::new(), 0, 0),
        };
        let fix = lines
            .get(i + 2)
            .and_then(|l| l.strip_prefix("  fix: "))
            .unwrap_or_default();
        out.push(Reported {
            severity: severity.into(),
            path: path.into(),
            file,
            line,
            column,
            fix: fix.into(),
        });
    }
    out
}

fn check_bad(name: &str) {
    let file = format!("{name}.yaml");
    let dir = support::data("bad");
    let text = std::fs::read_to_string(dir.join(&file)).unwrap();
    let expect = expectation(&text, &file);
    let sandbox = Sandbox::new();
    let out = sandbox.join("out/repo");
    let out_arg = out.to_str().unwrap();

    let run = sandbox.hubdr_in(&dir, &["render", "--site", &file, "--out", out_arg]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    assert!(
        !sandbox.join("out").exists(),
        "the output directory must not be created\n{run}"
    );
    assert!(sandbox.listing().is_empty(), "nothing written\n{run}");
    check_report(&run, &file, &expect);

    // validate reports exactly the same, and plan refuses the same way.
    let validate = sandbox.hubdr_in(&dir, &["validate", "--site", &file]);
    validate.expect_code(2);
    assert_eq!(validate.stderr, run.stderr, "validate and render disagree");
    let plan = sandbox.hubdr_in(&dir, &["plan", "--site", &file, "--out", out_arg]);
    plan.expect_code(2);
    assert_eq!(plan.stderr, run.stderr, "plan and render disagree");
    assert!(sandbox.listing().is_empty(), "nothing written\n{plan}");

    let stderr = run
        .stderr
        .replace(sandbox.path().to_str().unwrap(), "[TMP]");
    support::snapshots().bind(|| insta::assert_snapshot!(name, stderr));
}

fn check_report(run: &Run, file: &str, expect: &Expectation) {
    let problems = reported(&run.stderr);
    assert!(!problems.is_empty(), "no error reported\n{run}");
    for p in &problems {
        assert_eq!(p.severity, "error", "only errors expected: {p:?}\n{run}");
        assert_eq!(
            p.file, file,
            "every error points into the site file: {p:?}\n{run}"
        );
        assert!(p.line > 0 && p.column > 0, "located: {p:?}\n{run}");
        assert!(
            !p.fix.trim().is_empty(),
            "every error has a fix: {p:?}\n{run}"
        );
    }
    for (path, line) in &expect.at {
        let found = problems
            .iter()
            .find(|p| &p.path == path)
            .unwrap_or_else(|| panic!("no error names {path}; reported: {problems:#?}\n{run}"));
        assert_eq!(
            found.line, *line,
            "{path} is reported at the wrong line\n{run}"
        );
        assert!(
            run.stderr
                .contains(&format!("  --> {file}:{line}:{}\n", found.column)),
            "{run}"
        );
    }
    assert_eq!(
        problems.len(),
        expect.at.len(),
        "exactly the expected errors: {problems:#?}\n{run}"
    );
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "errors are listed in file order\n{run}");
    run.expect_stderr(&expect.message);
    let last = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "{file} has {} error(s); nothing was written",
            expect.at.len()
        ),
        "{run}"
    );
}

// Valid sites with warnings (`tests/data/warnings/*.yaml`), with the same header as the bad ones.
fixture_tests! {
    check_warnings, WARNINGS;
    missing_api_server_with_managed_service_account_is_a_warning => "no-api-server",
    active_since_on_a_passive_hub_is_a_warning => "active-since-on-passive-hub",
    restore_sync_interval_without_passive_sync_is_a_warning => "restore-sync-interval-without-passive-sync",
    a_fenced_hub_beside_an_active_hub_without_active_since_is_a_warning => "hand-edited-failover",
    cleanup_none_on_a_passive_hub_is_a_warning => "cleanup-none-on-passive-hub",
    a_late_bound_destination_without_a_network_is_a_warning => "no-network-for-a-late-bound-address",
    etcd_keys_beside_snapshots_without_declared_encryption_is_a_warning => "etcd-keys-beside-snapshots",
    a_managed_service_account_ttl_shorter_than_the_backup_ttl_is_a_warning => "msa-ttl-shorter-than-backup-ttl",
}

#[test]
fn every_warning_file_has_a_test() {
    let dir = support::data("warnings");
    support::fixtures::assert_listed(&dir, |_| true, WARNINGS, "fixture_tests!");
}

/// A warning does not stop the render; it names the field and its line, and has a fix.
fn check_warnings(name: &str) {
    let dir = support::data("warnings");
    let file = format!("{name}.yaml");
    let text = std::fs::read_to_string(dir.join(&file)).unwrap();
    let expect = expectation(&text, &file);
    let sandbox = Sandbox::new();
    let out = sandbox.join("repo");
    let run = sandbox.hubdr_in(
        &dir,
        &["render", "--site", &file, "--out", out.to_str().unwrap()],
    );
    run.expect_code(0).expect_stdout("committed");
    let problems = reported(&run.stderr);
    assert!(
        problems.iter().all(|p| p.severity == "warning"),
        "no errors\n{run}"
    );
    let at: Vec<(String, usize)> = problems.iter().map(|p| (p.path.clone(), p.line)).collect();
    assert_eq!(
        at, expect.at,
        "exactly the expected warnings, in file order\n{run}"
    );
    for p in &problems {
        assert_eq!(p.file, file, "{p:?}\n{run}");
        assert!(p.column > 0, "located: {p:?}\n{run}");
        assert!(
            !p.fix.trim().is_empty(),
            "every warning has a fix: {p:?}\n{run}"
        );
    }
    run.expect_stderr(&expect.message);
    assert!(out.join(".hubdr/index.yaml").is_file(), "{run}");

    let validate = sandbox.hubdr_in(&dir, &["validate", "--site", &file]);
    validate
        .expect_code(0)
        .expect_stdout(&format!("{} warning(s)", expect.at.len()));
    assert_eq!(
        validate.stderr, run.stderr,
        "validate and render warn alike"
    );
}
