//! Objects the installed schema refuses: kube-apiserver's apply engine answers 500 for a
//! field the CRD does not declare (an operator older than the rendering) or a list-map with
//! a duplicate key. The agent reports them as rejections, at once, without retrying.

mod support;

use hubdr::render::ObjectId;
use hubdr_agent::changeset::Action;
use serde_json::{json, Value};
use support::*;

fn multiclusterhub(objects: &[Value]) -> usize {
    objects
        .iter()
        .position(|o| o["kind"] == "MultiClusterHub")
        .expect("the hub renders a MultiClusterHub")
}

async fn rejected(edit: impl FnOnce(&mut Value)) -> (String, usize) {
    let rendered = render(EXAMPLE_SITE);
    let server = fake().await;
    let mut objects = cluster_objects(&rendered, "hub-a");
    ensure_prerequisite_namespaces(&server, &objects);
    let i = multiclusterhub(&objects);
    edit(&mut objects[i]);
    let id = ObjectId::of(&objects[i]).unwrap();
    let name = objects[i]["metadata"]["name"].as_str().unwrap().to_string();
    let mut api = cluster_api(&server);
    let report = run_pass(&mut api, &pass_config("hub-a"), &objects).await;
    let message = match action(&report.changes, &id.to_string()) {
        Action::Failed(m) => m.clone(),
        other => panic!("{id}: expected a failure, got {other:?}"),
    };
    (message, writes_to(&server, "multiclusterhubs", &name).len())
}

#[tokio::test]
async fn a_field_the_installed_crd_does_not_know_is_a_rejection_not_retried() {
    let (message, calls) = rejected(|mch| {
        mch["spec"]["fieldFromNewerOperator"] = json!(true);
    })
    .await;
    assert!(
        message.contains("rejected by the installed schema")
            && message.contains(".spec.fieldFromNewerOperator: field not declared in schema"),
        "{message}"
    );
    assert!(!message.contains("gave up"), "not retried: {message}");
    assert_eq!(calls, 1, "one call, no retries: {message}");
}

#[tokio::test]
async fn a_duplicate_list_map_key_is_a_rejection() {
    let (message, calls) = rejected(|mch| {
        mch["spec"]["overrides"] = json!({"components": [
            {"name": "cluster-backup", "enabled": true},
            {"name": "cluster-backup", "enabled": false}]});
    })
    .await;
    assert!(
        message.contains("duplicate entries for key [name=\"cluster-backup\"]"),
        "{message}"
    );
    assert!(!message.contains("gave up"), "{message}");
    assert_eq!(calls, 1, "{message}");
}
