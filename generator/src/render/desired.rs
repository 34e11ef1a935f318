//! What each cluster should hold, as template contexts. Pure: site in, object plans out.
//!
//! Waves order the objects inside a cluster (lower first; deletes run in reverse):
//! hub: 0 MultiClusterHub / MultiClusterEngine, 1 DataProtectionApplication, 2 BackupSchedule / Restore,
//! 3 ManagedClusterAddOn; managed cluster: 0 Namespace, 1 ReplicationDestination /
//! ReplicationSource, 2 PersistentVolumeClaim filled from a replica.

use std::collections::HashMap;

use rayon::prelude::*;
use serde_json::{json, Map, Value};

use crate::gates::{self, Gate, ANNOTATION_GENERATION, ANNOTATION_WAIT_FOR};
use crate::network::{Network, ANNOTATION_LATE_BIND_NETWORK};
use crate::site::oadp::NodeAgentField;
use crate::site::validate::destination_specs;

pub use crate::site::schedule_offset::rclone_offset_schedule;
use crate::site::{HubRole, Method, Replication, ReplicationDestinationSpec, Site};

pub use hubdr_core::labels::ANNOTATION_LATE_BIND;

pub use super::object_plan::ObjectPlan;
pub use super::participating::participating_clusters;
use super::passive_restore::passive_restore;
pub use super::passive_restore::passive_sync_restore_name;

pub fn plan(site: &Site) -> Vec<ObjectPlan> {
    let mut out = Vec::new();
    for hub in &site.spec.hubs {
        hub_objects(site, hub, &mut out);
    }
    if let Some(volsync) = &site.spec.volsync {
        let networks = declared_networks(site);
        let replications: Vec<ObjectPlan> = volsync
            .replications
            .par_iter()
            .with_max_len(crate::par::PIECE)
            .flat_map_iter(|r| {
                let mut objects = Vec::new();
                replication_objects(r, &networks, &mut objects);
                objects
            })
            .collect();
        out.extend(replications);
        namespaces(site, &mut out);
    }
    super::hosted::plan(site, &mut out);
    super::etcd_backup::plan(site, &mut out);
    out
}

fn hub_objects(site: &Site, hub: &crate::site::Hub, out: &mut Vec<ObjectPlan>) {
    let spec = &site.spec;
    let disconnected = match (hub.disconnected, &spec.disconnected) {
        (Some(false), _) | (None, None) => None,
        (_, Some(d)) => Some(d),
        (Some(true), None) => None,
    };
    let oadp_subscription_spec = disconnected.map(|d| {
        json!({"source": d.catalog_source, "sourceNamespace": d.catalog_source_namespace})
            .to_string()
    });
    out.push(ObjectPlan::new(
        &hub.name,
        "multiclusterhub.yaml.j2",
        0,
        json!({
            "name": spec.multi_cluster_hub.name,
            "namespace": spec.multi_cluster_hub.namespace,
            "oadp_subscription_spec": oadp_subscription_spec,
        }),
    ));
    if spec.backup.use_managed_service_account {
        out.push(ObjectPlan::new(
            &hub.name,
            "multiclusterengine.yaml.j2",
            0,
            json!({
                "name": spec.multi_cluster_engine.as_ref().map_or_else(crate::site::model::default_mce_name, |m| m.name.clone()),
                "component": spec.acm().managed_service_account_component(),
            }),
        ));
    }
    let mut dpa = dpa_context(site, hub.role);
    super::hosted::extend_hub_dpa(site, &hub.name, &mut dpa);
    out.push(ObjectPlan::new(
        &hub.name,
        "dataprotectionapplication.yaml.j2",
        1,
        dpa,
    ));
    match hub.role {
        HubRole::Active => {
            // A hub that took over in a failover first activates managed clusters from the
            // backups (after the old primary is fenced); its BackupSchedule and add-ons wait.
            // A hub given the role back by an abort activates nothing: it kept its clusters.
            let resumed = hub
                .resumed_since
                .filter(|r| hub.active_since.is_none_or(|a| a < *r));
            let (schedule_gates, addon_gates, schedule_wave) = match (resumed, hub.active_since) {
                (Some(generation), _) => (
                    super::takeover::resume_gates(site, generation),
                    Vec::new(),
                    2,
                ),
                (None, Some(generation)) => {
                    let takeover = super::takeover::plan(site, hub, generation);
                    out.push(takeover.restore);
                    (takeover.schedule_gates, takeover.addon_gates, 3)
                }
                (None, None) => (Vec::new(), Vec::new(), 2),
            };
            let mut schedule = backup_schedule(site, &hub.name, schedule_wave, false);
            if let Some(generation) = resumed {
                // Unpausing the schedule the fence paused is gated like its creation.
                schedule
                    .annotations
                    .push((ANNOTATION_GENERATION.into(), generation.to_string()));
            }
            if !schedule_gates.is_empty() {
                schedule
                    .annotations
                    .push((ANNOTATION_WAIT_FOR.into(), gates::format(&schedule_gates)));
            }
            out.push(schedule);
            addons(site, &hub.name, &addon_gates, out);
        }
        HubRole::Passive => out.push(passive_restore(site, hub)),
        // A former primary: nothing that writes to the storage location, no Restore. Its
        // add-ons stay as they were: deleting them on a hub that may still reach the managed
        // clusters would uninstall VolSync there while the new primary takes over.
        //
        // From ACM 2.12 its BackupSchedule is kept, paused (the agent pauses it first thing);
        // before, it is deleted (the agent deletes it first thing, and it is not rendered).
        HubRole::Fenced => {
            if spec.acm().can_pause() {
                out.push(backup_schedule(site, &hub.name, 2, true));
            }
            addons(site, &hub.name, &[], out)
        }
        // A decommissioned former primary: no BackupSchedule (the agent deletes every one,
        // and prunes the one hubdr rendered), no Restore; its storage objects stay as they
        // were (the DataProtectionApplication above, read-only like a fenced hub's).
        HubRole::Decommissioned => addons(site, &hub.name, &[], out),
    }
}

/// The site's BackupSchedule on `hub`, in `wave`; `paused` on a fenced hub (ACM 2.12+).
fn backup_schedule(site: &Site, hub: &str, wave: i32, paused: bool) -> ObjectPlan {
    let b = &site.spec.backup;
    ObjectPlan::new(
        hub,
        "backupschedule.yaml.j2",
        wave,
        json!({
            "name": b.name,
            "namespace": site.spec.backup_namespace,
            "schedule": b.schedule,
            "ttl": b.ttl,
            "use_managed_service_account": b.use_managed_service_account,
            "managed_service_account_ttl": b.managed_service_account_ttl,
            "paused": paused,
        }),
    )
}

fn dpa_context(site: &Site, role: HubRole) -> Value {
    let spec = &site.spec;
    let s = &spec.storage;
    let mut config = Map::new();
    if let Some(region) = &s.region {
        config.insert("region".into(), json!(region));
    }
    if let Some(profile) = &s.profile {
        config.insert("profile".into(), json!(profile));
    }
    if let Some(kms) = &s.kms_key_id {
        config.insert("kmsKeyId".into(), json!(kms));
    }
    for (k, v) in &s.config {
        config.insert(k.clone(), json!(v));
    }
    let snapshot_locations: Vec<Value> = s
        .snapshot_locations
        .iter()
        .map(|l| {
            let mut config = Map::new();
            if let Some(region) = &l.region {
                config.insert("region".into(), json!(region));
            }
            if let Some(profile) = &l.profile {
                config.insert("profile".into(), json!(profile));
            }
            for (k, v) in &l.config {
                config.insert(k.clone(), json!(v));
            }
            json!({
                "name": l.name,
                "provider": l.provider,
                "config": config,
                "credential": l.credentials_secret.as_ref().map(|c| json!({"name": c.name, "key": c.key})),
            })
        })
        .collect();
    let resources = spec.velero.resources.as_ref().map(|r| {
        let mut m = Map::new();
        if !r.limits.is_empty() {
            m.insert("limits".into(), json!(r.limits));
        }
        if !r.requests.is_empty() {
            m.insert("requests".into(), json!(r.requests));
        }
        Value::Object(m)
    });
    json!({
        "name": spec.velero.name,
        "namespace": spec.backup_namespace,
        "default_plugins": spec.velero.default_plugins,
        "resources": resources,
        // OADP 1.3 renamed `restic` to `nodeAgent`: which one by the OADP the ACM release installs.
        "node_agent": spec.velero.node_agent.as_ref().filter(|_| spec.node_agent_field() == NodeAgentField::NodeAgent).map(|a| json!({"enable": a.enable, "uploader_type": a.uploader_type})),
        "restic": spec.velero.node_agent.as_ref().filter(|_| spec.node_agent_field() == NodeAgentField::Restic).map(|a| json!({"enable": a.enable})),
        "location": {
            "name": s.location_name,
            "provider": s.provider,
            "default": s.default,
            // A fenced hub cannot write a backup even if a stale Velero schedule survived.
            "access_mode": matches!(role, HubRole::Fenced | HubRole::Decommissioned).then_some("ReadOnly"),
            "bucket": s.bucket,
            "prefix": s.prefix,
            "config": config,
            "credential": {"name": s.credentials_secret.name, "key": s.credentials_secret.key},
        },
        "snapshot_locations": snapshot_locations,
    })
}

/// The `volsync` ManagedClusterAddOn, in each participating cluster's namespace on the active hub.
fn addons(site: &Site, hub: &str, gates: &[Gate], out: &mut Vec<ObjectPlan>) {
    let Some(volsync) = &site.spec.volsync else {
        return;
    };
    // Add-ons are activation data: on a new primary they come with the activation restore.
    let wait_for = (!gates.is_empty()).then(|| gates::format(gates));
    let addons: Vec<ObjectPlan> = participating_clusters(site)
        .par_iter()
        .with_max_len(crate::par::PIECE)
        .map(|cluster| {
            let mut addon = ObjectPlan::new(
                hub,
                "managedclusteraddon.yaml.j2",
                3,
                json!({"name": "volsync", "namespace": cluster, "channel": volsync.channel}),
            );
            if let Some(wait_for) = &wait_for {
                addon
                    .annotations
                    .push((ANNOTATION_WAIT_FOR.into(), wait_for.clone()));
            }
            addon
        })
        .collect();
    out.extend(addons);
}

/// Namespaces annotated for privileged movers, once per cluster and namespace.
fn namespaces(site: &Site, out: &mut Vec<ObjectPlan>) {
    let Some(volsync) = &site.spec.volsync else {
        return;
    };
    let mut seen = std::collections::BTreeSet::new();
    for r in volsync.replications.iter().filter(|r| r.privileged_movers) {
        let mut places = vec![(&r.source.cluster, &r.source.namespace)];
        places.extend(destination_specs(r).map(|d| (&d.cluster, &d.namespace)));
        if let Some(restore) = &r.restore {
            places.push((&restore.cluster, &restore.namespace));
        }
        for (cluster, namespace) in places {
            seen.insert((cluster.clone(), namespace.clone()));
        }
    }
    for (cluster, namespace) in seen {
        out.push(ObjectPlan::new(
            &cluster,
            "namespace.yaml.j2",
            0,
            json!({"name": namespace, "privileged_movers": true}),
        ));
    }
}

fn default_service_type(r: &Replication, d: &ReplicationDestinationSpec) -> String {
    d.service_type.clone().unwrap_or_else(|| {
        if d.cluster == r.source.cluster {
            "ClusterIP"
        } else {
            "LoadBalancer"
        }
        .to_string()
    })
}

/// The networks managed clusters declare (`spec.managedClusters[].network`), by cluster. A
/// declaration that does not parse (validation refuses it) becomes an empty one, which
/// refuses every address.
fn declared_networks(site: &Site) -> HashMap<&str, Network> {
    site.spec
        .managed_clusters
        .iter()
        .filter_map(|c| {
            let n = c.network.as_ref()?;
            let network = Network::from_lists(&n.addresses, &n.domains).unwrap_or_default();
            Some((c.name.as_str(), network))
        })
        .collect()
}

fn replication_objects(
    r: &Replication,
    networks: &HashMap<&str, Network>,
    out: &mut Vec<ObjectPlan>,
) {
    let s = &r.source;
    let default_copy = if r.method == Method::Restic {
        "Clone"
    } else {
        "Snapshot"
    };
    let rclone = r.rclone.as_ref().map(|c| {
        json!({"config_section": c.config_section, "dest_path": c.dest_path, "config_secret": c.config_secret})
    });
    let retain = r.retain.as_ref().map(|t| {
        let mut m = Map::new();
        for (k, v) in [
            ("hourly", t.hourly),
            ("daily", t.daily),
            ("weekly", t.weekly),
            ("monthly", t.monthly),
            ("yearly", t.yearly),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if let Some(within) = &t.within {
            m.insert("within".into(), json!(within));
        }
        Value::Object(m)
    });
    let mut source = ObjectPlan::new(
        &s.cluster,
        "replicationsource.yaml.j2",
        1,
        json!({
            "name": r.name,
            "namespace": s.namespace,
            "method": r.method.as_str(),
            "schedule": r.schedule,
            "pvc": s.pvc,
            "key_secret": r.psk_secret,
            "ssh_keys": r.ssh_keys_secret,
            "address": r.destination.as_ref().and_then(|d| d.address.clone()),
            "repository": r.repository_secret,
            "prune_interval_days": r.prune_interval_days,
            "retain": retain,
            "rclone": rclone,
            "copy_method": s.copy_method.as_deref().unwrap_or(default_copy),
            "access_modes": s.access_modes,
            "storage_class_name": s.storage_class_name,
            "volume_snapshot_class_name": s.volume_snapshot_class_name,
        }),
    );
    if let Some(d) = r.destination.as_ref().filter(|d| d.address.is_none()) {
        // The destination publishes its address at run time; the source's agent binds it.
        let field = if r.method == Method::RsyncTls {
            "spec.rsyncTLS.address"
        } else {
            "spec.rsync.address"
        };
        let status = if r.method == Method::RsyncTls {
            "status.rsyncTLS.address"
        } else {
            "status.rsync.address"
        };
        source.annotations.push((
            ANNOTATION_LATE_BIND.to_string(),
            format!(
                "{field}={}/ReplicationDestination/{}/{}#{status}",
                d.cluster, d.namespace, r.name
            ),
        ));
        // Where the destination's published address may point; checked by the source's agent.
        if let Some(network) = networks.get(d.cluster.as_str()) {
            source.annotations.push((
                ANNOTATION_LATE_BIND_NETWORK.to_string(),
                network.annotation(),
            ));
        }
    }
    out.push(source);

    for d in destination_specs(r) {
        let schedule = match r.method {
            Method::Rclone => Some(match &d.schedule {
                Some(s) => s.clone(),
                None => rclone_offset_schedule(&r.schedule, d.schedule_offset_minutes)
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        let service_type = matches!(r.method, Method::RsyncTls | Method::Rsync)
            .then(|| default_service_type(r, d));
        out.push(ObjectPlan::new(
            &d.cluster,
            "replicationdestination.yaml.j2",
            1,
            json!({
                "name": r.name,
                "namespace": d.namespace,
                "method": r.method.as_str(),
                "schedule": schedule,
                "manual_trigger": null,
                "key_secret": r.psk_secret,
                "ssh_keys": r.ssh_keys_secret,
                "service_type": service_type,
                "repository": null,
                "destination_pvc": null,
                "rclone": rclone,
                "copy_method": d.copy_method.as_deref().unwrap_or("Snapshot"),
                "capacity": d.capacity,
                "access_modes": if d.access_modes.is_empty() { vec!["ReadWriteOnce".to_string()] } else { d.access_modes.clone() },
                "storage_class_name": d.storage_class_name,
                "volume_snapshot_class_name": d.volume_snapshot_class_name,
            }),
        ));
        if let Some(pvc) = &d.pvc {
            out.push(ObjectPlan::new(
                &d.cluster,
                "persistentvolumeclaim.yaml.j2",
                2,
                json!({
                    "name": pvc.name,
                    "namespace": d.namespace,
                    "access_modes": if d.access_modes.is_empty() { vec!["ReadWriteOnce".to_string()] } else { d.access_modes.clone() },
                    "storage_class_name": pvc.storage_class_name.as_ref().or(d.storage_class_name.as_ref()),
                    "capacity": d.capacity,
                    "replication_destination": r.name,
                }),
            ));
        }
    }

    if let Some((restore, run)) = r
        .restore
        .as_ref()
        .and_then(|restore| Some((restore, restore.run.as_ref()?)))
    {
        out.push(ObjectPlan::new(
            &restore.cluster,
            "replicationdestination.yaml.j2",
            1,
            json!({
                "name": format!("{}-restore", r.name),
                "namespace": restore.namespace,
                "method": "restic",
                "schedule": null,
                "manual_trigger": run,
                "key_secret": null,
                "ssh_keys": null,
                "service_type": null,
                "repository": r.repository_secret,
                "destination_pvc": restore.destination_pvc,
                "rclone": null,
                "copy_method": "Direct",
                "capacity": null,
                "access_modes": [],
                "storage_class_name": null,
                "volume_snapshot_class_name": null,
            }),
        ));
    }
}
