//! `hubdr keygen`, `hubdr bundle create` and `hubdr bundle verify` as a user runs them: the
//! real binary in a sandbox, with the example site rendered into a git repository.

mod support;

use std::fs;

use support::Sandbox;

/// A sandbox with the example rendered into `repo` (git) and `plain` (--no-git), and a key pair.
fn site() -> Sandbox {
    let sandbox = Sandbox::new();
    let site = support::manifest_dir().join("../repos-example/site.yaml");
    let site = site.to_str().unwrap();
    sandbox
        .hubdr(&["render", "--site", site, "--out", "repo"])
        .expect_code(0);
    sandbox
        .hubdr(&["render", "--site", site, "--out", "plain", "--no-git"])
        .expect_code(0);
    sandbox
        .hubdr(&["keygen", "-o", "signing"])
        .expect_code(0)
        .expect_stdout("key id ");
    sandbox
}

fn create(sandbox: &Sandbox, cluster: &str, out: &str) {
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "repo",
            "--cluster",
            cluster,
            "--key",
            "signing",
            "-o",
            out,
        ])
        .expect_code(0)
        .expect_stdout(&format!("cluster {cluster}"));
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = site();
    assert_eq!(
        fs::metadata(sandbox.join("signing"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(fs::read_to_string(sandbox.join("signing.pub"))
        .unwrap()
        .contains("ed25519-public-key: "));
    let again = sandbox.hubdr(&["keygen", "-o", "signing"]);
    again
        .expect_code(2)
        .expect_stderr("already exists; pass --force");
}

#[test]
fn create_then_verify_prints_what_the_bundle_holds() {
    let sandbox = site();
    create(&sandbox, "hub-a", "hub-a.tar.zst");
    let head = support::commits(&sandbox.join("repo"))[0].0.to_string();
    let run = sandbox.hubdr(&[
        "bundle",
        "verify",
        "hub-a.tar.zst",
        "--pub",
        "signing.pub",
        "--cluster",
        "hub-a",
        "--min-generation",
        "1",
    ]);
    run.expect_code(0)
        .expect_stdout("site:       prod-emea\n")
        .expect_stdout("cluster:    hub-a\n")
        .expect_stdout("generation: 1\n")
        .expect_stdout(&format!("commit:     {head}\n"))
        .expect_stdout("created:    ")
        .expect_stdout("    .hubdr/index.yaml  sha256:")
        .expect_stdout("    clusters/hub-a/kustomization.yaml  sha256:");
    assert!(
        !run.stdout.contains("clusters/hub-b/"),
        "only its own cluster:\n{run}"
    );
}

#[test]
fn a_no_git_directory_can_be_bundled_too() {
    let sandbox = site();
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--dir",
            "plain",
            "--cluster",
            "east-1",
            "--key",
            "signing",
            "-o",
            "east-1.tar.zst",
        ])
        .expect_code(0)
        .expect_stdout("commit none (--dir)");
    sandbox
        .hubdr(&["bundle", "verify", "east-1.tar.zst", "--pub", "signing.pub"])
        .expect_code(0)
        .expect_stdout("commit:     none (made with --dir)");
}

#[test]
fn each_refusal_exits_2_with_its_own_message() {
    let sandbox = site();
    create(&sandbox, "hub-a", "good.tar.zst");
    let good = fs::read(sandbox.join("good.tar.zst")).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x01;
    fs::write(sandbox.join("flipped.tar.zst"), &flipped).unwrap();
    fs::write(sandbox.join("cut.tar.zst"), &good[..good.len() - 10]).unwrap();
    sandbox.hubdr(&["keygen", "-o", "other"]).expect_code(0);

    let cases: &[(&[&str], &str)] = &[
        (
            &["flipped.tar.zst", "--pub", "signing.pub"],
            "damaged or was altered",
        ),
        (
            &["cut.tar.zst", "--pub", "signing.pub"],
            "the bundle is truncated",
        ),
        (
            &["good.tar.zst", "--pub", "other.pub"],
            "signed by another key",
        ),
        (
            &["good.tar.zst", "--pub", "signing.pub", "--cluster", "hub-b"],
            "the bundle is for cluster hub-a, not for hub-b",
        ),
        (
            &[
                "good.tar.zst",
                "--pub",
                "signing.pub",
                "--min-generation",
                "2",
            ],
            "the bundle has generation 1, older than 2",
        ),
        (
            &["good.tar.zst", "--pub", "signing"],
            "it is a private key; give the public key",
        ),
        (
            &["missing.tar.zst", "--pub", "signing.pub"],
            "cannot read the bundle",
        ),
    ];
    for (args, needle) in cases {
        let mut full = vec!["bundle", "verify"];
        full.extend_from_slice(args);
        sandbox.hubdr(&full).expect_code(2).expect_stderr(needle);
    }
}

#[test]
fn create_refuses_bad_input_and_writes_nothing() {
    let sandbox = site();
    let before = sandbox.listing();
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "repo",
            "--cluster",
            "nowhere",
            "--key",
            "signing",
            "-o",
            "x.tar.zst",
        ])
        .expect_code(2)
        .expect_stderr("cluster nowhere is not in the render");
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "repo",
            "--cluster",
            "hub-a",
            "--key",
            "signing.pub",
            "-o",
            "x.tar.zst",
        ])
        .expect_code(2)
        .expect_stderr("it is a public key; give the private key");
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--repo",
            "plain",
            "--cluster",
            "hub-a",
            "--key",
            "signing",
            "-o",
            "x.tar.zst",
        ])
        .expect_code(2)
        .expect_stderr("--dir for a --no-git directory");
    // A hand edit of a --no-git render does not match the index.
    let file = sandbox.join("plain/clusters/hub-a/kustomization.yaml");
    fs::write(&file, fs::read_to_string(&file).unwrap() + "# edited\n").unwrap();
    sandbox
        .hubdr(&[
            "bundle",
            "create",
            "--dir",
            "plain",
            "--cluster",
            "hub-a",
            "--key",
            "signing",
            "-o",
            "x.tar.zst",
        ])
        .expect_code(2)
        .expect_stderr("edited by hand");
    assert_eq!(sandbox.listing(), before);
}

/// The README's `hubdr keygen -o keys/bundles` on a fresh checkout: the directory is made.
#[test]
fn keygen_makes_the_key_directory() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let run = sandbox.hubdr(&["keygen", "-o", "keys/bundles"]);
    run.expect_code(0);
    let mode = |p: &str| fs::metadata(sandbox.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("keys/bundles"), 0o600, "{run}");
    assert_eq!(mode("keys/bundles.pub"), 0o644, "{run}");
}
