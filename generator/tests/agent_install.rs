//! The agent install files, `agents/<cluster>.yaml`: snapshots of a hub's and a managed
//! cluster's, with and without `spec.agent.extraKinds`; the RBAC bounds over a matrix of sites
//! (nothing but hubdr's kinds, the site's extra kinds and read-only observed resources, no `*`,
//! namespaced kinds only in the namespaces the site renders into); and the rules themselves
//! catching each kind of widening or narrowing.

mod agent_rules;
mod support;

use std::path::PathBuf;

use hubdr::gitrepo::Tree;
use serde_json::{json, Value};
use support::Sandbox;

fn example_site() -> PathBuf {
    support::manifest_dir().join("../repos-example/site.yaml")
}

fn extra_kinds_site() -> PathBuf {
    support::data("agents").join("extra-kinds.yaml")
}

fn install_text(tree: &Tree, clusters: &[&str]) -> String {
    let files: Tree = clusters
        .iter()
        .map(|c| {
            let path = format!("agents/{c}.yaml");
            let bytes = tree[&path].clone();
            (path, bytes)
        })
        .collect();
    support::tree_text(&files).replace(hubdr::render::TOOL_VERSION, "[version]")
}

#[test]
fn example_hub_install_file() {
    let (_, rendered) = support::render_file(&example_site());
    let text = install_text(&rendered.tree, &["hub-a"]);
    support::snapshots().bind(|| insta::assert_snapshot!("example-hub-a", text));
}

#[test]
fn example_managed_cluster_install_file() {
    let (_, rendered) = support::render_file(&example_site());
    let text = install_text(&rendered.tree, &["east-1"]);
    support::snapshots().bind(|| insta::assert_snapshot!("example-east-1", text));
}

#[test]
fn install_files_with_extra_kinds() {
    let (_, rendered) = support::render_file(&extra_kinds_site());
    let text = install_text(&rendered.tree, &["hub-a", "west-1", "idle-1"]);
    support::snapshots().bind(|| insta::assert_snapshot!("extra-kinds", text));
}

/// Every site the tests know: the matrix, the example, the extra-kinds site and the end-to-end
/// fixture.
fn sites() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = support::yaml_stems(&support::data("matrix"))
        .iter()
        .map(|s| support::data("matrix").join(format!("{s}.yaml")))
        .collect();
    out.push(example_site());
    out.push(extra_kinds_site());
    out.push(support::manifest_dir().join("../tests/fixtures/site.yaml"));
    out
}

/// No install file of any site grants a verb on anything but a kind hubdr renders, the site's
/// extra kinds or a read-only observed resource; none uses `*`; and each holds the namespace
/// bounds (see `agent_rules::check_bounds`). The exact files are checked by the matrix.
#[test]
fn no_install_grants_beyond_hubdrs_kinds_and_observed_reads() {
    let sites = sites();
    assert!(sites.len() >= 9, "{sites:?}");
    for path in sites {
        let (loaded, rendered) = support::render_file(&path);
        let clusters = agent_rules::clusters(&loaded.site);
        assert!(!clusters.is_empty());
        agent_rules::check_bounds(&loaded.site, &rendered.tree);
        // And exactly what each agent needs, here too.
        agent_rules::check_install(&loaded.site, &rendered.tree);
    }
}

/// The list the renderer and the agent use is the list these tests expect.
#[test]
fn the_fixed_kind_list_is_the_expected_one() {
    let from_library: Vec<(&str, &str, &str, bool, bool, bool)> = hubdr::kinds::RENDERED
        .iter()
        .map(|k| {
            (
                k.group,
                k.kind,
                k.resource,
                k.scope == hubdr::kinds::Scope::Namespaced,
                k.agents == hubdr::kinds::Agents::Hubs,
                k.deletable,
            )
        })
        .collect();
    assert_eq!(from_library, agent_rules::RENDERED_KINDS);
}

/// Rewrite `cluster`'s install file through `edit` on its documents.
fn edited(tree: &Tree, cluster: &str, edit: &dyn Fn(&mut Vec<Value>)) -> Tree {
    let path = format!("agents/{cluster}.yaml");
    let mut docs = agent_rules::documents(&path, &tree[&path]);
    edit(&mut docs);
    let text: Vec<String> = docs
        .iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect();
    let mut tree = tree.clone();
    tree.insert(
        path,
        format!("# edited\n{}", text.join("---\n")).into_bytes(),
    );
    tree
}

fn doc<'a>(docs: &'a mut [Value], kind: &str, namespace: Option<&str>) -> &'a mut Value {
    docs.iter_mut()
        .find(|d| {
            d["kind"] == kind
                && d.pointer("/metadata/namespace").and_then(Value::as_str) == namespace
                && !d["metadata"]["name"].as_str().unwrap().ends_with("-addons")
        })
        .unwrap_or_else(|| panic!("no {kind} in {namespace:?}"))
}

fn args(docs: &mut [Value]) -> &mut Vec<Value> {
    docs.last_mut()
        .unwrap()
        .pointer_mut("/spec/template/spec/containers/0/args")
        .unwrap()
        .as_array_mut()
        .unwrap()
}

fn binding(kind: &str, ns: Option<&str>, role_kind: &str, role: &str) -> Value {
    let mut metadata = json!({"name": "x", "labels": {"app.kubernetes.io/managed-by": "hubdr"}});
    if let Some(ns) = ns {
        metadata["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "hubdr-agent", "namespace": "hubdr-system"}],
    })
}

type Edit = (&'static str, &'static str, bool, fn(&mut Vec<Value>));

/// The rules catch what they are for: each edit of a rendered install file breaks the exact
/// check, and each widening also breaks the bounds alone.
#[test]
fn agent_rules_reject_broader_or_narrower_installs() {
    let (loaded, rendered) =
        support::render_file(&support::data("matrix").join("volsync-rsync.yaml"));
    let site = &loaded.site;
    agent_rules::check_install(site, &rendered.tree);
    let edits: [Edit; 19] = [
        ("read Secrets", "east-1", true, |d| {
            doc(d, "ClusterRole", None)["rules"]
                .as_array_mut()
                .unwrap()
                .push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}))
        }),
        ("a wildcard verb", "idle-1", true, |d| {
            doc(d, "ClusterRole", None)["rules"][0]["verbs"] = json!(["*"])
        }),
        ("a wildcard resource", "north-1", true, |d| {
            doc(d, "Role", Some("legacy"))["rules"][0]["resources"] = json!(["*"])
        }),
        ("bind cluster-admin", "hub-a", true, |d| {
            d.insert(
                2,
                binding("ClusterRoleBinding", None, "ClusterRole", "cluster-admin"),
            )
        }),
        ("a binding in kube-system", "east-1", true, |d| {
            d.insert(
                2,
                binding(
                    "RoleBinding",
                    Some("kube-system"),
                    "ClusterRole",
                    "hubdr-agent-east-1",
                ),
            )
        }),
        ("delete Namespaces", "west-1", true, |d| {
            doc(d, "ClusterRole", None)["rules"][0]["verbs"]
                .as_array_mut()
                .unwrap()
                .push(json!("delete"))
        }),
        ("every Namespace", "west-1", true, |d| {
            doc(d, "ClusterRole", None)["rules"][0]
                .as_object_mut()
                .unwrap()
                .remove("resourceNames");
        }),
        ("delete the MultiClusterHub", "hub-a", true, |d| {
            doc(d, "Role", Some("open-cluster-management"))["rules"][0]["verbs"]
                .as_array_mut()
                .unwrap()
                .push(json!("delete"))
        }),
        ("delete PVCs where none is rendered", "west-1", true, |d| {
            doc(d, "Role", Some("tools"))["rules"]
                .as_array_mut()
                .unwrap()
                .push(json!({"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "delete"]}))
        }),
        ("ReplicationSources cluster-wide", "east-1", true, |d| {
            doc(d, "ClusterRole", None)["rules"]
                .as_array_mut()
                .unwrap()
                .push(json!({"apiGroups": ["volsync.backube"], "resources": ["replicationsources"], "verbs": ["get", "patch"]}))
        }),
        ("delete the inventory", "hub-b", true, |d| {
            doc(d, "Role", Some("hubdr-system"))["rules"][0]["verbs"]
                .as_array_mut()
                .unwrap()
                .push(json!("delete"))
        }),
        ("allow Secrets", "east-1", true, |d| {
            args(d).extend([json!("--allow-kind"), json!("core/Secret")])
        }),
        ("allow kube-system", "east-1", true, |d| {
            args(d).extend([json!("--allow-namespace"), json!("kube-system")])
        }),
        ("no delete on ReplicationSources", "west-1", false, |d| {
            doc(d, "Role", Some("shop"))["rules"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .for_each(|r| r["verbs"].as_array_mut().unwrap().retain(|v| v != "delete"))
        }),
        ("no pods read", "hub-a", false, |d| {
            doc(d, "Role", Some("open-cluster-management-backup"))["rules"]
                .as_array_mut()
                .unwrap()
                .retain(|r| r["resources"] != json!(["pods"]))
        }),
        ("a kind missing", "hub-b", false, |d| {
            let a = args(d);
            let at = a.iter().position(|x| x == "--allow-kind").unwrap();
            a.drain(at..at + 2);
        }),
        ("a namespace missing", "west-1", false, |d| {
            let a = args(d);
            let at = a.iter().position(|x| x == "--allow-namespace").unwrap();
            a.drain(at..at + 2);
        }),
        ("another Secret", "north-1", false, |d| {
            d.last_mut().unwrap()["spec"]["template"]["spec"]["volumes"][1]["secret"]
                ["secretName"] = json!("other")
        }),
        ("another cluster", "west-1", false, |d| {
            let a = args(d);
            let at = a.iter().position(|x| x == "--cluster").unwrap();
            a[at + 1] = json!("east-1");
        }),
    ];
    for (what, cluster, widening, edit) in edits {
        let tree = edited(&rendered.tree, cluster, &edit);
        let caught = std::panic::catch_unwind(|| agent_rules::check_install(site, &tree));
        assert!(
            caught.is_err(),
            "{what} ({cluster}): the edit went unnoticed"
        );
        if widening {
            let caught = std::panic::catch_unwind(|| agent_rules::check_bounds(site, &tree));
            assert!(caught.is_err(), "{what} ({cluster}): the bounds miss it");
        }
    }
    for (path, text) in [
        ("agents/east-1.secret.yaml", "# extra\nkind: Secret\n"),
        ("agents/east-1/secret.yaml", "# extra\nkind: Secret\n"),
    ] {
        let mut tree = rendered.tree.clone();
        tree.insert(path.into(), text.as_bytes().to_vec());
        assert!(
            std::panic::catch_unwind(|| agent_rules::check_install(site, &tree)).is_err(),
            "an extra file {path}"
        );
    }
    let mut tree = rendered.tree.clone();
    let path = "agents/east-1.yaml".to_string();
    let mut text = tree[&path].clone();
    text.extend_from_slice(b"---\nkind: Secret\n");
    tree.insert(path, text);
    assert!(
        std::panic::catch_unwind(|| agent_rules::check_install(site, &tree)).is_err(),
        "an extra object"
    );
}

/// `hubdr plan` shows what `spec.agent.extraKinds` grants, per cluster, as a privilege grant.
#[test]
fn the_plan_shows_extra_kinds_as_a_privilege_grant_per_cluster() {
    let sandbox = Sandbox::new();
    let site = extra_kinds_site();
    let out = sandbox.join("repo");
    let run = sandbox.hubdr(&[
        "plan",
        "--site",
        site.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    run.expect_code(0);
    for cluster in ["hub-a", "hub-b", "east-1", "west-1", "idle-1"] {
        let section = run
            .stdout
            .split("\n\n")
            .find(|s| s.starts_with(&format!("{cluster} (")))
            .unwrap_or_else(|| panic!("no section for {cluster}\n{run}"));
        assert!(
            section.contains(&format!(
                "  privilege grant (spec.agent.extraKinds; RBAC and --allow-kind in agents/{cluster}.yaml):\n"
            )),
            "{cluster}\n{run}"
        );
        assert!(
            section.contains(
                "    snapshot.storage.k8s.io/VolumeSnapshotClass (volumesnapshotclasses): get, list, create, patch, delete, cluster-wide\n"
            ),
            "{cluster}\n{run}"
        );
        assert!(
            section.contains("    networking.k8s.io/NetworkPolicy (networkpolicies): get, list, create, patch, delete, in its "),
            "{cluster}\n{run}"
        );
    }
    let plain = sandbox.hubdr(&[
        "plan",
        "--site",
        example_site().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    plain.expect_code(0);
    assert!(!plain.stdout.contains("privilege grant"), "{plain}");
}

/// A `--templates` override may render a kind the site grants in `spec.agent.extraKinds`, in
/// the cluster's namespaces; the install file lets the agent apply it.
#[test]
fn a_template_may_render_an_extra_kind() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("replicationdestination.yaml.j2"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {{ name }}\n  namespace: {{ namespace }}\nspec:\n  podSelector: {}\n",
    )
    .unwrap();
    let templates = hubdr::render::Templates::with_overrides(dir.path()).unwrap();
    let loaded = hubdr::site::load_file(&extra_kinds_site()).unwrap();
    let rendered = hubdr::render::render(&loaded, &templates).expect("an extra kind renders");
    assert!(rendered
        .tree
        .contains_key("clusters/west-1/networkpolicy.shop.db.yaml"));
    agent_rules::check_bounds(&loaded.site, &rendered.tree);

    // Without the grant, the same override is refused.
    let mut site = loaded.clone();
    site.site.spec.agent.extra_kinds.clear();
    let e = hubdr::render::render(&site, &templates)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "networking.k8s.io/NetworkPolicy is not a kind hubdr renders for a managed cluster"
        ),
        "{e}"
    );
}
