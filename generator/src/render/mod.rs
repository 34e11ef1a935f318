//! Rendering: a validated site and the templates in, the repository tree out. Pure and
//! deterministic: the same inputs give byte-identical files.

pub mod access;
pub mod agent;
pub mod checks;
pub mod desired;
pub mod etcd_backup;
pub mod hosted;
pub mod manifest;
pub mod object_plan;
pub mod participating;
pub mod passive_restore;
pub mod patch;
pub mod prereq;
pub mod size;
pub mod takeover;
pub mod templates;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::gitrepo::Tree;
use crate::index::{ClusterEntry, Prerequisite, RenderIndex, INDEX_KIND, INDEX_PATH};
use crate::par;
use crate::site::load::hex;
use crate::site::{LoadedSite, API_VERSION};

pub use desired::rclone_offset_schedule;
pub use manifest::{Manifest, ObjectId, RenderedObject};
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
    #[error("{object} for cluster {cluster}: {oversized}")]
    TooLarge {
        cluster: String,
        object: String,
        oversized: size::Oversized,
    },
    #[error("{path}: two rendered objects share this file ({id})")]
    Duplicate { path: String, id: String },
    #[error("{}", .0.join("\n"))]
    Checks(Vec<String>),
}

/// The result of a render: the file tree plus the objects, for plans and summaries.
#[derive(Debug)]
pub struct Rendered {
    pub tree: Tree,
    pub objects: Vec<RenderedObject>,
    pub index: RenderIndex,
}

pub fn render(loaded: &LoadedSite, templates: &Templates) -> Result<Rendered, RenderError> {
    // The ApplicationSet and the prerequisites do not depend on the objects: build them while
    // the objects render.
    let (objects, (applicationset, prerequisites)) = rayon::join(
        || render_objects(loaded, templates),
        || {
            (
                render_applicationset(loaded, templates),
                prereq::prerequisites(&loaded.site),
            )
        },
    );
    let (objects, mut tree) = objects?;
    tree.insert(APPLICATIONSET_PATH.into(), applicationset?);
    let index = index(loaded, templates, &tree, prerequisites);
    tree.insert(INDEX_PATH.into(), index.to_yaml().into_bytes());
    Ok(Rendered {
        tree,
        objects,
        index,
    })
}

/// Every object of every cluster, checked and sorted, and the tree of their files with each
/// cluster's kustomization and agent install file.
fn render_objects(
    loaded: &LoadedSite,
    templates: &Templates,
) -> Result<(Vec<RenderedObject>, Tree), RenderError> {
    let site = &loaded.site;
    let patches = &site.spec.patches;
    // What each cluster's agent may do: from the site alone, never from the objects.
    let access = access::SiteAccess::of(site);
    // Each object goes from its plan to its file in one step, on one thread, and only its file
    // is kept: a fleet's objects are never all in memory as values.
    let outcomes: Vec<Result<ObjectFile, RenderError>> = desired::plan(site)
        .into_par_iter()
        .with_max_len(par::PIECE)
        .map(|plan| {
            let cluster = access.get(&plan.cluster);
            render_object(plan, templates, &site.metadata.name, patches, cluster)
        })
        .collect();
    // The errors of the first object that has one, in plan order; then those of the patches,
    // then every object's check problems.
    let mut objects = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
    if let Some(e) = patch::first_error(patches, objects.iter().map(|o| &o.patches)) {
        return Err(e.into());
    }
    let problems: Vec<String> = objects
        .iter_mut()
        .flat_map(|o| std::mem::take(&mut o.problems))
        .collect();
    if !problems.is_empty() {
        return Err(RenderError::Checks(problems));
    }
    objects.par_sort_by(|a, b| {
        (&a.object.cluster, a.object.wave, &a.path).cmp(&(
            &b.object.cluster,
            b.object.wave,
            &b.path,
        ))
    });
    let (rendered, mut files): (Vec<RenderedObject>, Vec<(String, Vec<u8>)>) = objects
        .into_iter()
        .map(|o| (o.object, (o.path, o.bytes)))
        .unzip();
    // In path order, each object's number with its file, so that two files of one path are
    // adjacent and the later one is reported.
    let mut by_path: Vec<(&str, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, (path, _))| (path.as_str(), i))
        .collect();
    by_path.par_sort_unstable();
    if let Some(pair) = by_path.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        let (path, later) = pair[1];
        return Err(RenderError::Duplicate {
            path: path.to_string(),
            id: rendered[later].id.to_string(),
        });
    }
    drop(by_path);
    // The objects are sorted by cluster: each cluster's objects are one run.
    let by_cluster: HashMap<&str, &[RenderedObject]> = rendered
        .chunk_by(|a, b| a.cluster == b.cluster)
        .map(|run| (run[0].cluster.as_str(), run))
        .collect();
    let install_files = agent::InstallFiles::new(site);
    let cluster_files: Vec<Vec<(String, Vec<u8>)>> = clusters(loaded)
        .par_iter()
        .with_max_len(par::PIECE)
        .map(|(cluster, _)| {
            let objects: Vec<&ObjectId> = by_cluster
                .get(cluster.as_str())
                .map_or(Vec::new(), |run| run.iter().map(|o| &o.id).collect());
            let resources: Vec<String> = objects.iter().map(|id| id.file_name()).collect();
            let mut files = vec![(
                format!("clusters/{cluster}/kustomization.yaml"),
                kustomization(&resources).into_bytes(),
            )];
            let access = access
                .get(cluster)
                .expect("every cluster of the site has its access");
            files.push((
                agent::install_path(cluster),
                install_files.file(cluster, access).into_bytes(),
            ));
            files
        })
        .collect();
    files.extend(cluster_files.into_iter().flatten());
    Ok((rendered, tree_of(files)))
}

/// The tree of `files`; of two files with one path, the later one. (A map built from a sorted
/// list is built in one pass; inserting each path costs a search through the map.)
fn tree_of(mut files: Vec<(String, Vec<u8>)>) -> Tree {
    // Stable: a later file of one path stays later, and takes the earlier one's place.
    files.par_sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    Tree::from_iter(files)
}

/// One object, rendered: its file, what stays of it, what the patches did to it and the
/// problems the checks found.
struct ObjectFile {
    object: RenderedObject,
    path: String,
    bytes: Vec<u8>,
    patches: patch::Applied,
    problems: Vec<String>,
}

/// One object from its plan to its file: rendered, stamped, patched, stamped again (no patch
/// can take away hubdr's ownership labels or waves), checked (also against what the cluster's
/// agent may do, `access`) and written as YAML. Stamped before patching too, so that patches
/// see the labels and annotations of the file (a JSON patch may add to /metadata/labels).
fn render_object(
    plan: desired::ObjectPlan,
    templates: &Templates,
    site: &str,
    patches: &[crate::site::Patch],
    access: Option<&access::ClusterAccess>,
) -> Result<ObjectFile, RenderError> {
    let mut m = render_one(&plan, templates)?;
    m.stamp(site, &plan.annotations);
    let applied = patch::apply_to(patches, &mut m);
    if !applied.matched.is_empty() {
        m.stamp(site, &plan.annotations);
    }
    let mut problems = checks::check(&m);
    match access {
        Some(access) => problems.extend(access.check(&m)),
        None => problems.push("the object is rendered for a cluster the site does not list".into()),
    }
    // A fenced hub's BackupSchedule is kept only paused: a template or patch must not lose it.
    let paused = Some(&Value::Bool(true));
    if plan.context.get("paused") == paused && m.value.pointer("/spec/paused") != paused {
        problems.push(
            "spec.paused: the BackupSchedule of a fenced hub must be paused (true), but the rendered one is not; the template (--templates) or a patch lost it".into(),
        );
    }
    let problems = problems
        .into_iter()
        .map(|p| format!("{} (cluster {}): {p}", m.id, m.cluster))
        .collect();
    let bytes = m.to_yaml().into_bytes();
    size::check(bytes.len(), &m.value).map_err(|oversized| RenderError::TooLarge {
        cluster: m.cluster.clone(),
        object: m.id.to_string(),
        oversized,
    })?;
    Ok(ObjectFile {
        path: m.path(),
        bytes,
        object: m.into_rendered(),
        patches: applied,
        problems,
    })
}

fn render_applicationset(
    loaded: &LoadedSite,
    templates: &Templates,
) -> Result<Vec<u8>, RenderError> {
    let applicationset = templates
        .render("applicationset.yaml.j2", &applicationset_context(loaded))
        .map_err(|message| RenderError::Template {
            cluster: "-".into(),
            template: "applicationset.yaml.j2".into(),
            message,
        })?;
    Ok(normalize(&applicationset, "-", "applicationset.yaml.j2")?.into_bytes())
}

fn render_one(plan: &desired::ObjectPlan, templates: &Templates) -> Result<Manifest, RenderError> {
    let text = templates
        .render(plan.template, &plan.context)
        .map_err(|message| RenderError::Template {
            cluster: plan.cluster.clone(),
            template: plan.template.into(),
            message,
        })?;
    let value = parse_yaml(&text).map_err(|e| RenderError::Parse {
        cluster: plan.cluster.clone(),
        template: plan.template.into(),
        message: e.to_string(),
    })?;
    let id = ObjectId::of(&value)
        .and_then(|id| {
            // Before the kind names a file.
            crate::kinds::check_kind_name(&id.kind)?;
            Ok(id)
        })
        .map_err(|message| RenderError::Parse {
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

/// Template output as a value: the fast parser for the subset templates write, the guarded
/// serde_yaml for the rest (and for every error). Templates can be overridden, so their output
/// is read as untrusted YAML.
fn parse_yaml(text: &str) -> Result<Value, crate::untrusted_yaml::YamlError> {
    crate::untrusted_yaml::value(text, crate::limits::TEMPLATE_OUTPUT_MAX_BYTES as u64)
}

/// Parse and re-serialize template output so the file format never depends on template whitespace.
fn normalize(text: &str, cluster: &str, template: &str) -> Result<String, RenderError> {
    let value = parse_yaml(text).map_err(|e| RenderError::Parse {
        cluster: cluster.into(),
        template: template.into(),
        message: e.to_string(),
    })?;
    let text = format!(
        "# Rendered by hubdr. Do not edit: change the site file and run `hubdr render`.\n{}",
        crate::yaml::to_string(&value)
    );
    size::check(text.len(), &value).map_err(|oversized| RenderError::TooLarge {
        cluster: cluster.into(),
        object: ObjectId::of(&value).map_or_else(|_| template.to_string(), |id| id.to_string()),
        oversized,
    })?;
    Ok(text)
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
        // kustomize 5 sorts by kind unless told to keep this order (the waves' order).
        "sortOptions": {"order": "fifo"},
        "resources": resources,
    });
    format!(
        "# Rendered by hubdr: this cluster's objects in apply order (hubdr.io/wave).\n{}",
        crate::yaml::to_string(&value)
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

fn index(
    loaded: &LoadedSite,
    templates: &Templates,
    tree: &Tree,
    mut prerequisites: BTreeMap<String, Vec<Prerequisite>>,
) -> RenderIndex {
    let clusters: BTreeMap<String, ClusterEntry> = clusters(loaded)
        .into_iter()
        .map(|(name, mut entry)| {
            entry.prerequisites = prerequisites.remove(&name).unwrap_or_default();
            (name, entry)
        })
        .collect();
    let entries: Vec<(&String, &Vec<u8>)> = tree.iter().collect();
    let digests: Vec<String> = entries
        .par_iter()
        .with_max_len(par::PIECE)
        .map(|(_, bytes)| hex(&Sha256::digest(bytes)))
        .collect();
    // In path order: built in one pass.
    let files: BTreeMap<String, String> = entries
        .into_iter()
        .zip(digests)
        .map(|((path, _), digest)| (path.clone(), digest))
        .collect();
    RenderIndex {
        api_version: API_VERSION.into(),
        kind: INDEX_KIND.into(),
        site: loaded.site.metadata.name.clone(),
        site_hash: loaded.hash.clone(),
        generation: loaded.site.spec.failover.generation,
        tool_version: TOOL_VERSION.into(),
        templates: templates.digest.clone(),
        status_keys: loaded
            .site
            .spec
            .agent
            .status_keys
            .iter()
            .map(|(cluster, key)| (cluster.clone(), key.trim().to_string()))
            .collect(),
        clusters,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_of_files_keeps_the_later_of_two_files_with_one_path() {
        let file = |path: &str, text: &str| (path.to_string(), text.as_bytes().to_vec());
        let tree = tree_of(vec![
            file("b", "1"),
            file("a", "2"),
            file("b", "3"),
            file("c", "4"),
            file("b", "5"),
        ]);
        let files: Vec<(&str, &[u8])> = tree
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
            .collect();
        assert_eq!(files, [("a", &b"2"[..]), ("b", b"5"), ("c", b"4")]);
    }
}
