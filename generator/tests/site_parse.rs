//! Site files are read through the YAML subset parser when they are within it
//! (`hubdr::site::load::parse`); the result must be exactly serde_yaml's: the same site where
//! both succeed, and serde_yaml's error otherwise.

use std::fs;
use std::path::PathBuf;

use hubdr::site::load::parse;
use hubdr::site::Site;
use serde::Deserialize;

mod support;

use support::manifest_dir;

fn site_files() -> Vec<(PathBuf, String)> {
    let root = manifest_dir();
    let mut files = vec![root.join("../repos-example/site.yaml")];
    for dir in ["tests/data/bad", "tests/data/matrix", "tests/data/warnings"] {
        let mut in_dir: Vec<PathBuf> = fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    let mut out: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.push((
        "starter site".into(),
        include_str!("../src/starter-site.yaml").to_string(),
    ));
    out
}

/// Whether the subset parser alone gives a site for `text`.
fn fast(text: &str) -> Option<Site> {
    hubdr::yaml_subset::parse(text).and_then(|v| Site::deserialize(v).ok())
}

/// `parse` and serde_yaml agree on `text`: the same site, or the same error.
fn assert_same(name: &str, text: &str) {
    let ours = parse(text);
    let theirs = serde_yaml::from_str::<Site>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
            "{name}"
        ),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
        _ => panic!(
            "{name}: {:?} against serde_yaml's {:?}",
            ours.err(),
            theirs.err()
        ),
    }
}

#[test]
fn every_site_file_reads_as_serde_yaml_reads_it() {
    let files = site_files();
    for (path, text) in &files {
        assert_same(&path.display().to_string(), text);
    }
    // The optimisation is in use for the sites that are all within the subset.
    for (path, text) in &files {
        let name = path.display().to_string();
        if name.contains("matrix") || name.contains("repos-example") {
            assert!(fast(text).is_some(), "{name} no longer takes the fast path");
        }
    }
}

/// A repeated field, in block or JSON flow style, is serde_yaml's error, not the last value.
#[test]
fn repeated_fields_are_refused_as_serde_yaml_refuses_them() {
    let root = manifest_dir();
    let text = fs::read_to_string(root.join("tests/data/matrix/minimal.yaml")).unwrap();
    assert!(
        text.contains("credentialsSecret:\n      name: cloud-credentials"),
        "{text}"
    );
    for repeated in [
        "credentialsSecret: {\"name\": \"a\", \"name\": \"b\"}",
        "credentialsSecret: {name: a, name: b}",
    ] {
        let mutated = text.replace(
            "credentialsSecret:\n      name: cloud-credentials",
            repeated,
        );
        assert_ne!(mutated, text);
        let err = parse(&mutated).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
        assert_same(repeated, &mutated);
    }
}

/// Each value of the example site replaced by scalars of every type, quoted and not: where the
/// subset parser gives a site, serde_yaml gives the same one (it reads a plain `123` or `true`
/// into a string field as text; taking the site from a value refuses that, and serde_yaml
/// reads it instead).
#[test]
fn mutated_sites_read_as_serde_yaml_reads_them() {
    let root = manifest_dir();
    let text = fs::read_to_string(root.join("../repos-example/site.yaml")).unwrap();
    let scalars = [
        "123",
        "-7",
        "0",
        "true",
        "false",
        "null",
        "~",
        "'5'",
        "\"true\"",
        "1.5",
        "0x1f",
        "yes",
        "\"\"",
        "[]",
        "{}",
        "[a, b]",
        "{\"a\": \"b\"}",
        "-",
        "a: b",
        "'it''s'",
        "18446744073709551616",
        "{a: ~}",
        "[1]",
        "[{}]",
        "{active: ~}",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut compared = 0;
    let mut fast_hits = 0;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        if value.trim().is_empty() || value.trim_start().starts_with('#') {
            continue;
        }
        for scalar in scalars {
            let mut mutated = lines.clone();
            let replaced = format!("{key}: {scalar}");
            mutated[i] = &replaced;
            let mutated = mutated.join("\n");
            assert_same(&format!("line {} as {scalar:?}", i + 1), &mutated);
            compared += 1;
            fast_hits += usize::from(fast(&mutated).is_some());
        }
    }
    assert!(compared > 500, "{compared} mutations");
    assert!(
        fast_hits > 50,
        "only {fast_hits} of {compared} took the fast path"
    );
}

/// A site of `n` managed clusters and `n` rsync-tls replications (cluster `i` to `i + 1`);
/// `item(i)` adds lines to replication `i` (indented as its fields).
fn fleet(n: usize, item: &dyn Fn(usize) -> String) -> String {
    let mut text = String::from(
        "apiVersion: hubdr.io/v1alpha1\nkind: Site\nmetadata:\n  name: fleet\nspec:\n  git:\n    url: https://git.example.com/dr.git\n  storage:\n    provider: aws\n    bucket: b\n    region: eu-west-1\n    credentialsSecret:\n      name: cloud\n  backup:\n    schedule: \"0 */2 * * *\"\n    ttl: 120h\n  hubs:\n    - name: hub-a\n      role: active\n    - name: hub-b\n      role: passive\n  managedClusters:\n",
    );
    for i in 0..=n {
        text.push_str(&format!(
            "    - name: c-{i}\n      apiServer: https://api.c-{i}.example.com:6443\n"
        ));
    }
    text.push_str("  volsync:\n    replications:\n");
    for i in 0..n {
        text.push_str(&format!(
            "      - name: r-{i}\n        method: rsync-tls\n        schedule: \"*/5 * * * *\"\n        pskSecret: r-{i}-psk\n        source: {{cluster: c-{i}, namespace: app, pvc: data}}\n        destination: {{cluster: c-{}, namespace: app, capacity: 1Gi}}\n{}",
            i + 1,
            item(i)
        ));
    }
    text
}

/// The long lists of a fleet's site are read in parallel: the same site as serde_yaml's, and
/// serde_yaml's error for a bad field deep in either list. Validation reports a repeated
/// replication name, and an object rendered twice, at the repeat, once each.
#[test]
fn fleet_sized_sites_read_and_validate_like_small_ones() {
    let n = 300;
    let good = fleet(n, &|_| String::new());
    assert!(fast(&good).is_some(), "a fleet within the subset");
    assert_same("fleet", &good);
    let site = parse(&good).unwrap();
    assert_eq!(site.spec.managed_clusters.len(), n + 1);
    assert_eq!(site.spec.volsync.as_ref().unwrap().replications.len(), n);
    assert_eq!(
        site.spec.volsync.as_ref().unwrap().replications[250].name,
        "r-250"
    );

    let typo = fleet(n, &|i| match i {
        250 => "        scheduel: \"*/5 * * * *\"\n".to_string(),
        _ => String::new(),
    });
    assert_same("a typo in replication 250", &typo);
    assert!(parse(&typo).unwrap_err().to_string().contains("scheduel"));
    let wrong_type = good.replace(
        "apiServer: https://api.c-260.example.com:6443",
        "apiServer: [1]",
    );
    assert_same("a list for the API server of cluster 260", &wrong_type);
    assert!(parse(&wrong_type).is_err());

    // Replication 250 repeats the name of replication 10, and its source too.
    let repeated = good
        .replace("- name: r-250\n", "- name: r-10\n")
        .replace("source: {cluster: c-250,", "source: {cluster: c-10,");
    let err = hubdr::site::load_str(&repeated, std::path::Path::new("fleet.yaml")).unwrap_err();
    let hubdr::site::SiteError::Invalid { diagnostics, .. } = err else {
        panic!("{err}")
    };
    let errors: Vec<(&str, &str)> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.path.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "spec.volsync.replications[250].name",
                "replication \"r-10\" is listed twice"
            ),
            (
                "spec.volsync.replications[250].source",
                "ReplicationSource app/r-10 on cluster c-10 would also be rendered by spec.volsync.replications[10].source"
            ),
        ]
    );
}
