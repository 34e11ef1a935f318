//! `hubdr::yaml_subset::parse` must return serde_yaml's value (key order included) or `None`.
//!
//! * templates: every template text the test sites render (the matrix sites and
//!   `repos-example/site.yaml`, plus the ApplicationSet) must take the fast path and match
//!   serde_yaml, and so must every file of their rendered trees (the emitter's output);
//! * corpus: every site file, snapshot and example file: the fast path or a fallback;
//! * random: seeded documents built from tricky fragments: the fast path or a fallback.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hubdr::render::Templates;
use hubdr::yaml_subset::parse;
use serde_json::{json, Value};

mod support;

use support::{manifest_dir, Rng};

/// Checks the contract for `text`; true when the fast path took it.
fn check(text: &str, what: &str) -> bool {
    let Some(fast) = parse(text) else {
        return false;
    };
    match serde_yaml::from_str::<Value>(text) {
        Ok(slow) => assert_eq!(
            serde_json::to_string(&fast).unwrap(),
            serde_json::to_string(&slow).unwrap(),
            "{what}: the fast parser differs from serde_yaml on\n{text}"
        ),
        Err(e) => panic!("{what}: the fast parser accepted what serde_yaml rejects ({e}):\n{text}"),
    }
    true
}

/// The sites the tests render: the matrix and the example.
fn test_sites() -> Vec<PathBuf> {
    let matrix = manifest_dir().join("tests/data/matrix");
    let mut sites: Vec<PathBuf> = std::fs::read_dir(&matrix)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    sites.sort();
    sites.push(manifest_dir().join("../repos-example/site.yaml"));
    sites
}

/// Templates rendered once per cluster at most, whose output the subset parser does not take:
/// the etcd backup CronJob (a block-scalar script) and a HostedCluster to restore (its spec is
/// the site's `hostedClusterSpec`, embedded as a JSON flow mapping).
const SLOW_PATH_TEMPLATES: [&str; 2] = ["etcd-cronjob.yaml.j2", "hostedcluster.yaml.j2"];

#[test]
fn template_outputs_take_the_fast_path_and_match_serde_yaml() {
    let templates = Templates::embedded();
    let (mut texts, mut files, mut files_fast) = (0, 0, 0);
    for site in test_sites() {
        let what = site.display().to_string();
        let loaded = hubdr::site::load_file(&site).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        for plan in hubdr::render::desired::plan(&loaded.site) {
            let text = templates
                .render(plan.template, &plan.context)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let what = format!("{what}: {} for {}", plan.template, plan.cluster);
            let fast = check(&text, &what);
            // At most one per cluster (outside the subset): read by serde_yaml, as `check`
            // proved equal; not worth a fast path.
            if !SLOW_PATH_TEMPLATES.contains(&plan.template) {
                assert!(fast, "{what}: not on the fast path:\n{text}");
            }
            texts += 1;
        }
        // The rendered files: the emitter's output, which the subset covers too.
        let rendered =
            hubdr::render::render(&loaded, &templates).unwrap_or_else(|e| panic!("{what}: {e}"));
        for (path, bytes) in &rendered.tree {
            let text = std::str::from_utf8(bytes).unwrap();
            let what = format!("{what}: {path}");
            let fast = check(text, &what);
            // The objects' files must stay on the fast path; agents' install files hold
            // several documents and fall back.
            let slow = path.contains("/cronjob.") && path.contains(".etcd-backup.");
            if (path.starts_with("clusters/") || path.starts_with("argocd/")) && !slow {
                assert!(fast, "{what}: not on the fast path:\n{text}");
            }
            files += 1;
            files_fast += usize::from(fast);
        }
    }
    // The ApplicationSet's context is built inside the renderer: render the template with
    // contexts of the same shape, with and without automated sync.
    for automated in [Value::Null, json!({"prune": true, "self_heal": false})] {
        let context = json!({
            "name": "hubdr-prod",
            "namespace": "openshift-gitops",
            "site": "prod",
            "project": "default",
            "repo_url": "https://git.example.com/dr/fleet.git",
            "branch": "main",
            "automated": automated,
            "clusters": [
                {"cluster": "hub-a", "destination": "hub-a"},
                {"cluster": "east-1", "destination": "https://api.east-1.example.com:6443"},
            ],
            "go": {"name": "hubdr-{{ .cluster }}", "path": "clusters/{{ .cluster }}", "destination": "{{ .destination }}"},
        });
        let text = templates
            .render("applicationset.yaml.j2", &context)
            .unwrap();
        assert!(
            check(&text, "applicationset.yaml.j2"),
            "applicationset.yaml.j2: not on the fast path:\n{text}"
        );
        texts += 1;
    }
    eprintln!("{texts} template texts on the fast path, {files_fast} of {files} rendered files");
    assert!(
        texts >= 100 && files >= 100,
        "only {texts} texts, {files} files"
    );
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn corpus_files_match_or_fall_back() {
    let root = manifest_dir();
    let mut files = Vec::new();
    collect_files(&root.join("../repos-example"), &mut files);
    collect_files(&root.join("tests/data"), &mut files);
    collect_files(&root.join("tests/snapshots"), &mut files);
    collect_files(&root.join("../templates"), &mut files);
    files.sort();
    let (mut documents, mut fast) = (0, 0);
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // The whole file, and each part of a snapshot (introduced by `--- <path>`).
        for chunk in &support::corpus_chunks(&text) {
            documents += 1;
            if check(chunk, &file.display().to_string()) {
                fast += 1;
            }
        }
    }
    eprintln!(
        "{} files, {documents} documents, {fast} on the fast path",
        files.len()
    );
    assert!(
        fast >= 200,
        "only {fast} of {documents} corpus documents on the fast path"
    );
}

/// Keys: plain, quoted, typed-looking, and ones outside the subset.
const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "apiVersion",
    "app.kubernetes.io/name",
    "hubdr.io/wave",
    "_x",
    ".dot",
    "/slash",
    "1",
    "0x1f",
    "true",
    "null",
    "~",
    "-a",
    "a b",
    "a:b",
    "a#b",
    "\"q\"",
    "\"q\\\"k\"",
    "\"\"",
    "\"a\\u00e9\"",
    "\"\\x41\"",
    "'s'",
    "'it''s'",
    "''",
    "?",
    "&a k",
    "!t k",
    "*a",
    "[a]",
    "{a: b}",
    "[a,b]",
    "[ a , b ]",
    "[a, b,]",
    "[a: b]",
    "[a:b]",
    "[http://x:1/y]",
    "{a: b, c: [d, e]}",
    "{a:b}",
    "{a: b, a: c}",
    "[a, 'b''c', \"d\"]",
    "[1, x, ~, yes, 0x1f]",
    "{1: a, true: b, ~: c}",
    "[a b, c]",
    "[a #b]",
    "[a]#b",
    "[a] #b",
    "{a: }",
    "[,]",
    "[a, [b, {c: d}]]",
    "{\"a\":b}",
    "{'a': b}",
    "[-a, b]",
    "\u{e9}t\u{e9}",
];

/// Scalars: strings, numbers and words serde_yaml types, quoting, comments, indicators.
const SCALARS: &[&str] = &[
    "b",
    "value",
    "ReadWriteOnce",
    "10Gi",
    "500m",
    "1h",
    "0 * * * *",
    "4,10,16 * * * *",
    "*/5 * * * *",
    "https://api.example.com:6443",
    "x:y",
    "x: y",
    "x:",
    "a#b",
    "a #b",
    "a  # b",
    "#x",
    "- x",
    "-x",
    "-",
    "? x",
    ":x",
    "0",
    "1",
    "12",
    "-1",
    "-0",
    "+1",
    "007",
    "0755",
    "0x1f",
    "0o17",
    "0b101",
    "-0x1f",
    "1e3",
    "1E3",
    ".5",
    "1.",
    "1.5",
    "-1.5",
    ".inf",
    "-.Inf",
    ".nan",
    "inf",
    "NaN",
    "1_000",
    "2024-01-01",
    "1.2.3",
    "12:30",
    "99999999999999999999",
    "-9223372036854775809",
    "18446744073709551615",
    "yes",
    "no",
    "on",
    "y",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "FALSE",
    "''",
    "'it''s'",
    "'a''",
    "'#'",
    "'a' #c",
    "'a'b",
    "\"\"",
    "\"a\\\"b\"",
    "\"a\\\\b\"",
    "\"\\u00e9\\u0027\\u003c\"",
    "\"\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"\\x41\"",
    "\"\\N\"",
    "\"\\/\"",
    "\"a",
    "\"a\" #c",
    "\"a\"#c",
    "\"a\" b",
    "\"a\": b",
    "[\"ReadWriteOnce\"]",
    "[\"a\",\"b\"]",
    "[\"a\", \"b\"]  # c",
    "[a, b]",
    "[1,-2,true,null]",
    "[1.5]",
    "[-0]",
    "[1e3]",
    "[18446744073709551616]",
    "[\"\\ud83d\\ude00\"]",
    "{\"a\":\"b\"}",
    "{\"a\": {\"b\": [1, {}]}}",
    "{\"a\":1,\"a\":2}",
    "{a: b}",
    "{\"a\":\"b\"} x",
    "[]",
    "{}",
    "[",
    "&a b",
    "*a",
    "!t b",
    "!!str 1",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "caf\u{e9}",
    "\u{e9}t\u{e9}",
    "a\u{a0}b",
    "a\tb",
    "a\u{85}b",
    "a\u{2028}b",
    "a\u{feff}b",
    "a\u{7f}b",
];

/// Whole lines dropped between others.
const NOISE: &[&str] = &[
    "",
    "   ",
    "# comment",
    "  # indented comment",
    "#",
    "---",
    "...",
    "\t",
];

/// Keys the subset takes (distinct enough that most mappings have no duplicate).
const COMMON_KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "name",
    "kind",
    "spec",
    "apiVersion",
    "app.kubernetes.io/name",
    "hubdr.io/wave",
    "_x",
    ".dot",
    "/slash",
    "k8s",
    "x-y",
    "1",
    "true",
];

/// A document generator. `hostile` is the percentage of choices taken from the whole lists
/// (and of indentation slips and noise lines) rather than from the parts the subset takes, so
/// that both the fallbacks and the fast path (with its edge cases) get exercised.
struct Gen {
    rng: Rng,
    hostile: u64,
    fast_scalars: Vec<&'static str>,
}

impl Gen {
    fn new(seed: u64) -> Self {
        // The scalars that are on the fast path on their own, found by the parser itself: if
        // it stopped taking them, the test would notice through the fast-path share.
        let fast_scalars = SCALARS
            .iter()
            .copied()
            .filter(|s| parse(&format!("a: {s}\n")).is_some())
            .collect();
        Self {
            rng: Rng(seed),
            hostile: 0,
            fast_scalars,
        }
    }

    fn hostile(&mut self) -> bool {
        self.rng.chance(self.hostile)
    }

    /// A random document: a block mapping or sequence with nested blocks and inline values,
    /// and now and then an indentation slip, a separator variant or a noise line.
    fn document(&mut self) -> String {
        self.hostile = [0, 0, 1, 3, 10, 30][self.rng.below(6)];
        let mut out = String::new();
        if self.rng.chance(70) {
            self.mapping(&mut out, 0, 0);
        } else {
            self.sequence(&mut out, 0, 0);
        }
        out
    }

    fn noise(&mut self, out: &mut String) {
        if self.hostile() {
            out.push_str(self.rng.pick(NOISE));
            out.push('\n');
        } else if self.rng.chance(3) {
            out.push_str(self.rng.pick(&NOISE[..5]));
            out.push('\n');
        }
    }

    /// Indentation, off by one now and then.
    fn indent(&mut self, out: &mut String, n: usize) {
        let n = if self.hostile() && self.rng.chance(30) {
            if self.rng.chance(50) {
                n + 1
            } else {
                n.saturating_sub(1)
            }
        } else {
            n
        };
        out.push_str(&" ".repeat(n));
    }

    fn scalar(&mut self) -> &'static str {
        if self.hostile() {
            self.rng.pick(SCALARS)
        } else {
            self.rng.pick(&self.fast_scalars)
        }
    }

    fn key(&mut self) -> &'static str {
        if self.hostile() {
            self.rng.pick(KEYS)
        } else {
            self.rng.pick(COMMON_KEYS)
        }
    }

    /// The rest of a line after `key:` or `-`: an inline value, or a nested block below.
    fn value(&mut self, out: &mut String, n: usize, depth: usize, key: bool) {
        if depth < 4 && self.rng.chance(30) {
            if self.rng.chance(10) {
                out.push_str(" # c");
            }
            out.push('\n');
            self.noise(out);
            let child = n + [1, 2, 2, 2, 3, 4][self.rng.below(6)];
            if key && self.rng.chance(30) {
                self.sequence(out, n, depth + 1); // at the key's indentation
            } else if self.rng.chance(50) {
                self.mapping(out, child, depth + 1);
            } else {
                self.sequence(out, child, depth + 1);
            }
            return;
        }
        if self.rng.chance(3) {
            out.push('\n'); // empty value: null
            return;
        }
        out.push_str([" ", " ", " ", "  "][self.rng.below(4)]);
        out.push_str(self.scalar());
        match self.rng.below(20) {
            0 => out.push_str(" # trailing"),
            1 => out.push_str("  "),
            _ => {}
        }
        out.push('\n');
        self.noise(out);
    }

    fn mapping(&mut self, out: &mut String, n: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            self.mapping_entry(out, n, depth);
        }
    }

    fn mapping_entry(&mut self, out: &mut String, n: usize, depth: usize) {
        self.indent(out, n);
        out.push_str(self.key());
        out.push_str(if self.hostile() { " :" } else { ":" });
        self.value(out, n, depth, true);
    }

    fn sequence(&mut self, out: &mut String, n: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            self.indent(out, n);
            out.push('-');
            match self.rng.below(10) {
                // A compact mapping: `- key: value` and more keys at its column.
                0..=2 if depth < 4 => {
                    let spaces = if self.rng.chance(80) {
                        1
                    } else {
                        2 + self.rng.below(2)
                    };
                    out.push_str(&" ".repeat(spaces));
                    let column = n + 1 + spaces;
                    let mut first = String::new();
                    self.mapping_entry(&mut first, column, depth + 1);
                    out.push_str(first.trim_start_matches(' '));
                    for _ in 0..self.rng.below(3) {
                        self.mapping_entry(out, column, depth + 1);
                    }
                }
                // `- - a`
                3 if depth < 4 => {
                    out.push(' ');
                    let mut inner = String::new();
                    self.sequence(&mut inner, n + 2, depth + 1);
                    out.push_str(inner.trim_start_matches(' '));
                }
                _ => self.value(out, n, depth, false),
            }
        }
    }
}

/// Long sequences (a fleet's clusters) are parsed entry by entry in parallel: the same values
/// as serde_yaml, and the same refusals, wherever an entry ends.
#[test]
fn long_sequences_match_serde_yaml() {
    let entry = |i: usize| {
        match i % 5 {
        0 => format!("- name: c-{i:05}\n  apiServer: https://api.c-{i}.example.com:6443\n  labels:\n    region: eu\n"),
        1 => format!("-\n  name: c-{i:05}\n  # a comment\n\n  list:\n  - a\n  - {i}\n"),
        2 => format!("- - c-{i:05}\n  - {{name: x, key: y}}\n"),
        3 => format!("- c-{i:05}\n"),
        _ => format!("- name: c-{i:05}\n  nested:\n    - - deep\n      - {i}\n"),
    }
    };
    let body: String = (0..600).map(entry).collect();
    let indented: String = body
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    let good = [
        format!("clusters:\n{body}"),
        format!("clusters:\n{body}after: 1\n"),
        format!("spec:\n  clusters:\n{indented}  more: x\ntop: y\n"),
        body.clone(),
    ];
    for text in &good {
        assert!(check(text, "a long sequence"), "expected the fast path");
    }
    // Broken near the start, in the middle and at the end, in entries of every kind (a
    // scalar entry followed by a deeper line leaves that line behind): refused as serde_yaml
    // refuses them, or read as it reads them.
    // The sequence with `extra` lines after entry `at`.
    let broken = |at: usize, extra: &str| -> String {
        let entries: String = (0..600)
            .map(|i| if i == at { entry(i) + extra } else { entry(i) })
            .collect();
        format!("clusters:\n{entries}")
    };
    for at in [0, 3, 300, 303, 596, 598, 599] {
        let fast = check(&broken(at, "    stray: line\n"), "a stray line");
        assert_eq!(
            fast,
            at % 5 == 0,
            "entry {at}: the stray line is {}",
            if at % 5 == 0 {
                "part of a mapping"
            } else {
                "an error"
            }
        );
        check(&broken(at, "  - {bad\n"), "a broken entry");
        check(&broken(at, "oops\n"), "a scalar after an entry");
    }
}

#[test]
fn random_documents_match_or_fall_back() {
    let mut gen = Gen::new(0x9E37_79B9_7F4A_7C15);
    assert!(
        gen.fast_scalars.len() >= 40,
        "only {} scalars on the fast path: {:?}",
        gen.fast_scalars.len(),
        gen.fast_scalars
    );
    let (mut fast, total) = (0, 30_000);
    for i in 0..total {
        let text = gen.document();
        if check(&text, &format!("random document {i}")) {
            fast += 1;
        }
    }
    eprintln!("{fast} of {total} random documents on the fast path");
    // The generator must exercise the fast path, not only the fallbacks.
    assert!(fast * 3 >= total, "only {fast} of {total} on the fast path");
}

/// Speed against serde_yaml on a typical template text:
/// `cargo test --release -p hubdr --test yaml_subset -- --ignored --nocapture`.
#[test]
#[ignore = "timing only; run with --release"]
fn speed_against_serde_yaml() {
    let text = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: orders-db
  namespace: shop
spec:
  sourcePVC: orders-db
  trigger:
    schedule: \"*/10 * * * *\"
  rsyncTLS:
    keySecret: orders-db-psk
    address: \"orders-db-dst.shop.svc.clusterset.local\"
    copyMethod: Snapshot
    accessModes: [\"ReadWriteOnce\"]
    storageClassName: \"ocs-storagecluster-ceph-rbd\"
    volumeSnapshotClassName: \"ocs-storagecluster-rbdplugin-snapclass\"
";
    assert!(check(text, "speed document"));
    let rounds = 20_000;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(parse(std::hint::black_box(text)));
    }
    let fast = start.elapsed();
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(serde_yaml::from_str::<Value>(std::hint::black_box(text)).unwrap());
    }
    let slow = start.elapsed();
    eprintln!(
        "{} bytes: yaml_subset {:?}/doc, serde_yaml {:?}/doc ({:.1}x)",
        text.len(),
        fast / rounds,
        slow / rounds,
        slow.as_secs_f64() / fast.as_secs_f64()
    );
}
