//! Hostile bundles (built in `attacks/`): each is refused with its exact message, bombs without
//! decompressing them (the real `hubdr bundle verify` refuses them inside a 200 MiB address
//! space, where allocating the decompressed size aborts the process), and the content of a
//! bundle whose signature fails is never read, however bad it is.

#[path = "bundle_attack_kit/mod.rs"]
mod attacks;
mod support;

use std::collections::BTreeMap;

use attacks::{bundle, entries_of, Declared, Tar, GIB};
use hubdr::bundle::{self as b, CreateInput, Expect, Limits, SecretKey};
use hubdr::index::{ClusterEntry, RenderIndex};

const CLUSTER: &str = "hub-a";
/// Neither `hubdr bundle create` nor a refusal made without decompressing needs more; holding
/// 1 GiB of decompressed archive does not fit.
const ADDRESS_SPACE_KIB: u64 = 200 * 1024;

fn key() -> SecretKey {
    SecretKey::from_seed([7; 32])
}

/// A good bundle of two files for `hub-a`.
fn good(key: &SecretKey) -> Vec<u8> {
    let mut files = hubdr::gitrepo::Tree::new();
    files.insert(
        format!("clusters/{CLUSTER}/namespace.x.yaml"),
        b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n".to_vec(),
    );
    files.insert(
        format!("clusters/{CLUSTER}/kustomization.yaml"),
        b"resources: [namespace.x.yaml]\n".to_vec(),
    );
    let index = RenderIndex {
        api_version: "hubdr.io/v1alpha1".into(),
        kind: "RenderIndex".into(),
        site: "s".into(),
        site_hash: "sha256:0".into(),
        generation: 1,
        tool_version: "0".into(),
        templates: "embedded".into(),
        status_keys: Default::default(),
        clusters: BTreeMap::from([(
            CLUSTER.to_string(),
            ClusterEntry {
                kind: "hub".into(),
                role: Some("active".into()),
                prerequisites: vec![],
            },
        )]),
        files: files
            .iter()
            .map(|(p, b)| (p.clone(), b::sha256_hex(b)))
            .collect(),
    };
    let input = CreateInput {
        index: &index,
        files: &files,
        cluster: CLUSTER,
        source_commit: None,
        created_at: "2025-06-01T10:00:00Z".parse().unwrap(),
    };
    b::create(&input, key).unwrap().0
}

/// How the refusals end: none of these can come from `hubdr bundle create`.
const NOT_OURS: &str =
    "(it is not a bundle made by `hubdr bundle create`, or it was tampered with)";
const UNSIGNED: &str = "the bundle is unsigned: no manifest.sig follows manifest.yaml; only \
    bundles made by `hubdr bundle create --key` are accepted, and nothing else in this one was read";
const FILE: &str = "clusters/hub-a/namespace.x.yaml";

struct Attack {
    name: &'static str,
    bytes: Vec<u8>,
    refusal: String,
    /// Decompresses to more than the 1 GiB limit (or declares it).
    bomb: bool,
}

fn unsafe_entry(path: &str, why: &str) -> String {
    format!(
        "the archive entry {path:?} is refused: {why}; `hubdr bundle create` writes only regular \
         files with plain relative names, each once, so the bundle was tampered with"
    )
}

fn attacks() -> Vec<Attack> {
    let key = key();
    let entries = entries_of(&good(&key));
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest.yaml",
            "manifest.sig",
            ".hubdr/index.yaml",
            "clusters/hub-a/kustomization.yaml",
            FILE
        ]
    );
    let (manifest, signature) = (&entries[0..1], &entries[0..2]);
    let signed = Tar::new().files(&entries);
    let tampered_manifest = {
        let mut e = entries.clone();
        e[0].1 = String::from_utf8(e[0].1.clone())
            .unwrap()
            .replace("generation: 1", "generation: 9")
            .into_bytes();
        e
    };
    let other_key = entries_of(&good(&SecretKey::from_seed([8; 32])));
    // What an unsigned bundle may hold after its manifest: nothing of it may be read.
    let poison = |tar: Tar| {
        tar.file("../../etc/cron.d/evil", b"* * * * * root sh -c evil\n")
            .entry(
                "clusters/hub-a/link.yaml",
                attacks::SYMLINK,
                "/etc/shadow",
                b"",
            )
            .file(FILE, b"first")
            .file(FILE, b"twice")
            .huge("clusters/hub-a/huge.yaml", 3 * GIB / 2)
            .end()
    };
    let bomb = |name, tar: Tar, declared, refusal: String| Attack {
        name,
        bytes: bundle(&tar, declared),
        refusal,
        bomb: true,
    };
    let plain = |name, tar: Tar, refusal: String| Attack {
        name,
        bytes: bundle(&tar.end(), Declared::Honest),
        refusal,
        bomb: false,
    };
    vec![
        // The reported one: an unsigned bundle of 1 GiB and more, its header claiming 1 GiB.
        bomb(
            "unsigned-bomb",
            Tar::new()
                .files(manifest)
                .huge("clusters/hub-a/huge.yaml", 3 * GIB / 2)
                .end(),
            Declared::Lie(GIB),
            UNSIGNED.into(),
        ),
        bomb(
            "signed-manifest-and-a-huge-extra-entry",
            signed.clone().huge("clusters/hub-a/zz-extra.yaml", 3 * GIB / 2).end(),
            Declared::Lie(GIB),
            "clusters/hub-a/zz-extra.yaml is in the archive but not in the signed manifest: it was \
             added after signing (refused on its header, before reading it)"
                .into(),
        ),
        bomb(
            "signed-manifest-and-a-listed-file-made-huge",
            Tar::new().files(&entries[..4]).huge(FILE, 3 * GIB / 2).end(),
            Declared::Lie(GIB),
            format!(
                "the bundle is too large: {FILE} (1610612736 bytes) exceeds the 16 MiB limit; \
                 refused before reading it {NOT_OURS}"
            ),
        ),
        bomb(
            "huge-manifest",
            Tar::new().huge("manifest.yaml", 3 * GIB / 2).end(),
            Declared::Lie(GIB),
            format!(
                "the bundle is too large: manifest.yaml (1610612736 bytes) exceeds the 16 MiB \
                 limit; refused before reading it {NOT_OURS}"
            ),
        ),
        bomb(
            "huge-long-name",
            signed.clone().long_name(3 * GIB / 2).file("x", b"").end(),
            Declared::Lie(GIB),
            unsafe_entry(
                "a GNU long-name entry",
                "a name of 1610612736 bytes, over the limit of 4096",
            ),
        ),
        // A valid signed bundle, then zeros: only counting while decompressing stops it.
        bomb(
            "signed-bundle-padded-with-zeros",
            signed.clone().end().zeros(3 * GIB / 2),
            Declared::Lie(GIB),
            format!(
                "the decompressed size exceeds the 1 GiB limit after 1073741824 bytes; \
                 decompression was stopped there {NOT_OURS}"
            ),
        ),
        bomb(
            "honest-header-over-the-limit",
            signed.clone().end().zeros(3 * GIB / 2),
            Declared::Honest,
            format!(
                "the archive declares a decompressed size of {} bytes, over the 1 GiB limit; \
                 refused before decompressing {NOT_OURS}",
                signed.clone().end().zeros(3 * GIB / 2).len()
            ),
        ),
        // Signatures first: whatever follows a manifest that is not signed is never read.
        bomb(
            "unsigned-then-poison",
            poison(Tar::new().files(manifest)),
            Declared::Lie(GIB),
            UNSIGNED.into(),
        ),
        bomb(
            "tampered-manifest-then-poison",
            poison(Tar::new().files(&tampered_manifest[..2])),
            Declared::Lie(GIB),
            format!(
                "the signature does not verify against the trusted public key (key id {}): \
                 manifest.yaml was tampered with after signing, or signed by another key; nothing \
                 else in the bundle was read. Re-create it with `hubdr bundle create --key` and \
                 the private key of that public key",
                key.public().id()
            ),
        ),
        bomb(
            "other-key-then-poison",
            poison(Tar::new().files(&other_key[..2])),
            Declared::Lie(GIB),
            format!(
                "the bundle is signed by another key (key id {}), not by the trusted key (key id \
                 {}); check --pub, or re-create the bundle with the matching private key",
                SecretKey::from_seed([8; 32]).public().id(),
                key.public().id()
            ),
        ),
        // Entries no bundle has, after a good signature.
        plain(
            "path-traversal",
            signed.clone().file("clusters/hub-a/../../../etc/cron.d/evil", b"x"),
            unsafe_entry(
                "clusters/hub-a/../../../etc/cron.d/evil",
                "the path must not contain empty, `.` or `..` parts",
            ),
        ),
        plain(
            "absolute-path",
            signed.clone().file("/etc/cron.d/evil", b"x"),
            unsafe_entry("/etc/cron.d/evil", "the path must be relative"),
        ),
        plain(
            "symlink",
            Tar::new().files(&entries[..4]).entry(
                FILE,
                attacks::SYMLINK,
                "/etc/shadow",
                b"",
            ),
            unsafe_entry(FILE, "it is a symbolic link, not a regular file"),
        ),
        plain(
            "hard-link",
            Tar::new()
                .files(&entries[..4])
                .entry(FILE, attacks::HARD_LINK, "/etc/shadow", b""),
            unsafe_entry(FILE, "it is a hard link, not a regular file"),
        ),
        plain(
            "directory",
            signed.clone().entry("clusters/hub-a/d", attacks::DIRECTORY, "", b""),
            unsafe_entry("clusters/hub-a/d", "it is a directory, not a regular file"),
        ),
        plain(
            "pax-header",
            Tar::new().files(&entries[..4]).entry(
                "PaxHeaders/x",
                attacks::PAX,
                "",
                b"30 path=clusters/hub-a/y.yaml\n",
            ),
            unsafe_entry("PaxHeaders/x", "it is a PAX extended header, not a regular file"),
        ),
        plain(
            "duplicate",
            signed.clone().files(&entries[4..]),
            unsafe_entry(FILE, "the name appears twice in the archive"),
        ),
        plain(
            "manifest-not-first",
            Tar::new().files(&entries[2..]).files(signature),
            "not a hubdr bundle: its first entry is .hubdr/index.yaml, not manifest.yaml; it was \
             not made by `hubdr bundle create`"
                .into(),
        ),
        plain(
            "data-after-the-end",
            signed.clone().end().file("clusters/hub-a/hidden.yaml", b"x"),
            "not a hubdr bundle: there is data after the end of the tar archive".into(),
        ),
    ]
}

#[test]
fn every_attack_is_refused_with_its_exact_message() {
    let key = key().public();
    let expect = Expect {
        cluster: Some(CLUSTER.into()),
        ..Expect::default()
    };
    assert!(b::verify(&good(&self::key()), &key, &expect, &Limits::default()).is_ok());
    let mut wrong = Vec::new();
    for attack in attacks() {
        assert!(
            attack.bytes.len() < 100_000,
            "{}: {} bytes",
            attack.name,
            attack.bytes.len()
        );
        match b::verify(&attack.bytes, &key, &expect, &Limits::default()) {
            Ok(_) => wrong.push(format!("{}: accepted", attack.name)),
            Err(e) if e.to_string() != attack.refusal => wrong.push(format!(
                "{}:\n  expected: {}\n  got:      {e}",
                attack.name, attack.refusal
            )),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bombs_are_refused_by_the_cli_inside_a_200_mib_address_space() {
    let sandbox = support::Sandbox::new();
    std::fs::write(sandbox.join("key.pub"), key().public().to_file_text()).unwrap();
    let verify = |file: &str| {
        let hubdr = env!("CARGO_BIN_EXE_hubdr");
        sandbox.run_in(
            "/bin/sh",
            sandbox.path(),
            &[
                "-c",
                &format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$@\""),
                "sh",
                hubdr,
                "bundle",
                "verify",
                file,
                "--pub",
                "key.pub",
                "--cluster",
                CLUSTER,
            ],
        )
    };
    // The limit leaves room for a real verification.
    std::fs::write(sandbox.join("good.tar.zst"), good(&key())).unwrap();
    verify("good.tar.zst")
        .expect_code(0)
        .expect_stdout("signature and 3 digests verified");
    let mut bombs = 0;
    for attack in attacks().into_iter().filter(|a| a.bomb) {
        let file = format!("{}.tar.zst", attack.name);
        std::fs::write(sandbox.join(&file), &attack.bytes).unwrap();
        verify(&file)
            .expect_code(2)
            .expect_stderr(&format!("error: bundle {file} refused: {}", attack.refusal));
        bombs += 1;
    }
    assert_eq!(bombs, 10);
}
