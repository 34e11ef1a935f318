//! Tests of `auto_import.rs`.

use super::*;

fn state(set_for: Option<u64>, prior: Option<&str>, restored_for: Option<u64>) -> State {
    State {
        set_for,
        prior: prior.map(str::to_string),
        restored_for,
    }
}

#[test]
fn the_strategy_is_set_once_kept_until_verified_then_put_back() {
    let fresh = State::default();
    assert_eq!(step(Some(2), &fresh, false), Step::Set { generation: 2 });
    // A later takeover (a failback) sets it again, even after an earlier one was undone.
    let undone = state(Some(2), None, Some(2));
    assert_eq!(step(Some(4), &undone, false), Step::Set { generation: 4 });
    let set = state(Some(2), Some("ImportOnly"), None);
    assert_eq!(step(Some(2), &set, false), Step::Keep);
    assert_eq!(step(Some(2), &set, true), Step::Restore { generation: 2 });
    assert_eq!(step(Some(2), &undone, true), Step::Nothing);
    assert_eq!(step(Some(2), &undone, false), Step::Nothing);
}

#[test]
fn without_a_takeover_a_change_not_undone_is_put_back() {
    // An abort: the render no longer asks for the activation.
    let set = state(Some(2), Some("ImportAndSync"), Some(1));
    assert_eq!(step(None, &set, false), Step::Restore { generation: 2 });
    assert_eq!(
        step(None, &state(Some(2), None, Some(2)), false),
        Step::Nothing
    );
    assert_eq!(step(None, &State::default(), false), Step::Nothing);
}

#[test]
fn the_memory_is_read_as_untrusted_input() {
    let place = Place::new("hubdr", "hubdr-inventory-hub-b");
    let data = serde_json::json!({SET_FOR_KEY: "3", PRIOR_KEY: "ImportOnly", "role": "active"});
    assert_eq!(
        State::from_data(&data, &place).unwrap(),
        state(Some(3), Some("ImportOnly"), None)
    );
    assert_eq!(
        State::from_data(&Value::Null, &place).unwrap(),
        State::default()
    );
    let bad = serde_json::json!({SET_FOR_KEY: "three"});
    let e = State::from_data(&bad, &place).unwrap_err();
    assert!(
        e.contains("key autoImportSetFor is not a whole number"),
        "{e}"
    );
    let bad = serde_json::json!({PRIOR_KEY: "Import Only; rm"});
    let e = State::from_data(&bad, &place).unwrap_err();
    assert!(e.contains("key autoImportPrior"), "{e}");
    assert!(e.contains("fix or remove the key"), "{e}");
    // Round trip: absent prior stays absent.
    let s = state(Some(3), None, Some(3));
    let data: serde_json::Map<String, Value> = s
        .to_data()
        .into_iter()
        .filter_map(|(k, v)| Some((k, Value::String(v?))))
        .collect();
    assert_eq!(State::from_data(&Value::Object(data), &place).unwrap(), s);
}

#[test]
fn only_an_annotated_activation_restore_asks_for_the_step() {
    let planned = |annotations: Value| {
        let value = serde_json::json!({
            "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
            "metadata": {"name": "r", "namespace": "ns", "annotations": annotations},
        });
        vec![Planned {
            id: ObjectId::of(&value).unwrap(),
            wave: 2,
            value,
        }]
    };
    let both =
        planned(serde_json::json!({ANNOTATION: "ImportAndSync", ANNOTATION_GENERATION: "2"}));
    assert_eq!(takeover(&both).map(|t| t.1), Some(2));
    let older = planned(serde_json::json!({ANNOTATION_GENERATION: "2"}));
    assert_eq!(takeover(&older), None);
    let odd = planned(serde_json::json!({ANNOTATION: "ImportOnly", ANNOTATION_GENERATION: "2"}));
    assert_eq!(takeover(&odd), None);
}

#[test]
fn the_gates_read_the_facts_of_the_pass() {
    let facts = AutoImportFacts {
        live: Some("ImportAndSync".into()),
        prior: Some("ImportOnly".into()),
        restored_for: Some(1),
        ..AutoImportFacts::default()
    };
    assert_eq!(facts.strategy_verdict("ImportAndSync"), Verdict::Holds);
    let Verdict::Waits(why) = facts.restored_verdict(2) else {
        panic!("waits");
    };
    assert!(
        why.contains("puts back ImportOnly once the activation finished"),
        "{why}"
    );
    assert_eq!(facts.restored_verdict(1), Verdict::Holds);
    let unset = AutoImportFacts::default();
    let Verdict::Waits(why) = unset.strategy_verdict("ImportAndSync") else {
        panic!("waits");
    };
    assert!(
        why.contains("autoImportStrategy unset (ImportOnly), not ImportAndSync"),
        "{why}"
    );
    let unreadable = AutoImportFacts {
        unreadable: Some("cannot read multicluster-engine/import-controller-config: 403".into()),
        ..AutoImportFacts::default()
    };
    assert!(
        matches!(unreadable.strategy_verdict("ImportAndSync"), Verdict::Waits(w) if w.contains("403"))
    );
}
