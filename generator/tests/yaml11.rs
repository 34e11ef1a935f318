//! Every string hubdr writes comes back as the same string from a YAML 1.1 reader.
//!
//! kubectl, kustomize and Argo CD read manifests with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1):
//! `no` is `false` there, `1_000` is `1000` and `2001-12-14` a timestamp. PyYAML is a YAML 1.1
//! reader too; every hostile string is written by `hubdr::yaml` in every position a manifest
//! has (keys, values, list items, annotations, container args), read back by PyYAML's
//! `safe_load_all` and compared. PyYAML's booleans are `yes/no/on/off` but not go-yaml's
//! `y/n`; those are covered by the unit tests in `yaml.rs`.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// YAML 1.1 readings, YAML 1.2 readings, indicators and line breaks.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "y",
    "Y",
    "n",
    "N",
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "true",
    "False",
    "null",
    "~",
    "<<",
    "=",
    "1_000",
    "0x_1F",
    "0x1F",
    "0O17",
    "0o17",
    "017",
    "08",
    "0b101",
    "-0b1",
    "+1",
    "1.",
    ".5",
    "1e3",
    "1E+3",
    "-.inf",
    "+.INF",
    ".NaN",
    "1:20",
    "190:20:30.15",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "1_0.5",
    "._5",
    "0.",
    "-",
    "--",
    "---",
    "...",
    ": ",
    "- x",
    "#x",
    "a #x",
    "*a",
    "&a",
    "!a",
    "!!str",
    "%a",
    "@a",
    "`a",
    "|",
    ">",
    "'",
    "\"",
    "{",
    "[",
    "a\u{2028}b",
    "\u{85}",
    "x\u{2029}",
    "a\nb",
    "a\n",
    "\ta",
    "a\u{feff}",
    "é",
    "ünïcödé",
    "https://api.east-1.example:6443",
    "quay.io/org/image@sha256:abc",
    "10.0.0.1",
    "v1.2.3",
    "app.kubernetes.io/name",
    "*/5 * * * *",
];

/// One document per string, with the string in every position.
fn document(s: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "labels": {s: s},
            "annotations": {"hubdr.io/value": s, s: "v"},
        },
        "data": {s: s},
        "list": [s, [s], {s: [s]}],
        "spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["--flag", s]}]}}},
    })
}

/// `python3` with PyYAML, or why not.
fn pyyaml() -> Result<(), String> {
    match Command::new("python3").args(["-c", "import yaml"]).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "PyYAML is not installed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("python3 cannot run: {e}")),
    }
}

/// `text` read by PyYAML (YAML 1.1), as JSON; non-string values come back as their JSON form
/// and timestamps as a tagged string, so that every misreading shows.
fn read_with_pyyaml(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys, yaml, datetime
def plain(v):
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else "<non-string key %r>" % (k,)): plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime)):
        return "<timestamp %s>" % v.isoformat()
    return v
docs = [plain(d) for d in yaml.safe_load_all(sys.stdin.read())]
json.dump(docs, sys.stdout)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "PyYAML cannot read hubdr's output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

#[test]
fn every_string_reads_back_unchanged_in_yaml_1_1() {
    if let Err(why) = pyyaml() {
        assert!(
            std::env::var_os("HUBDR_REQUIRE_SHARED").is_none(),
            "{why}; CI (HUBDR_REQUIRE_SHARED) needs it: .ci/run installs pyyaml"
        );
        println!("skipped: {why}");
        return;
    }
    let mut strings: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    for a in ["y", "1", "0x", "_", "1:", "2001-", ".", "-", " ", "<"] {
        for b in [
            "n", "_0", "1F", "20", "12-14", "5", "inf", "1", "<", "\u{2028}",
        ] {
            strings.push(format!("{a}{b}"));
        }
    }
    let documents: Vec<Value> = strings.iter().map(|s| document(s)).collect();
    let text: String = documents
        .iter()
        .map(|d| format!("---\n{}", hubdr::yaml::to_string(d)))
        .collect();
    let read = read_with_pyyaml(&text);
    assert_eq!(read.len(), documents.len());
    let mut wrong = Vec::new();
    for ((s, written), back) in strings.iter().zip(&documents).zip(&read) {
        if written != back {
            wrong.push(format!(
                "{s:?}:\n{}\nread back as {back}",
                hubdr::yaml::to_string(written)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} strings change in a YAML 1.1 reader:\n{}",
        wrong.len(),
        strings.len(),
        wrong.join("\n")
    );
}
