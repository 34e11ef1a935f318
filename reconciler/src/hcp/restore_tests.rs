use super::*;
use crate::hcp::state::Snapshot;

/// AWS's documented example of a pre-signed URL ("Authenticating Requests: Using Query
/// Parameters (AWS Signature Version 4)", Amazon S3 API Reference): GET test.txt of
/// examplebucket, us-east-1, 2013-05-24T00:00:00Z, valid 86400 s, with the documented example
/// credentials. The signature is the one AWS publishes.
#[test]
fn the_url_matches_aws_documented_sigv4_example() {
    let keys = S3Keys::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
    );
    let now: jiff::Timestamp = "2013-05-24T00:00:00Z".parse().unwrap();
    let url = presign(
        "examplebucket",
        "us-east-1",
        "test.txt",
        &keys,
        Duration::from_secs(86_400),
        &now,
    )
    .unwrap();
    assert_eq!(
        url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    // Another region signs for that region's endpoint; the expiry is what is asked.
    let url = presign(
        "snaps",
        "eu-west-1",
        "emea/clusters/t/run/etcd-0-snapshot.db",
        &keys,
        Duration::from_secs(1800),
        &now,
    )
    .unwrap();
    assert!(
        url.starts_with(
            "https://snaps.s3.eu-west-1.amazonaws.com/emea/clusters/t/run/etcd-0-snapshot.db?"
        ),
        "{url}"
    );
    assert!(url.contains("%2Feu-west-1%2Fs3%2F") && url.contains("X-Amz-Expires=1800"));
    assert!(
        !url.contains("wJalrXUtnFEMI"),
        "the secret key is never in the URL"
    );
}

#[test]
fn credentials_files_are_read_and_errors_show_no_value() {
    let k = parse_credentials(
        "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key=s3cr3t\n",
    )
    .unwrap();
    assert_eq!(
        (k.key.as_str(), k.secret.as_str(), k.token.as_deref()),
        ("AKIDEXAMPLE", "s3cr3t", None)
    );
    assert_eq!(format!("{k:?}"), "S3Keys([redacted])");
    let e = parse_credentials("aws_access_key_id = AKIDEXAMPLE\n").unwrap_err();
    assert!(
        e.contains("aws_secret_access_key") && !e.contains("AKIDEXAMPLE"),
        "{e}"
    );
}

fn target() -> Target {
    crate::hcp::flag::parse(
        "clusters/tenant-b;members=etcd-0,etcd-1;bucket=snaps;prefix=emea;secret=s3;restoreExpiry=600;encryptionKeySecret=k",
        "e",
        "u",
    )
    .unwrap()
}

#[test]
fn the_newest_snapshot_of_this_hosted_cluster_is_chosen() {
    let t = target();
    let snap = |member: &str, time: i64, object: &str| Snapshot {
        member: member.into(),
        time,
        revision: 1,
        hash: 1,
        size: 1,
        object: object.into(),
    };
    let state = SequenceState {
        last_snapshots: vec![
            snap(
                "etcd-1",
                100,
                "emea/clusters/tenant-b/r1/etcd-1-snapshot.db",
            ),
            snap(
                "etcd-0",
                100,
                "emea/clusters/tenant-b/r1/etcd-0-snapshot.db",
            ),
        ],
        ..Default::default()
    };
    let newest = newest_snapshot(&t, Some(&state), std::iter::empty()).unwrap();
    assert_eq!(
        newest.object,
        "emea/clusters/tenant-b/r1/etcd-0-snapshot.db"
    );
    // A signed status with a newer one (e.g. the old management cluster's) wins; one that
    // points outside the hosted cluster's own keys is ignored.
    let status: ClusterStatus = serde_yaml::from_str(
        "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: hub-a\nagentVersion: x\nupdatedAt: t\nsource: {}\npass: {outcome: Succeeded, reason: Applied}\nobserved:\n  hostedClusters:\n  - name: clusters/tenant-b\n    method: etcd-snapshot\n    lastSnapshots:\n    - {member: etcd-0, time: '1970-01-01T00:05:00Z', revision: 2, hash: 2, size: 2, object: emea/clusters/tenant-b/r2/etcd-0-snapshot.db}\n    - {member: etcd-0, time: '1970-01-01T01:00:00Z', revision: 3, hash: 3, size: 3, object: emea/clusters/other/r9/etcd-0-snapshot.db}\n    - {member: etcd-0, time: '1970-01-01T01:00:00Z', revision: 3, hash: 3, size: 3, object: emea/clusters/tenant-b/../other/x.db}\n",
    )
    .unwrap();
    let newest = newest_snapshot(&t, Some(&state), [&status].into_iter()).unwrap();
    assert_eq!(
        newest.object,
        "emea/clusters/tenant-b/r2/etcd-0-snapshot.db"
    );
    assert_eq!(newest_snapshot(&t, None, std::iter::empty()), None);
}

#[test]
fn error_messages_never_carry_the_url() {
    let url = "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2F&X-Amz-Signature=abc";
    let object = json!({"spec": {"etcd": {"managed": {"storage": {"restoreSnapshotURL": [url]}}}}});
    let scrubbed = crate::apply::scrub_url(&format!("Invalid value: \"{url}\": bad"), &object);
    assert!(
        !scrubbed.contains("X-Amz") && !scrubbed.contains("AKID"),
        "{scrubbed}"
    );
    assert_eq!(
        crate::apply::scrub_url("no url here", &object),
        "no url here"
    );
}
