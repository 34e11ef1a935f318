//! `repos-example/rendered` must be exactly what `repos-example/site.yaml` renders to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn example_output_matches_the_example_site() {
    let root = workspace().join("repos-example");
    let loaded =
        hubdr::site::load_file(&root.join("site.yaml")).expect("the example site is valid");
    assert!(
        loaded.warnings.is_empty(),
        "the example site has warnings: {:?}",
        loaded.warnings
    );
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
        .expect("the example renders");
    let on_disk = files_under(&root.join("rendered"));

    let missing: Vec<&String> = rendered
        .tree
        .keys()
        .filter(|p| !on_disk.contains_key(*p))
        .collect();
    let extra: Vec<&String> = on_disk
        .keys()
        .filter(|p| !rendered.tree.contains_key(*p))
        .collect();
    let differ: Vec<&String> = rendered
        .tree
        .iter()
        .filter(|(p, b)| on_disk.get(*p).is_some_and(|d| d != *b))
        .map(|(p, _)| p)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "repos-example/rendered drifted from repos-example/site.yaml\n  missing: {missing:?}\n  extra: {extra:?}\n  differ: {differ:?}\n\
         regenerate with: cargo run -p hubdr -- render --site repos-example/site.yaml --out repos-example/rendered --no-git"
    );
}

#[test]
fn example_output_validates_against_the_upstream_crds() {
    let validator = workspace().join("../shared/tools/validate-manifests");
    if !validator.exists() {
        println!("skipped: ../shared/tools/validate-manifests not found");
        return;
    }
    let output = std::process::Command::new("python3")
        .arg(&validator)
        .arg(workspace().join("repos-example/rendered"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        output.status.success() && summary.contains(" 0 failed"),
        "validate-manifests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
