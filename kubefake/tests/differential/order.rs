//! Scenarios added in round 2 (issue 18): the order of associative lists after an apply
//! (point 5) and nulls in non-nullable fields. kubefake models structured-merge-diff v6
//! (Kubernetes 1.34+): shared items in the applier's order. The oracle is built on Debian's
//! v4, which keeps the live order, so the scenarios that reorder are expected divergences
//! (`V6_ORDER` in differential.rs); the others must agree.

use serde_json::{json, Value};

use crate::corpus::{apply, sc, spec, update, Kind, Scenario};

fn comps(names: &[&str]) -> Value {
    let items: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "enabled": true}))
        .collect();
    spec(json!({"overrides": {"components": items}}))
}

fn finalizers(names: &[&str]) -> Value {
    json!({"metadata": {"finalizers": names}})
}

/// Scenarios whose result depends on the list-order rule (kubefake v6, oracle v4).
pub const REORDERING: &[&str] = &[
    "order/applier-reorders-shared-items",
    "order/operator-reorders-then-applier-reapplies",
    "order/new-item-between-shared-items",
    "order/live-only-item-keeps-its-place",
    "order/set-reordered-by-applier",
];

pub fn all() -> Vec<Scenario> {
    let mch = Kind::Crd("operator.open-cluster-management.io/multiclusterhubs.yaml");
    let cm = Kind::ConfigMap;
    vec![
        sc(
            "order/applier-reorders-shared-items",
            mch,
            vec![
                apply("hubdr", comps(&["x", "y"])),
                apply("hubdr", comps(&["y", "x"])),
            ],
        ),
        sc(
            "order/operator-reorders-then-applier-reapplies",
            mch,
            vec![
                apply("hubdr", comps(&["x", "y"])),
                update("operator", comps(&["y", "x"])),
                apply("hubdr", comps(&["x", "y"])),
            ],
        ),
        sc(
            "order/new-item-between-shared-items",
            mch,
            vec![
                apply("hubdr", comps(&["x", "z"])),
                apply("operator", comps(&["y"])),
                apply("hubdr", comps(&["x", "n", "z"])),
            ],
        ),
        sc(
            "order/live-only-item-keeps-its-place",
            mch,
            vec![
                apply("hubdr", comps(&["x", "y"])),
                apply("operator", comps(&["w"])),
                apply("hubdr", comps(&["y", "x"])),
            ],
        ),
        sc(
            "order/set-reordered-by-applier",
            cm,
            vec![
                apply("a", finalizers(&["example.io/a", "example.io/b"])),
                apply("a", finalizers(&["example.io/b", "example.io/a"])),
            ],
        ),
        sc(
            "order/same-order-appends",
            mch,
            vec![
                apply("hubdr", comps(&["x", "y"])),
                apply("hubdr", comps(&["x", "y", "z"])),
            ],
        ),
        sc(
            "order/second-applier-appends",
            mch,
            vec![
                apply("hubdr", comps(&["x", "y"])),
                apply("operator", comps(&["a", "b"])),
            ],
        ),
        sc(
            "nulls/update-null-field-dropped",
            mch,
            vec![update(
                "kubectl",
                spec(json!({"imagePullSecret": null, "availabilityConfig": "Basic"})),
            )],
        ),
        sc(
            "nulls/update-null-field-defaulted",
            mch,
            vec![update(
                "kubectl",
                spec(json!({"localClusterName": null, "availabilityConfig": "High"})),
            )],
        ),
    ]
}
