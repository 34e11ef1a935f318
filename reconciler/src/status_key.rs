//! The key the agent signs its status with. Generated in the agent's own cluster the first time
//! it starts and kept in a Secret in the agent's namespace (`hubdr-status-key-<cluster>`), which
//! the agent creates and then only reads. The key never leaves the cluster: it is not in git,
//! not in the status and not in any log (only its public half and key id are logged).
//!
//! The Secret holds `ed25519-seed` (the 32-byte private seed) and, for whoever registers the key
//! in the site, `public-key` (`ed25519:<base64>`). An operator may create it beforehand (bring
//! your own key); delete it to rotate (see README, Status signatures).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hubdr_core::object::ObjectId;
use hubdr_core::status::signature::AgentKey;
use hubdr_core::status::status_key_secret;
use serde_json::{json, Value};

use crate::kubeapi::ClusterApi;

/// The Secret's key holding the private seed.
pub const SEED_KEY: &str = "ed25519-seed";
/// The Secret's key holding the public key, `ed25519:<base64>`.
pub const PUBLIC_KEY: &str = "public-key";

fn secret_id(namespace: &str, cluster: &str) -> ObjectId {
    ObjectId {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(namespace.into()),
        name: status_key_secret(cluster),
    }
}

/// The agent's key from its Secret, creating both on first start.
pub async fn load_or_create(
    api: &mut ClusterApi,
    namespace: &str,
    cluster: &str,
) -> Result<AgentKey, String> {
    let id = secret_id(namespace, cluster);
    let cannot = |what: &str, e: &dyn std::fmt::Display| {
        format!(
            "cannot {what} the status signing key Secret {namespace}/{}: {e}; the status is published unsigned, and other clusters and `hubdr status` ignore it until this is fixed",
            id.name
        )
    };
    if let Some(found) = api.get(&id).await.map_err(|e| cannot("read", &e))? {
        let value = serde_json::to_value(found).map_err(|e| cannot("read", &e))?;
        return key_of(&value).map_err(|e| cannot("use", &e));
    }
    let key = AgentKey::generate().map_err(|e| cannot("create", &e))?;
    match api
        .create(&id, &secret(namespace, cluster, &key))
        .await
        .map_err(|e| cannot("create", &e))?
    {
        Some(_) => {
            tracing::info!(key = %key.public(), key_id = %key.public().id(), "created the status signing key");
            Ok(key)
        }
        // Created meanwhile (another replica): use that one.
        None => {
            let found = api
                .get(&id)
                .await
                .map_err(|e| cannot("read", &e))?
                .ok_or_else(|| cannot("read", &"it vanished right after it was created"))?;
            let value = serde_json::to_value(found).map_err(|e| cannot("read", &e))?;
            key_of(&value).map_err(|e| cannot("use", &e))
        }
    }
}

/// The Secret holding `key`.
pub fn secret(namespace: &str, cluster: &str, key: &AgentKey) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": status_key_secret(cluster),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "hubdr-agent"},
            "annotations": {"hubdr.io/description": "The key hubdr-agent signs its status with. Keep it here; register public-key in site.yaml (spec.agent.statusKeys) to pin it."},
        },
        "data": {
            SEED_KEY: STANDARD.encode(key.seed()),
            PUBLIC_KEY: STANDARD.encode(key.public().to_string()),
        },
    })
}

/// The key in a Secret (as the API returns it: `data` values in base64).
pub fn key_of(secret: &Value) -> Result<AgentKey, String> {
    let encoded = secret
        .pointer(&format!("/data/{SEED_KEY}"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!("it has no {SEED_KEY}; delete it and the agent creates a new key")
        })?;
    let seed: [u8; 32] = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            format!("its {SEED_KEY} is not 32 bytes; delete it and the agent creates a new key")
        })?;
    Ok(AgentKey::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_round_trips_and_bad_ones_are_explained() {
        let key = AgentKey::from_seed([9; 32]);
        let secret = secret("hubdr-agent", "west-1", &key);
        assert_eq!(secret["metadata"]["name"], "hubdr-status-key-west-1");
        assert_eq!(key_of(&secret).unwrap().public(), key.public());
        let public = STANDARD
            .decode(secret["data"][PUBLIC_KEY].as_str().unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(public).unwrap(), key.public().to_string());
        assert!(key_of(&json!({"data": {}}))
            .unwrap_err()
            .contains("has no ed25519-seed"));
        assert!(key_of(&json!({"data": {SEED_KEY: "AAAA"}}))
            .unwrap_err()
            .contains("not 32 bytes"));
    }
}
