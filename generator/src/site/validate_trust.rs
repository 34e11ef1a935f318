//! Rules for what the site declares about trust between clusters: the registered status keys
//! (`spec.agent.statusKeys`) and the networks late-bound addresses must stay in
//! (`spec.managedClusters[].network`). Pure: site in, diagnostics out.

use std::collections::HashSet;

use super::diagnostic::Diagnostic;
use super::model::{Method, SiteSpec};
use crate::network::{parse_domain, Cidr};
use crate::status::signature::StatusKey;
use crate::status::status_key_secret;

pub fn validate(spec: &SiteSpec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    status_keys(spec, &mut out);
    networks(spec, &mut out);
    out
}

fn status_keys(spec: &SiteSpec, out: &mut Vec<Diagnostic>) {
    let clusters: HashSet<&str> = spec
        .hubs
        .iter()
        .map(|h| h.name.as_str())
        .chain(spec.managed_clusters.iter().map(|c| c.name.as_str()))
        .collect();
    for (cluster, key) in &spec.agent.status_keys {
        let path = format!("spec.agent.statusKeys.{cluster}");
        if !clusters.contains(cluster.as_str()) {
            out.push(Diagnostic::error(
                path.clone(),
                format!("{cluster:?} is not a hub or managed cluster of this site"),
                "register keys only for clusters in spec.hubs or spec.managedClusters",
            ));
        }
        if let Err(message) = StatusKey::parse(key) {
            out.push(Diagnostic::error(
                path,
                message,
                format!(
                    "copy the public key of {cluster}'s agent: kubectl -n {} get secret {} -o jsonpath='{{.data.public-key}}' | base64 -d",
                    spec.agent.namespace,
                    status_key_secret(cluster)
                ),
            ));
        }
    }
}

fn networks(spec: &SiteSpec, out: &mut Vec<Diagnostic>) {
    // Destinations whose address the source's agent binds at run time.
    let late_bound: HashSet<&str> = spec
        .volsync
        .iter()
        .flat_map(|v| &v.replications)
        .filter(|r| matches!(r.method, Method::RsyncTls | Method::Rsync))
        .filter_map(|r| r.destination.as_ref())
        .filter(|d| d.address.is_none())
        .map(|d| d.cluster.as_str())
        .collect();
    for (i, c) in spec.managed_clusters.iter().enumerate() {
        let path = format!("spec.managedClusters[{i}].network");
        let Some(network) = &c.network else {
            if late_bound.contains(c.name.as_str()) {
                out.push(Diagnostic::warning(
                    path,
                    format!(
                        "managed cluster {:?} publishes rsync addresses that other clusters bind at run time, but declares no network: \
                         any address its status names is used except loopback, link-local (cloud metadata) and unspecified ones",
                        c.name
                    ),
                    "declare where its services are: network: {addresses: [10.0.0.0/16], domains: [elb.amazonaws.com]}",
                ));
            }
            continue;
        };
        if network.addresses.is_empty() && network.domains.is_empty() {
            out.push(Diagnostic::error(
                path.clone(),
                "the network lists no address and no domain, so every late-bound address would be refused",
                "list the CIDRs (addresses) and DNS suffixes (domains) its services may have, or remove network",
            ));
        }
        for (j, cidr) in network.addresses.iter().enumerate() {
            if let Err(message) = Cidr::parse(cidr) {
                out.push(Diagnostic::error(
                    format!("{path}.addresses[{j}]"),
                    message,
                    "write a CIDR such as 10.0.0.0/16 or fd00::/8",
                ));
            }
        }
        for (j, domain) in network.domains.iter().enumerate() {
            if let Err(message) = parse_domain(domain) {
                out.push(Diagnostic::error(
                    format!("{path}.domains[{j}]"),
                    message,
                    "write a DNS suffix such as svc.clusterset.local or elb.amazonaws.com",
                ));
            }
        }
    }
}
