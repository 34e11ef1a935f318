//! Late binding: values only known at run time, such as the address an rsync-tls destination
//! publishes, read from the destination cluster's status file and set into the object before
//! it is applied. Until the value is known the object waits.

use hubdr_core::labels::ANNOTATION_LATE_BIND;
use hubdr_core::network::{self, Network, ANNOTATION_LATE_BIND_NETWORK};
use hubdr_core::status::ClusterStatus;
use serde_json::Value;

use crate::apply::REFUSED;

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

/// Whether `address`, published by the binding's cluster, may be bound into `object`: it must
/// lie in the network the destination declares (annotation `hubdr.io/late-bind-network`) and is
/// never loopback, link-local or a metadata address. The error is a `blocked` reason starting
/// with [`REFUSED`].
pub fn check_address(object: &Value, binding: &Binding, address: &str) -> Result<(), String> {
    let declared = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_LATE_BIND_NETWORK))
        .and_then(Value::as_str)
        .map(Network::parse_annotation)
        .transpose()
        .map_err(|e| format!("{REFUSED}{e}"))?;
    network::check_address(address, &binding.cluster, declared.as_ref()).map_err(|why| {
        format!(
            "{REFUSED}the address {} published for {} {}/{}: {why}; nothing is applied for this object until it publishes an allowed address",
            binding.cluster, binding.kind, binding.namespace, binding.name
        )
    })
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

    #[test]
    fn addresses_outside_the_declared_network_are_refused() {
        let b = parse(
            "spec.rsyncTLS.address=west-1/ReplicationDestination/shop/db#status.rsyncTLS.address",
        )
        .unwrap();
        let declared = json!({"metadata": {"annotations": {ANNOTATION_LATE_BIND_NETWORK: "addresses=10.0.0.0/8;domains=svc.clusterset.local"}}});
        assert!(check_address(&declared, &b, "10.1.2.3").is_ok());
        assert_eq!(
            check_address(&declared, &b, "203.0.113.66").unwrap_err(),
            "refused: the address west-1 published for ReplicationDestination shop/db: 203.0.113.66 is outside the network west-1 declares \
             (addresses 10.0.0.0/8; domains svc.clusterset.local; spec.managedClusters[west-1].network); nothing is applied for this object until it publishes an allowed address"
        );
        let undeclared = json!({"metadata": {}});
        assert!(check_address(&undeclared, &b, "203.0.113.66").is_ok());
        assert!(check_address(&undeclared, &b, "169.254.169.254")
            .unwrap_err()
            .contains("link-local"));
        let broken = json!({"metadata": {"annotations": {ANNOTATION_LATE_BIND_NETWORK: "x"}}});
        assert!(check_address(&broken, &b, "10.1.2.3")
            .unwrap_err()
            .starts_with("refused: malformed hubdr.io/late-bind-network"));
    }
}
