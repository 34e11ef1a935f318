//! Determinism through the CLI.

use super::*;

/// `hubdr render` writes exactly the library's tree, and a second render into the same repository
/// commits nothing and rewrites no file.
#[test]
pub(crate) fn cli_render_matches_the_library_and_a_rerender_writes_nothing() {
    for name in MATRIX {
        let sandbox = Sandbox::new();
        let site = site_path(name);
        let site = site.to_str().unwrap();
        let repo = sandbox.join("repo");
        sandbox
            .hubdr(&["render", "--site", site, "--out", "repo"])
            .expect_code(0)
            .expect_stdout("committed");
        let (_, rendered) = support::render_file(&site_path(name));
        assert_eq!(
            support::read_tree(&repo),
            rendered.tree,
            "{name}: the CLI wrote something else than the library renders"
        );
        assert_eq!(support::head_tree(&repo), rendered.tree, "{name}: HEAD");
        let before = support::stamps(&repo, true);
        let commits = support::commits(&repo);
        assert_eq!(commits.len(), 1, "{name}");

        sandbox
            .hubdr(&["render", "--site", site, "--out", "repo"])
            .expect_code(0)
            .expect_stdout("up to date, nothing to commit");
        assert_eq!(
            support::commits(&repo),
            commits,
            "{name}: a no-op render committed"
        );
        let after = support::stamps(&repo, true);
        let touched: Vec<&String> = after
            .iter()
            .filter(|(p, s)| before.get(*p) != Some(*s))
            .map(|(p, _)| p)
            .chain(before.keys().filter(|p| !after.contains_key(*p)))
            .collect();
        assert!(
            touched.is_empty(),
            "{name}: a render with nothing to change touched {touched:?}"
        );
        assert!(
            support::git_status(&repo).is_empty(),
            "{name}: worktree clean"
        );
    }
}

/// Commit messages and plans name added objects from the rendered manifests instead of parsing
/// their files again: the names are the same either way, for every object of every matrix site.
#[test]
pub(crate) fn change_lists_from_manifests_equal_those_from_parsed_files() {
    for name in MATRIX {
        let (_, rendered) = support::render_file(&site_path(name));
        let empty = Tree::new();
        let all = hubdr::changes::diff_trees(&empty, &rendered.tree);
        let no_old = |_: &str| None;
        let parsed = hubdr::changes::by_cluster(&all, &rendered.tree, &no_old);
        let named = hubdr::changes::by_cluster_rendered(&all, &rendered, &no_old);
        assert_eq!(named, parsed, "{name}");
        let objects: usize = named
            .values()
            .flatten()
            .filter(|c| !c.what.ends_with(".yaml"))
            .count();
        assert_eq!(objects, rendered.objects.len(), "{name}");
    }
}
