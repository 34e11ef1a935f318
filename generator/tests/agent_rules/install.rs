//! The exact contents of an agent install file (check_install) and its git credential keys.

use super::*;

/// The keys the agent's git credentials Secret must hold, by repository URL.
pub fn git_credential_keys(site: &Site) -> Vec<String> {
    let url = site.spec.git.url.as_deref().unwrap();
    let keys: &[&str] = if url.starts_with("https://") {
        &["token"]
    } else if url.starts_with("ssh://")
        || url
            .split_once(':')
            .is_some_and(|(host, _)| host.contains('@'))
    {
        &["ssh-privatekey", "known_hosts"]
    } else {
        panic!("the matrix uses https and ssh repository URLs only, not {url}")
    };
    keys.iter().map(|k| k.to_string()).collect()
}

/// The flags of `hubdr-agent` that take a value (reconciler/src/cli.rs), and whether they repeat.
pub(crate) const AGENT_FLAGS: [(&str, bool); 14] = [
    ("--repo", false),
    ("--branch", false),
    ("--cluster", false),
    ("--namespace", false),
    ("--interval", false),
    ("--heartbeat", false),
    ("--cache-dir", false),
    ("--log-format", false),
    ("--token-file", false),
    ("--ssh-key", false),
    ("--known-hosts", false),
    ("--allow-kind", true),
    ("--allow-namespace", true),
    ("--hcp-snapshot", true),
];

/// `agents/<cluster>.yaml` for every cluster, exactly: one file; the agent's namespace and
/// service account first and its Deployment last; RBAC giving exactly what [`expected`] says
/// (and the [`check_bounds`]); the Deployment running the site's repository with the
/// cluster's kinds and namespaces as flags and the git credentials Secret by reference.
pub fn check_install(site: &Site, tree: &Tree) {
    check_bounds(site, tree);
    let settings = &site.spec.agent;
    let ns = settings.namespace.as_str();
    let url = site.spec.git.url.as_deref().unwrap();
    let keys = git_credential_keys(site);
    for (cluster, hub) in clusters(site) {
        let files: Vec<&String> = tree
            .keys()
            .filter(|p| {
                p.strip_prefix("agents/").is_some_and(|rest| {
                    rest.starts_with(&format!("{cluster}."))
                        || rest.starts_with(&format!("{cluster}/"))
                })
            })
            .collect();
        assert_eq!(
            files,
            [&format!("agents/{cluster}.yaml")],
            "{cluster}: exactly one install file"
        );
        let install = Install::of(tree, &cluster);
        let what = install.path.clone();
        let kinds: Vec<&str> = install
            .docs
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            &kinds[..2],
            ["Namespace", "ServiceAccount"],
            "{what}: created first"
        );
        assert_eq!(install.docs[0]["metadata"]["name"], ns, "{what}");
        assert_eq!(install.docs[1]["metadata"]["name"], "hubdr-agent", "{what}");
        for d in &install.docs {
            assert!(
                [
                    "Namespace",
                    "ServiceAccount",
                    "ClusterRole",
                    "ClusterRoleBinding",
                    "Role",
                    "RoleBinding",
                    "Deployment"
                ]
                .contains(&d["kind"].as_str().unwrap()),
                "{what}: {}",
                d["kind"]
            );
            let labels = &d["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/managed-by"], "hubdr", "{what}");
            assert_eq!(labels["hubdr.io/cluster"], cluster.as_str(), "{what}");
            assert!(d["apiVersion"].is_string(), "{what}");
        }
        assert_eq!(
            effective(&install, ns),
            expected(site, &cluster, hub),
            "{what}: exactly what the agent does, where the site renders for it"
        );

        // The Deployment.
        let d = install.deployment();
        assert_eq!(d["metadata"]["namespace"], ns, "{what}");
        assert_eq!(d["spec"]["replicas"], 1, "{what}");
        assert_eq!(
            d["spec"]["strategy"]["type"], "Recreate",
            "{what}: never two agents of a cluster at once"
        );
        let pod = &d["spec"]["template"]["spec"];
        for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(
                &d["spec"]["template"]["metadata"]["labels"][k], v,
                "{what}: the selector matches the pod"
            );
        }
        assert_eq!(pod["serviceAccountName"], "hubdr-agent", "{what}");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
        let containers = pod["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "{what}");
        let c = &containers[0];
        assert_eq!(c["image"], settings.image.as_str(), "{what}");
        for field in ["env", "envFrom", "command"] {
            assert!(c.get(field).is_none(), "{what}: {field}");
        }
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{what}"
        );
        let args = install.args();
        assert_eq!(args.len() % 2, 0, "{what}: flag/value pairs: {args:?}");
        let mut flags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for pair in args.chunks(2) {
            let (flag, value) = (pair[0].as_str(), pair[1].as_str());
            let known = AGENT_FLAGS
                .iter()
                .find(|(f, _)| *f == flag)
                .unwrap_or_else(|| {
                    panic!("{what}: {flag} is not a hubdr-agent flag taking a value")
                });
            let values = flags.entry(flag).or_default();
            values.push(value);
            assert!(known.1 || values.len() == 1, "{what}: {flag} given twice");
        }
        // One --hcp-snapshot per hosted cluster it snapshots, naming it first.
        let snapshots: Vec<String> = flags
            .get("--hcp-snapshot")
            .map(|v| {
                v.iter()
                    .map(|s| s.split(';').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let expected_snapshots: Vec<String> = site
            .spec
            .hosted_clusters
            .iter()
            .filter(|h| {
                h.management_cluster == cluster
                    && h.method == hubdr::site::hosted::HostedMethod::EtcdSnapshot
            })
            .map(|h| format!("{}/{}", h.namespace, h.name))
            .collect();
        assert_eq!(snapshots, expected_snapshots, "{what}: --hcp-snapshot");
        let one = |flag: &str| -> Option<&str> { flags.get(flag).map(|v| v[0]) };
        assert_eq!(one("--repo"), Some(url), "{what}");
        assert_eq!(
            one("--branch"),
            Some(site.spec.git.branch.as_str()),
            "{what}"
        );
        assert_eq!(one("--cluster"), Some(cluster.as_str()), "{what}");
        assert_eq!(
            one("--namespace"),
            Some(ns),
            "{what}: the inventory lives in the agent's namespace"
        );
        assert_eq!(
            one("--interval"),
            Some(settings.interval.as_str()),
            "{what}"
        );
        assert_eq!(
            one("--heartbeat"),
            Some(settings.heartbeat.as_str()),
            "{what}"
        );
        for (flag, expected) in [
            ("--allow-kind", expected_kinds(site, &cluster, hub)),
            (
                "--allow-namespace",
                places(site, &cluster, hub).into_keys().collect(),
            ),
        ] {
            let given: Vec<&str> = flags.get(flag).cloned().unwrap_or_default();
            let set: BTreeSet<String> = given.iter().map(|a| a.to_string()).collect();
            assert_eq!(given.len(), set.len(), "{what}: {flag} repeats a value");
            assert_eq!(set, expected, "{what}: {flag}");
        }

        // Volumes: a writable cache, and the git Secret, read-only, by name only.
        let volumes = pod["volumes"].as_array().unwrap();
        let mounts = c["volumeMounts"].as_array().unwrap();
        let mount_of = |volume: &Value| -> &Value {
            mounts
                .iter()
                .find(|m| m["name"] == volume["name"])
                .unwrap_or_else(|| panic!("{what}: volume {} is not mounted", volume["name"]))
        };
        let cache = one("--cache-dir").unwrap();
        let cache_volume = volumes
            .iter()
            .find(|v| mount_of(v)["mountPath"] == cache)
            .unwrap_or_else(|| panic!("{what}: nothing is mounted at --cache-dir {cache}"));
        assert!(
            cache_volume.get("emptyDir").is_some(),
            "{what}: the cache is an emptyDir"
        );
        let secrets: Vec<&Value> = volumes
            .iter()
            .filter(|v| v.get("secret").is_some())
            .collect();
        assert_eq!(secrets.len(), 1, "{what}: one Secret volume");
        let git = secrets[0];
        assert_eq!(
            git["secret"]["secretName"],
            settings.git_credentials_secret.as_str(),
            "{what}: the git credentials Secret, by name"
        );
        assert!(git["secret"].get("items").is_none(), "{what}");
        let git_mount = mount_of(git);
        assert_eq!(git_mount["readOnly"], true, "{what}");
        let git_dir = git_mount["mountPath"].as_str().unwrap();
        let (credential_flags, other_flags): (&[&str], &[&str]) = if keys == ["token"] {
            (&["--token-file"], &["--ssh-key", "--known-hosts"])
        } else {
            (&["--ssh-key", "--known-hosts"], &["--token-file"])
        };
        let mut files_used = Vec::new();
        for flag in credential_flags {
            let path = one(flag).unwrap_or_else(|| panic!("{what}: {url} needs {flag}"));
            let (parent, file) = path.rsplit_once('/').unwrap();
            assert_eq!(
                parent, git_dir,
                "{what}: {flag} {path} is in the Secret's mount"
            );
            files_used.push(file.to_string());
        }
        for flag in other_flags {
            assert_eq!(one(flag), None, "{what}: {flag} with {url}");
        }
        assert_eq!(
            files_used, keys,
            "{what}: the files read are the Secret's prerequisite keys"
        );
    }
}
