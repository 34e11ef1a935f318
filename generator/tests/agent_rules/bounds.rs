//! What every agent install file may grant at most (check_bounds).

use super::*;

/// The bounds every install file keeps, whatever its layout: no rule grants a verb on anything
/// but a kind hubdr renders (or one of the site's `spec.agent.extraKinds`) or a read-only
/// observed resource; no `*`; no binding to a role from elsewhere; namespaced kinds only inside
/// the agent's `--allow-namespace` namespaces, which are the namespaces the site renders into
/// for the cluster; Namespaces only by name and never deleted; no delete on the shared
/// MultiClusterHub and DataProtectionApplication; PersistentVolumeClaims deleted only where
/// hubdr renders them.
pub fn check_bounds(site: &Site, tree: &Tree) {
    let agent_ns = site.spec.agent.namespace.as_str();
    let extra: BTreeMap<(String, String), &hubdr::site::ExtraKind> = site
        .spec
        .agent
        .extra_kinds
        .iter()
        .map(|e| ((e.api_group().to_string(), e.resource.clone()), e))
        .collect();
    let rendered: BTreeMap<(String, String), _> = RENDERED_KINDS
        .iter()
        .map(|k| ((k.0.to_string(), k.2.to_string()), k))
        .collect();
    let read_only: BTreeSet<(String, String)> = OBSERVED_EVERYWHERE
        .iter()
        .chain(&HUB_OBSERVED)
        .chain(&etcd::OBSERVED)
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    let declared = declared_namespaces(site);
    for (cluster, hub) in clusters(site) {
        let install = Install::of(tree, &cluster);
        let what = install.path.clone();
        let eff = effective(&install, agent_ns);
        let allowed_ns: BTreeSet<String> = install.flag("--allow-namespace").into_iter().collect();
        for ns in &allowed_ns {
            assert!(
                declared.contains(ns),
                "{what}: --allow-namespace {ns} is no namespace of the site"
            );
        }
        let objects = rendered_objects(tree, &cluster);
        let pvc_namespaces: BTreeSet<String> = objects
            .iter()
            .filter(|o| o.0.is_empty() && o.1 == "PersistentVolumeClaim")
            .filter_map(|o| o.2.clone())
            .collect();
        for o in &objects {
            match &o.2 {
                Some(ns) => assert!(
                    allowed_ns.contains(ns),
                    "{what}: {o:?} is outside --allow-namespace {allowed_ns:?}"
                ),
                None if o.1 == "Namespace" => assert!(
                    allowed_ns.contains(&o.3),
                    "{what}: Namespace {} is outside --allow-namespace",
                    o.3
                ),
                None => {}
            }
        }
        let allowed_kinds: BTreeSet<String> = install.flag("--allow-kind").into_iter().collect();
        assert!(
            allowed_kinds.is_subset(&expected_kinds(site, &cluster, hub)),
            "{what}: --allow-kind {allowed_kinds:?} beyond hubdr's kinds and spec.agent.extraKinds"
        );
        let check = |g: &str, r: &str, v: &Verbs, scope: &str| {
            let key = (g.to_string(), r.to_string());
            let all = verbs(&MANAGE);
            assert!(v.is_subset(&all), "{what}: {scope}: {g}/{r}: {v:?}");
            if let Some(k) = rendered.get(&key) {
                if !k.5 {
                    assert!(
                        !v.contains("delete"),
                        "{what}: {scope}: delete on {r}, which is never deleted"
                    );
                }
            } else if HCP_SNAPSHOT.iter().any(|(hg, hr, _)| *hg == g && *hr == r)
                && !(read_only.contains(&key) && v.is_subset(&verbs(&READ)))
            {
                // The etcd-snapshot sequence of hosted clusters: never deletes what it patches.
                let (_, _, allowed) = HCP_SNAPSHOT
                    .iter()
                    .find(|(hg, hr, _)| *hg == g && *hr == r)
                    .unwrap();
                assert!(
                    v.is_subset(&verbs(allowed)) && site.spec.hosted_clusters.iter().any(|h| h.management_cluster == cluster && h.method == hubdr::site::hosted::HostedMethod::EtcdSnapshot),
                    "{what}: {scope}: {v:?} on {g}/{r} beyond what the etcd-snapshot sequence needs"
                );
            } else if let Some(fixed) = FAILOVER_CLUSTER
                .iter()
                .find(|f| hub && scope == "cluster-wide" && (f.0, f.1) == (g, r))
            {
                assert!(
                    v.is_subset(&verbs(fixed.2)),
                    "{what}: {scope}: {v:?} on {g}/{r}, beyond the failover steps' {:?}",
                    fixed.2
                );
            } else if !extra.contains_key(&key) {
                assert!(
                    read_only.contains(&key) && v.is_subset(&verbs(&READ)),
                    "{what}: {scope}: {v:?} on {g}/{r}, neither a kind hubdr renders nor in spec.agent.extraKinds nor a read-only observed resource"
                );
            }
        };
        for ((g, r, names), v) in &eff.cluster {
            let key = (g.clone(), r.clone());
            let namespaced_kind = rendered.get(&key).is_some_and(|k| k.3)
                || extra
                    .get(&key)
                    .is_some_and(|e| e.scope == hubdr::kinds::Scope::Namespaced);
            if namespaced_kind {
                assert!(
                    v.is_subset(&verbs(&READ)),
                    "{what}: cluster-wide {v:?} on namespaced {r}"
                );
            }
            if g.is_empty() && r == "namespaces" {
                let names: BTreeSet<String> = names
                    .clone()
                    .unwrap_or_else(|| panic!("{what}: namespaces without resourceNames"))
                    .into_iter()
                    .collect();
                assert!(
                    names.is_subset(&allowed_ns),
                    "{what}: Namespaces {names:?} beyond {allowed_ns:?}"
                );
            } else {
                assert!(names.is_none(), "{what}: resourceNames on {r}");
            }
            check(g, r, v, "cluster-wide");
        }
        for (ns, grants) in &eff.namespaced {
            for ((g, r), v) in grants {
                if ns == agent_ns && g.is_empty() && r == "secrets" {
                    assert!(
                        v.is_subset(&verbs(&["get", "create"])),
                        "{what}: the agent's own Secrets: {v:?}"
                    );
                    continue;
                }
                if ns == agent_ns && g.is_empty() && r == "configmaps" {
                    assert!(
                        verbs(&INVENTORY_VERBS).is_subset(v) && !v.contains("delete"),
                        "{what}: inventory {v:?}"
                    );
                    continue;
                }
                if hub && ns == MCE_NAMESPACE && g.is_empty() && r == "configmaps" {
                    assert_eq!(
                        v,
                        &verbs(&["create"]),
                        "{what}: ConfigMaps in {ns}: only create (the rest by name)"
                    );
                    continue;
                }
                assert!(
                    allowed_ns.contains(ns),
                    "{what}: grants in {ns}, outside --allow-namespace"
                );
                if g == "rbac.authorization.k8s.io" && r == "clusterroles" {
                    // Only `bind`, and only of the SCC ClusterRole (checked in effective()).
                    assert_eq!(v, &verbs(&["bind"]), "{what}: clusterroles in {ns}");
                    continue;
                }
                if g.is_empty() && r == "persistentvolumeclaims" && v.contains("delete") {
                    assert!(
                        pvc_namespaces.contains(ns),
                        "{what}: delete on PVCs in {ns}, where hubdr renders none"
                    );
                }
                check(g, r, v, ns);
            }
        }
        // Named grants: only the failover steps' fixed operations, on hubs, and the two Secrets
        // of a hosted cluster restored from its newest snapshot (read only, in its namespace).
        for ((ns, (g, r, names)), v) in &eff.named {
            let restore_secrets: Option<BTreeSet<String>> = site
                .spec
                .hosted_clusters
                .iter()
                .filter(|h| h.management_cluster == cluster && h.restore_from.is_some())
                .filter(|h| &h.namespace == ns)
                .map(|h| {
                    BTreeSet::from([
                        h.destination.credentials_secret.name.clone(),
                        h.encryption_key_secret.clone(),
                    ])
                })
                .reduce(|a, b| a.union(&b).cloned().collect());
            if let (Some(allowed), true) = (&restore_secrets, g.is_empty() && r == "secrets") {
                let named: BTreeSet<String> =
                    names.clone().unwrap_or_default().into_iter().collect();
                assert!(
                    !named.is_empty() && named.is_subset(allowed) && v.is_subset(&verbs(&["get"])),
                    "{what}: {v:?} on Secrets {names:?} in {ns}, beyond the restore's {allowed:?}"
                );
                continue;
            }
            let fixed = FAILOVER_NAMED.iter().find(|f| {
                hub && (f.0, f.1, f.2) == (ns.as_str(), g.as_str(), r.as_str())
                    && names.as_deref() == Some(&[f.3.to_string()][..])
            });
            let fixed = fixed.unwrap_or_else(|| {
                panic!("{what}: resourceNames {names:?} on {g}/{r} in {ns}: not a fixed operation of a hub's failover steps")
            });
            assert!(
                v.is_subset(&verbs(fixed.4)),
                "{what}: {v:?} on {g}/{r} {names:?} in {ns}, beyond {:?}",
                fixed.4
            );
        }
        // The agent can still do its job: apply every object rendered for it.
        for (g, kind, ns, name) in &objects {
            let k = RENDERED_KINDS.iter().find(|k| k.0 == g && k.1 == kind);
            let resource = k.map(|k| k.2.to_string()).or_else(|| {
                site.spec
                    .agent
                    .extra_kinds
                    .iter()
                    .find(|e| e.api_group() == g && e.kind == *kind)
                    .map(|e| e.resource.clone())
            });
            let resource =
                resource.unwrap_or_else(|| panic!("{what}: rendered {g}/{kind} is not managed"));
            let granted = match ns {
                Some(ns) => eff
                    .namespaced
                    .get(ns)
                    .and_then(|m| m.get(&(g.clone(), resource.clone())))
                    .cloned(),
                None => eff
                    .cluster
                    .iter()
                    .find(|((cg, cr, names), _)| {
                        cg == g
                            && *cr == resource
                            && names.as_ref().is_none_or(|n| n.contains(name))
                    })
                    .map(|(_, v)| v.clone()),
            };
            let granted = granted.unwrap_or_default();
            assert!(
                verbs(&["get", "create", "patch"]).is_subset(&granted),
                "{what}: the agent cannot apply {kind} {ns:?}/{name}: {granted:?}"
            );
        }
    }
}

/// Every namespace a site field names (where hubdr may render).
pub(crate) fn declared_namespaces(site: &Site) -> BTreeSet<String> {
    let spec = &site.spec;
    let mut out = BTreeSet::from([
        spec.backup_namespace.clone(),
        spec.multi_cluster_hub.namespace.clone(),
    ]);
    out.extend(spec.managed_clusters.iter().map(|c| c.name.clone()));
    out.extend(spec.etcd_backup.iter().map(|e| e.namespace.clone()));
    for h in &spec.hosted_clusters {
        out.insert("openshift-adp".to_string());
        out.insert(h.namespace.clone());
        out.insert(format!("{}-{}", h.namespace, h.name));
    }
    for r in spec.volsync.iter().flat_map(|v| &v.replications) {
        out.insert(r.source.namespace.clone());
        out.extend(
            r.destination
                .iter()
                .chain(&r.destinations)
                .map(|d| d.namespace.clone()),
        );
        out.extend(r.restore.iter().map(|x| x.namespace.clone()));
    }
    out
}
