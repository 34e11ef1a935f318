//! etcd backups at run time (seed 003): reads ClusterVersion, Proxy and APIServer and adjusts
//! the desired etcd backup objects before they are applied ([`rules`] decides).

pub mod health;
pub mod observe;
pub mod rules;

use hubdr_core::object::ObjectId;
use jiff::Timestamp;
use serde_json::Value;

use hubdr_core::status::etcd_backup::EtcdBackupObservation;
use hubdr_core::status::HealthCheck;

use crate::apply::Planned;
use crate::config::Allowlist;
use crate::kubeapi::ClusterApi;

pub use rules::{ClusterFacts, Decision};

/// What one pass decided and observed, for the status.
#[derive(Debug, Clone, Default)]
pub struct EtcdRun {
    /// The desired CronJob's namespace, schedule and what the site declared.
    pub cron: Option<CronInfo>,
    pub facts: Option<ClusterFacts>,
    pub decision: Option<Decision>,
    pub problems: Vec<String>,
}

/// What the desired CronJob says.
#[derive(Debug, Clone)]
pub struct CronInfo {
    pub namespace: String,
    pub schedule: String,
    pub keys_apart: bool,
    pub declared_encryption: Option<bool>,
}

impl CronInfo {
    fn of(p: &Planned) -> Self {
        let annotation = |key: &str| {
            p.value
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Self {
            namespace: p.id.namespace.clone().unwrap_or_default(),
            schedule: p.value["spec"]["schedule"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            keys_apart: annotation("hubdr.io/etcd-keys-apart").as_deref() != Some("false"),
            declared_encryption: annotation("hubdr.io/etcd-encryption").map(|v| v == "true"),
        }
    }
}

fn config(kind: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: "config.openshift.io/v1".into(),
        kind: kind.into(),
        namespace: None,
        name: name.into(),
    }
}

async fn read(api: &mut ClusterApi, id: &ObjectId) -> Result<Option<Value>, String> {
    match api.get(id).await {
        Ok(object) => Ok(object.map(|o| serde_json::to_value(o).expect("objects serialize"))),
        Err(e) => Err(format!("cannot read {id}: {e}")),
    }
}

/// Adjust `planned` for the etcd backup when it holds its CronJob. When the cluster's facts
/// cannot be read, the CronJob stays suspended and no Job is added (never a backup the seed
/// forbids).
pub async fn enforce(
    api: &mut ClusterApi,
    allowlist: &Allowlist,
    planned: &mut Vec<Planned>,
    now: Timestamp,
) -> EtcdRun {
    let mut run = EtcdRun::default();
    let Some(cron) = planned.iter().find(|p| rules::is_backup_cronjob(p)) else {
        return run;
    };
    run.cron = Some(CronInfo::of(cron));
    let facts = match read(api, &config("ClusterVersion", "version")).await {
        Ok(Some(cv)) => {
            let proxy = read(api, &config("Proxy", "cluster")).await;
            let apiserver = read(api, &config("APIServer", "cluster")).await;
            for e in [&proxy, &apiserver]
                .into_iter()
                .filter_map(|r| r.as_ref().err())
            {
                run.problems.push(format!("etcd backup: {e}"));
            }
            let proxy = proxy.ok().flatten();
            let apiserver = apiserver.ok().flatten();
            ClusterFacts::read(&cv, proxy.as_ref(), apiserver.as_ref())
        }
        Ok(None) => Err("ClusterVersion version does not exist: is this cluster OpenShift?".into()),
        Err(e) => Err(e),
    };
    let facts = match facts {
        Ok(facts) => facts,
        Err(e) => {
            run.problems.push(format!(
                "etcd backup: {e}; the backup CronJob stays suspended (no backup before the first certificate rotation)"
            ));
            ClusterFacts::default()
        }
    };
    run.decision = rules::adjust(planned, &facts, now);
    // The objects added here pass the agent's own allowlist like those of the repository.
    planned.retain(|p| match allowlist.refusal(&p.id) {
        Some(why) => {
            run.problems
                .push(format!("etcd backup: {} refused: {why}", p.id));
            false
        }
        None => true,
    });
    run.facts = Some(facts);
    run
}

/// The etcd backup's observation and health checks after a pass that ran [`enforce`].
pub async fn status(
    api: &mut ClusterApi,
    run: &EtcdRun,
    now: Timestamp,
) -> (Option<EtcdBackupObservation>, Vec<HealthCheck>, Vec<String>) {
    let (Some(cron), Some(facts)) = (&run.cron, &run.facts) else {
        return (None, Vec::new(), Vec::new());
    };
    let (results, problems) = match observe::results(api, &cron.namespace).await {
        Ok(found) => found,
        Err(e) => return (None, Vec::new(), vec![format!("etcd backup: {e}")]),
    };
    let suspended = run.decision.as_ref().is_none_or(|d| d.suspended);
    let o = observe::observation(&results, facts, cron.declared_encryption, suspended);
    let expectations = health::Expectations {
        schedule: cron.schedule.clone(),
        keys_apart: cron.keys_apart,
        old_enough: facts.old_enough(now),
    };
    let checks = health::checks(&o, &expectations, now);
    (Some(o), checks, problems)
}
