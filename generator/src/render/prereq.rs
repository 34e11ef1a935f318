//! Prerequisites: Secrets and other objects a cluster must hold that hubdr only references.

use std::collections::{BTreeMap, BTreeSet};

use crate::index::Prerequisite;
use crate::site::{Method, Site};

pub fn prerequisites(site: &Site) -> BTreeMap<String, Vec<Prerequisite>> {
    let mut out: BTreeMap<String, BTreeSet<Prerequisite>> = BTreeMap::new();
    let spec = &site.spec;
    for (hub, p) in crate::site::api_server::prerequisites(spec) {
        out.entry(hub).or_default().insert(p);
    }
    let mut add =
        |cluster: &str, kind: &str, namespace: &str, name: &str, keys: &[&str], for_: String| {
            out.entry(cluster.to_string())
                .or_default()
                .insert(Prerequisite {
                    kind: kind.into(),
                    namespace: namespace.into(),
                    name: name.into(),
                    keys: keys.iter().map(|k| k.to_string()).collect(),
                    for_,
                    url: None,
                });
        };
    let git_keys = super::agent::credential_keys(spec.git.url.as_deref().unwrap_or_default());
    if !git_keys.is_empty() {
        let clusters = spec
            .hubs
            .iter()
            .map(|h| &h.name)
            .chain(spec.managed_clusters.iter().map(|c| &c.name));
        for cluster in clusters {
            add(
                cluster,
                "Secret",
                &spec.agent.namespace,
                &spec.agent.git_credentials_secret,
                &git_keys,
                "hubdr-agent's access to the git repository".into(),
            );
        }
    }
    for hub in &spec.hubs {
        let s = &spec.storage;
        add(
            &hub.name,
            "Secret",
            &spec.backup_namespace,
            &s.credentials_secret.name,
            &[s.credentials_secret.key.as_str()],
            "DataProtectionApplication backup location credentials".into(),
        );
        for l in &s.snapshot_locations {
            if let Some(c) = &l.credentials_secret {
                add(
                    &hub.name,
                    "Secret",
                    &spec.backup_namespace,
                    &c.name,
                    &[c.key.as_str()],
                    format!("snapshot location {}", l.name),
                );
            }
        }
        let disconnected = spec
            .disconnected
            .as_ref()
            .filter(|_| hub.disconnected != Some(false));
        if let Some(d) = disconnected {
            add(
                &hub.name,
                "CatalogSource",
                &d.catalog_source_namespace,
                &d.catalog_source,
                &[],
                "OADP operator install on a disconnected hub".into(),
            );
        }
    }
    if let Some(e) = &spec.etcd_backup {
        for c in crate::site::etcd_backup::selected(spec) {
            for (what, d) in [("snapshots", &e.snapshots), ("key archives", &e.keys)] {
                add(
                    c.name,
                    "Secret",
                    &e.namespace,
                    d.credentials_secret.as_deref().unwrap_or_default(),
                    &["rclone.conf"],
                    format!(
                        "etcd backup {what}: rclone remote [{}]; bucket {} must exist",
                        d.remote,
                        d.bucket()
                    ),
                );
            }
        }
    }
    let Some(volsync) = &spec.volsync else {
        return finish(out);
    };
    for r in &volsync.replications {
        let who = format!("replication {} ({})", r.name, r.method.as_str());
        add(
            &r.source.cluster,
            "PersistentVolumeClaim",
            &r.source.namespace,
            &r.source.pvc,
            &[],
            format!("{who}: the volume to protect"),
        );
        let destinations: Vec<_> = crate::site::validate::destination_specs(r).collect();
        // The method's Secret: its name, its keys on the source, and on each destination
        // (restic has none: its repository is read back on the restore side, below).
        let (secret, source_keys, destination_keys): (&str, &[&str], Option<&[&str]>) =
            match r.method {
                Method::RsyncTls => (
                    r.psk_secret.as_deref().unwrap_or_default(),
                    &["psk.txt"],
                    Some(&["psk.txt"]),
                ),
                Method::Rsync => (
                    r.ssh_keys_secret.as_deref().unwrap_or_default(),
                    &["source", "source.pub", "destination.pub"],
                    Some(&["destination", "destination.pub", "source.pub"]),
                ),
                Method::Rclone => (
                    r.rclone
                        .as_ref()
                        .map(|c| c.config_secret.as_str())
                        .unwrap_or_default(),
                    &["rclone.conf"],
                    Some(&["rclone.conf"]),
                ),
                Method::Restic => (
                    r.repository_secret.as_deref().unwrap_or_default(),
                    &["RESTIC_REPOSITORY", "RESTIC_PASSWORD"],
                    None,
                ),
            };
        add(
            &r.source.cluster,
            "Secret",
            &r.source.namespace,
            secret,
            source_keys,
            who.clone(),
        );
        if let Some(keys) = destination_keys {
            for d in &destinations {
                add(
                    &d.cluster,
                    "Secret",
                    &d.namespace,
                    secret,
                    keys,
                    who.clone(),
                );
            }
        }
        let restic_restore = r.restore.as_ref().filter(|_| r.method == Method::Restic);
        if let Some(restore) = restic_restore {
            add(
                &restore.cluster,
                "Secret",
                &restore.namespace,
                secret,
                source_keys,
                format!("{who} restore"),
            );
            add(
                &restore.cluster,
                "PersistentVolumeClaim",
                &restore.namespace,
                &restore.destination_pvc,
                &[],
                format!("{who} restore target"),
            );
        }
    }
    finish(out)
}

fn finish(out: BTreeMap<String, BTreeSet<Prerequisite>>) -> BTreeMap<String, Vec<Prerequisite>> {
    out.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}
