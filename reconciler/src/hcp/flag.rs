//! `--hcp-snapshot`: a hosted cluster this agent snapshots, from its install file (its own
//! configuration, never the repository).

use super::Target;

pub const DEFAULT_ETCD_IMAGE: &str = "registry.redhat.io/openshift4/ose-etcd-rhel9:latest";
pub const DEFAULT_UPLOAD_IMAGE: &str = "registry.access.redhat.com/ubi9/ubi-minimal:latest";

fn label(what: &str, v: &str) -> Result<(), String> {
    hubdr_core::units::check_dns1123_label(v).map_err(|e| format!("{what}: {e}"))
}

/// Parse `<ns>/<name>;members=a,b;maxApiDown=<s>;interval=<s>;bucket=..;prefix=..;region=..;secret=..;key=..`
/// and, with `restoreFrom: latest`, `;restoreExpiry=<s>;encryptionKeySecret=..`.
pub fn parse(value: &str, etcd_image: &str, upload_image: &str) -> Result<Target, String> {
    let bad = |why: String| format!("--hcp-snapshot {value:?}: {why}");
    let mut parts = value.split(';');
    let (namespace, name) = parts
        .next()
        .and_then(|p| p.split_once('/'))
        .ok_or_else(|| bad("starts with <namespace>/<name>".into()))?;
    label("namespace", namespace).map_err(bad)?;
    label("name", name).map_err(bad)?;
    let mut t = Target {
        name: name.into(),
        namespace: namespace.into(),
        members: Vec::new(),
        max_api_down_secs: 600,
        interval_secs: 86_400,
        bucket: String::new(),
        prefix: None,
        region: None,
        credentials_secret: String::new(),
        credentials_key: "cloud".into(),
        etcd_image: etcd_image.into(),
        upload_image: upload_image.into(),
        restore: None,
    };
    let mut restore_expiry = None;
    let mut encryption_key_secret = None;
    let number = |k: &str, v: &str| -> Result<i64, String> {
        v.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("{k} must be a positive number of seconds")))
    };
    for part in parts {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} is not key=value")))?;
        match k {
            "members" => {
                t.members = v.split(',').map(str::to_string).collect();
                for m in &t.members {
                    if !["etcd-0", "etcd-1", "etcd-2"].contains(&m.as_str()) {
                        return Err(bad(format!("{m:?} is not an etcd member (etcd-0..2)")));
                    }
                }
            }
            "maxApiDown" => t.max_api_down_secs = number(k, v)?,
            "interval" => t.interval_secs = number(k, v)?,
            "bucket" => t.bucket = v.into(),
            "prefix" => t.prefix = Some(v.into()),
            "region" => t.region = Some(v.into()),
            "secret" => t.credentials_secret = v.into(),
            "key" => t.credentials_key = v.into(),
            "restoreExpiry" => restore_expiry = Some(number(k, v)? as u64),
            "encryptionKeySecret" => {
                hubdr_core::units::check_dns1123_subdomain(v)
                    .map_err(|e| bad(format!("encryptionKeySecret: {e}")))?;
                encryption_key_secret = Some(v.to_string());
            }
            _ => return Err(bad(format!("unknown key {k:?}"))),
        }
    }
    t.restore = match (restore_expiry, encryption_key_secret) {
        (Some(expiry_secs), Some(encryption_key_secret)) => Some(super::restore::Restore {
            expiry_secs,
            encryption_key_secret,
        }),
        (None, None) => None,
        _ => {
            return Err(bad(
                "restoreExpiry and encryptionKeySecret go together (restoreFrom: latest)".into(),
            ))
        }
    };
    if t.members.is_empty() || t.bucket.is_empty() || t.credentials_secret.is_empty() {
        return Err(bad("members, bucket and secret are required".into()));
    }
    for (what, v) in [("bucket", &t.bucket), ("secret", &t.credentials_secret)] {
        hubdr_core::units::check_dns1123_subdomain(v).map_err(|e| bad(format!("{what}: {e}")))?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_renderer_writes_the_agent_reads() {
        let site: hubdr::site::hosted::HostedCluster = serde_yaml::from_str(
            "{name: tenant-b, managementCluster: hub-a, method: etcd-snapshot, availabilityPolicy: HighlyAvailable, schedule: '0 */4 * * *', maxApiDowntime: 5m, destination: {bucket: snaps, prefix: emea, region: eu-west-1, credentialsSecret: {name: hcp-s3}}, encryptionKeySecret: k}",
        )
        .unwrap();
        let flag = hubdr::render::hosted::snapshot_flag(&site);
        let t = parse(&flag, "e", "u").unwrap();
        assert_eq!(t.members, ["etcd-0", "etcd-1", "etcd-2"]);
        assert_eq!((t.max_api_down_secs, t.interval_secs), (300, 4 * 3600));
        assert_eq!(t.control_plane_namespace(), "clusters-tenant-b");
        assert_eq!(
            (t.prefix.as_deref(), t.region.as_deref()),
            (Some("emea"), Some("eu-west-1"))
        );
        assert_eq!(
            (t.credentials_secret.as_str(), t.credentials_key.as_str()),
            ("hcp-s3", "cloud")
        );
        for (bad, says) in [
            ("tenant-b", "starts with"),
            (
                "clusters/tenant-b;members=etcd-7;bucket=b;secret=s",
                "etcd member",
            ),
            ("clusters/tenant-b;members=etcd-0;bucket=b", "required"),
            (
                "clusters/tenant-b;members=etcd-0;bucket=b;secret=s;maxApiDown=-1",
                "positive",
            ),
            ("clusters/Bad;members=etcd-0;bucket=b;secret=s", "name"),
            (
                "clusters/tenant-b;members=etcd-0;bucket=b;secret=s;token=x",
                "unknown key",
            ),
        ] {
            let e = parse(bad, "e", "u").unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
