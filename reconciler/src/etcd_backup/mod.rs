//! etcd backups at run time (seed 003): reads ClusterVersion, Proxy and APIServer and adjusts
//! the desired etcd backup objects before they are applied ([`rules`] decides).

pub mod rules;

use hubdr::render::ObjectId;
use jiff::Timestamp;
use serde_json::Value;

use crate::apply::Planned;
use crate::config::Allowlist;
use crate::kubeapi::ClusterApi;

pub use rules::{ClusterFacts, Decision};

/// What one pass decided and observed, for the status.
#[derive(Debug, Clone, Default)]
pub struct EtcdRun {
    pub facts: Option<ClusterFacts>,
    pub decision: Option<Decision>,
    pub problems: Vec<String>,
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
    if !planned.iter().any(|p| p.id.kind == "CronJob") {
        return run;
    }
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
