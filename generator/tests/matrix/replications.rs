//! VolSync replications on both sides, and the ApplicationSet.

use super::*;

pub(crate) fn replications(site: &Site, view: &View) {
    let Some(volsync) = &site.spec.volsync else {
        for o in &view.objects {
            assert!(
                !o.kind().starts_with("Replication"),
                "{}: no VolSync without spec.volsync",
                o.describe()
            );
        }
        return;
    };
    let mut privileged = BTreeSet::new();
    let patched = patched(site, "ReplicationDestination");
    for r in &volsync.replications {
        let m = mover(r.method);
        let s = &r.source;
        let src = view.get(&s.cluster, "ReplicationSource", &s.namespace, &r.name);
        let what = src.describe();
        assert_eq!(src.at("/spec/sourcePVC"), s.pvc.as_str(), "{what}");
        assert_eq!(
            src.at("/spec/trigger/schedule"),
            r.schedule.as_str(),
            "{what}"
        );
        let copy_default = if r.method == Method::Restic {
            "Clone"
        } else {
            "Snapshot"
        };
        assert_eq!(
            src.str_at(&format!("/spec/{m}/copyMethod")),
            Some(s.copy_method.as_deref().unwrap_or(copy_default)),
            "{what}"
        );
        for (field, value) in [
            ("storageClassName", &s.storage_class_name),
            ("volumeSnapshotClassName", &s.volume_snapshot_class_name),
        ] {
            assert_eq!(
                src.str_at(&format!("/spec/{m}/{field}")),
                value.as_deref(),
                "{what}: {field}"
            );
        }
        match r.method {
            Method::RsyncTls | Method::Rsync => {
                let d = r.destination.as_ref().unwrap();
                let secret_field = if r.method == Method::RsyncTls {
                    "keySecret"
                } else {
                    "sshKeys"
                };
                let secret = r
                    .psk_secret
                    .as_ref()
                    .or(r.ssh_keys_secret.as_ref())
                    .unwrap();
                assert_eq!(
                    src.at(&format!("/spec/{m}/{secret_field}")),
                    secret.as_str()
                );
                let dst = view.get(&d.cluster, "ReplicationDestination", &d.namespace, &r.name);
                assert_eq!(
                    dst.at(&format!("/spec/{m}/{secret_field}")),
                    secret.as_str()
                );
                assert_eq!(dst.at("/spec/trigger"), &Value::Null, "{}", dst.describe());
                let service = d.service_type.clone().unwrap_or_else(|| {
                    if d.cluster == s.cluster {
                        "ClusterIP"
                    } else {
                        "LoadBalancer"
                    }
                    .into()
                });
                assert_eq!(
                    dst.at(&format!("/spec/{m}/serviceType")),
                    service.as_str(),
                    "{}",
                    dst.describe()
                );
                assert_eq!(
                    dst.str_at(&format!("/spec/{m}/capacity")),
                    d.capacity.as_deref()
                );
                let late = src.annotation("hubdr.io/late-bind");
                match &d.address {
                    Some(address) => {
                        assert_eq!(src.at(&format!("/spec/{m}/address")), address.as_str());
                        assert_eq!(late, None, "{what}: a fixed address needs no late binding");
                    }
                    None => {
                        assert_eq!(src.at(&format!("/spec/{m}/address")), &Value::Null);
                        assert_eq!(
                            late,
                            Some(
                                format!(
                                    "spec.{m}.address={}/ReplicationDestination/{}/{}#status.{m}.address",
                                    d.cluster, d.namespace, r.name
                                )
                                .as_str()
                            ),
                            "{what}: the source binds the address the destination publishes"
                        );
                    }
                }
                destination_common(view, r, d, dst, patched);
            }
            Method::Restic => {
                let repo = r.repository_secret.as_deref().unwrap();
                assert_eq!(src.at("/spec/restic/repository"), repo, "{what}");
                assert_eq!(
                    src.at("/spec/restic/pruneIntervalDays").as_i64(),
                    r.prune_interval_days
                );
                if let Some(retain) = &r.retain {
                    let got = src.at("/spec/restic/retain");
                    for (k, v) in [
                        ("hourly", retain.hourly),
                        ("daily", retain.daily),
                        ("weekly", retain.weekly),
                        ("monthly", retain.monthly),
                        ("yearly", retain.yearly),
                    ] {
                        assert_eq!(got.get(k).and_then(Value::as_i64), v.map(i64::from), "{k}");
                    }
                    assert_eq!(
                        got.get("within").and_then(Value::as_str),
                        retain.within.as_deref()
                    );
                }
                if let Some(restore) = &r.restore {
                    let name = format!("{}-restore", r.name);
                    let Some(run) = &restore.run else {
                        assert!(
                            view.find(
                                &restore.cluster,
                                "ReplicationDestination",
                                &restore.namespace,
                                &name
                            )
                            .is_none(),
                            "{what}: a restore without a requested run renders nothing"
                        );
                        continue;
                    };
                    let rd = view.get(
                        &restore.cluster,
                        "ReplicationDestination",
                        &restore.namespace,
                        &name,
                    );
                    let w = rd.describe();
                    assert_eq!(
                        rd.at("/spec/trigger"),
                        &json!({"manual": run}),
                        "{w}: a restore runs once per requested run id, on a manual trigger"
                    );
                    assert_eq!(rd.at("/spec/restic/repository"), repo, "{w}");
                    assert_eq!(
                        rd.at("/spec/restic/destinationPVC"),
                        restore.destination_pvc.as_str(),
                        "{w}"
                    );
                    assert_eq!(rd.at("/spec/restic/copyMethod"), "Direct", "{w}");
                }
            }
            Method::Rclone => {
                let c = r.rclone.as_ref().unwrap();
                let expected = json!({
                    "rcloneConfigSection": c.config_section,
                    "rcloneDestPath": c.dest_path,
                    "rcloneConfig": c.config_secret,
                });
                for (k, v) in expected.as_object().unwrap() {
                    assert_eq!(&src.at("/spec/rclone")[k], v, "{what}: {k}");
                }
                for d in &r.destinations {
                    let dst = view.get(&d.cluster, "ReplicationDestination", &d.namespace, &r.name);
                    for (k, v) in expected.as_object().unwrap() {
                        assert_eq!(&dst.at("/spec/rclone")[k], v, "{}: {k}", dst.describe());
                    }
                    let schedule = dst.str_at("/spec/trigger/schedule").unwrap();
                    assert_ne!(
                        schedule.trim(),
                        r.schedule.trim(),
                        "{}: rclone destinations run after the source",
                        dst.describe()
                    );
                    let expected_schedule = match &d.schedule {
                        Some(s) => s.clone(),
                        None => shifted(&r.schedule, d.schedule_offset_minutes),
                    };
                    assert_eq!(schedule, expected_schedule, "{}", dst.describe());
                    destination_common(view, r, d, dst, patched);
                }
            }
        }
        if r.privileged_movers {
            privileged.extend(places(r));
        }
    }
    for (cluster, namespace) in &privileged {
        let ns = view
            .objects
            .iter()
            .find(|o| o.cluster == *cluster && o.kind() == "Namespace" && o.name() == namespace)
            .unwrap_or_else(|| {
                panic!("{cluster}: Namespace {namespace} must allow privileged movers")
            });
        assert_eq!(
            ns.annotation("volsync.backube/privileged-movers"),
            Some("true")
        );
        assert_eq!(
            ns.annotation("hubdr.io/prune"),
            Some("disabled"),
            "hubdr must never delete an application namespace"
        );
    }
    let namespaces = view
        .objects
        .iter()
        .filter(|o| o.kind() == "Namespace")
        .count();
    assert_eq!(
        namespaces,
        privileged.len(),
        "only privileged-mover namespaces are rendered"
    );
}

/// Capacity, access modes, classes and the replica PVC of one destination.
pub(crate) fn destination_common(
    view: &View,
    r: &Replication,
    d: &hubdr::site::ReplicationDestinationSpec,
    dst: &Obj,
    patched: bool,
) {
    let m = mover(r.method);
    let w = dst.describe();
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/capacity")),
        d.capacity.as_deref(),
        "{w}"
    );
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/copyMethod")),
        Some(d.copy_method.as_deref().unwrap_or("Snapshot")),
        "{w}"
    );
    let modes = if d.access_modes.is_empty() {
        vec!["ReadWriteOnce".to_string()]
    } else {
        d.access_modes.clone()
    };
    if !patched {
        assert_eq!(
            dst.at(&format!("/spec/{m}/accessModes")),
            &json!(modes),
            "{w}"
        );
    }
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/storageClassName")),
        d.storage_class_name.as_deref(),
        "{w}"
    );
    assert_eq!(
        dst.str_at(&format!("/spec/{m}/volumeSnapshotClassName")),
        d.volume_snapshot_class_name.as_deref(),
        "{w}"
    );
    let pvcs: Vec<&Obj> = view
        .all(&d.cluster, "PersistentVolumeClaim")
        .into_iter()
        .filter(|p| {
            p.at("/spec/dataSourceRef/name") == r.name.as_str()
                && p.namespace() == Some(&d.namespace)
        })
        .collect();
    match &d.pvc {
        None => assert!(pvcs.is_empty(), "{w}: no replica PVC was asked for"),
        Some(pvc) => {
            assert_eq!(pvcs.len(), 1, "{w}: one replica PVC");
            let p = pvcs[0];
            assert_eq!(p.name(), pvc.name);
            assert_eq!(
                p.at("/spec/dataSourceRef"),
                &json!({"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": r.name}),
                "{}: the replica is filled from the ReplicationDestination",
                p.describe()
            );
            assert_eq!(
                p.at("/spec/resources/requests/storage"),
                d.capacity.as_deref().unwrap()
            );
            assert_eq!(
                p.str_at("/spec/storageClassName"),
                pvc.storage_class_name
                    .as_deref()
                    .or(d.storage_class_name.as_deref())
            );
            assert_eq!(p.at("/spec/accessModes"), &json!(modes));
            let pvc_wave: i32 = p.annotation("hubdr.io/wave").unwrap().parse().unwrap();
            let rd_wave: i32 = dst.annotation("hubdr.io/wave").unwrap().parse().unwrap();
            assert!(
                pvc_wave > rd_wave,
                "the replica PVC comes after its ReplicationDestination"
            );
        }
    }
}

/// The source schedule's minutes shifted by `offset` (default: half the smallest gap).
pub(crate) fn shifted(source: &str, offset: Option<u32>) -> String {
    let fields: Vec<&str> = source.split_whitespace().collect();
    let minutes: Vec<u32> = match fields[0].strip_prefix("*/") {
        Some(step) => (0..60).step_by(step.parse().unwrap()).collect(),
        None => fields[0].split(',').map(|m| m.parse().unwrap()).collect(),
    };
    let mut gaps: Vec<u32> = minutes.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.push(60 - minutes[minutes.len() - 1] + minutes[0]);
    let offset = offset.unwrap_or(gaps.iter().min().unwrap() / 2);
    let mut out: Vec<u32> = minutes.iter().map(|m| (m + offset) % 60).collect();
    out.sort_unstable();
    let list: Vec<String> = out.iter().map(u32::to_string).collect();
    format!("{} {}", list.join(","), fields[1..].join(" "))
}

#[test]
pub(crate) fn shifted_schedules_follow_the_documented_example() {
    assert_eq!(
        shifted("*/6 * * * *", None),
        "3,9,15,21,27,33,39,45,51,57 * * * *"
    );
    assert_eq!(shifted("0,30 2 * * *", Some(5)), "5,35 2 * * *");
}

pub(crate) fn applicationset(site: &Site, tree: &Tree) {
    let a: Value = serde_yaml::from_slice(&tree["argocd/applicationset.yaml"]).unwrap();
    let spec = &site.spec;
    assert_eq!(a["kind"], "ApplicationSet");
    assert_eq!(a["metadata"]["namespace"], spec.argocd.namespace.as_str());
    assert_eq!(
        a["metadata"]["name"],
        format!("hubdr-{}", site.metadata.name)
    );
    let elements = &a["spec"]["generators"][0]["list"]["elements"];
    let expected: Vec<Value> = spec
        .hubs
        .iter()
        .map(|h| (&h.name, &h.argocd_cluster))
        .chain(
            spec.managed_clusters
                .iter()
                .map(|c| (&c.name, &c.argocd_cluster)),
        )
        .map(|(name, dest)| json!({"cluster": name, "destination": dest.as_ref().unwrap_or(name)}))
        .collect();
    assert_eq!(elements, &json!(expected), "one Application per cluster");
    let template = &a["spec"]["template"]["spec"];
    assert_eq!(template["project"], spec.argocd.project.as_str());
    assert_eq!(
        template["source"]["repoURL"],
        spec.git.url.as_deref().unwrap()
    );
    assert_eq!(
        template["source"]["targetRevision"],
        spec.git.branch.as_str()
    );
    assert_eq!(template["source"]["path"], "clusters/{{ .cluster }}");
    let automated = &template["syncPolicy"]["automated"];
    match &spec.argocd.automated {
        None => assert!(automated.is_null()),
        Some(auto) => {
            assert_eq!(automated["prune"], auto.prune);
            assert_eq!(automated["selfHeal"], auto.self_heal);
        }
    }
    let options = template["syncPolicy"]["syncOptions"].as_array().unwrap();
    assert!(options.contains(&json!("ServerSideApply=true")));
}
