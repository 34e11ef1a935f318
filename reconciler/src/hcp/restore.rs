//! `restoreFrom: latest`: the HostedCluster the repository renders with a late-bound
//! `restoreSnapshotURL` (`hubdr.io/late-bind: spec.etcd.managed.storage.restoreSnapshotURL=
//! <cluster>/HostedClusterSnapshot/<ns>/<name>#presignedURL`) is created by its management
//! cluster's agent from the newest snapshot of that hosted cluster:
//!
//! 1. only if the agent's own configuration (`--hcp-snapshot ...;restoreExpiry=<s>`) allows
//!    restoring that hosted cluster: the repository alone never makes the agent read a
//!    Secret or sign a URL;
//! 2. only if the HostedCluster does not exist: a snapshot restores only at creation, and the
//!    URL is never patched into an existing HostedCluster (the CRD makes it immutable);
//! 3. only if the etcd encryption key Secret is there (the snapshot is encrypted with it);
//! 4. from the newest snapshot recorded in this agent's state, or else in a signed status file
//!    (object names only, checked to lie under the hosted cluster's own prefix);
//! 5. with a SigV4 pre-signed GET URL (`rusty-s3`, sans-IO) that expires after the configured
//!    time, signed with the bucket credentials read from the Secret the site names, in the
//!    hosted cluster's namespace only.
//!
//! The URL and the credentials are never logged, never in the status or the inventory (the
//! messages name the snapshot's object, never the URL) and never in git. The HostedCluster is
//! created with a plain create (409 when it appeared meanwhile: refused, nothing changed),
//! annotated `hubdr.io/restored-from: <object>`, so later passes skip it.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hubdr_core::labels::{ANNOTATION_RESTORED_FROM, LATE_BIND_HOSTED_SNAPSHOT};
use hubdr_core::object::ObjectId;
use hubdr_core::status::ClusterStatus;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde_json::{json, Value};

use crate::apply::{REFUSED, SKIPPED};
use crate::bind::Binding;
use crate::kubeapi::ClusterApi;

use super::state::SequenceState;
use super::Target;

/// The most of a credentials Secret value the agent reads.
pub const CREDENTIALS_MAX_BYTES: usize = 64 * 1024;

/// What `--hcp-snapshot` allows for a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// How long a pre-signed URL is valid, in seconds.
    pub expiry_secs: u64,
    /// The Secret (in the HostedCluster's namespace) with the etcd encryption key.
    pub encryption_key_secret: String,
}

/// Bucket credentials from an AWS credentials file; never printed.
pub struct S3Keys {
    key: String,
    secret: String,
    token: Option<String>,
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Keys([redacted])")
    }
}

impl S3Keys {
    pub fn new(key: &str, secret: &str, token: Option<&str>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
            token: token.map(str::to_string),
        }
    }
}

/// Parse an AWS credentials file (`aws_access_key_id = ...`, `aws_secret_access_key = ...`,
/// optionally `aws_session_token`), as OADP and the snapshot Jobs read it: the first value of
/// each. Errors name what is missing, never a value.
pub fn parse_credentials(text: &str) -> Result<S3Keys, String> {
    let value = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(key), Some(secret)) => Ok(S3Keys {
            key,
            secret,
            token: value("aws_session_token"),
        }),
        _ => Err(
            "it is not an AWS credentials file with aws_access_key_id and aws_secret_access_key"
                .into(),
        ),
    }
}

/// The SigV4 pre-signed GET URL of `object` in `bucket` (virtual-hosted style), valid for
/// `expiry` from `now`.
pub fn presign(
    bucket: &str,
    region: &str,
    object: &str,
    keys: &S3Keys,
    expiry: Duration,
    now: &jiff::Timestamp,
) -> Result<String, String> {
    let endpoint = if region == "us-east-1" {
        "https://s3.amazonaws.com".to_string()
    } else {
        format!("https://s3.{region}.amazonaws.com")
    };
    let endpoint: url::Url = endpoint
        .parse()
        .map_err(|e| format!("bad region {region:?}: {e}"))?;
    let bucket = Bucket::new(
        endpoint,
        UrlStyle::VirtualHost,
        bucket.to_string(),
        region.to_string(),
    )
    .map_err(|e| format!("bucket {bucket:?}: {e}"))?;
    let credentials = match &keys.token {
        Some(t) => Credentials::new_with_token(keys.key.clone(), keys.secret.clone(), t.clone()),
        None => Credentials::new(keys.key.clone(), keys.secret.clone()),
    };
    Ok(bucket
        .get_object(Some(&credentials), object)
        .sign_with_time(expiry, now)
        .to_string())
}

/// A snapshot to restore from: its object key and when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub object: String,
    pub time: i64,
    pub member: String,
}

/// Whether `object` is a key this hosted cluster's snapshots use (under `<prefix>/<ns>/<name>/`,
/// plain characters, no `..`): a status file cannot point the URL at another object.
fn plausible_key(target: &Target, object: &str) -> bool {
    let base = target.object_key("", "");
    let base = base.trim_end_matches("/-snapshot.db").trim_end_matches('/');
    object.len() <= 1024
        && object.starts_with(&format!("{base}/"))
        && !object.contains("..")
        && object
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

/// The newest snapshot of `target`: from this agent's state, or from a signed status file
/// (the management cluster's own, or another's after a move); etcd-0's of the newest run.
pub fn newest_snapshot<'a>(
    target: &Target,
    state: Option<&SequenceState>,
    statuses: impl Iterator<Item = &'a ClusterStatus>,
) -> Option<Newest> {
    let name = format!("{}/{}", target.namespace, target.name);
    let mut found: Vec<Newest> = state
        .into_iter()
        .flat_map(|s| &s.last_snapshots)
        .map(|s| Newest {
            object: s.object.clone(),
            time: s.time,
            member: s.member.clone(),
        })
        .collect();
    for status in statuses {
        for h in status
            .observed
            .hosted_clusters
            .iter()
            .filter(|h| h.name == name)
        {
            for s in &h.last_snapshots {
                if let Ok(t) = s.time.parse::<jiff::Timestamp>() {
                    found.push(Newest {
                        object: s.object.clone(),
                        time: t.as_second(),
                        member: s.member.clone(),
                    });
                }
            }
        }
    }
    found
        .into_iter()
        .filter(|n| plausible_key(target, &n.object))
        .max_by_key(|n| {
            (
                n.time,
                n.member == "etcd-0",
                std::cmp::Reverse(n.member.clone()),
            )
        })
}

fn secret_id(namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// Fill the pre-signed URL into `object` (the HostedCluster `binding` names), or say why not:
/// `Err` is a `blocked` reason (waiting, [`REFUSED`] or [`SKIPPED`]).
#[allow(clippy::too_many_arguments)]
pub async fn bind(
    api: &mut ClusterApi,
    agent_namespace: &str,
    cluster: &str,
    targets: &[Target],
    statuses: &[&ClusterStatus],
    object: &mut Value,
    binding: &Binding,
    now: &jiff::Timestamp,
) -> Result<(), String> {
    let hc = format!("HostedCluster {}/{}", binding.namespace, binding.name);
    let placed = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        == Some(binding.namespace.as_str())
        && object.pointer("/metadata/name").and_then(Value::as_str) == Some(binding.name.as_str());
    if binding.cluster != cluster || !placed || object["kind"] != "HostedCluster" {
        return Err(format!(
            "{REFUSED}the {LATE_BIND_HOSTED_SNAPSHOT} binding must be on {hc} itself and name this cluster ({cluster}), not {}; re-render with `hubdr render`",
            binding.cluster
        ));
    }
    let Some((target, restore)) = targets
        .iter()
        .find(|t| t.namespace == binding.namespace && t.name == binding.name)
        .and_then(|t| t.restore.as_ref().map(|r| (t, r)))
    else {
        return Err(format!(
            "{REFUSED}this agent's configuration does not allow restoring {hc} (its --hcp-snapshot has no restoreExpiry): re-install the agent from agents/{cluster}.yaml of the render that sets restoreFrom: latest"
        ));
    };
    let id = ObjectId::of(object).map_err(|e| format!("{REFUSED}{e}"))?;
    match api.get(&id).await {
        Ok(Some(live)) => {
            return Err(match live.metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION_RESTORED_FROM)) {
                Some(from) => format!(
                    "{SKIPPED}{hc} was created from snapshot {from}; a snapshot restores only at creation, so it is not applied again (remove restoreFrom from the site once the restore is done)"
                ),
                None => format!(
                    "{REFUSED}{hc} already exists: restoreFrom: latest restores a snapshot only when it creates the HostedCluster, and never patches a restore URL into an existing one; nothing was applied (to restore it, delete it and namespace {} first; otherwise remove restoreFrom from the site)",
                    target.control_plane_namespace()
                ),
            })
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot read {hc}: {e}; retrying next pass")),
    }
    let key_secret = &restore.encryption_key_secret;
    match api.get(&secret_id(&target.namespace, key_secret)).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(format!(
                "waiting for Secret {}/{key_secret}, the etcd encryption key: the snapshot restores only with the SAME key it was taken with; recreate it from the saved key",
                target.namespace
            ))
        }
        Err(e) => {
            return Err(format!(
                "cannot read Secret {}/{key_secret}: {e}; retrying next pass",
                target.namespace
            ))
        }
    }
    let state = super::edge::load(api, agent_namespace, target)
        .await
        .ok()
        .and_then(Result::ok);
    let Some(newest) = newest_snapshot(target, state.as_ref(), statuses.iter().copied()) else {
        return Err(format!(
            "waiting for a snapshot of hosted cluster {}/{}: none is recorded in this agent's state or in a signed status file; nothing is applied until one exists",
            target.namespace, target.name
        ));
    };
    let keys = read_keys(api, target).await?;
    let region = target.region.as_deref().unwrap_or("us-east-1");
    let url = presign(
        &target.bucket,
        region,
        &newest.object,
        &keys,
        Duration::from_secs(restore.expiry_secs),
        now,
    )
    .map_err(|e| {
        format!(
            "{REFUSED}cannot pre-sign s3://{}/{}: {e}",
            target.bucket, newest.object
        )
    })?;
    let storage = object
        .pointer_mut("/spec/etcd/managed/storage")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{REFUSED}{hc} has no spec.etcd.managed.storage to set the restore URL into; re-render with `hubdr render`"))?;
    storage.insert("restoreSnapshotURL".into(), json!([url]));
    let annotations = object["metadata"]
        .as_object_mut()
        .expect("checked above")
        .entry("annotations")
        .or_insert_with(|| json!({}));
    annotations[ANNOTATION_RESTORED_FROM] = json!(newest.object);
    Ok(())
}

/// The bucket credentials from the Secret the site names, in the hosted cluster's namespace.
async fn read_keys(api: &mut ClusterApi, target: &Target) -> Result<S3Keys, String> {
    let (ns, name, key) = (
        &target.namespace,
        &target.credentials_secret,
        &target.credentials_key,
    );
    let secret = match api.get(&secret_id(ns, name)).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(format!(
                "waiting for Secret {ns}/{name} (the bucket credentials, key {key}) to pre-sign the snapshot's URL"
            ))
        }
        Err(e) => return Err(format!("cannot read Secret {ns}/{name}: {e}; retrying next pass")),
    };
    let bad = |why: &str| format!("{REFUSED}Secret {ns}/{name} key {key}: {why}; fix the Secret");
    let encoded = secret
        .data
        .pointer(&format!("/data/{key}"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing"))?;
    if encoded.len() > CREDENTIALS_MAX_BYTES * 4 / 3 + 4 {
        return Err(bad(&format!("larger than {CREDENTIALS_MAX_BYTES} bytes")));
    }
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad("not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text"))?;
    parse_credentials(&text).map_err(|e| bad(&e))
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
