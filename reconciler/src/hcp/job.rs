//! The snapshot Job of one etcd member, and reading its result back. Pure.
//!
//! The Job runs in the control-plane namespace. An init container with etcdctl saves the
//! snapshot from the member's own endpoint (`https://<member>.etcd-discovery.<ns>.svc:2379`)
//! with the etcd client certificates (Secret `etcd-client-tls`), then checks it with
//! `etcdctl snapshot status -w json`. The main container uploads it to S3 with
//! `curl --aws-sigv4` (the credentials file is read from the mounted Secret inside the pod,
//! never by the agent, never echoed) and writes the status JSON as its termination message,
//! which the agent reads from the pod. `backoffLimit: 0`: a failed snapshot fails the run
//! (which resumes) instead of retrying with the API down.

use serde_json::{json, Value};

use super::Target;

/// The Secret with the etcd client certificates in a HyperShift control-plane namespace.
pub const ETCD_CLIENT_SECRET: &str = "etcd-client-tls";
/// Label on the run's Jobs (the run id), to find and delete them.
pub const RUN_LABEL: &str = "hubdr.io/hcp-run";
/// The most of a termination message the agent reads (the kubelet caps it at 4096 bytes).
pub const RESULT_MAX_BYTES: usize = 4096;

pub fn job_name(run: &str, member: &str) -> String {
    format!("hubdr-snapshot-{member}-{run}")
}

const SAVE: &str = r#"set -eu
ETCDCTL_API=3 etcdctl --cacert /etc/etcd/tls/client/etcd-client-ca.crt \
  --cert /etc/etcd/tls/client/etcd-client.crt --key /etc/etcd/tls/client/etcd-client.key \
  --endpoints="$ENDPOINT" snapshot save /snapshot/snapshot.db
ETCDCTL_API=3 etcdctl -w json snapshot status /snapshot/snapshot.db > /snapshot/status.json
"#;

const UPLOAD: &str = r#"set -eu
set +x
cred() { grep "^[[:space:]]*$1" /credentials/file | head -n1 | cut -d= -f2 | tr -d ' '; }
curl --fail --silent --show-error --aws-sigv4 "aws:amz:${REGION}:s3" \
  --user "$(cred aws_access_key_id):$(cred aws_secret_access_key)" \
  -T /snapshot/snapshot.db "${URL}"
cat /snapshot/status.json > /dev/termination-log
"#;

/// The Job that snapshots `member` for run `run`.
pub fn job(target: &Target, run: &str, member: &str) -> Value {
    let ns = target.control_plane_namespace();
    let region = target.region.clone().unwrap_or_else(|| "us-east-1".into());
    let host = if region == "us-east-1" {
        format!("{}.s3.amazonaws.com", target.bucket)
    } else {
        format!("{}.s3.{region}.amazonaws.com", target.bucket)
    };
    let url = format!("https://{host}/{}", target.object_key(run, member));
    let endpoint = format!("https://{member}.etcd-discovery.{ns}.svc:2379");
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(run, member),
            "namespace": ns,
            "labels": {
                "app.kubernetes.io/managed-by": "hubdr-agent",
                RUN_LABEL: run,
                "hubdr.io/etcd-member": member,
            },
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": target.max_api_down_secs.max(60),
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {RUN_LABEL: run}},
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{
                        "name": "save",
                        "image": target.etcd_image,
                        "command": ["/bin/sh", "-c", SAVE],
                        "env": [{"name": "ENDPOINT", "value": endpoint}],
                        "volumeMounts": [
                            {"name": "client-tls", "mountPath": "/etc/etcd/tls/client", "readOnly": true},
                            {"name": "snapshot", "mountPath": "/snapshot"},
                        ],
                    }],
                    "containers": [{
                        "name": "upload",
                        "image": target.upload_image,
                        "command": ["/bin/sh", "-c", UPLOAD],
                        "env": [
                            {"name": "REGION", "value": region},
                            {"name": "URL", "value": url},
                        ],
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {"name": "credentials", "mountPath": "/credentials", "readOnly": true},
                            {"name": "snapshot", "mountPath": "/snapshot", "readOnly": true},
                        ],
                    }],
                    "volumes": [
                        {"name": "client-tls", "secret": {"secretName": ETCD_CLIENT_SECRET}},
                        {"name": "credentials", "secret": {
                            "secretName": target.credentials_secret,
                            "items": [{"key": target.credentials_key, "path": "file"}],
                        }},
                        {"name": "snapshot", "emptyDir": {}},
                    ],
                },
            },
        },
    })
}

/// The snapshot status a Job's pod reported (`etcdctl -w json snapshot status`): revision,
/// hash, size. Untrusted: size-limited and strictly typed.
pub fn parse_result(message: &str) -> Result<(u64, u64, u64), String> {
    if message.len() > RESULT_MAX_BYTES {
        return Err(format!(
            "the snapshot status is {} bytes (max {RESULT_MAX_BYTES})",
            message.len()
        ));
    }
    let v: Value = serde_json::from_str(message.trim())
        .map_err(|e| format!("the snapshot status is not JSON: {e}"))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the snapshot status has no numeric {k}"))
    };
    let (revision, hash, size) = (field("revision")?, field("hash")?, field("totalSize")?);
    if size == 0 {
        return Err("the snapshot is empty (totalSize 0)".into());
    }
    Ok((revision, hash, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_read_strictly() {
        assert_eq!(
            parse_result(r#"{"hash":3,"revision":2,"totalKey":5,"totalSize":4096}"#),
            Ok((2, 3, 4096))
        );
        assert!(parse_result("oops").unwrap_err().contains("not JSON"));
        assert!(parse_result(r#"{"hash":3,"revision":"2","totalSize":1}"#)
            .unwrap_err()
            .contains("revision"));
        assert!(parse_result(r#"{"hash":3,"revision":2,"totalSize":0}"#)
            .unwrap_err()
            .contains("empty"));
        assert!(parse_result(&"x".repeat(5000)).unwrap_err().contains("max"));
    }
}
