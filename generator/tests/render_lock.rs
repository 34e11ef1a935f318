//! Concurrent and interrupted renders, with the real `hubdr` binary: renders of one output
//! repository are serialized by its render lock, and a render killed with SIGKILL at any step
//! leaves a repository that the next render recovers without `--force`, keeping hand edits.
//!
//! The kills are made deterministic with the test-only `HUBDR_TEST_PAUSE_AT` (see
//! `generator/src/gitrepo/test_hook.rs`): the render stops at the named step and says so on
//! stderr, and the test kills it there.

mod support;

use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::Sandbox;

/// Clusters per site: each render below replaces a few hundred cluster directories.
const CLUSTERS: usize = 250;

/// A site with `CLUSTERS` managed clusters named `<prefix>-NNNN` and the git repository
/// `<repo>`: sites with different prefixes have different files; sites with different
/// repositories differ in every agent's file.
fn site(prefix: &str, repo: &str) -> String {
    let mut y = format!(
        "apiVersion: hubdr.io/v1alpha1
kind: Site
metadata:
  name: lock-test
spec:
  git:
    url: https://git.example.com/{repo}.git
    branch: main
  storage:
    provider: aws
    bucket: acm-backups
    prefix: lock
    region: eu-west-1
    credentialsSecret: {{name: cloud-credentials, key: cloud}}
  backup:
    schedule: \"0 */2 * * *\"
    ttl: 120h
  hubs:
    - name: hub-a
      role: active
    - name: hub-b
      role: passive
  managedClusters:
"
    );
    for i in 0..CLUSTERS {
        y.push_str(&format!(
            "    - name: {prefix}-{i:04}\n      apiServer: https://api.{prefix}-{i:04}.example.com:6443\n"
        ));
    }
    y
}

/// A sandbox with the sites `a`, `b` and `c` written as `<name>.yaml` (and `a2`: `a` with
/// another git repository), and the output repository `repo` (not made yet).
struct Setup {
    sandbox: Sandbox,
    repo: PathBuf,
}

fn setup() -> Setup {
    support::sandbox_git_env();
    let sandbox = Sandbox::new();
    for (name, prefix) in [("a", "a"), ("b", "b"), ("c", "c"), ("a2", "a")] {
        fs::write(sandbox.join(&format!("{name}.yaml")), site(prefix, name)).unwrap();
    }
    let repo = sandbox.join("repo");
    Setup { sandbox, repo }
}

/// `hubdr args...` in the sandbox, with its git environment, and without the caller's lock
/// wait or pause point.
fn hubdr(s: &Setup, args: &[&str]) -> Command {
    let home = s.sandbox.join(".home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hubdr"));
    cmd.args(args)
        .current_dir(s.sandbox.path())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("HUBDR_LOCK_WAIT")
        .env_remove("HUBDR_TEST_PAUSE_AT");
    cmd
}

fn render_args(site: &str) -> Vec<String> {
    ["render", "--site", &format!("{site}.yaml"), "--out", "repo"]
        .map(String::from)
        .to_vec()
}

/// A finished process, printed whole when an assertion fails.
struct Done {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--- {}\n--- exit status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

fn run(what: &str, cmd: &mut Command) -> Done {
    let output = cmd.output().unwrap();
    Done {
        what: what.to_string(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn render(s: &Setup, site: &str) -> Done {
    let args = render_args(site);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&format!("hubdr render {site}"), &mut hubdr(s, &args))
}

/// Start `hubdr render` of `site` with the pause point `point` and return once it has paused
/// there (panics when it ends instead).
fn start_paused(s: &Setup, site: &str, point: &str) -> Child {
    let args = render_args(site);
    let mut child = hubdr(s, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .env("HUBDR_TEST_PAUSE_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(line) if line.contains(&format!("paused at {point}")) => return child,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "hubdr render {site} did not pause at {point}: it ended with {status}\n--- stderr:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
}

/// Kill `child` with SIGKILL, like `kill -9`.
fn kill(mut child: Child) {
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
}

/// `git status --porcelain` with the real git, when it can be run; otherwise libgit2's.
fn porcelain(repo: &Path) -> String {
    let git = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output();
    match git {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        _ => support::git_status(repo).join("\n"),
    }
}

/// The repository is clean: the working tree and index match `HEAD` (and libgit2 agrees).
#[track_caller]
fn assert_clean(repo: &Path) {
    let status = porcelain(repo);
    let lines: Vec<&str> = status.lines().collect();
    assert!(
        lines.is_empty(),
        "git status --porcelain in {} shows {} path(s), the first:\n{}",
        repo.display(),
        lines.len(),
        lines[..lines.len().min(20)].join("\n")
    );
    assert_eq!(support::git_status(repo), Vec::<String>::new());
}

/// Files whose names end in `.hubdr-tmp` under `dir` (`.git` included).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".hubdr-tmp") {
                out.push(path);
            }
        }
    }
    out
}

/// The cluster-name prefixes of the agents' files at `HEAD`: one prefix for one render.
fn rendered_prefixes(repo: &Path) -> Vec<String> {
    let mut prefixes: Vec<String> = support::head_tree(repo)
        .keys()
        .filter_map(|p| p.strip_prefix("agents/"))
        .filter(|name| !name.starts_with("hub-"))
        .filter_map(|name| name.split_once('-').map(|(p, _)| p.to_string()))
        .collect();
    prefixes.dedup();
    prefixes
}

#[test]
fn concurrent_renders_of_one_repository_are_serialized() {
    let s = setup();
    // Each round starts from the third site's render, so that both renders replace every
    // cluster's files; a few rounds, so that an unserialized pair overlaps in one of them.
    for (start, one, other) in [("a", "b", "c"), ("c", "a", "b"), ("b", "c", "a")] {
        let first = render(&s, start);
        assert_eq!(first.code, Some(0), "{first}");
        let args_one = render_args(one);
        let args_other = render_args(other);
        let spawn = |args: &[String]| {
            hubdr(&s, &args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&args_one), spawn(&args_other));
        let finished = [(one, a), (other, b)].map(|(site, child)| {
            let out = child.wait_with_output().unwrap();
            Done {
                what: format!("hubdr render {site}"),
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        });
        // The working tree matches HEAD whatever happened...
        let all = format!("{}\n{}", finished[0], finished[1]);
        assert_clean(&s.repo);
        // ...and what happened is that one waited for the other (it has two minutes to), or
        // gave up cleanly, naming it.
        for done in &finished {
            let waited = done.code == Some(0) && done.stdout.contains("committed");
            let gave_up =
                done.code == Some(1) && done.stderr.contains("another hubdr command is writing");
            assert!(waited || gave_up, "{all}");
        }
        assert!(finished.iter().any(|d| d.code == Some(0)), "{all}");
        let prefixes = rendered_prefixes(&s.repo);
        assert!(
            prefixes == [one] || prefixes == [other],
            "HEAD mixes renders: {prefixes:?}"
        );
        assert!(temp_files(&s.repo).is_empty());
    }
}

#[test]
fn a_render_finds_the_lock_taken_and_fails_naming_the_holder_or_waits() {
    let s = setup();
    assert_eq!(render(&s, "a").code, Some(0));
    let head = support::head_tree(&s.repo);
    let holder = start_paused(&s, "b", "files:1");
    let holder_pid = holder.id();

    let args = render_args("c");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let busy = run(
        "hubdr render c (lock held)",
        hubdr(&s, &args).env("HUBDR_LOCK_WAIT", "0.5"),
    );
    assert_eq!(busy.code, Some(1), "{busy}");
    for needle in [
        "another hubdr command is writing",
        &format!("hubdr render (pid {holder_pid} on "),
        ".git/hubdr-render.lock",
        "HUBDR_LOCK_WAIT",
    ] {
        assert!(
            busy.stderr.contains(needle),
            "stderr lacks {needle:?}\n{busy}"
        );
    }
    // A failover waits for the lock too, before it changes the site file.
    let site_before = fs::read(s.sandbox.join("a.yaml")).unwrap();
    let failover = run(
        "hubdr failover (lock held)",
        hubdr(
            &s,
            &[
                "failover", "--to", "hub-b", "--site", "a.yaml", "--out", "repo",
            ],
        )
        .env("HUBDR_LOCK_WAIT", "0"),
    );
    assert_eq!(failover.code, Some(1), "{failover}");
    assert!(
        failover.stderr.contains("another hubdr command is writing"),
        "{failover}"
    );
    assert_eq!(fs::read(s.sandbox.join("a.yaml")).unwrap(), site_before);

    // A render that may wait long enough gets the lock when the holder ends.
    let waiter = hubdr(&s, &args)
        .env("HUBDR_LOCK_WAIT", "300")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(support::head_tree(&s.repo), head, "nothing committed yet");
    kill(holder);
    let out = waiter.wait_with_output().unwrap();
    let waited = Done {
        what: "hubdr render c (waiting)".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(waited.code, Some(0), "{waited}");
    assert!(
        waited.stderr.contains("waiting for hubdr render (pid"),
        "{waited}"
    );
    assert!(waited.stderr.contains("rolled back"), "{waited}");
    assert_clean(&s.repo);
    assert_eq!(rendered_prefixes(&s.repo), ["c"]);
    assert!(!s.repo.join(".git/hubdr-render.lock").exists());
}

#[test]
fn a_render_killed_at_any_step_is_recovered_by_the_next_without_force() {
    let s = setup();
    assert_eq!(render(&s, "a").code, Some(0));
    let mut current = "a";
    // (pause point, the render of the site after the kill commits, what it reports)
    for (point, next) in [
        ("files:40", "b"),
        ("temp:2", "a"),
        ("before-ref", "c"),
        ("after-ref", "a"),
        ("files:300", "b"),
    ] {
        let before = support::head_tree(&s.repo);
        kill(start_paused(&s, next, point));
        // The kill left the working tree half-written (and, at `after-ref`, the index behind
        // the branch): the starting point of the issue.
        assert_ne!(
            porcelain(&s.repo),
            "",
            "{point}: nothing was left to recover"
        );
        if point.starts_with("temp:") {
            assert!(
                !temp_files(&s.repo).is_empty(),
                "{point}: no temp file left"
            );
        }

        let recovered = render(&s, next);
        assert_eq!(recovered.code, Some(0), "{point}\n{recovered}");
        assert!(
            recovered
                .stderr
                .contains("note: repo: an interrupted render"),
            "{point}\n{recovered}"
        );
        if point == "after-ref" {
            // The branch had moved: the render was completed, and there is nothing left to do.
            assert!(recovered.stderr.contains("had committed"), "{recovered}");
            assert!(recovered.stdout.contains("up to date"), "{recovered}");
        } else {
            assert!(recovered.stderr.contains("rolled back"), "{recovered}");
            assert!(recovered.stdout.contains("committed"), "{recovered}");
        }
        assert_clean(&s.repo);
        assert!(temp_files(&s.repo).is_empty(), "{point}: temp files left");
        assert!(!s.repo.join(".git/hubdr-render-journal").exists());
        assert_eq!(rendered_prefixes(&s.repo), [next], "{point}");
        assert_ne!(support::head_tree(&s.repo), before);
        // The files are exactly the render's: a fresh render of the same site changes nothing.
        let again = render(&s, next);
        assert!(again.stdout.contains("up to date"), "{again}");
        current = next;
    }
    assert_eq!(current, "b");
}

#[test]
fn hand_edits_survive_a_killed_render_and_its_recovery() {
    let s = setup();
    assert_eq!(render(&s, "a").code, Some(0));
    let edited = "clusters/hub-b/kustomization.yaml";
    let original = fs::read_to_string(s.repo.join(edited)).unwrap();

    // A hand edit made before a render: the render refuses to start, so it cannot be killed
    // while overwriting it.
    fs::write(s.repo.join(edited), format!("{original}# hand edit\n")).unwrap();
    let refused = render(&s, "b");
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr.contains(edited), "{refused}");
    fs::write(s.repo.join(edited), &original).unwrap();
    assert_clean(&s.repo);

    // A render killed half-way (it rewrites every agent's file), then hand edits: one to a
    // file the killed render had written, one to a file it had not touched.
    kill(start_paused(&s, "a2", "files:60"));
    let written: Vec<String> = porcelain(&s.repo)
        .lines()
        .filter(|l| l.starts_with(" M "))
        .map(|l| l[3..].to_string())
        .collect();
    assert!(written.len() >= 60, "{written:?}");
    let touched = written
        .iter()
        .find(|p| p.starts_with("agents/a-"))
        .unwrap_or_else(|| panic!("no agent file rewritten yet: {written:?}"))
        .clone();
    fs::write(s.repo.join(&touched), "# replaced by hand\n").unwrap();
    let untouched = "clusters/hub-a/kustomization.yaml";
    assert!(!written.iter().any(|p| p == untouched));
    let untouched_text = format!(
        "{}# hand edit\n",
        fs::read_to_string(s.repo.join(untouched)).unwrap()
    );
    fs::write(s.repo.join(untouched), &untouched_text).unwrap();

    // The next render puts the rest back and refuses, naming both; neither is overwritten.
    let refused = render(&s, "a2");
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr.contains("rolled back"), "{refused}");
    assert!(refused.stderr.contains("left as they are"), "{refused}");
    assert!(
        refused.stderr.contains(&format!(
            "uncommitted changes:\n  hand edits of rendered files (--force overwrites them with the render):\n    {touched}\n    {untouched}\n"
        )),
        "{refused}"
    );
    assert_eq!(
        fs::read_to_string(s.repo.join(&touched)).unwrap(),
        "# replaced by hand\n"
    );
    assert_eq!(
        fs::read_to_string(s.repo.join(untouched)).unwrap(),
        untouched_text
    );
    let mut status: Vec<String> = porcelain(&s.repo).lines().map(str::to_string).collect();
    status.sort();
    assert_eq!(status, [format!(" M {touched}"), format!(" M {untouched}")]);

    // Once the user has dealt with them, the render goes through.
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&s.repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["checkout", "--", &touched, untouched]);
    let done = render(&s, "a2");
    assert_eq!(done.code, Some(0), "{done}");
    assert_clean(&s.repo);
    let agent = fs::read_to_string(s.repo.join(&touched)).unwrap();
    assert!(agent.contains("git.example.com/a2.git"), "{agent}");
}

#[test]
fn a_no_git_render_takes_the_lock_of_its_directory() {
    let s = setup();
    let out = s.sandbox.join("plain");
    let holder =
        hubdr::gitrepo::RenderLock::for_directory(&out, "the test", Duration::ZERO, &mut |_| {})
            .unwrap();
    assert_eq!(holder.path(), out.join(".hubdr-render.lock"));
    let args = ["render", "--no-git", "--site", "a.yaml", "--out", "plain"];
    let busy = run(
        "hubdr render --no-git (lock held)",
        hubdr(&s, &args).env("HUBDR_LOCK_WAIT", "0.2"),
    );
    assert_eq!(busy.code, Some(1), "{busy}");
    assert!(
        busy.stderr
            .contains(&format!("the test (pid {} on ", std::process::id())),
        "{busy}"
    );
    let listing: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listing, [".hubdr-render.lock"], "nothing rendered");
    drop(holder);
    let done = run("hubdr render --no-git", &mut hubdr(&s, &args));
    assert_eq!(done.code, Some(0), "{done}");
    assert!(out.join("agents/a-0000.yaml").is_file());
    assert!(
        !out.join(".hubdr-render.lock").exists(),
        "the lock file is removed"
    );
}
