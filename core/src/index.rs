//! `.hubdr/index.yaml`: what a render produced, read back by `hubdr plan` and by the agents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const INDEX_PATH: &str = ".hubdr/index.yaml";
pub const INDEX_KIND: &str = "RenderIndex";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderIndex {
    pub api_version: String,
    pub kind: String,
    pub site: String,
    /// `sha256:<hex>` of the canonical site model.
    pub site_hash: String,
    pub generation: u64,
    pub tool_version: String,
    /// `embedded` or the digest of the templates used.
    pub templates: String,
    /// Status keys registered in the site (`spec.agent.statusKeys`): cluster -> `ed25519:<base64>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_keys: BTreeMap<String, String>,
    pub clusters: BTreeMap<String, ClusterEntry>,
    /// Every rendered file (outside `.hubdr/`) with its sha256 hex digest.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterEntry {
    /// `hub` or `managed`.
    pub kind: String,
    /// Hub role: active, passive or fenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
}

/// Something that must exist in a cluster before its objects work; never rendered by hubdr.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prerequisite {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Keys the Secret must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Who needs it.
    #[serde(rename = "for")]
    pub for_: String,
    /// A ManagedCluster: the URL one of its `spec.managedClusterClientConfigs[].url` must be
    /// (the site's `apiServer`; `hubdr status` checks it against the hub agent's report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Prerequisite {
    /// One line for `hubdr plan`: `Kind namespace/name keys [..] url ..: for`.
    pub fn line(&self) -> String {
        let mut line = self.kind.clone();
        line.push(' ');
        if !self.namespace.is_empty() {
            line.push_str(&self.namespace);
            line.push('/');
        }
        line.push_str(&self.name);
        if !self.keys.is_empty() {
            line.push_str(&format!(" keys [{}]", self.keys.join(", ")));
        }
        if let Some(url) = &self.url {
            line.push_str(&format!(" url {url}"));
        }
        format!("{line}: {}", self.for_)
    }
}

impl RenderIndex {
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::untrusted_yaml::from_str(text, crate::limits::INDEX_MAX_BYTES)
            .map_err(|e| format!("{INDEX_PATH} is not a hubdr render index: {e}"))
    }

    /// The index as the YAML emitter writes it. The clusters and files of a fleet are emitted
    /// in parallel, in chunks: the entries of a block mapping are written independently of
    /// each other, so the bytes are the same (tests compare them with the emitter's).
    pub fn to_yaml(&self) -> String {
        let mut head = String::from(
            "# Written by hubdr render: digests of every rendered file. Do not edit.\n",
        );
        let head_value = serde_json::to_value(Head::of(self)).expect("the index serializes");
        crate::yaml::write(&mut head, &head_value);
        let (clusters, files) = rayon::join(
            || match clusters_as_lines(&self.clusters) {
                Some(lines) => ["clusters:\n".to_string(), lines].concat(),
                None => map_section("clusters", &self.clusters),
            },
            || match files_as_lines(&self.files) {
                Some(lines) => [vec!["files:\n".to_string()], lines].concat(),
                None => vec![map_section("files", &self.files)],
            },
        );
        // A fleet's index is megabytes: copied once, into a string of the right size.
        let parts: Vec<&str> = [head.as_str(), clusters.as_str()]
            .into_iter()
            .chain(files.iter().map(String::as_str))
            .collect();
        parts.concat()
    }
}

/// [`RenderIndex`] without its clusters and files, serialized the same way.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    api_version: &'a str,
    kind: &'a str,
    site: &'a str,
    site_hash: &'a str,
    generation: u64,
    tool_version: &'a str,
    templates: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    status_keys: &'a BTreeMap<String, String>,
}

impl<'a> Head<'a> {
    fn of(index: &'a RenderIndex) -> Self {
        let RenderIndex {
            api_version,
            kind,
            site,
            site_hash,
            generation,
            tool_version,
            templates,
            status_keys,
            clusters: _,
            files: _,
        } = index;
        Head {
            api_version,
            kind,
            site,
            site_hash,
            generation: *generation,
            tool_version,
            templates,
            status_keys,
        }
    }
}

/// The emitter's output for the one-key mapping `{key: entries}`, with the entries emitted in
/// parallel chunks (each chunk as `{key: chunk}`, its `key:` line dropped).
fn map_section<V: Serialize + Sync>(key: &str, entries: &BTreeMap<String, V>) -> String {
    use rayon::prelude::*;
    let emit = |chunk: &[(&String, &V)]| {
        let map: serde_json::Map<String, serde_json::Value> = chunk
            .iter()
            .map(|(k, v)| {
                let v = serde_json::to_value(v).expect("the index serializes");
                ((*k).clone(), v)
            })
            .collect();
        let mut section = serde_json::Map::new();
        section.insert(key.to_string(), serde_json::Value::Object(map));
        crate::yaml::to_string(&serde_json::Value::Object(section))
    };
    let entries: Vec<(&String, &V)> = entries.iter().collect();
    if entries.is_empty() {
        return emit(&[]);
    }
    let header = format!("{key}:\n");
    let bodies: Vec<String> = entries
        .par_chunks(256)
        .with_max_len(crate::par::HEAVY)
        .map(|chunk| {
            let mut text = emit(chunk);
            assert!(
                text.starts_with(&header),
                "a non-empty mapping is a block mapping: {text}"
            );
            text.drain(..header.len());
            text
        })
        .collect();
    [vec![header], bodies].concat().concat()
}

/// The `files:` entries as the YAML emitter writes them in the index (`  <path>: <digest>`),
/// written in parallel, in chunks; `None` unless there are files and each path and digest is a
/// non-empty string of printable ASCII without spaces, short enough for a simple key: then each entry
/// is one line whose scalars are written as they would be on their own. (Longer or spaced
/// scalars can be folded or written as complex keys depending on their column.)
fn files_as_lines(files: &BTreeMap<String, String>) -> Option<Vec<String>> {
    use rayon::prelude::*;
    // Printable ASCII without spaces: no line breaks of any kind (YAML also breaks lines at
    // U+0085, U+2028 and U+2029).
    let simple =
        |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    if files.is_empty() || !files.iter().all(|(k, v)| simple(k) && simple(v)) {
        return None;
    }
    let entries: Vec<(&String, &String)> = files.iter().collect();
    entries
        .par_chunks(1024)
        .with_max_len(crate::par::HEAVY)
        .map(|chunk| {
            let mut lines = String::with_capacity(chunk.len() * 128);
            for (path, digest) in chunk {
                let start = lines.len();
                lines.push_str("  ");
                crate::yaml::write_lone_string(&mut lines, path);
                lines.push_str(": ");
                crate::yaml::write_lone_string(&mut lines, digest);
                if lines[start..].contains('\n') {
                    return None;
                }
                lines.push('\n');
            }
            Some(lines)
        })
        .collect()
}

/// The `clusters:` entries as the YAML emitter writes them in the index, written in parallel,
/// in chunks; `None` unless there are clusters and every scalar in them is written on one line
/// the same way wherever it stands (see [`one_line`]): then each is written as it would be on
/// its own, in the emitter's layout of block mappings and sequences.
fn clusters_as_lines(clusters: &BTreeMap<String, ClusterEntry>) -> Option<String> {
    use rayon::prelude::*;
    let entries: Vec<(&String, &ClusterEntry)> = clusters.iter().collect();
    if entries.is_empty() {
        return None;
    }
    let chunks: Option<Vec<String>> = entries
        .par_chunks(256)
        .with_max_len(crate::par::HEAVY)
        .map(|chunk| {
            let mut out = String::with_capacity(chunk.len() * 1024);
            for (name, entry) in chunk {
                write_cluster(&mut out, name, entry)?;
            }
            Some(out)
        })
        .collect();
    chunks.map(|chunks| chunks.concat())
}

/// One entry of `clusters:`, as `  <name>:` and its fields below; `None` when a scalar is not
/// [`one_line`].
fn write_cluster(out: &mut String, name: &str, entry: &ClusterEntry) -> Option<()> {
    // Every field, so that a new one cannot be left out here unnoticed.
    let ClusterEntry {
        kind,
        role,
        prerequisites,
    } = entry;
    field(out, "  ", name, None)?;
    field(out, "    ", "kind", Some(kind))?;
    if let Some(role) = role {
        field(out, "    ", "role", Some(role))?;
    }
    if prerequisites.is_empty() {
        return Some(());
    }
    field(out, "    ", "prerequisites", None)?;
    for prerequisite in prerequisites {
        let Prerequisite {
            kind,
            namespace,
            name,
            keys,
            for_,
            url,
        } = prerequisite;
        field(out, "    - ", "kind", Some(kind))?;
        field(out, "      ", "namespace", Some(namespace))?;
        field(out, "      ", "name", Some(name))?;
        if !keys.is_empty() {
            field(out, "      ", "keys", None)?;
            for key in keys {
                out.push_str("      - ");
                scalar(out, key)?;
                out.push('\n');
            }
        }
        field(out, "      ", "for", Some(for_))?;
        if let Some(url) = url {
            field(out, "      ", "url", Some(url))?;
        }
    }
    Some(())
}

/// `<lead><key>:`, then ` <value>` when there is one, and the line's end.
fn field(out: &mut String, lead: &str, key: &str, value: Option<&str>) -> Option<()> {
    out.push_str(lead);
    scalar(out, key)?;
    out.push(':');
    if let Some(value) = value {
        out.push(' ');
        scalar(out, value)?;
    }
    out.push('\n');
    Some(())
}

/// `s` written as the emitter writes it alone, when that is how it writes it anywhere.
fn scalar(out: &mut String, s: &str) -> Option<()> {
    one_line(s).then(|| crate::yaml::write_lone_string(out, s))
}

/// A scalar the emitter writes on one line, the same way as a key, a value or a sequence item
/// at any column: no line breaks of any kind (YAML also breaks lines at U+0085, U+2028 and
/// U+2029), and short enough for a simple key. (Lines are never folded at a width.)
fn one_line(s: &str) -> bool {
    s.len() <= 128 && !s.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(files: &[(&str, &str)]) -> RenderIndex {
        let entry = |role: Option<&str>| ClusterEntry {
            kind: if role.is_some() { "hub" } else { "managed" }.into(),
            role: role.map(str::to_string),
            prerequisites: vec![Prerequisite {
                kind: "Secret".into(),
                namespace: "ns".into(),
                name: "s".into(),
                keys: vec!["a".into()],
                for_: "a long description that a YAML emitter may want to fold at some column"
                    .into(),
                url: None,
            }],
        };
        RenderIndex {
            api_version: "hubdr.io/v1alpha1".into(),
            kind: INDEX_KIND.into(),
            site: "s".into(),
            site_hash: "sha256:00".into(),
            generation: 3,
            tool_version: "0.1.0".into(),
            templates: "embedded".into(),
            status_keys: BTreeMap::from([(
                "hub-a".to_string(),
                "ed25519:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=".to_string(),
            )]),
            clusters: [
                ("hub-a".to_string(), entry(Some("active"))),
                ("123".to_string(), entry(None)),
            ]
            .into_iter()
            .collect(),
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The index written with the files' lines is the index written by the emitter alone.
    /// Sections of more entries than a chunk, with names the emitter must quote, and empty
    /// sections.
    #[test]
    fn sections_in_chunks_match_the_emitter() {
        let expected = |index: &RenderIndex| {
            let value = serde_json::to_value(index).unwrap();
            format!(
                "# Written by hubdr render: digests of every rendered file. Do not edit.\n{}",
                crate::yaml::to_string(&value)
            )
        };
        let mut big = index(&[]);
        let template = big.clusters["hub-a"].clone();
        for i in 0..700 {
            let name = match i % 4 {
                0 => format!("c-{i:05}"),
                1 => format!("{i}"),
                2 => format!("a b {i}"),
                _ => format!("x: {i}"),
            };
            big.clusters.insert(name, template.clone());
            big.files
                .insert(format!("path with space {i}"), format!("{i}"));
        }
        assert_eq!(big.to_yaml(), expected(&big));
        big.files.clear();
        assert_eq!(big.to_yaml(), expected(&big));
        big.clusters.clear();
        assert_eq!(big.to_yaml(), expected(&big));
        assert!(
            big.to_yaml().contains("clusters: {}\n"),
            "{}",
            big.to_yaml()
        );
    }

    #[test]
    fn files_lines_match_the_emitter() {
        let long = "x".repeat(128);
        let longer = "y".repeat(129);
        let digest = "e0ac520059524d4f268e1e961ed40b11e69996d9bda338ab3ec9342dcaef5729";
        let sets: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![
                ("agents/hub-a.yaml", digest),
                ("clusters/hub-a/kustomization.yaml", digest),
            ],
            vec![
                ("123", "456"),
                ("true", "null"),
                ("1e3", "0x1f"),
                ("-a", "~"),
                ("a:b", "#c"),
            ],
            vec![
                ("'q", "\"d"),
                ("é/ü", "1234567890"),
                (long.as_str(), digest),
                ("y", "n"),
            ],
            vec![(longer.as_str(), digest)],
            vec![("a b", digest)],
            vec![("", digest)],
            vec![("a\nb", digest)],
            vec![("a\u{2028}b", digest)],
            vec![("a", "b\u{2029}c")],
            vec![("a\u{85}b", digest)],
            vec![("é", digest)],
            vec![("a", "")],
        ];
        for files in sets {
            let index = index(&files);
            let value = serde_json::to_value(&index).unwrap();
            let expected = format!(
                "# Written by hubdr render: digests of every rendered file. Do not edit.\n{}",
                crate::yaml::to_string(&value)
            );
            assert_eq!(index.to_yaml(), expected, "{files:?}");
            assert_eq!(RenderIndex::parse(&index.to_yaml()).unwrap(), index);
        }
    }

    /// The clusters written directly are the clusters written by the emitter, for names and
    /// values the emitter quotes, escapes or writes on several lines (then the emitter writes
    /// them), with and without roles, keys and prerequisites.
    #[test]
    fn clusters_lines_match_the_emitter() {
        let long = "x".repeat(128);
        let longer = "y".repeat(129);
        let hostile = [
            "plain",
            "123",
            "true",
            "null",
            "~",
            "",
            "-a",
            "a: b",
            "#c",
            "a #b",
            "'q",
            "\"d",
            "é/ü",
            "1e3",
            "0x1f",
            "tab\there",
            " lead",
            "trail ",
            "a\nb",
            "a\u{2028}b",
            "a\u{85}b",
            "a\rb",
            "[x]",
            "{y}",
            "*z",
            "&w",
            "!t",
            "%p",
            "@r",
            "`s",
            "|l",
            ">f",
            "?",
            ":",
            long.as_str(),
            longer.as_str(),
        ];
        let prerequisite = |s: &str, keys: Vec<String>| Prerequisite {
            kind: s.into(),
            namespace: s.into(),
            name: s.into(),
            keys,
            for_: format!("replication {s} (rsync-tls): the volume to protect"),
            url: Some(s.into()),
        };
        let expected = |index: &RenderIndex| {
            let value = serde_json::to_value(index).unwrap();
            format!(
                "# Written by hubdr render: digests of every rendered file. Do not edit.\n{}",
                crate::yaml::to_string(&value)
            )
        };
        let mut lines_taken = 0;
        for s in hostile {
            let mut one = index(&[]);
            one.clusters.insert(
                s.to_string(),
                ClusterEntry {
                    kind: s.into(),
                    role: Some(s.into()),
                    prerequisites: vec![
                        prerequisite(s, vec![s.into(), "psk.txt".into()]),
                        prerequisite("Secret", vec![]),
                    ],
                },
            );
            one.clusters.insert(
                format!("{s}-bare"),
                ClusterEntry {
                    kind: "managed".into(),
                    role: None,
                    prerequisites: vec![],
                },
            );
            assert_eq!(one.to_yaml(), expected(&one), "{s:?}");
            lines_taken += usize::from(clusters_as_lines(&one.clusters).is_some());
        }
        // Most of them are written directly; those with line breaks or long ones are not.
        assert_eq!(lines_taken, hostile.len() - 6);
        assert!(clusters_as_lines(&index(&[]).clusters).is_some());
        assert!(clusters_as_lines(&BTreeMap::new()).is_none());
    }

    #[test]
    fn the_fast_path_is_taken_for_ordinary_files() {
        assert!(files_as_lines(&index(&[("clusters/a/b.yaml", "ab12")]).files).is_some());
        assert!(files_as_lines(&index(&[("a b", "ab12")]).files).is_none());
    }
}
