//! The render stamp: a render whose inputs are unchanged stops early, but only when the
//! repository provably still holds that render; every other case takes the full path and gives
//! the same result as without a stamp.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use hubdr::cli::SiteArgs;
use hubdr::commands::render::{render_to_repo, RenderOutcome};
use hubdr::commands::CommandError;

const AUTHOR: (&str, &str) = ("stamp test", "stamp@example.com");

struct Setup {
    _tmp: tempfile::TempDir,
    args: SiteArgs,
    repo: PathBuf,
}

fn setup(site: &Path) -> Setup {
    support::sandbox_git_env();
    let tmp = tempfile::tempdir().unwrap();
    let site_copy = tmp.path().join("site.yaml");
    fs::copy(site, &site_copy).unwrap();
    let repo = tmp.path().join("repo");
    Setup {
        args: SiteArgs {
            site: site_copy,
            templates: None,
        },
        repo,
        _tmp: tmp,
    }
}

fn render(s: &Setup, force: bool) -> (Result<RenderOutcome, CommandError>, String) {
    let mut err = Vec::new();
    let outcome = render_to_repo(&s.args, &s.repo, force, AUTHOR, &mut err);
    (outcome, String::from_utf8(err).unwrap())
}

/// How a render ended: "skipped" (by the stamp), "committed", "unchanged" (full path, no commit).
fn how(s: &Setup) -> &'static str {
    match render(s, false).0.unwrap().committed {
        None => "skipped",
        Some(c) if c.commit.is_some() => "committed",
        Some(_) => "unchanged",
    }
}

fn example() -> PathBuf {
    support::manifest_dir().join("../repos-example/site.yaml")
}

fn stamp_file(s: &Setup) -> PathBuf {
    s.repo.join(".git/hubdr-render-stamp")
}

fn git(s: &Setup) -> git2::Repository {
    git2::Repository::open(&s.repo).unwrap()
}

/// Commit `files` with plain git, like a user would.
fn user_commit(s: &Setup, files: &[(&str, &[u8])]) {
    let repo = git(s);
    let mut index = repo.index().unwrap();
    for (path, bytes) in files {
        let full = s.repo.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, bytes).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("user", "user@example.com").unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "by hand", &tree, &[&parent])
        .unwrap();
}

#[test]
fn unchanged_inputs_skip_the_render_and_anything_else_does_not() {
    let s = setup(&example());
    assert_eq!(how(&s), "committed");
    assert!(stamp_file(&s).exists());
    let head = support::head_tree(&s.repo);
    assert_eq!(how(&s), "skipped");

    // A commit of an unmanaged file keeps the managed trees: still skipped.
    user_commit(&s, &[("README.md", b"# our DR repo\n")]);
    assert_eq!(how(&s), "skipped");

    // A site change that renders the same (a comment) takes the full path, then skips again.
    let mut site = fs::read_to_string(&s.args.site).unwrap();
    site.push_str("# a comment\n");
    fs::write(&s.args.site, &site).unwrap();
    assert_eq!(how(&s), "unchanged");
    assert_eq!(how(&s), "skipped");

    // A hand-committed edit of a rendered file: the render puts it back.
    let file = "argocd/applicationset.yaml";
    user_commit(&s, &[(file, b"# hand edit\n")]);
    assert_eq!(how(&s), "committed");
    assert_eq!(support::head_tree(&s.repo)[file], head[file]);
    assert_eq!(how(&s), "skipped");

    // An uncommitted hand edit: refused as without a stamp, and with --force put back.
    let path = s.repo.join(file);
    fs::write(&path, "# uncommitted edit\n").unwrap();
    let (outcome, _) = render(&s, false);
    let err = outcome.unwrap_err().to_string();
    assert!(
        err.contains("uncommitted changes") && err.contains(file),
        "{err}"
    );
    let (outcome, _) = render(&s, true);
    outcome.unwrap();
    assert_eq!(fs::read(&path).unwrap(), head[file]);
    assert_eq!(how(&s), "skipped");

    // An untracked file under a managed directory is a hand edit too.
    fs::write(s.repo.join("clusters/extra.yaml"), "kind: Secret\n").unwrap();
    let err = render(&s, false).0.unwrap_err().to_string();
    assert!(err.contains("clusters/extra.yaml"), "{err}");
    fs::remove_file(s.repo.join("clusters/extra.yaml")).unwrap();

    // A damaged or foreign stamp is ignored.
    fs::write(stamp_file(&s), "garbage").unwrap();
    assert_eq!(how(&s), "unchanged");
    assert_eq!(how(&s), "skipped");
    let stamp = fs::read_to_string(stamp_file(&s)).unwrap();
    let other = stamp.replacen("inputs ", "inputs 00", 1);
    fs::write(stamp_file(&s), other).unwrap();
    assert_eq!(how(&s), "unchanged");

    // Another branch checked out: the managed trees differ from the stamp's.
    assert_eq!(how(&s), "skipped");
    let repo = git(&s);
    let head_commit = repo.head().unwrap().peel_to_commit().unwrap();
    // HEAD's parent is the hand-edited commit.
    let edited = head_commit.parent(0).unwrap();
    assert_eq!(edited.message(), Some("by hand"));
    repo.branch("old", &edited, false).unwrap();
    repo.checkout_tree(
        edited.as_object(),
        Some(git2::build::CheckoutBuilder::new().force()),
    )
    .unwrap();
    repo.set_head("refs/heads/old").unwrap();
    assert_eq!(how(&s), "committed");
    // The same render as on main (which also has the README committed since).
    assert_eq!(
        differing(&support::head_tree(&s.repo), &head),
        ["README.md"]
    );
}

#[test]
fn a_skipped_render_prints_the_site_warnings_again() {
    let s = setup(&support::data("warnings").join("no-api-server.yaml"));
    let (first, warnings) = render(&s, false);
    assert!(first.unwrap().committed.is_some());
    assert!(warnings.contains("warning"), "{warnings}");
    let (second, again) = render(&s, false);
    assert!(second.unwrap().committed.is_none(), "skipped");
    assert_eq!(again, warnings);
}

#[test]
fn a_site_error_is_reported_even_with_a_stamp() {
    let s = setup(&example());
    assert_eq!(how(&s), "committed");
    fs::write(&s.args.site, "apiVersion: hubdr.io/v1alpha1\nkind: Site\n").unwrap();
    let err = render(&s, false).0.unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
}

/// Paths whose content differs between two trees.
fn differing<'a>(a: &'a hubdr::gitrepo::Tree, b: &'a hubdr::gitrepo::Tree) -> Vec<&'a str> {
    let mut paths: Vec<&str> = a
        .keys()
        .chain(b.keys())
        .filter(|p| a.get(*p) != b.get(*p))
        .map(String::as_str)
        .collect();
    paths.dedup();
    paths
}
