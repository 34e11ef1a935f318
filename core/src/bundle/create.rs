//! Making a bundle: one cluster's files of a render, checked against the render index, with
//! the index cut down to that cluster, a manifest of every digest, and its signature. Pure:
//! the caller reads the render (from git or a directory) and writes the result.

use std::collections::BTreeMap;

use crate::index::{RenderIndex, INDEX_PATH};
use crate::tree::Tree;

use super::keys::{hex, SecretKey};
use super::manifest::{
    self, BundleManifest, SignatureEntry, MANIFEST_ENTRY, MANIFEST_KIND, SIGNATURE_ALGORITHM,
    SIGNATURE_ENTRY,
};
use super::{archive, sha256_hex};

/// What a bundle is made of.
#[derive(Debug)]
pub struct CreateInput<'a> {
    pub index: &'a RenderIndex,
    /// The render's files; only `clusters/<cluster>/` is taken.
    pub files: &'a Tree,
    pub cluster: &'a str,
    pub source_commit: Option<String>,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("cluster {cluster} is not in the render (it has: {}); check --cluster", known.join(", "))]
    UnknownCluster { cluster: String, known: Vec<String> },
    #[error(
        "{path} does not match its digest in {INDEX_PATH} (expected {expected}, found {actual}); \
         the render was edited by hand: re-render with `hubdr render` and commit"
    )]
    NotRendered {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path} is not listed in {INDEX_PATH}: only rendered files go into a bundle; remove it or re-render")]
    Unindexed { path: String },
    #[error(
        "{path} is listed in {INDEX_PATH} but missing; render again and commit the whole output"
    )]
    Missing { path: String },
    #[error("cannot pack the archive: {0}")]
    Archive(#[from] std::io::Error),
}

/// The bundle's bytes and its manifest.
pub fn create(
    input: &CreateInput<'_>,
    key: &SecretKey,
) -> Result<(Vec<u8>, BundleManifest), CreateError> {
    let cluster = input.cluster;
    let Some(entry) = input.index.clusters.get(cluster) else {
        return Err(CreateError::UnknownCluster {
            cluster: cluster.into(),
            known: input.index.clusters.keys().cloned().collect(),
        });
    };
    let dir = format!("clusters/{cluster}/");
    let files: BTreeMap<&String, &Vec<u8>> = input
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(&dir))
        .collect();
    let mut digests = BTreeMap::new();
    for (path, bytes) in &files {
        let Some(expected) = input.index.files.get(*path) else {
            return Err(CreateError::Unindexed {
                path: (*path).clone(),
            });
        };
        let actual = sha256_hex(bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(CreateError::NotRendered {
                path: (*path).clone(),
                expected: expected.clone(),
                actual,
            });
        }
        digests.insert((*path).clone(), actual);
    }
    if let Some(path) = input
        .index
        .files
        .keys()
        .filter(|p| p.starts_with(&dir))
        .find(|p| !files.contains_key(p))
    {
        return Err(CreateError::Missing { path: path.clone() });
    }

    let index = RenderIndex {
        clusters: BTreeMap::from([(cluster.to_string(), entry.clone())]),
        files: digests.clone(),
        ..input.index.clone()
    };
    let index_bytes = index.to_yaml().into_bytes();
    let mut listed = digests;
    listed.insert(INDEX_PATH.to_string(), sha256_hex(&index_bytes));
    let manifest = BundleManifest {
        api_version: crate::API_VERSION.into(),
        kind: MANIFEST_KIND.into(),
        site: input.index.site.clone(),
        cluster: cluster.into(),
        generation: input.index.generation,
        source_commit: input.source_commit.clone(),
        created_at: manifest::timestamp_text(input.created_at),
        site_hash: input.index.site_hash.clone(),
        tool_version: input.index.tool_version.clone(),
        files: listed,
    };
    let manifest_bytes = manifest.to_yaml().into_bytes();
    let signature = SignatureEntry {
        algorithm: SIGNATURE_ALGORITHM.into(),
        key_id: key.public().id(),
        signature: hex(&key.sign(&manifest_bytes)),
    }
    .to_yaml()
    .into_bytes();

    let mut entries: Vec<(&str, &[u8])> = vec![
        (MANIFEST_ENTRY, &manifest_bytes),
        (SIGNATURE_ENTRY, &signature),
        (INDEX_PATH, &index_bytes),
    ];
    entries.extend(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    Ok((archive::pack(entries)?, manifest))
}

/// A file name for a bundle: `<site>-<cluster>-g<generation>-<time>.tar.zst`.
pub fn default_file_name(manifest: &BundleManifest) -> String {
    let time: String = manifest
        .created_at
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    format!(
        "{}-{}-g{}-{time}.tar.zst",
        manifest.site, manifest.cluster, manifest.generation
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::index::ClusterEntry;

    /// A small render of two clusters, for the bundle tests.
    pub(crate) fn render(generation: u64) -> (RenderIndex, Tree) {
        let mut files = Tree::new();
        for (cluster, name) in [
            ("hub-a", "backupschedule.ns.schedule-acm.yaml"),
            ("hub-a", "kustomization.yaml"),
            ("hub-b", "restore.ns.r.yaml"),
        ] {
            let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {cluster}\n");
            files.insert(format!("clusters/{cluster}/{name}"), body.into_bytes());
        }
        let entry = |role: &str| ClusterEntry {
            kind: "hub".into(),
            role: Some(role.into()),
            prerequisites: Vec::new(),
        };
        let index = RenderIndex {
            api_version: crate::API_VERSION.into(),
            kind: crate::index::INDEX_KIND.into(),
            site: "prod".into(),
            site_hash: "sha256:abcd".into(),
            generation,
            tool_version: "0.1.0".into(),
            templates: "embedded".into(),
            status_keys: BTreeMap::new(),
            clusters: BTreeMap::from([
                ("hub-a".into(), entry("active")),
                ("hub-b".into(), entry("passive")),
            ]),
            files: files
                .iter()
                .map(|(p, b)| (p.clone(), sha256_hex(b)))
                .collect(),
        };
        (index, files)
    }

    pub(crate) fn input<'a>(
        index: &'a RenderIndex,
        files: &'a Tree,
        cluster: &'a str,
    ) -> CreateInput<'a> {
        CreateInput {
            index,
            files,
            cluster,
            source_commit: Some("0123abcd".into()),
            created_at: "2025-06-01T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn bundle_holds_only_its_cluster_and_a_cut_down_index() {
        let (index, files) = render(3);
        let key = SecretKey::from_seed([1; 32]);
        let (bytes, manifest) = create(&input(&index, &files, "hub-a"), &key).unwrap();
        let entries = archive::unpack(&bytes, &archive::Limits::default()).unwrap();
        let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                MANIFEST_ENTRY,
                SIGNATURE_ENTRY,
                INDEX_PATH,
                "clusters/hub-a/backupschedule.ns.schedule-acm.yaml",
                "clusters/hub-a/kustomization.yaml"
            ]
        );
        let cut = RenderIndex::parse(std::str::from_utf8(&entries[2].1).unwrap()).unwrap();
        assert_eq!(cut.clusters.keys().collect::<Vec<_>>(), ["hub-a"]);
        assert_eq!(cut.files.len(), 2);
        assert_eq!((cut.site_hash.as_str(), cut.generation), ("sha256:abcd", 3));
        assert_eq!(manifest.files.len(), 3);
        assert_eq!(manifest.source_commit.as_deref(), Some("0123abcd"));
        assert_eq!(
            default_file_name(&manifest),
            "prod-hub-a-g3-20250601100000.tar.zst"
        );
        // Deterministic for the same input and key.
        assert_eq!(
            create(&input(&index, &files, "hub-a"), &key).unwrap().0,
            bytes
        );
    }

    #[test]
    fn hand_edits_unknown_clusters_and_stray_files_are_refused() {
        let (index, files) = render(1);
        let key = SecretKey::from_seed([1; 32]);
        assert!(matches!(
            create(&input(&index, &files, "hub-z"), &key),
            Err(CreateError::UnknownCluster { .. })
        ));
        let mut edited = files.clone();
        edited
            .get_mut("clusters/hub-a/kustomization.yaml")
            .unwrap()
            .push(b'#');
        assert!(matches!(
            create(&input(&index, &edited, "hub-a"), &key),
            Err(CreateError::NotRendered { .. })
        ));
        let mut extra = files.clone();
        extra.insert("clusters/hub-a/extra.yaml".into(), b"x".to_vec());
        assert!(matches!(
            create(&input(&index, &extra, "hub-a"), &key),
            Err(CreateError::Unindexed { .. })
        ));
        let mut missing = files.clone();
        missing.remove("clusters/hub-a/kustomization.yaml");
        assert!(matches!(
            create(&input(&index, &missing, "hub-a"), &key),
            Err(CreateError::Missing { .. })
        ));
    }
}
