//! Credentials pasted into a site file (`tests/data/attacks/cred-*.yaml`) through the real
//! binary. Each file says at its top which field paths must be refused at which lines and which
//! parts of the pasted credentials must never be printed, and at its end the exact refusal:
//!
//! ```text
//! # <what was pasted where>
//! # never-shown: IOSFODNN7EXAMPLE
//! # expect: spec.storage.config.aws_access_key_id @ 22
//! ...
//! # refusal:
//! # | error: spec.storage.config.aws_access_key_id: looks like an AWS access key id; ...
//! # |   --> cred-....yaml:22:7
//! ```
//!
//! `hubdr render` must exit 2, write nothing and print exactly the refusal; `validate` and
//! `plan` refuse alike. Valid values that resemble keys (digests, hashes, certificates) render.

mod support;

use support::Sandbox;

fixture_tests! {
    check_refused, CRED;
    aws_keys_in_storage_config => "cred-aws-keys-in-storage-config",
    aws_keys_in_patches => "cred-aws-keys-in-patches",
    gcp_service_account_key => "cred-gcp-service-account-key",
    azure_connection_string_and_sas => "cred-azure-connection-string-and-sas",
    pem_private_keys => "cred-pem-private-keys",
    forge_tokens_and_jwts => "cred-forge-tokens-and-jwts",
    secret_payload_on_any_kind => "cred-secret-payload-on-any-kind",
    key_material_as_map_key => "cred-key-material-as-map-key",
    http_git_url => "cred-http-git-url",
    http_git_url_with_token => "cred-http-git-url-with-token",
    psk_in_psk_secret => "cred-psk-in-psk-secret",
    pasted_into_typed_fields => "cred-pasted-into-typed-fields",
    key_in_a_typed_field => "cred-key-in-a-typed-field",
}

#[test]
fn every_cred_file_has_a_test() {
    let keep = |s: &str| s.starts_with("cred-");
    support::fixtures::assert_listed(&support::data("attacks"), keep, CRED, "fixture_tests!");
}

/// What a data file promises.
struct Expectation {
    /// (field path, line)
    at: Vec<(String, usize)>,
    never_shown: Vec<String>,
    refusal: String,
}

fn expectation(text: &str, file: &str) -> Expectation {
    let mut at = Vec::new();
    let mut never_shown = Vec::new();
    for (key, value) in support::fixtures::header(text) {
        match key {
            "expect" => at.push(support::fixtures::expect_at(value, file)),
            "never-shown" => never_shown.push(value.to_string()),
            _ => {}
        }
    }
    let (_, tail) = text
        .split_once("\n# refusal:\n")
        .unwrap_or_else(|| panic!("{file}: no `# refusal:` block at the end"));
    let refusal: String = tail
        .lines()
        .map(|l| {
            let l = l
                .strip_prefix("# |")
                .unwrap_or_else(|| panic!("{file}: refusal lines start with `# |`: {l:?}"));
            format!("{}\n", l.strip_prefix(' ').unwrap_or(l))
        })
        .collect();
    assert!(!at.is_empty(), "{file}: no `# expect:` line");
    Expectation {
        at,
        never_shown,
        refusal,
    }
}

fn check_refused(name: &str) {
    let file = format!("{name}.yaml");
    let dir = support::data("attacks");
    let text = std::fs::read_to_string(dir.join(&file)).unwrap();
    let expect = expectation(&text, &file);
    let sandbox = Sandbox::new();
    let out = sandbox.join("out/repo");
    let out_arg = out.to_str().unwrap();

    let run = sandbox.hubdr_in(&dir, &["render", "--site", &file, "--out", out_arg]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    assert!(sandbox.listing().is_empty(), "nothing written\n{run}");
    assert_eq!(run.stderr, expect.refusal, "the exact refusal\n{run}");
    for (path, line) in &expect.at {
        let reported = format!("error: {path}: ");
        let pos = run
            .stderr
            .find(&reported)
            .unwrap_or_else(|| panic!("no error names {path}\n{run}"));
        let arrow = run.stderr[pos..].lines().nth(1).unwrap_or_default();
        assert!(
            arrow.starts_with(&format!("  --> {file}:{line}:")),
            "{path} is reported at line {line}\n{run}"
        );
    }
    let errors =
        run.stderr.matches("\nerror: ").count() + usize::from(run.stderr.starts_with("error: "));
    assert_eq!(
        errors,
        expect.at.len(),
        "exactly the expected errors\n{run}"
    );
    for secret in &expect.never_shown {
        assert!(
            !run.stderr.contains(secret.as_str()),
            "the output repeats {secret:?}\n{run}"
        );
    }

    let validate = sandbox.hubdr_in(&dir, &["validate", "--site", &file]);
    validate.expect_code(2);
    assert_eq!(validate.stderr, run.stderr, "validate and render disagree");
    let plan = sandbox.hubdr_in(&dir, &["plan", "--site", &file, "--out", out_arg]);
    plan.expect_code(2);
    assert_eq!(plan.stderr, run.stderr, "plan and render disagree");
    assert!(sandbox.listing().is_empty(), "nothing written\n{plan}");
}

/// Values that resemble keys but are not: digests, hashes, names, a CA certificate, the name of
/// an environment variable that holds a key, hex that is not a key line.
#[test]
fn values_that_resemble_keys_render() {
    let hex = "0123456789abcdef".repeat(4);
    let certificate =
        "-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIUQ\\n-----END CERTIFICATE-----\\n";
    let site = format!(
        r#"apiVersion: hubdr.io/v1alpha1
kind: Site
metadata:
  name: look-alikes
spec:
  git:
    url: https://git.example.com/platform/acm-dr.git
  storage:
    provider: azure
    bucket: acm-backups
    credentialsSecret:
      name: cloud-credentials
    config:
      resourceGroup: acm-dr
      storageAccount: acmbackups
      storageAccountKeyEnvVar: AZURE_STORAGE_ACCOUNT_ACCESS_KEY
      caCert: "{certificate}"
      checksum: "sha256:{hex}"
  backup:
    schedule: "0 */2 * * *"
    ttl: 120h
  hubs:
    - name: hub-a
      role: active
    - name: hub-b
      role: passive
  managedClusters:
    - name: east-1
      apiServer: https://api.east-1.example.com:6443
  agent:
    image: quay.io/acm-dr/hubdr-agent@sha256:{hex}
  patches:
    - target: {{kind: Restore}}
      merge:
        metadata:
          annotations:
            example.com/commit: 3f786850e387550fdab836ed7e6dc881de23001b
            example.com/digest: "sha512:{hex}{hex}"
            example.com/note: "Bearer tokens and AKIA key ids are kept in Secrets"
"#
    );
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("site.yaml"), &site).unwrap();
    let out = sandbox.join("repo");
    let run = sandbox.hubdr(&[
        "render",
        "--site",
        "site.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    run.expect_code(0).expect_stdout("committed");
    let dpa = std::fs::read_to_string(out.join(
        "clusters/hub-a/dataprotectionapplication.open-cluster-management-backup.velero.yaml",
    ));
    assert!(
        dpa.is_ok_and(|text| text.contains(&format!("sha256:{hex}"))),
        "{run}"
    );
}

/// A template (from `--templates`) that writes key material itself is refused at render time,
/// naming the object and the field.
#[test]
fn key_material_written_by_a_template_is_refused() {
    let sandbox = Sandbox::new();
    let templates = sandbox.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let embedded = support::manifest_dir().join("../templates/backupschedule.yaml.j2");
    let template = std::fs::read_to_string(embedded).unwrap();
    let key = ["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"].concat();
    let patched = template.replacen(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    example.com/key: {key}\n"),
        1,
    );
    assert_ne!(patched, template, "the template has a metadata: line");
    std::fs::write(templates.join("backupschedule.yaml.j2"), patched).unwrap();
    let site = std::fs::read_to_string(support::data("attacks").join("cred-http-git-url.yaml"))
        .unwrap()
        .replace("http://", "https://");
    std::fs::write(sandbox.join("site.yaml"), site).unwrap();
    let out = sandbox.join("repo");
    let run = sandbox.hubdr(&[
        "render",
        "--site",
        "site.yaml",
        "--templates",
        templates.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    run.expect_code(2).expect_stderr(
        "metadata.annotations.example.com/key: looks like an AWS secret access key; credentials never go into git",
    );
    assert!(!run.stderr.contains(&key), "{run}");
    assert!(!out.exists(), "nothing written\n{run}");
}
