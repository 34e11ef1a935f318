//! Malicious site files (`tests/data/attacks/*.yaml`): each tries to make an agent manage a
//! kind or use a namespace the site does not grant it, through a patch, `spec.agent.extraKinds`
//! or a `--templates` override (`<name>.templates/`, when present). Through the real binary,
//! `hubdr render` must exit 2, write nothing and print exactly `<name>.expected`; `hubdr
//! validate` and `hubdr plan` must refuse the same way.

mod support;

use std::path::Path;

use support::Sandbox;

fixture_tests! {
    check_attack, ATTACKS;
    a_patch_cannot_turn_an_object_into_a_pod => "patch-into-pod",
    a_patch_cannot_turn_an_object_into_a_cluster_role_binding => "patch-into-clusterrolebinding",
    a_patch_cannot_turn_an_object_into_a_lowercase_secret => "patch-into-lowercase-secret",
    a_patch_target_cannot_name_a_lowercase_kind => "target-kind-lowercase-secret",
    a_patch_cannot_set_a_kind_with_a_slash => "patch-kind-with-slash",
    extra_kinds_cannot_name_a_kind_with_a_slash => "extra-kind-with-slash",
    extra_kinds_cannot_grant_secrets => "extra-kind-secret",
    extra_kinds_cannot_grant_rbac => "extra-kind-rbac",
    a_patch_cannot_move_an_object_into_kube_system => "patch-into-kube-system",
    a_patch_cannot_rename_a_namespace_to_kube_system => "patch-renames-namespace-to-kube-system",
    a_template_cannot_render_a_pod => "template-renders-pod",
    a_template_cannot_render_into_kube_system => "template-renders-into-kube-system",
}

#[test]
fn every_attack_file_has_a_test_and_an_expected_refusal() {
    let dir = support::data("attacks");
    // `cred-*` and `size-*` files are the credential and size attacks, checked by
    // cred_attacks.rs and attacks_sizes.rs with their own headers.
    let keep = |s: &str| !s.starts_with("cred-") && !s.starts_with("size-");
    support::fixtures::assert_listed(&dir, keep, ATTACKS, "fixture_tests!");
    let mut listed: Vec<String> = ATTACKS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    let mut expected: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "expected"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(
        expected, listed,
        "each attack has exactly one .expected file"
    );
}

fn check_attack(name: &str) {
    let dir = support::data("attacks");
    let file = format!("{name}.yaml");
    let expected = std::fs::read_to_string(dir.join(format!("{name}.expected")))
        .unwrap_or_else(|e| panic!("{name}.expected: {e}"));
    let templates = format!("{name}.templates");
    let with_templates = |args: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if Path::new(&dir).join(&templates).is_dir() {
            args.extend(["--templates".to_string(), templates.clone()]);
        }
        args
    };
    let sandbox = Sandbox::new();
    let out = sandbox.join("out/repo");
    let out_arg = out.to_str().unwrap();
    let run_with = |args: &[&str]| {
        let args = with_templates(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sandbox.hubdr_in(&dir, &args)
    };

    let run = run_with(&["render", "--site", &file, "--out", out_arg]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    assert!(
        !sandbox.join("out").exists(),
        "the output directory must not be created\n{run}"
    );
    assert!(sandbox.listing().is_empty(), "nothing written\n{run}");
    assert_eq!(
        run.stderr, expected,
        "{name}: the refusal differs from {name}.expected\n{run}"
    );

    let validate = run_with(&["validate", "--site", &file]);
    validate.expect_code(2);
    assert_eq!(
        validate.stderr, expected,
        "validate refuses alike\n{validate}"
    );
    let plan = run_with(&["plan", "--site", &file, "--out", out_arg]);
    plan.expect_code(2);
    assert_eq!(plan.stderr, expected, "plan refuses alike\n{plan}");
    assert!(sandbox.listing().is_empty(), "nothing written\n{plan}");
}
