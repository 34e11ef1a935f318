//! Builds and runs the structured-merge-diff oracle (kubefake/oracle, Go, GOPATH mode).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Debian's golang-k8s-sigs-structured-merge-diff-dev installs here.
const GOPATH: &str = "/usr/share/gocode";

fn oracle_src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oracle")
}

/// The Go toolchain: `$HUBDR_GO` if set (to check the skip path), else `go`.
fn go() -> String {
    std::env::var("HUBDR_GO").unwrap_or_else(|_| "go".to_string())
}

/// Why the oracle cannot be built on this machine, or `None` if it can.
pub fn missing_toolchain() -> Option<String> {
    match Command::new(go()).arg("version").output() {
        Ok(o) if o.status.success() => {}
        _ => {
            return Some(
                "the Go toolchain (`go`, Debian package golang-go) is not installed".into(),
            )
        }
    }
    let smd = Path::new(GOPATH).join("src/sigs.k8s.io/structured-merge-diff/merge");
    if !smd.is_dir() {
        return Some(format!(
            "{} is missing (Debian package golang-k8s-sigs-structured-merge-diff-dev)",
            smd.display()
        ));
    }
    None
}

/// Builds the oracle once into the test target directory and returns its path.
pub fn build() -> PathBuf {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = out_dir.join("ssa-oracle");
    let status = Command::new(go())
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(oracle_src())
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOFLAGS", "")
        .env("GOCACHE", out_dir.join("go-build-cache"))
        .status()
        .expect("go build starts");
    assert!(status.success(), "building the oracle failed: {status}");
    bin
}

/// Runs every scenario through one oracle process; returns its results, one per scenario.
pub fn run(bin: &Path, scenarios: &Value) -> Vec<Value> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oracle starts");
    let input = serde_json::to_vec(&serde_json::json!({ "scenarios": scenarios })).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().expect("oracle runs");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle prints JSON")
}
