//! `hubdr::yaml` must write exactly the bytes `serde_yaml::to_string` writes, except that
//! strings a YAML 1.1 reader would misread are quoted (see `yaml11.rs` for that side).
//!
//! * differential: seeded random documents (nested maps and sequences, keys
//!   and strings from a hostile alphabet, numbers, bools, null) compared byte
//!   for byte with serde_yaml, plus a round trip through serde_yaml's parser;
//! * corpus: every document under `repos-example/rendered/` and
//!   `generator/tests/snapshots/` that parses.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Number, Value};

mod support;

use support::Rng;

/// Pieces strings are made of: YAML indicators, whitespace and breaks, words
/// that read back as null, bools or numbers, and typical manifest values.
const ATOMS: &[&str] = &[
    "",
    " ",
    "  ",
    ":",
    ": ",
    " :",
    " #",
    "#",
    "-",
    "- ",
    "--",
    "---",
    "...",
    "?",
    "? ",
    "*",
    "&",
    "!",
    "|",
    ">",
    "'",
    "\"",
    "%",
    "@",
    "`",
    "{",
    "}",
    "[",
    "]",
    ",",
    "{}",
    "[]",
    "\\",
    "\\n",
    "\t",
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    " \n",
    "\n ",
    "é",
    "日本語",
    "😀",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{fffe}",
    "\u{7f}",
    "\u{1b}",
    "\u{0}",
    "\u{e000}",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "0",
    "1",
    "-0",
    "+0",
    "00",
    "01",
    "-01",
    "+01",
    "0x1F",
    "-0x1f",
    "+0x1F",
    "0x+1",
    "0x",
    "0o17",
    "-0o17",
    "0b101",
    "1e3",
    "1E3",
    "1e",
    "e5",
    "1_000",
    ".5",
    "5.",
    "+1",
    "-1",
    "++1",
    "+-1",
    ".inf",
    "-.inf",
    "+.inf",
    ".Inf",
    ".NaN",
    ".nan",
    "inf",
    "nan",
    "infinity",
    "1.0",
    "-1.5e-7",
    "340282366920938463463374607431768211456",
    "-170141183460469231731687303715884105729",
    "12345678901234567890123456789012345678901234567890",
    "0 */2 * * *",
    "168h0m0s",
    "10Gi",
    "2Gi",
    "500m",
    "api.example.com",
    "open-cluster-management-backup",
    "https://a.b:6443",
    "quay.io/org/image:v1.2.3",
    "2024-01-01T00:00:00Z",
    "2024-01-01",
    "=",
    "<<",
    "a",
    "abc",
    "x-y_z",
    "a b",
    "app.kubernetes.io/name",
];

fn random_string(rng: &mut Rng) -> String {
    if rng.chance(45) {
        return rng.pick(ATOMS).to_string();
    }
    let parts = 2 + rng.below(4);
    let mut s = String::new();
    for _ in 0..parts {
        let atom: &str = rng.pick(ATOMS);
        s.push_str(atom);
    }
    if rng.chance(3) {
        // Long enough to stop being a simple key (> 128 bytes).
        let unit = s.clone() + "x";
        while s.len() <= 130 {
            s.push_str(&unit);
        }
    }
    s
}

fn random_number(rng: &mut Rng) -> Number {
    match rng.below(12) {
        0 => Number::from(0u64),
        1 => Number::from(u64::MAX),
        2 => Number::from(i64::MIN),
        3 => Number::from(rng.next() >> rng.below(64)),
        4 => Number::from(-((rng.next() >> 2) as i64) >> rng.below(62)),
        5 => Number::from(rng.below(1000) as u64),
        _ => {
            let f = rng.pick(&[
                0.0,
                -0.0,
                1e300,
                -1e300,
                0.1,
                1.0,
                -1.5,
                1e-7,
                123456789012345680000.0,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                0.30000000000000004,
                2.5e15,
                1e16,
            ]);
            let f = if rng.chance(30) {
                f64::from_bits(rng.next())
            } else {
                f
            };
            Number::from_f64(f).unwrap_or_else(|| Number::from(7u64))
        }
    }
}

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 | 3 => Value::Number(random_number(rng)),
        _ => Value::String(random_string(rng)),
    }
}

/// A random tree: up to `depth` levels, at most about `budget` nodes.
fn random_value(rng: &mut Rng, depth: usize, budget: &mut usize) -> Value {
    if depth == 0 || *budget == 0 {
        return random_scalar(rng);
    }
    *budget = budget.saturating_sub(1);
    match rng.below(10) {
        0..=2 => {
            let len = rng.below(6);
            let mut map = Map::new();
            for _ in 0..len {
                let key = random_string(rng);
                map.insert(key, random_value(rng, depth - 1, budget));
            }
            Value::Object(map)
        }
        3..=5 => {
            let len = rng.below(6);
            Value::Array(
                (0..len)
                    .map(|_| random_value(rng, depth - 1, budget))
                    .collect(),
            )
        }
        _ => random_scalar(rng),
    }
}

/// Whether `value` holds a string (key or value) that hubdr quotes or escapes where serde_yaml
/// does not, because a YAML 1.1 reader would read serde_yaml's text as something else.
fn yaml11_sensitive(value: &Value) -> bool {
    let sensitive = |s: &str| {
        hubdr::yaml::yaml11_reads_as_non_string(s) || s.contains(['\u{85}', '\u{2028}', '\u{2029}'])
    };
    match value {
        Value::String(s) => sensitive(s),
        Value::Array(items) => items.iter().any(yaml11_sensitive),
        Value::Object(map) => map.iter().any(|(k, v)| sensitive(k) || yaml11_sensitive(v)),
        _ => false,
    }
}

/// Byte for byte serde_yaml's output, unless the value holds a YAML 1.1 sensitive string: then
/// the output must read back (YAML 1.2, serde_yaml) as the value wherever serde_yaml's does.
fn check(value: &Value, what: &str) {
    let expected = serde_yaml::to_string(value).expect("serde_yaml serializes JSON values");
    let ours = hubdr::yaml::to_string(value);
    let mut appended = String::from("# prefix\n");
    hubdr::yaml::write(&mut appended, value);
    assert_eq!(appended.strip_prefix("# prefix\n"), Some(ours.as_str()));
    if ours == expected {
        return;
    }
    assert!(
        yaml11_sensitive(value),
        "{what}: output differs from serde_yaml\nvalue: {value}\n--- serde_yaml\n{expected}\n--- hubdr::yaml\n{ours}"
    );
    if serde_yaml::from_str::<Value>(&expected).ok().as_ref() == Some(value) {
        assert_eq!(
            serde_yaml::from_str::<Value>(&ours).ok().as_ref(),
            Some(value),
            "{what}: does not read back\n{ours}"
        );
    }
}

const DOCUMENTS: usize = 25_000;

#[test]
fn yaml_random_documents_match_serde_yaml() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut round_trips = 0;
    for i in 0..DOCUMENTS {
        let mut budget = 40;
        let value = random_value(&mut rng, 6, &mut budget);
        check(&value, &format!("random document {i}"));

        // Round trip wherever serde_yaml itself round-trips.
        let expected = serde_yaml::to_string(&value).unwrap();
        if serde_yaml::from_str::<Value>(&expected).ok().as_ref() == Some(&value) {
            let ours = hubdr::yaml::to_string(&value);
            assert_eq!(
                serde_yaml::from_str::<Value>(&ours).ok().as_ref(),
                Some(&value),
                "random document {i} does not read back:\n{ours}"
            );
            round_trips += 1;
        }
    }
    eprintln!("{DOCUMENTS} random documents identical, {round_trips} round-tripped");
    assert!(
        round_trips > DOCUMENTS / 2,
        "only {round_trips} round trips"
    );
}

#[test]
fn yaml_every_string_matches_serde_yaml_in_every_position() {
    // Each atom and each pair of atoms as a root scalar, a key, a value, a
    // sequence item, a value in a sequence of mappings and a nested key.
    let mut strings: Vec<String> = ATOMS.iter().map(|s| s.to_string()).collect();
    for a in ATOMS {
        for b in ATOMS {
            strings.push(format!("{a}{b}"));
        }
    }
    for s in &strings {
        let v = Value::String(s.clone());
        let mut key = Map::new();
        key.insert(s.clone(), Value::String(s.clone()));
        let key = Value::Object(key);
        let doc = serde_json::json!({
            "root": v,
            "list": [v, [v, key], {"k": v, "n": key}],
            "nested": {"deeper": key},
        });
        check(&v, "root scalar");
        // Alone, before the document's end: one line, ended by the document's end, or a
        // block scalar whose lines the document's end may add to.
        let mut lone = String::new();
        hubdr::yaml::write_lone_string(&mut lone, s);
        let whole = hubdr::yaml::to_string(&v);
        if lone.contains('\n') {
            assert!(whole.starts_with(&lone), "lone string {s:?}: {lone:?}");
        } else {
            assert_eq!(format!("{lone}\n"), whole, "lone string {s:?}");
        }
        check(&key, "key");
        check(&doc, "nested");
    }
    eprintln!("{} strings identical in every position", strings.len());
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

/// Documents of one file. Snapshots hold an insta header and often several
/// files, each introduced by a `--- <path>` line: every chunk is a candidate.
fn documents(text: &str) -> Vec<Value> {
    support::corpus_chunks(text)
        .iter()
        .filter_map(|chunk| serde_yaml::from_str::<Value>(chunk).ok())
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn yaml_corpus_matches_serde_yaml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect_files(&root.join("../repos-example/rendered"), &mut files);
    collect_files(&root.join("tests/snapshots"), &mut files);
    files.sort();
    let mut checked = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for value in documents(&text) {
            check(&value, &file.display().to_string());
            checked += 1;
        }
    }
    eprintln!("{} files, {checked} documents identical", files.len());
    assert!(checked >= 100, "only {checked} corpus documents parsed");
}

/// Speed against serde_yaml on a typical Kubernetes object:
/// `cargo test --release -p hubdr --test yaml_emit -- --ignored --nocapture`.
#[test]
#[ignore = "timing only; run with --release"]
fn yaml_speed_against_serde_yaml() {
    let object = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1beta1",
        "kind": "BackupSchedule",
        "metadata": {
            "name": "schedule-acm",
            "namespace": "open-cluster-management-backup",
            "labels": {
                "app.kubernetes.io/managed-by": "hubdr",
                "hubdr.io/site": "example",
                "hubdr.io/cluster": "hub-east"
            },
            "annotations": {
                "hubdr.io/wave": "30",
                "argocd.argoproj.io/sync-wave": "30",
                "description": "Back up the hub: ACM resources, managed clusters and credentials."
            }
        },
        "spec": {
            "veleroSchedule": "0 */2 * * *",
            "veleroTtl": "168h0m0s",
            "useManagedServiceAccount": true,
            "managedServiceAccountTTL": "120h",
            "paused": false,
            "storage": {"size": "10Gi", "class": null},
            "hubs": [
                {"name": "hub-east", "apiServer": "https://api.east.example.com:6443", "role": "active"},
                {"name": "hub-west", "apiServer": "https://api.west.example.com:6443", "role": "passive"}
            ],
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {}},
            "excluded": [],
            "script": "#!/bin/sh\nset -eu\noc get backupschedule -A\n",
            "replicas": 3
        }
    });
    let n = 50_000;
    assert_eq!(
        hubdr::yaml::to_string(&object),
        serde_yaml::to_string(&object).unwrap()
    );
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes += serde_yaml::to_string(std::hint::black_box(&object))
            .unwrap()
            .len();
    }
    let theirs = start.elapsed();
    let start = Instant::now();
    for _ in 0..n {
        bytes += hubdr::yaml::to_string(std::hint::black_box(&object)).len();
    }
    let ours = start.elapsed();
    eprintln!(
        "{n} emissions: serde_yaml {theirs:?}, hubdr::yaml {ours:?}, {:.1}x faster ({bytes} bytes)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // The rendered example repository, 100 times over.
    let mut files = Vec::new();
    collect_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../repos-example/rendered"),
        &mut files,
    );
    let corpus: Vec<Value> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| documents(&text))
        .collect();
    let start = Instant::now();
    for _ in 0..100 {
        for value in &corpus {
            bytes += serde_yaml::to_string(std::hint::black_box(value))
                .unwrap()
                .len();
        }
    }
    let theirs = start.elapsed();
    let start = Instant::now();
    for _ in 0..100 {
        for value in &corpus {
            bytes += hubdr::yaml::to_string(std::hint::black_box(value)).len();
        }
    }
    let ours = start.elapsed();
    eprintln!(
        "100 x {} rendered documents: serde_yaml {theirs:?}, hubdr::yaml {ours:?}, {:.1}x faster ({bytes} bytes)",
        corpus.len(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
