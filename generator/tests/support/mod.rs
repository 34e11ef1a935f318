//! Helpers shared by the integration tests: the real `hubdr` binary in a sandbox, rendered trees
//! on disk, the `../shared` manifest validator, and git inspection.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::SystemTime;

use hubdr::gitrepo::Tree;

pub mod fixtures;
pub mod starter;
pub mod status;

/// `generator/`.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `generator/tests/data/<sub>`.
/// A corpus file and each document in it: snapshots hold an insta header and often several
/// files, each introduced by a `---` or `--- <path>` line, so the whole text comes first and
/// then every part between those lines.
pub fn corpus_chunks(text: &str) -> Vec<String> {
    let mut chunks = vec![text.to_string()];
    let mut current = String::new();
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            chunks.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    chunks.push(current);
    chunks
}

pub fn data(sub: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(sub)
}

/// The `*.yaml` files of a data directory, as stems, sorted.
pub fn yaml_stems(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// `../shared/tools/validate-manifests` (relative to the workspace root).
pub fn validator() -> PathBuf {
    manifest_dir().join("../../shared/tools/validate-manifests")
}

/// True when `../shared/crds` exists; otherwise prints why the caller skips and returns false.
pub fn shared_available() -> bool {
    let crds = manifest_dir().join("../../shared/crds");
    if crds.is_dir() && validator().is_file() {
        true
    } else {
        // CI sets HUBDR_REQUIRE_SHARED: there every schema check must run, never skip.
        assert!(
            std::env::var_os("HUBDR_REQUIRE_SHARED").is_none(),
            "../shared not found ({} is missing), and HUBDR_REQUIRE_SHARED is set: tests must not skip",
            crds.display()
        );
        println!(
            "skipped: ../shared not found ({} is missing)",
            crds.display()
        );
        false
    }
}

/// Run validate-manifests on `dir`; returns the process result.
pub fn validate_manifests(dir: &Path) -> Run {
    let mut cmd = Command::new(validator());
    cmd.arg(dir);
    Run::of(cmd, dir)
}

/// Keep the user's git configuration out of in-process git2 calls (libgit2 reads these
/// variables once, on first use): call before opening a repository from the test process.
pub fn sandbox_git_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let home = tempfile::tempdir().unwrap().keep();
        let global = home.join("gitconfig");
        fs::write(&global, "").unwrap();
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", &global);
    });
}

/// A fresh temporary directory with its own HOME and git configuration, to run `hubdr` in.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hubdr-test-")
            .tempdir()
            .unwrap();
        let home = dir.path().join(".home");
        fs::create_dir_all(home.join(".config")).unwrap();
        fs::write(home.join("gitconfig"), "").unwrap();
        Self { dir }
    }

    /// The working directory of the sandbox.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `hubdr args...` with `cwd` as working directory and a sandboxed git environment.
    pub fn hubdr_in(&self, cwd: &Path, args: &[&str]) -> Run {
        self.run_in(env!("CARGO_BIN_EXE_hubdr"), cwd, args)
    }

    /// `program args...` with `cwd` as working directory and a sandboxed git environment.
    pub fn run_in(&self, program: &str, cwd: &Path, args: &[&str]) -> Run {
        let home = self.path().join(".home");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(cwd)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_CEILING_DIRECTORIES")
            .env_remove("RUST_LOG");
        Run::of(cmd, cwd)
    }

    /// `hubdr args...` in the sandbox directory.
    pub fn hubdr(&self, args: &[&str]) -> Run {
        self.hubdr_in(self.path(), args)
    }

    /// The sandbox's visible entries (without its private HOME), for "nothing was written".
    pub fn listing(&self) -> Vec<String> {
        let mut out: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".home")
            .collect();
        out.sort();
        out
    }
}

/// A finished process, printed with its command line, cwd, status, stdout and stderr so a
/// failing assertion shows everything.
pub struct Run {
    pub command: String,
    pub cwd: PathBuf,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(mut cmd: Command, cwd: &Path) -> Run {
        let command = format!(
            "{} {}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
        Run {
            command,
            cwd: cwd.to_path_buf(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Assert the exit status; on failure print the whole run.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stdout(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- command: {}", self.command)?;
        writeln!(f, "--- cwd: {}", self.cwd.display())?;
        writeln!(f, "--- exit status: {:?}", self.code)?;
        writeln!(f, "--- stdout:\n{}", self.stdout)?;
        write!(f, "--- stderr:\n{}", self.stderr)
    }
}

/// Write a rendered tree under `dir`.
pub fn write_tree(dir: &Path, tree: &Tree) {
    for (path, bytes) in tree {
        let target = dir.join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, bytes).unwrap();
    }
}

/// Every file under `dir` (repo-relative, forward slashes), skipping `.git`.
pub fn read_tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    walk(dir, dir, &mut |rel, path| {
        out.insert(rel.to_string(), fs::read(path).unwrap());
    });
    out
}

/// Modification time and inode of every file under `dir` (including `.git` when `with_git`):
/// a file rewritten in place changes its mtime, a file replaced by rename changes its inode.
pub fn stamps(dir: &Path, with_git: bool) -> BTreeMap<String, (SystemTime, u64, u64)> {
    let mut out = BTreeMap::new();
    let mut record = |rel: &str, path: &Path| {
        let meta = fs::metadata(path).unwrap();
        out.insert(
            rel.to_string(),
            (meta.modified().unwrap(), meta.ino(), meta.len()),
        );
    };
    walk(dir, dir, &mut record);
    if with_git && dir.join(".git").is_dir() {
        walk_all(dir, &dir.join(".git"), &mut record);
    }
    out
}

fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(&str, &Path)) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, f);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy();
            f(&rel, &path);
        }
    }
}

fn walk_all(root: &Path, dir: &Path, f: &mut dyn FnMut(&str, &Path)) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk_all(root, &path, f);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy();
            f(&rel, &path);
        }
    }
}

/// Commits reachable from HEAD, newest first: (id, message).
pub fn commits(repo: &Path) -> Vec<(git2::Oid, String)> {
    sandbox_git_env();
    let repo = git2::Repository::open(repo).unwrap();
    let Ok(head) = repo.head() else {
        return Vec::new();
    };
    let mut walk = repo.revwalk().unwrap();
    walk.push(head.target().unwrap()).unwrap();
    walk.map(|id| {
        let id = id.unwrap();
        let message = repo.find_commit(id).unwrap().message().unwrap().to_string();
        (id, message)
    })
    .collect()
}

/// Paths with any git status (modified, deleted, untracked, staged), like `git status --short`.
pub fn git_status(repo: &Path) -> Vec<String> {
    sandbox_git_env();
    let repo = git2::Repository::open(repo).unwrap();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let statuses = repo.statuses(Some(&mut opts)).unwrap();
    statuses
        .iter()
        .map(|e| format!("{:?} {}", e.status(), e.path().unwrap()))
        .collect()
}

/// Every file committed at HEAD.
pub fn head_tree(repo: &Path) -> Tree {
    sandbox_git_env();
    let repo = git2::Repository::open(repo).unwrap();
    let mut out = Tree::new();
    let tree = repo.head().unwrap().peel_to_tree().unwrap();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            let blob = repo.find_blob(entry.id()).unwrap();
            out.insert(
                format!("{root}{}", entry.name().unwrap()),
                blob.content().to_vec(),
            );
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    out
}

/// Render a site file in memory with the embedded templates.
pub fn render_file(path: &Path) -> (hubdr::site::LoadedSite, hubdr::render::Rendered) {
    let loaded = hubdr::site::load_file(path)
        .unwrap_or_else(|e| panic!("{} does not load: {e:?}", path.display()));
    let rendered = hubdr::render::render(&loaded, &hubdr::render::Templates::embedded())
        .unwrap_or_else(|e| panic!("{} does not render: {e}", path.display()));
    (loaded, rendered)
}

/// A tree as one text: each file's path, then its content, for snapshots.
pub fn tree_text(tree: &Tree) -> String {
    let mut text = String::new();
    for (path, bytes) in tree {
        text.push_str(&format!("--- {path}\n"));
        text.push_str(&String::from_utf8_lossy(bytes));
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// Snapshot settings with an absolute snapshot directory (`generator/tests/snapshots`), so the
/// snapshots land in the same place even when insta cannot find the workspace with
/// `cargo metadata`.
pub fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(manifest_dir().join("tests/snapshots"));
    settings
}

/// xorshift64*: tiny, deterministic, good enough to pick from lists.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
