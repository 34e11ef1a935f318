//! Rendering: a validated site and the templates in, the repository tree out. Pure and
//! deterministic: the same inputs give byte-identical files.

pub mod agent;
pub mod checks;
pub mod desired;
pub mod manifest;
pub mod patch;
pub mod prereq;
pub mod templates;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::gitrepo::Tree;
use crate::index::{ClusterEntry, RenderIndex, INDEX_KIND, INDEX_PATH};
use crate::site::load::hex;
use crate::site::{LoadedSite, API_VERSION};

pub use desired::rclone_offset_schedule;
pub use manifest::{Manifest, ObjectId};
pub use templates::Templates;

pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const APPLICATIONSET_PATH: &str = "argocd/applicationset.yaml";
/// The parts of the repository that `hubdr render` owns.
pub const MANAGED_PREFIXES: [&str; 4] = ["clusters/", "agents/", "argocd/", ".hubdr/"];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template} for cluster {cluster}: {message}")]
    Template {
        cluster: String,
        template: String,
        message: String,
    },
    #[error("template {template} for cluster {cluster} produced invalid YAML: {message}")]
    Parse {
        cluster: String,
        template: String,
        message: String,
    },
    #[error("{0}")]
    Patch(#[from] patch::PatchError),
    #[error("{path}: two rendered objects share this file ({id})")]
    Duplicate { path: String, id: String },
    #[error("{}", .0.join("\n"))]
    Checks(Vec<String>),
}

/// The result of a render: the file tree plus the objects, for plans and summaries.
#[derive(Debug)]
pub struct Rendered {
    pub tree: Tree,
    pub manifests: Vec<Manifest>,
    pub index: RenderIndex,
}

pub fn render(loaded: &LoadedSite, templates: &Templates) -> Result<Rendered, RenderError> {
    let site = &loaded.site;
    let plans = desired::plan(site);
    let mut manifests: Vec<Manifest> = plans
        .par_iter()
        .map(|plan| render_one(plan, templates))
        .collect::<Result<_, _>>()?;
    // Stamp before patching, so patches see the labels and annotations of the rendered file
    // (a JSON patch may add to /metadata/labels), and again after, so no patch can take away
    // hubdr's ownership labels or waves.
    for (m, plan) in manifests.iter_mut().zip(&plans) {
        m.stamp(&site.metadata.name, &plan.annotations);
    }
    patch::apply_all(&site.spec.patches, &mut manifests)?;
    for (m, plan) in manifests.iter_mut().zip(&plans) {
        m.stamp(&site.metadata.name, &plan.annotations);
    }
    let problems: Vec<String> = manifests
        .par_iter()
        .flat_map(|m| {
            checks::check(m)
                .into_iter()
                .map(move |p| format!("{} (cluster {}): {p}", m.id, m.cluster))
                .collect::<Vec<_>>()
        })
        .collect();
    if !problems.is_empty() {
        return Err(RenderError::Checks(problems));
    }
    manifests.sort_by(|a, b| (&a.cluster, a.wave, a.path()).cmp(&(&b.cluster, b.wave, b.path())));

    let files: Vec<(String, Vec<u8>)> = manifests
        .par_iter()
        .map(|m| (m.path(), m.to_yaml().into_bytes()))
        .collect();
    let mut tree = Tree::new();
    for ((path, bytes), m) in files.into_iter().zip(&manifests) {
        if tree.insert(path.clone(), bytes).is_some() {
            return Err(RenderError::Duplicate {
                path,
                id: m.id.to_string(),
            });
        }
    }
    let mut by_cluster: BTreeMap<&str, Vec<&Manifest>> = BTreeMap::new();
    for m in &manifests {
        by_cluster.entry(m.cluster.as_str()).or_default().push(m);
    }
    for (cluster, entry) in clusters(loaded) {
        let objects = by_cluster.remove(cluster.as_str()).unwrap_or_default();
        let resources: Vec<String> = objects.iter().map(|m| m.id.file_name()).collect();
        tree.insert(
            format!("clusters/{cluster}/kustomization.yaml"),
            kustomization(&resources).into_bytes(),
        );
        let hub = entry.kind == "hub";
        for (path, text) in agent::install_files(&loaded.site, &cluster, hub, &objects) {
            tree.insert(path, text.into_bytes());
        }
    }
    let applicationset = templates
        .render("applicationset.yaml.j2", &applicationset_context(loaded))
        .map_err(|message| RenderError::Template {
            cluster: "-".into(),
            template: "applicationset.yaml.j2".into(),
            message,
        })?;
    tree.insert(
        APPLICATIONSET_PATH.into(),
        normalize(&applicationset, "-", "applicationset.yaml.j2")?.into_bytes(),
    );

    let index = index(loaded, templates, &tree);
    tree.insert(INDEX_PATH.into(), index.to_yaml().into_bytes());
    Ok(Rendered {
        tree,
        manifests,
        index,
    })
}

fn render_one(plan: &desired::ObjectPlan, templates: &Templates) -> Result<Manifest, RenderError> {
    let text = templates
        .render(plan.template, &plan.context)
        .map_err(|message| RenderError::Template {
            cluster: plan.cluster.clone(),
            template: plan.template.into(),
            message,
        })?;
    let value: Value = serde_yaml::from_str(&text).map_err(|e| RenderError::Parse {
        cluster: plan.cluster.clone(),
        template: plan.template.into(),
        message: e.to_string(),
    })?;
    let id = ObjectId::of(&value).map_err(|message| RenderError::Parse {
        cluster: plan.cluster.clone(),
        template: plan.template.into(),
        message,
    })?;
    Ok(Manifest {
        cluster: plan.cluster.clone(),
        id,
        wave: plan.wave,
        value,
    })
}

/// Parse and re-serialize template output so the file format never depends on template whitespace.
fn normalize(text: &str, cluster: &str, template: &str) -> Result<String, RenderError> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| RenderError::Parse {
        cluster: cluster.into(),
        template: template.into(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# Rendered by hubdr. Do not edit: change the site file and run `hubdr render`.\n{}",
        serde_yaml::to_string(&value).expect("JSON values always serialize to YAML")
    ))
}

/// Every cluster of the site with its index entry, hubs first, in site order.
pub fn clusters(loaded: &LoadedSite) -> Vec<(String, ClusterEntry)> {
    let spec = &loaded.site.spec;
    let hubs = spec.hubs.iter().map(|h| {
        (
            h.name.clone(),
            ClusterEntry {
                kind: "hub".into(),
                role: Some(h.role.as_str().into()),
                prerequisites: Vec::new(),
            },
        )
    });
    let managed = spec.managed_clusters.iter().map(|c| {
        (
            c.name.clone(),
            ClusterEntry {
                kind: "managed".into(),
                role: None,
                prerequisites: Vec::new(),
            },
        )
    });
    hubs.chain(managed).collect()
}

fn kustomization(resources: &[String]) -> String {
    let value = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    format!(
        "# Rendered by hubdr: this cluster's objects in apply order (hubdr.io/wave).\n{}",
        serde_yaml::to_string(&value).expect("serializes")
    )
}

fn applicationset_context(loaded: &LoadedSite) -> Value {
    let spec = &loaded.site.spec;
    let hubs = spec
        .hubs
        .iter()
        .map(|h| (h.name.clone(), h.argocd_cluster.clone()));
    let managed = spec
        .managed_clusters
        .iter()
        .map(|c| (c.name.clone(), c.argocd_cluster.clone()));
    let clusters: Vec<Value> = hubs
        .chain(managed)
        .map(|(name, destination)| json!({"cluster": name, "destination": destination.unwrap_or_else(|| name.clone())}))
        .collect();
    json!({
        "name": format!("hubdr-{}", loaded.site.metadata.name),
        "namespace": spec.argocd.namespace,
        "site": loaded.site.metadata.name,
        "project": spec.argocd.project,
        "repo_url": spec.git.url,
        "branch": spec.git.branch,
        "automated": spec.argocd.automated.as_ref().map(|a| json!({"prune": a.prune, "self_heal": a.self_heal})),
        "clusters": clusters,
        // Argo CD's own Go templates, filled per generated Application.
        "go": {"name": "hubdr-{{ .cluster }}", "path": "clusters/{{ .cluster }}", "destination": "{{ .destination }}"},
    })
}

fn index(loaded: &LoadedSite, templates: &Templates, tree: &Tree) -> RenderIndex {
    let mut prerequisites = prereq::prerequisites(&loaded.site);
    let clusters: BTreeMap<String, ClusterEntry> = clusters(loaded)
        .into_iter()
        .map(|(name, mut entry)| {
            entry.prerequisites = prerequisites.remove(&name).unwrap_or_default();
            (name, entry)
        })
        .collect();
    let files: BTreeMap<String, String> = tree
        .par_iter()
        .map(|(path, bytes)| (path.clone(), hex(&Sha256::digest(bytes))))
        .collect();
    RenderIndex {
        api_version: API_VERSION.into(),
        kind: INDEX_KIND.into(),
        site: loaded.site.metadata.name.clone(),
        site_hash: loaded.hash.clone(),
        generation: loaded.site.spec.failover.generation,
        tool_version: TOOL_VERSION.into(),
        templates: templates.digest.clone(),
        clusters,
        files,
    }
}
