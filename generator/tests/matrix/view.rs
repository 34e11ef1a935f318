//! The rendered tree as objects, and the site facts the checks ask about.

use super::*;

pub(crate) struct Obj {
    pub(crate) cluster: String,
    pub(crate) file: String,
    pub(crate) value: Value,
}

impl Obj {
    pub(crate) fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Value::as_str)
    }
    pub(crate) fn kind(&self) -> &str {
        self.str_at("/kind").unwrap()
    }
    pub(crate) fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap()
    }
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.str_at("/metadata/namespace")
    }
    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
    pub(crate) fn label(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/labels")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
    pub(crate) fn at(&self, pointer: &str) -> &Value {
        self.value.pointer(pointer).unwrap_or(&Value::Null)
    }
    pub(crate) fn describe(&self) -> String {
        format!("{} ({})", self.file, self.cluster)
    }
}

pub(crate) struct View {
    pub(crate) objects: Vec<Obj>,
}

impl View {
    pub(crate) fn of(tree: &Tree) -> View {
        let objects = tree
            .iter()
            .filter_map(|(path, bytes)| {
                let rest = path.strip_prefix("clusters/")?;
                let (cluster, file) = rest.split_once('/')?;
                if file == "kustomization.yaml" {
                    return None;
                }
                let value: Value = serde_yaml::from_slice(bytes)
                    .unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
                Some(Obj {
                    cluster: cluster.into(),
                    file: path.clone(),
                    value,
                })
            })
            .collect();
        View { objects }
    }

    pub(crate) fn all(&self, cluster: &str, kind: &str) -> Vec<&Obj> {
        self.objects
            .iter()
            .filter(|o| o.cluster == cluster && o.kind() == kind)
            .collect()
    }

    pub(crate) fn find(
        &self,
        cluster: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<&Obj> {
        self.objects.iter().find(|o| {
            o.cluster == cluster
                && o.kind() == kind
                && o.namespace() == Some(namespace)
                && o.name() == name
        })
    }

    #[track_caller]
    pub(crate) fn get(&self, cluster: &str, kind: &str, namespace: &str, name: &str) -> &Obj {
        self.find(cluster, kind, namespace, name)
            .unwrap_or_else(|| {
                panic!(
                    "no {kind} {namespace}/{name} in cluster {cluster}; the cluster has: {:?}",
                    self.objects
                        .iter()
                        .filter(|o| o.cluster == cluster)
                        .map(|o| &o.file)
                        .collect::<Vec<_>>()
                )
            })
    }
}

/// Whether some patch may target objects of `kind` (their patched fields are checked by the
/// patch tests, not by the generic rules).
pub(crate) fn patched(site: &Site, kind: &str) -> bool {
    site.spec.patches.iter().any(|p| {
        p.target
            .kind
            .as_deref()
            .is_none_or(|k| hubdr::render::patch::glob(k, kind))
    })
}

pub(crate) fn is_disconnected(site: &Site, hub: &hubdr::site::Hub) -> bool {
    site.spec.disconnected.is_some() && hub.disconnected != Some(false)
}

/// Every (cluster, namespace) a replication runs a mover in, and its clusters.
pub(crate) fn places(r: &Replication) -> Vec<(String, String)> {
    let mut out = vec![(r.source.cluster.clone(), r.source.namespace.clone())];
    for d in r.destination.iter().chain(&r.destinations) {
        out.push((d.cluster.clone(), d.namespace.clone()));
    }
    if let Some(restore) = &r.restore {
        out.push((restore.cluster.clone(), restore.namespace.clone()));
    }
    out
}
