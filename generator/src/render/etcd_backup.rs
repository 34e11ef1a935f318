//! The etcd backup objects of each cluster `spec.etcdBackup` covers (seed 003): its Namespace,
//! ServiceAccount, the RoleBinding to the privileged SCC ClusterRole, and the CronJob. Pure:
//! site in, object plans out. Waves: 0 Namespace, 1 ServiceAccount and RoleBinding, 2 CronJob.

use serde_json::json;

use crate::site::etcd_backup::selected;
use crate::site::Site;

use super::access::grants::ETCD_SCC_CLUSTER_ROLE;
use super::object_plan::ObjectPlan;

/// Names of the objects in the backup namespace.
pub const SERVICE_ACCOUNT: &str = "hubdr-etcd-backup";
pub const CRONJOB: &str = "etcd-backup";
/// The ConfigMap of run-time variables the agent writes (hubdr_agent::etcd_backup).
pub const ENV_CONFIG_MAP: &str = "hubdr-etcd-backup-env";

pub fn plan(site: &Site, out: &mut Vec<ObjectPlan>) {
    let Some(e) = &site.spec.etcd_backup else {
        return;
    };
    let ns = &e.namespace;
    for c in selected(&site.spec) {
        out.push(ObjectPlan::new(
            c.name,
            "etcd-namespace.yaml.j2",
            0,
            json!({"name": ns}),
        ));
        out.push(ObjectPlan::new(
            c.name,
            "etcd-serviceaccount.yaml.j2",
            1,
            json!({"name": SERVICE_ACCOUNT, "namespace": ns}),
        ));
        out.push(ObjectPlan::new(
            c.name,
            "etcd-rolebinding.yaml.j2",
            1,
            json!({
                "name": "hubdr-etcd-backup-privileged",
                "namespace": ns,
                "cluster_role": ETCD_SCC_CLUSTER_ROLE,
                "service_account": SERVICE_ACCOUNT,
            }),
        ));
        out.push(ObjectPlan::new(
            c.name,
            "etcd-cronjob.yaml.j2",
            2,
            json!({
                "name": CRONJOB,
                "namespace": ns,
                "schedule": e.schedule.trim(),
                "encryption": e.encryption.map(|on| on.to_string()),
                "keys_apart": (!e.keys.same_place(&e.snapshots)).to_string(),
                "service_account": SERVICE_ACCOUNT,
                "env_config_map": ENV_CONFIG_MAP,
                "backup_image": e.images.backup(),
                "upload_image": e.images.upload(),
                "snapshots": e.snapshots.target(c.name),
                "keys": e.keys.target(c.name),
                "max_age_days": e.retention.max_age_days,
                "snapshots_secret": e.snapshots.credentials_secret.as_deref().unwrap_or_default(),
                "keys_secret": e.keys.credentials_secret.as_deref().unwrap_or_default(),
            }),
        ));
    }
}
