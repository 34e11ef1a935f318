//! Runs the corpus on kubefake and prepares the oracle's input.

use std::path::PathBuf;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kubefake::{FakeApiServer, WriteOutcome};
use serde_json::{json, Value};

use super::common::crds_dir;
use super::corpus::{Kind, Scenario};

const NS: &str = "ns";

/// apiVersion, kind, plural and schema (None: schemaless) of a scenario's kind.
pub struct KindInfo {
    pub gvk: GroupVersionKind,
    pub plural: String,
    pub schema: Value,
    pub status_subresource: bool,
}

fn builtin_schemas() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oracle/builtin-schemas.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Replaces `{"$ref": "Name"}` with `$defs.Name`.
fn resolve(v: &Value, defs: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(name) = m.get("$ref").and_then(Value::as_str) {
                return resolve(&defs[name], defs);
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), resolve(x, defs)))
                    .collect(),
            )
        }
        Value::Array(l) => Value::Array(l.iter().map(|x| resolve(x, defs)).collect()),
        other => other.clone(),
    }
}

pub fn kind_info(kind: Kind) -> KindInfo {
    match kind {
        Kind::ConfigMap | Kind::Deployment => {
            let b = builtin_schemas();
            let (gvk, plural, name) = match kind {
                Kind::ConfigMap => (
                    GroupVersionKind::gvk("", "v1", "ConfigMap"),
                    "configmaps",
                    "ConfigMap",
                ),
                _ => (
                    GroupVersionKind::gvk("apps", "v1", "Deployment"),
                    "deployments",
                    "Deployment",
                ),
            };
            KindInfo {
                status_subresource: matches!(kind, Kind::Deployment),
                gvk,
                plural: plural.into(),
                schema: resolve(&b[name], &b["$defs"]),
            }
        }
        Kind::Crd(file) => {
            let text = std::fs::read_to_string(crds_dir().join(file)).unwrap();
            let crd: Value = serde_yaml::from_str(&text).unwrap();
            let spec = &crd["spec"];
            let version = spec["versions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["storage"] == true)
                .unwrap();
            KindInfo {
                gvk: GroupVersionKind::gvk(
                    spec["group"].as_str().unwrap(),
                    version["name"].as_str().unwrap(),
                    spec["names"]["kind"].as_str().unwrap(),
                ),
                plural: spec["names"]["plural"].as_str().unwrap().into(),
                schema: version["schema"]["openAPIV3Schema"].clone(),
                status_subresource: version["subresources"].get("status").is_some(),
            }
        }
    }
}

fn object_name(i: usize) -> String {
    format!("s{i}")
}

fn full_body(info: &KindInfo, i: usize, body: &Value) -> Value {
    let mut obj = body.clone();
    let api_version = if info.gvk.group.is_empty() {
        info.gvk.version.clone()
    } else {
        format!("{}/{}", info.gvk.group, info.gvk.version)
    };
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(info.gvk.kind);
    if obj.get("metadata").is_none() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["name"] = json!(object_name(i));
    obj["metadata"]["namespace"] = json!(NS);
    obj
}

/// The oracle's input: scenarios with full bodies and schemas.
pub fn oracle_input(scenarios: &[Scenario]) -> Value {
    Value::Array(
        scenarios
            .iter()
            .enumerate()
            .map(|(i, sc)| {
                let info = kind_info(sc.kind);
                let steps: Vec<Value> = sc
                    .steps
                    .iter()
                    .map(|s| {
                        json!({"op": s.op, "manager": s.manager, "force": s.force,
                                    "object": full_body(&info, i, &s.body)})
                    })
                    .collect();
                json!({"name": sc.name, "schema": info.schema, "steps": steps,
                       "statusSubresource": info.status_subresource})
            })
            .collect(),
    )
}

/// Runs every scenario on one kubefake server (one object per scenario) and records, per
/// step, what the oracle records: status, message, conflicts, object, managedFields.
pub async fn run_kubefake(scenarios: &[Scenario], inputs: &Value) -> Vec<Value> {
    let server = FakeApiServer::start().await.expect("server starts");
    for sc in scenarios {
        if let Kind::Crd(file) = sc.kind {
            let _ = server.register_crd(&std::fs::read_to_string(crds_dir().join(file)).unwrap());
        }
    }
    server.ensure_namespace(NS);
    let client = server.client();
    let mut out = Vec::new();
    for (i, (sc, input)) in scenarios.iter().zip(inputs.as_array().unwrap()).enumerate() {
        let info = kind_info(sc.kind);
        let ar = ApiResource::from_gvk_with_plural(&info.gvk, &info.plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &ar);
        let name = object_name(i);
        let mut steps = Vec::new();
        for (step, st_in) in sc.steps.iter().zip(input["steps"].as_array().unwrap()) {
            let body = st_in["object"].clone();
            server.clear_writes();
            let result: Result<(), kube::Error> = match step.op {
                "apply" => {
                    let mut pp = PatchParams::apply(step.manager);
                    pp.force = step.force;
                    api.patch(&name, &pp, &Patch::Apply(&body))
                        .await
                        .map(|_| ())
                }
                "update" => {
                    let obj: DynamicObject = serde_json::from_value(body).unwrap();
                    let pp = PostParams {
                        field_manager: Some(step.manager.into()),
                        ..Default::default()
                    };
                    api.replace(&name, &pp, &obj).await.map(|_| ())
                }
                "create" => {
                    let obj: DynamicObject = serde_json::from_value(body).unwrap();
                    let pp = PostParams {
                        field_manager: Some(step.manager.into()),
                        ..Default::default()
                    };
                    api.create(&pp, &obj).await.map(|_| ())
                }
                "delete" => api
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ()),
                other => panic!("unknown op {other}"),
            };
            let mut r = json!({});
            match &result {
                Ok(()) => {
                    let outcome = server.writes().last().map(|w| w.outcome.clone());
                    r["status"] = json!(if outcome == Some(WriteOutcome::Created) {
                        201
                    } else {
                        200
                    });
                }
                Err(kube::Error::Api(e)) => {
                    r["status"] = json!(e.code);
                    r["message"] = json!(e.message);
                }
                Err(e) => {
                    r["status"] = json!(0);
                    r["message"] = json!(e.to_string());
                }
            }
            if let Some(obj) = server.get(&info.gvk, Some(NS), &name) {
                let (object, managed) = split_managed(obj);
                r["object"] = object;
                r["managedFields"] = managed;
            } else {
                r["managedFields"] = json!([]);
            }
            steps.push(r);
        }
        out.push(json!({"name": sc.name, "steps": steps}));
    }
    out
}

/// Removes server-set metadata and returns the object and its managedFields in the
/// oracle's shape.
fn split_managed(mut obj: Value) -> (Value, Value) {
    let md = obj["metadata"].as_object_mut().unwrap();
    let managed = md.remove("managedFields").unwrap_or(json!([]));
    for k in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
        md.remove(k);
    }
    let managed = managed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut e = json!({"manager": m["manager"], "operation": m["operation"], "fieldsV1": m["fieldsV1"]});
            if let Some(s) = m.get("subresource") {
                e["subresource"] = s.clone();
            }
            e
        })
        .collect();
    (obj, Value::Array(managed))
}
