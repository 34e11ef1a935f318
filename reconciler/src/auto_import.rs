//! The auto-import strategy step of a takeover on ACM 2.14+ (issue 15 point 4).
//!
//! From ACM 2.14 the import controller reads the ConfigMap `import-controller-config` in
//! `multicluster-engine`, key `autoImportStrategy`: `ImportOnly` (the default, also when the
//! ConfigMap or the key is absent, or the value is not one it knows) or `ImportAndSync`
//! (stolostron/managedcluster-import-controller: `ControllerConfigConfigMapName`,
//! `GetAutoImportStrategy`, `AutoImportStrategyImportOnly`/`ImportAndSync`). With `ImportOnly`
//! a managed cluster that was imported once is not imported again, which keeps the managed
//! clusters from joining a newly activated hub after a restore; the ACM switchover runbooks (the
//! rh-acm-switchover project's activation and finalization steps) set `ImportAndSync` on the new
//! hub before the activation Restore and put the default back once every managed cluster is
//! Available.
//!
//! The render marks the activation Restore of a 2.14+ takeover with [`ANNOTATION`] and gates it
//! on `auto-import-strategy:ImportAndSync`; the new primary's BackupSchedule waits for
//! `auto-import-restored:N`. The agent, every pass before the gates are evaluated:
//!
//! 1. takeover of generation N not begun here: records the value it finds (or its absence) in
//!    its memory ConfigMap (keys [`SET_FOR_KEY`], [`PRIOR_KEY`]), THEN writes `autoImportStrategy:
//!    ImportAndSync` by server-side apply of that one key as field manager [`MANAGER`] (the
//!    ConfigMap is shared: never deleted, no other key touched);
//! 2. once the activation Restore finished and every ManagedCluster is Joined and Available: puts
//!    the recorded value back (or releases the key when there was none) and records
//!    [`RESTORED_FOR_KEY`]: only then the BackupSchedule ("failover complete");
//! 3. no takeover in the render any more (an abort, a role change) while a recorded change is not
//!    undone: puts the recorded value back.
//!
//! The memory is read like any API response: a value that does not parse is an error naming
//! the key and the fix.

use std::collections::BTreeMap;

use hubdr_core::gates::ANNOTATION_GENERATION;
use hubdr_core::object::ObjectId;
use serde_json::{json, Value};

use crate::apply::Planned;
use crate::changeset::{Action, ChangeSet};
use crate::gates::{restore_gate, AutoImportFacts, Verdict};
use crate::kubeapi::ClusterApi;
use crate::managed_clusters;
use crate::memory::Place;

pub const NAMESPACE: &str = "multicluster-engine";
pub const CONFIG_MAP: &str = "import-controller-config";
pub const KEY: &str = "autoImportStrategy";
pub const IMPORT_AND_SYNC: &str = "ImportAndSync";
/// On the activation Restore: the strategy the takeover needs while it runs.
pub const ANNOTATION: &str = hubdr_core::gates::ANNOTATION_AUTO_IMPORT_STRATEGY;
pub const MANAGER: &str = "hubdr-auto-import";
/// Memory keys: the generation whose takeover set the strategy, the value before it (absent:
/// there was none), the generation whose change was undone.
pub const SET_FOR_KEY: &str = "autoImportSetFor";
pub const PRIOR_KEY: &str = "autoImportPrior";
pub const RESTORED_FOR_KEY: &str = "autoImportRestoredFor";

/// What the agent remembers of the step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub set_for: Option<u64>,
    pub prior: Option<String>,
    pub restored_for: Option<u64>,
}

impl State {
    /// Read from the memory ConfigMap's `data` (`Value::Null`: none).
    pub fn from_data(data: &Value, place: &Place) -> Result<Self, String> {
        let text = |key: &str| crate::memory::data_text(data, place, key);
        let number = |key: &str| crate::memory::data_number(data, place, key);
        let prior = text(PRIOR_KEY)?;
        if let Some(p) = prior.as_deref().filter(|p| !valid_value(p)) {
            return Err(format!(
                "{place}: key {PRIOR_KEY} ({p:?}) is not an auto-import strategy value (letters, at most 63); fix or remove the key"
            ));
        }
        Ok(Self {
            set_for: number(SET_FOR_KEY)?,
            prior,
            restored_for: number(RESTORED_FOR_KEY)?,
        })
    }

    pub fn to_data(&self) -> BTreeMap<String, Option<String>> {
        BTreeMap::from([
            (SET_FOR_KEY.into(), self.set_for.map(|g| g.to_string())),
            (PRIOR_KEY.into(), self.prior.clone()),
            (
                RESTORED_FOR_KEY.into(),
                self.restored_for.map(|g| g.to_string()),
            ),
        ])
    }

    /// Whether the change made for a takeover is still to be undone.
    pub fn pending(&self) -> Option<u64> {
        self.set_for
            .filter(|g| self.restored_for.is_none_or(|r| r < *g))
    }
}

/// A value worth recording and writing back: what a person could have set (the import
/// controller reads anything else as the default).
fn valid_value(v: &str) -> bool {
    !v.is_empty() && v.len() <= 63 && v.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What to do this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Record `prior` for generation N, then set ImportAndSync.
    Set {
        generation: u64,
    },
    /// Keep ImportAndSync in place (the takeover is not verified yet).
    Keep,
    /// Put the recorded value back for generation N.
    Restore {
        generation: u64,
    },
}

/// The step, from the takeover the render asks for (`takeover`: its generation), what is
/// remembered, and whether the takeover is verified (activation finished, every managed
/// cluster back). Pure.
pub fn step(takeover: Option<u64>, state: &State, verified: bool) -> Step {
    match takeover {
        Some(n) if state.restored_for.is_some_and(|r| r >= n) => Step::Nothing,
        Some(n) if state.set_for != Some(n) => Step::Set { generation: n },
        Some(n) if verified => Step::Restore { generation: n },
        Some(_) => Step::Keep,
        None => match state.pending() {
            Some(g) => Step::Restore { generation: g },
            None => Step::Nothing,
        },
    }
}

/// The takeover of `planned` that needs the step: the activation Restore's namespace, name and
/// generation, when it carries [`ANNOTATION`].
pub fn takeover(planned: &[Planned]) -> Option<(ObjectId, u64)> {
    planned.iter().find_map(|p| {
        let annotations = p.value.pointer("/metadata/annotations")?;
        if p.id.kind != "Restore" || annotations.get(ANNOTATION)?.as_str()? != IMPORT_AND_SYNC {
            return None;
        }
        let generation = annotations
            .get(ANNOTATION_GENERATION)?
            .as_str()?
            .parse()
            .ok()?;
        Some((p.id.clone(), generation))
    })
}

fn id() -> ObjectId {
    ObjectId {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(NAMESPACE.into()),
        name: CONFIG_MAP.into(),
    }
}

/// The live `autoImportStrategy`: `Ok(None)` when the ConfigMap or the key is absent.
pub async fn live_strategy(api: &mut ClusterApi) -> Result<Option<String>, String> {
    match api.get(&id()).await {
        Ok(None) => Ok(None),
        Ok(Some(cm)) => Ok(cm
            .data
            .pointer(&format!("/data/{KEY}"))
            .and_then(Value::as_str)
            .map(str::to_string)),
        Err(e) => Err(format!("cannot read {NAMESPACE}/{CONFIG_MAP}: {e}")),
    }
}

/// The memory place's auto-import keys.
pub async fn recall(api: &mut ClusterApi, place: &Place) -> Result<State, String> {
    let cm = ObjectId {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(place.namespace.clone()),
        name: place.name.clone(),
    };
    match api.get(&cm).await {
        Ok(None) => Ok(State::default()),
        Ok(Some(cm)) => State::from_data(cm.data.get("data").unwrap_or(&Value::Null), place),
        Err(e) => Err(format!("cannot read the agent's {place}: {e}")),
    }
}

async fn remember(api: &mut ClusterApi, place: &Place, state: &State) -> Result<(), String> {
    api.put_config_map(&place.namespace, &place.name, MANAGER, &state.to_data())
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot record the auto-import strategy step in {place}: {e}"))
}

/// Apply `value` to the key (`None`: release it, which removes it when no one else set it).
async fn write(api: &mut ClusterApi, value: Option<&str>) -> Result<(), String> {
    let mut object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
    });
    if let Some(v) = value {
        object["data"] = json!({ KEY: v });
    }
    api.apply_as(&id(), &object, MANAGER, true)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot write {KEY} in {NAMESPACE}/{CONFIG_MAP}: {e}"))
}

/// Whether the takeover of `restore` is verified: the activation finished and every managed
/// cluster is Joined and Available here.
async fn verified(api: &mut ClusterApi, restore: &ObjectId, managed: &[String]) -> bool {
    let ns = restore.namespace.clone().unwrap_or_default();
    if restore_gate(api, &ns, &restore.name).await != Verdict::Holds {
        return false;
    }
    match managed_clusters::list(api).await {
        Ok(clusters) => managed_clusters::all_available(&clusters, managed).is_ok(),
        Err(_) => false,
    }
}

/// One pass of the step (see the module), and what the gates read after it.
pub async fn reconcile(
    api: &mut ClusterApi,
    place: &Place,
    planned: &[Planned],
    managed: &[String],
    changes: &mut ChangeSet,
) -> (AutoImportFacts, Vec<String>) {
    let (state, problems) = step_once(api, place, planned, managed, changes).await;
    let mut facts = AutoImportFacts {
        prior: state.prior,
        restored_for: state.restored_for,
        ..AutoImportFacts::default()
    };
    // The live value only matters to a takeover's gate (one read, no write).
    if takeover(planned).is_some() {
        match live_strategy(api).await {
            Ok(live) => facts.live = live,
            Err(e) => facts.unreadable = Some(e),
        }
    }
    (facts, problems)
}

async fn step_once(
    api: &mut ClusterApi,
    place: &Place,
    planned: &[Planned],
    managed: &[String],
    changes: &mut ChangeSet,
) -> (State, Vec<String>) {
    let takeover = takeover(planned);
    let mut state = match recall(api, place).await {
        Ok(s) => s,
        Err(e) => {
            let problem = format!("{e}; the auto-import strategy step waits until it is fixed");
            return (State::default(), vec![problem]);
        }
    };
    let is_verified = match (&takeover, state.set_for) {
        (Some((restore, n)), Some(set)) if set == *n => verified(api, restore, managed).await,
        _ => false,
    };
    let step = step(takeover.as_ref().map(|t| t.1), &state, is_verified);
    let result = match step {
        Step::Nothing => return (state, Vec::new()),
        Step::Set { generation } => match live_strategy(api).await {
            Err(e) => Err(e),
            Ok(prior) if prior.as_deref().is_some_and(|p| !valid_value(p)) => Err(format!(
                "{NAMESPACE}/{CONFIG_MAP} has {KEY} {prior:?}, which is not a strategy value: set it to ImportOnly or ImportAndSync, or remove it"
            )),
            Ok(prior) => {
                // Record what was there before changing it: a crash in between loses nothing.
                let next = State {
                    set_for: Some(generation),
                    prior,
                    restored_for: state.restored_for,
                };
                match remember(api, place, &next).await {
                    Ok(()) => {
                        state = next;
                        write(api, Some(IMPORT_AND_SYNC)).await
                    }
                    Err(e) => Err(e),
                }
            }
        },
        Step::Keep => match live_strategy(api).await {
            Ok(Some(v)) if v == IMPORT_AND_SYNC => return (state, Vec::new()),
            Ok(_) => write(api, Some(IMPORT_AND_SYNC)).await,
            Err(e) => Err(e),
        },
        Step::Restore { generation } => {
            let exists = api.get(&id()).await.map_err(|e| e.to_string());
            let written = match (exists, state.prior.clone()) {
                (Err(e), _) => Err(e),
                // Gone, and nothing to put back: nothing to do (it is never created for that).
                (Ok(None), None) => Ok(()),
                (Ok(_), prior) => write(api, prior.as_deref()).await,
            };
            match written {
                Ok(()) => {
                    let next = State {
                        restored_for: Some(generation),
                        ..state.clone()
                    };
                    let recorded = remember(api, place, &next).await;
                    if recorded.is_ok() {
                        state = next;
                    }
                    recorded
                }
                Err(e) => Err(e),
            }
        }
    };
    let action = match (&result, &step) {
        (Err(e), _) => Action::Failed(format!("{e}; retrying next pass")),
        (Ok(()), Step::Restore { .. }) => Action::Configured,
        (Ok(()), _) => Action::Configured,
    };
    let what = match step {
        Step::Restore { .. } => match &state.prior {
            Some(p) => format!("{KEY} put back to {p}"),
            None => format!("{KEY} released (back to the default, ImportOnly)"),
        },
        _ => format!("{KEY}: {IMPORT_AND_SYNC} for the activation"),
    };
    tracing::info!(object = %id(), result = action.name(), message = action.message(), "auto-import strategy: {what}");
    changes.push(id(), action);
    (state, Vec::new())
}

#[cfg(test)]
#[path = "auto_import_tests.rs"]
mod tests;
