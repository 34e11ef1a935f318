//! The scenario corpus: the same steps go to kubefake and to the oracle.

use serde_json::{json, Value};

/// Which kind a scenario writes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// core/v1 ConfigMap.
    ConfigMap,
    /// apps/v1 Deployment (the built-in with pod-template markers).
    Deployment,
    /// A custom resource whose CRD is this file under shared/crds.
    Crd(&'static str),
}

/// One write.
#[derive(Debug, Clone)]
pub struct Step {
    /// `apply`, `update`, `create` or `delete`.
    pub op: &'static str,
    pub manager: &'static str,
    pub force: bool,
    /// The body without name/namespace/apiVersion/kind (filled in by the runner).
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub kind: Kind,
    pub steps: Vec<Step>,
}

pub fn apply(manager: &'static str, body: Value) -> Step {
    Step {
        op: "apply",
        manager,
        force: false,
        body,
    }
}
pub fn force(manager: &'static str, body: Value) -> Step {
    Step {
        op: "apply",
        manager,
        force: true,
        body,
    }
}
pub fn update(manager: &'static str, body: Value) -> Step {
    Step {
        op: "update",
        manager,
        force: false,
        body,
    }
}
pub fn create(manager: &'static str, body: Value) -> Step {
    Step {
        op: "create",
        manager,
        force: false,
        body,
    }
}
pub fn delete() -> Step {
    Step {
        op: "delete",
        manager: "",
        force: false,
        body: json!({}),
    }
}

pub fn sc(name: &str, kind: Kind, steps: Vec<Step>) -> Scenario {
    Scenario {
        name: name.to_string(),
        kind,
        steps,
    }
}

pub fn data(d: Value) -> Value {
    json!({ "data": d })
}
pub fn spec(s: Value) -> Value {
    json!({ "spec": s })
}

fn configmap() -> Vec<Scenario> {
    use Kind::ConfigMap as K;
    vec![
        sc(
            "cm/apply-creates",
            K,
            vec![apply("a", data(json!({"x": "1"})))],
        ),
        sc(
            "cm/identical-apply",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/two-managers-distinct-keys",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                apply("b", data(json!({"y": "2"}))),
            ],
        ),
        sc(
            "cm/conflict",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                apply("b", data(json!({"x": "2"}))),
            ],
        ),
        sc(
            "cm/conflict-two-fields",
            K,
            vec![
                apply("a", data(json!({"x": "1", "y": "1"}))),
                apply("b", data(json!({"x": "2", "y": "2"}))),
            ],
        ),
        sc(
            "cm/force-takes-ownership",
            K,
            vec![
                apply("a", data(json!({"x": "1", "y": "1"}))),
                force("b", data(json!({"x": "2"}))),
            ],
        ),
        sc(
            "cm/co-ownership-same-value",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                apply("b", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/dropped-field-removed",
            K,
            vec![
                apply("a", data(json!({"x": "1", "y": "2"}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/dropped-co-owned-field-kept",
            K,
            vec![
                apply("a", data(json!({"x": "1", "y": "2"}))),
                apply("b", data(json!({"y": "2"}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/conflict-with-update-manager",
            K,
            vec![
                create("kubectl", data(json!({"x": "1"}))),
                apply("a", data(json!({"x": "2"}))),
            ],
        ),
        sc(
            "cm/update-moves-ownership",
            K,
            vec![
                apply("a", data(json!({"x": "1", "y": "1"}))),
                update("editor", data(json!({"x": "edited", "y": "1"}))),
            ],
        ),
        sc(
            "cm/update-then-reapply-conflicts",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                update("editor", data(json!({"x": "edited"}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/create-update-parent-entries",
            K,
            vec![create(
                "kubectl",
                json!({"metadata": {"labels": {"l": "v"}}, "data": {"x": "1"}}),
            )],
        ),
        sc(
            "cm/labels-annotations",
            K,
            vec![apply(
                "a",
                json!({"metadata": {"labels": {"l": "1"}, "annotations": {"n": "1"}}, "data": {"x": "1"}}),
            )],
        ),
        sc(
            "cm/label-dropped",
            K,
            vec![
                apply("a", json!({"metadata": {"labels": {"l": "1", "m": "2"}}})),
                apply("a", json!({"metadata": {"labels": {"l": "1"}}})),
            ],
        ),
        sc(
            "cm/managedfields-in-apply-body",
            K,
            vec![apply(
                "a",
                json!({"metadata": {"managedFields": [{"manager": "x", "operation": "Apply"}]}, "data": {"x": "1"}}),
            )],
        ),
        sc(
            "cm/unknown-field",
            K,
            vec![apply("a", json!({"data": {"x": "1"}, "spec": {"a": 1}}))],
        ),
        sc(
            "cm/wrong-type",
            K,
            vec![apply("a", json!({"data": {"x": 5}}))],
        ),
        sc("cm/empty-data-map", K, vec![apply("a", data(json!({})))]),
        sc(
            "cm/empty-map-grows",
            K,
            vec![
                apply("a", data(json!({}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
        sc(
            "cm/delete-and-recreate",
            K,
            vec![
                apply("a", data(json!({"x": "1"}))),
                delete(),
                apply("b", data(json!({"y": "1"}))),
            ],
        ),
        sc(
            "cm/finalizers-set",
            K,
            vec![
                apply("a", json!({"metadata": {"finalizers": ["a.io/f"]}})),
                apply("b", json!({"metadata": {"finalizers": ["b.io/f"]}})),
                apply("a", json!({"metadata": {}})),
            ],
        ),
        sc(
            "cm/apply-after-create",
            K,
            vec![
                create("kubectl", data(json!({"x": "1", "y": "2"}))),
                apply("a", data(json!({"x": "1"}))),
            ],
        ),
    ]
}

fn deploy(template_spec: Value) -> Value {
    json!({"spec": {"selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": template_spec}}})
}
fn containers(c: Value) -> Value {
    deploy(json!({ "containers": c }))
}

fn deployment() -> Vec<Scenario> {
    use Kind::Deployment as K;
    let one = || containers(json!([{"name": "c", "image": "i:1"}]));
    vec![
        sc("deploy/apply-creates", K, vec![apply("a", one())]),
        sc(
            "deploy/identical-apply",
            K,
            vec![apply("a", one()), apply("a", one())],
        ),
        sc(
            "deploy/port-without-protocol-reapplied",
            K,
            vec![
                apply(
                    "a",
                    containers(
                        json!([{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]),
                    ),
                ),
                apply(
                    "a",
                    containers(
                        json!([{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]),
                    ),
                ),
            ],
        ),
        sc(
            "deploy/port-two-protocols",
            K,
            vec![apply(
                "a",
                containers(
                    json!([{"name": "c", "image": "i", "ports": [{"containerPort": 53, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]}]),
                ),
            )],
        ),
        sc(
            "deploy/selector-atomic-conflict",
            K,
            vec![
                apply("a", one()),
                apply(
                    "b",
                    json!({"spec": {"selector": {"matchLabels": {"app": "a", "extra": "b"}}}}),
                ),
            ],
        ),
        sc(
            "deploy/node-selector-atomic",
            K,
            vec![
                apply(
                    "a",
                    deploy(
                        json!({"containers": [{"name": "c", "image": "i"}], "nodeSelector": {"zone": "a"}}),
                    ),
                ),
                apply(
                    "b",
                    json!({"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}),
                ),
            ],
        ),
        sc(
            "deploy/replicas-by-second-manager",
            K,
            vec![
                apply("a", one()),
                apply("scaler", json!({"spec": {"replicas": 3}})),
            ],
        ),
        sc(
            "deploy/replicas-edited-then-reapplied",
            K,
            vec![
                apply("a", json!({"spec": {"replicas": 2}})),
                update("kubectl-scale", json!({"spec": {"replicas": 5}})),
                apply("a", json!({"spec": {"replicas": 2}})),
            ],
        ),
        sc(
            "deploy/two-managers-two-containers",
            K,
            vec![
                apply("a", one()),
                apply(
                    "b",
                    containers(json!([{"name": "sidecar", "image": "s:1"}])),
                ),
            ],
        ),
        sc(
            "deploy/container-image-conflict",
            K,
            vec![
                apply("a", one()),
                apply("b", containers(json!([{"name": "c", "image": "i:2"}]))),
            ],
        ),
        sc(
            "deploy/drop-container-edited-by-other",
            K,
            vec![
                apply("a", one()),
                update(
                    "editor",
                    containers(json!([{"name": "c", "image": "i:1", "imagePullPolicy": "Always"}])),
                ),
                apply("a", containers(json!([]))),
            ],
        ),
        sc(
            "deploy/drop-container-co-applied",
            K,
            vec![
                apply("a", one()),
                apply("b", containers(json!([{"name": "c", "args": ["-v"]}]))),
                apply("a", containers(json!([]))),
            ],
        ),
        sc(
            "deploy/duplicate-container-names",
            K,
            vec![apply(
                "a",
                containers(json!([{"name": "c", "image": "1"}, {"name": "c", "image": "2"}])),
            )],
        ),
        sc(
            "deploy/container-without-name",
            K,
            vec![apply("a", containers(json!([{"image": "1"}])))],
        ),
        sc(
            "deploy/duplicate-env-names",
            K,
            vec![apply(
                "a",
                containers(
                    json!([{"name": "c", "env": [{"name": "E", "value": "1"}, {"name": "E", "value": "2"}]}]),
                ),
            )],
        ),
        sc(
            "deploy/env-merged-by-name",
            K,
            vec![
                apply(
                    "a",
                    containers(json!([{"name": "c", "env": [{"name": "A", "value": "1"}]}])),
                ),
                apply(
                    "b",
                    containers(json!([{"name": "c", "env": [{"name": "B", "value": "2"}]}])),
                ),
            ],
        ),
        sc(
            "deploy/unknown-field",
            K,
            vec![apply(
                "a",
                json!({"spec": {"replicas": 1, "notAField": true}}),
            )],
        ),
        sc(
            "deploy/unknown-container-field",
            K,
            vec![apply(
                "a",
                containers(json!([{"name": "c", "imag": "typo"}])),
            )],
        ),
        sc(
            "deploy/wrong-type-replicas",
            K,
            vec![apply("a", json!({"spec": {"replicas": "three"}}))],
        ),
        sc(
            "deploy/tolerations-atomic",
            K,
            vec![
                apply(
                    "a",
                    deploy(
                        json!({"containers": [{"name": "c"}], "tolerations": [{"key": "k", "operator": "Exists"}]}),
                    ),
                ),
                apply(
                    "b",
                    json!({"spec": {"template": {"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}}}}),
                ),
            ],
        ),
        sc(
            "deploy/update-prunes-unknown",
            K,
            vec![
                apply("a", one()),
                update("editor", json!({"spec": {"replicas": 1, "bogus": 1}})),
            ],
        ),
        sc(
            "deploy/resources-int-or-string",
            K,
            vec![apply(
                "a",
                containers(
                    json!([{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]),
                ),
            )],
        ),
        sc(
            "deploy/volumes-by-name",
            K,
            vec![
                apply(
                    "a",
                    deploy(
                        json!({"containers": [{"name": "c"}], "volumes": [{"name": "v1", "emptyDir": {}}]}),
                    ),
                ),
                apply(
                    "b",
                    json!({"spec": {"template": {"spec": {"volumes": [{"name": "v2", "emptyDir": {}}]}}}}),
                ),
            ],
        ),
        sc(
            "deploy/force-container-image",
            K,
            vec![
                apply("a", one()),
                force("b", containers(json!([{"name": "c", "image": "i:2"}]))),
                apply("a", one()),
            ],
        ),
    ]
}

/// A CRD hubdr renders and a few of its fields for the generic scenarios.
struct CrdCase {
    short: &'static str,
    file: &'static str,
    base: Value,
    /// A field (under spec) and two different values.
    field: (&'static str, Value, Value),
    /// Another field another manager sets.
    other: (&'static str, Value),
}

fn crd_cases() -> Vec<CrdCase> {
    vec![
        CrdCase {
            short: "mch",
            file: "operator.open-cluster-management.io/multiclusterhubs.yaml",
            base: json!({}),
            field: ("availabilityConfig", json!("High"), json!("Basic")),
            other: ("imagePullSecret", json!("pull")),
        },
        CrdCase {
            short: "backupschedule",
            file: "cluster.open-cluster-management.io/backupschedules.yaml",
            base: json!({"veleroSchedule": "0 */2 * * *"}),
            field: ("veleroTtl", json!("120h"), json!("240h")),
            other: ("paused", json!(true)),
        },
        CrdCase {
            short: "restore",
            file: "cluster.open-cluster-management.io/restores.yaml",
            base: json!({"cleanupBeforeRestore": "None", "veleroCredentialsBackupName": "latest",
                         "veleroManagedClustersBackupName": "latest", "veleroResourcesBackupName": "latest"}),
            field: ("restoreSyncInterval", json!("10m"), json!("20m")),
            other: ("preserveNodePorts", json!(true)),
        },
        CrdCase {
            short: "dpa",
            file: "oadp.openshift.io/dataprotectionapplications.yaml",
            base: json!({"configuration": {"velero": {"defaultPlugins": ["openshift", "aws"]}}}),
            field: ("imagePullPolicy", json!("Always"), json!("Never")),
            other: ("backupImages", json!(false)),
        },
        CrdCase {
            short: "addon",
            file: "addon.open-cluster-management.io/managedclusteraddons.yaml",
            base: json!({"configs": []}),
            field: ("installNamespace", json!("ns-a"), json!("ns-b")),
            other: (
                "configs",
                json!([{"group": "g", "resource": "r", "name": "n"}]),
            ),
        },
        CrdCase {
            short: "rdest",
            file: "volsync.backube/replicationdestinations.yaml",
            base: json!({"rsyncTLS": {"copyMethod": "Snapshot", "accessModes": ["ReadWriteOnce"]}}),
            field: ("paused", json!(true), json!(false)),
            other: ("trigger", json!({"manual": "now"})),
        },
        CrdCase {
            short: "rsource",
            file: "volsync.backube/replicationsources.yaml",
            base: json!({"sourcePVC": "data", "rsyncTLS": {"copyMethod": "Snapshot"}}),
            field: ("paused", json!(true), json!(false)),
            other: ("trigger", json!({"schedule": "*/5 * * * *"})),
        },
    ]
}

fn with(base: &Value, key: &str, v: &Value) -> Value {
    let mut s = base.clone();
    s[key] = v.clone();
    spec(s)
}

fn crds() -> Vec<Scenario> {
    let mut out = Vec::new();
    for c in crd_cases() {
        let k = Kind::Crd(c.file);
        let n = |what: &str| format!("{}/{what}", c.short);
        let (f, v1, v2) = &c.field;
        let (o, ov) = &c.other;
        let wrong = if v1.is_string() { json!(5) } else { json!("x") };
        out.push(sc(
            &n("apply-creates"),
            k,
            vec![apply("hubdr", spec(c.base.clone()))],
        ));
        out.push(sc(
            &n("identical-apply"),
            k,
            vec![
                apply("hubdr", with(&c.base, f, v1)),
                apply("hubdr", with(&c.base, f, v1)),
            ],
        ));
        out.push(sc(
            &n("second-manager-other-field"),
            k,
            vec![
                apply("hubdr", with(&c.base, f, v1)),
                apply("operator", spec(json!({ *o: ov }))),
            ],
        ));
        out.push(sc(
            &n("conflict"),
            k,
            vec![
                apply("hubdr", with(&c.base, f, v1)),
                apply("operator", spec(json!({ *f: v2 }))),
            ],
        ));
        out.push(sc(
            &n("force"),
            k,
            vec![
                apply("hubdr", with(&c.base, f, v1)),
                force("operator", spec(json!({ *f: v2 }))),
                apply("hubdr", with(&c.base, f, v1)),
            ],
        ));
        out.push(sc(
            &n("unknown-field"),
            k,
            vec![apply(
                "hubdr",
                with(&c.base, "fieldFromNewerOperator", &json!("x")),
            )],
        ));
        out.push(sc(
            &n("wrong-type"),
            k,
            vec![apply("hubdr", with(&c.base, f, &wrong))],
        ));
        out.push(sc(
            &n("edited-then-reapplied"),
            k,
            vec![
                apply("hubdr", with(&c.base, f, v1)),
                update("console", with(&c.base, f, v2)),
                apply("hubdr", with(&c.base, f, v1)),
            ],
        ));
        out.push(sc(
            &n("dropped-field"),
            k,
            vec![
                apply("hubdr", with(&with(&c.base, o, ov)["spec"], f, v1)),
                apply("hubdr", spec(c.base.clone())),
            ],
        ));
    }
    out
}

fn crd_specific() -> Vec<Scenario> {
    let mch = Kind::Crd("operator.open-cluster-management.io/multiclusterhubs.yaml");
    let restore = Kind::Crd("cluster.open-cluster-management.io/restores.yaml");
    let comps = |c: Value| spec(json!({"overrides": {"components": c}}));
    vec![
        sc(
            "mch/components-two-appliers",
            mch,
            vec![
                apply(
                    "hubdr",
                    comps(json!([{"name": "cluster-backup", "enabled": true}])),
                ),
                apply(
                    "operator",
                    comps(json!([{"name": "console", "enabled": true}])),
                ),
            ],
        ),
        sc(
            "mch/components-drop-entry-edited-by-other",
            mch,
            vec![
                apply(
                    "hubdr",
                    comps(json!([{"name": "cluster-backup", "enabled": true}])),
                ),
                update(
                    "console",
                    comps(
                        json!([{"name": "cluster-backup", "enabled": true, "configOverrides": {}}]),
                    ),
                ),
                apply("hubdr", comps(json!([]))),
            ],
        ),
        sc(
            "mch/components-duplicate-keys",
            mch,
            vec![apply(
                "hubdr",
                comps(json!([{"name": "a", "enabled": true}, {"name": "a", "enabled": false}])),
            )],
        ),
        sc(
            "mch/components-item-without-key",
            mch,
            vec![apply("hubdr", comps(json!([{"enabled": true}])))],
        ),
        sc(
            "mch/components-conflict",
            mch,
            vec![
                apply("hubdr", comps(json!([{"name": "a", "enabled": true}]))),
                apply("operator", comps(json!([{"name": "a", "enabled": false}]))),
            ],
        ),
        sc(
            "mch/defaults-after-apply",
            mch,
            vec![apply("hubdr", spec(json!({"networkPolicies": {}})))],
        ),
        sc(
            "mch/status-in-apply-body",
            mch,
            vec![apply(
                "hubdr",
                json!({"spec": {}, "status": {"phase": "Running"}}),
            )],
        ),
        sc(
            "restore/label-selector-atomic",
            restore,
            vec![
                apply(
                    "hubdr",
                    spec(
                        json!({"cleanupBeforeRestore": "None", "veleroCredentialsBackupName": "latest",
                "veleroManagedClustersBackupName": "latest", "veleroResourcesBackupName": "latest",
                "labelSelector": {"matchLabels": {"a": "1"}}}),
                    ),
                ),
                apply(
                    "operator",
                    spec(json!({"labelSelector": {"matchLabels": {"b": "2"}}})),
                ),
            ],
        ),
    ]
}

/// Every scenario.
pub fn all() -> Vec<Scenario> {
    let mut v = configmap();
    v.extend(deployment());
    v.extend(crds());
    v.extend(crd_specific());
    v
}
