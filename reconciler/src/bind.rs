//! Late binding: values only known at run time, such as the address an rsync-tls destination
//! publishes, read from the destination cluster's status file and set into the object before
//! it is applied. Until the value is known the object waits.

use hubdr::render::desired::ANNOTATION_LATE_BIND;
use hubdr::status::ClusterStatus;
use serde_json::Value;

/// A parsed `hubdr.io/late-bind` annotation:
/// `spec.rsyncTLS.address=<cluster>/ReplicationDestination/<namespace>/<name>#status.rsyncTLS.address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Where the value goes in our object, as a JSON pointer.
    pub target: String,
    pub cluster: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

pub fn parse(annotation: &str) -> Result<Binding, String> {
    let bad = || format!("malformed {ANNOTATION_LATE_BIND} annotation {annotation:?}");
    let (target, source) = annotation.split_once('=').ok_or_else(bad)?;
    let (object, _field) = source.split_once('#').ok_or_else(bad)?;
    let parts: Vec<&str> = object.split('/').collect();
    let [cluster, kind, namespace, name] = parts.as_slice() else {
        return Err(bad());
    };
    Ok(Binding {
        target: format!("/{}", target.replace('.', "/")),
        cluster: cluster.to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

/// The binding an object asks for, if any.
pub fn binding_of(object: &Value) -> Option<Result<Binding, String>> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_LATE_BIND))
        .and_then(Value::as_str)
        .map(parse)
}

/// The published value, from the other cluster's status (only destination addresses so far).
pub fn lookup(binding: &Binding, status: Option<&ClusterStatus>) -> Option<String> {
    let wanted = format!("{}/{}", binding.namespace, binding.name);
    let status = status?;
    match binding.kind.as_str() {
        "ReplicationDestination" => status
            .observed
            .replication_destinations
            .iter()
            .find(|d| d.name == wanted)
            .and_then(|d| d.address.clone()),
        _ => None,
    }
}

/// Set the bound value into the object.
pub fn set(object: &mut Value, binding: &Binding, value: &str) -> Result<(), String> {
    let (parent, leaf) = binding
        .target
        .rsplit_once('/')
        .ok_or("empty binding target")?;
    let slot = object
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("the object has no {parent} to bind {leaf} into"))?;
    slot.insert(leaf.to_string(), Value::String(value.to_string()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_binds_and_sets_the_destination_address() {
        let b = parse(
            "spec.rsyncTLS.address=west-1/ReplicationDestination/shop/db#status.rsyncTLS.address",
        )
        .unwrap();
        assert_eq!(b.target, "/spec/rsyncTLS/address");
        assert_eq!(
            (b.cluster.as_str(), b.namespace.as_str(), b.name.as_str()),
            ("west-1", "shop", "db")
        );
        let mut status: ClusterStatus = serde_yaml::from_str(
            "apiVersion: hubdr.io/v1alpha1\nkind: ClusterStatus\ncluster: west-1\nagentVersion: x\nupdatedAt: t\nsource: {}\npass: {outcome: Succeeded, reason: Applied}\nobserved:\n  replicationDestinations:\n  - {name: shop/db, address: 10.0.0.7}\n",
        )
        .unwrap();
        assert_eq!(lookup(&b, Some(&status)).as_deref(), Some("10.0.0.7"));
        status.observed.replication_destinations.clear();
        assert_eq!(lookup(&b, Some(&status)), None);
        assert_eq!(lookup(&b, None), None);
        let mut object = json!({"spec": {"rsyncTLS": {"keySecret": "psk"}}});
        set(&mut object, &b, "10.0.0.7").unwrap();
        assert_eq!(object["spec"]["rsyncTLS"]["address"], "10.0.0.7");
        assert!(parse("nonsense").is_err());
    }
}
