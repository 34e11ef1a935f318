//! The install files of a fleet, each distinct file shape built once.
//!
//! Clusters of one side (hub or managed) whose namespaces carry the same grants, in the same
//! order, get the same install file but for the names: the cluster's and the namespaces'. So
//! the file is built once per shape with placeholder names (`hubdr-placeholder-cluster-name`,
//! `hubdr-placeholder-ns-000000`, ...) and filled in with each cluster's names, when that gives
//! exactly the bytes [`super::install_file`] gives: every name is written as it is (a plain
//! YAML scalar; a name like `123` or `true` is quoted, and its cluster gets its own build), and
//! the placeholders stand for nothing else in the file (checked per shape by building it with a
//! second set of placeholders and comparing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::render::access::{ClusterAccess, NamespaceGrant};
use crate::site::Site;

use super::build;

const PREFIX: &str = "hubdr-placeholder-";
const PLACEHOLDER: &str = "hubdr-placeholder-cluster-name";
const SECOND_PLACEHOLDER: &str = "hubdr-second-placeholder";
/// Namespace placeholders: the prefix and a six-digit position.
const NS_PLACEHOLDER: &str = "hubdr-placeholder-ns-";
const SECOND_NS_PLACEHOLDER: &str = "hubdr-second-placeholder-ns-";
const NS_DIGITS: usize = 6;
const MAX_NAMESPACES: usize = 999_999;

/// Hub or not, whether it applies Namespaces, and each namespace's grants in order.
type Shape = (bool, bool, Vec<NamespaceGrant>);

/// A file cut where the names go: `parts[0] hole[0] parts[1] ... parts[n]`.
#[derive(Debug)]
struct Cut {
    parts: Vec<String>,
    holes: Vec<Hole>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Cluster,
    Namespace(usize),
}

pub struct InstallFiles<'a> {
    site: &'a Site,
    /// Per shape, the file cut where the placeholders stand for the names, or `None` when they
    /// cannot stand for them.
    shapes: Mutex<HashMap<Shape, Option<Arc<Cut>>>>,
}

impl<'a> InstallFiles<'a> {
    pub fn new(site: &'a Site) -> Self {
        Self {
            site,
            shapes: Mutex::new(HashMap::new()),
        }
    }

    /// The same bytes as [`super::install_file`].
    pub fn file(&self, cluster: &str, access: &ClusterAccess) -> String {
        let names: Vec<&str> = access.namespace_names().collect();
        // A decommissioned hub's file has a rule of its own (a shape is built for no name).
        if !written_as_is(cluster)
            || super::fixed::decommissioned(self.site, cluster)
            || names.len() > MAX_NAMESPACES
            || !names.iter().all(|n| written_as_is(n))
        {
            return build(self.site, cluster, access, &names);
        }
        let key: Shape = (
            access.hub,
            access.namespace_objects,
            access.namespaces.values().cloned().collect(),
        );
        let cut = {
            let mut shapes = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
            match shapes.get(&key) {
                Some(cut) => cut.clone(),
                None => {
                    let cut = self.cut(access).map(Arc::new);
                    shapes.insert(key, cut.clone());
                    cut
                }
            }
        };
        match cut {
            // Written once, into a string of the right size.
            Some(cut) => fill(&cut, cluster, &names),
            None => build(self.site, cluster, access, &names),
        }
    }

    /// The file of `access`'s shape cut at the names, when the placeholders stand only for them.
    fn cut(&self, access: &ClusterAccess) -> Option<Cut> {
        let n = access.namespaces.len();
        let first: Vec<String> = (0..n).map(|i| placeholder(NS_PLACEHOLDER, i)).collect();
        let second: Vec<String> = (0..n)
            .map(|i| placeholder(SECOND_NS_PLACEHOLDER, i))
            .collect();
        let shape = build(self.site, PLACEHOLDER, access, &as_refs(&first));
        let cut = cut(&shape, n)?;
        let check = build(self.site, SECOND_PLACEHOLDER, access, &as_refs(&second));
        (fill(&cut, SECOND_PLACEHOLDER, &as_refs(&second)) == check).then_some(cut)
    }
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn placeholder(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:0NS_DIGITS$}")
}

/// `text` cut at every placeholder; `None` when something else starts like one.
fn cut(text: &str, namespaces: usize) -> Option<Cut> {
    let mut parts = Vec::new();
    let mut holes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at..];
        let (hole, len) = if after.starts_with(PLACEHOLDER) {
            (Hole::Cluster, PLACEHOLDER.len())
        } else if let Some(digits) = after
            .strip_prefix(NS_PLACEHOLDER)
            .and_then(|d| d.get(..NS_DIGITS))
        {
            let i: usize = digits.parse().ok().filter(|i| *i < namespaces)?;
            (Hole::Namespace(i), NS_PLACEHOLDER.len() + NS_DIGITS)
        } else {
            return None;
        };
        parts.push(rest[..at].to_string());
        holes.push(hole);
        rest = &rest[at + len..];
    }
    parts.push(rest.to_string());
    Some(Cut { parts, holes })
}

/// The cut file with `cluster` and `names` in its holes.
fn fill(cut: &Cut, cluster: &str, names: &[&str]) -> String {
    let name = |hole: &Hole| match hole {
        Hole::Cluster => cluster,
        Hole::Namespace(i) => names[*i],
    };
    let len = cut.parts.iter().map(String::len).sum::<usize>()
        + cut.holes.iter().map(|h| name(h).len()).sum::<usize>();
    let mut out = String::with_capacity(len);
    for (part, hole) in cut.parts.iter().zip(&cut.holes) {
        out.push_str(part);
        out.push_str(name(hole));
    }
    out.push_str(cut.parts.last().map_or("", String::as_str));
    out
}

/// Whether `name` and the strings made from it (`hubdr-agent-<name>`, `agents/<name>.yaml`)
/// are written into YAML as they are, like the placeholders: a DNS-1123 label that YAML does
/// not read as a number, boolean or null.
fn written_as_is(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && crate::yaml::to_string(&Value::String(name.to_string())) == format!("{name}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::access::SiteAccess;

    fn example_site(image: &str) -> Site {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../repos-example/site.yaml"
        ))
        .unwrap();
        let mut site = crate::site::load::load_str(&text, std::path::Path::new("site.yaml"))
            .unwrap()
            .site;
        site.spec.agent.image = image.to_string();
        site
    }

    const NAMES: [&str; 22] = [
        "east-1", "hub-a", "a", "123", "0", "1e3", "1-2", "0x1f", "0o17", "true", "false", "null",
        "y", "n", "yes", "no", "on", "off", "inf", "nan", "e", "07",
    ];

    /// The shared-shape install files are byte for byte the directly built ones, for names that
    /// YAML writes as they are and for names it must quote (as cluster and as namespace names),
    /// for hubs and managed clusters of several shapes, and when the site itself holds a
    /// placeholder.
    #[test]
    fn shared_shapes_give_the_direct_bytes() {
        let long = "a".repeat(63);
        let mut names: Vec<&str> = NAMES.to_vec();
        names.push(&long);
        for image in [
            "quay.io/hubdr/agent:1".to_string(),
            format!("quay.io/{PLACEHOLDER}:1"),
            format!("quay.io/{NS_PLACEHOLDER}000001:1"),
            format!("quay.io/{PREFIX}x:1"),
        ] {
            let site = example_site(&image);
            let access = SiteAccess::of(&site);
            let files = InstallFiles::new(&site);
            // The example's hubs, an idle managed cluster and managed clusters with one and
            // with two namespaces; then the same shapes with other namespace names.
            let mut idle = access.get("west-1").unwrap().clone();
            idle.namespaces.clear();
            idle.namespace_objects = false;
            let mut shapes: Vec<ClusterAccess> = ["hub-a", "west-1", "east-1"]
                .iter()
                .map(|c| access.get(c).unwrap().clone())
                .collect();
            shapes.push(idle);
            for (i, a) in shapes.clone().iter().enumerate() {
                let mut renamed = a.clone();
                renamed.namespaces = a
                    .namespaces
                    .values()
                    .enumerate()
                    .map(|(j, g)| (names[(i + j) % names.len()].to_string(), g.clone()))
                    .collect();
                shapes.push(renamed);
            }
            for name in &names {
                for a in &shapes {
                    assert_eq!(
                        files.file(name, a),
                        super::super::install_file(&site, name, a),
                        "cluster {name:?}, namespaces {:?}, image {image}",
                        a.namespaces.keys().collect::<Vec<_>>()
                    );
                }
            }
            let shapes = files.shapes.lock().unwrap();
            assert!(shapes.len() >= 4, "{}", shapes.len());
            let shared = !image.contains(PREFIX);
            assert!(shapes.values().all(|s| s.is_some() == shared), "{image}");
        }
    }

    #[test]
    fn quoted_names_are_not_written_as_is() {
        for name in ["123", "true", "null", "1e3", "0x1f", ""] {
            assert!(!written_as_is(name), "{name}");
        }
        for name in ["east-1", "a", "hub-a"] {
            assert!(written_as_is(name), "{name}");
        }
    }

    #[test]
    fn cuts_refuse_what_only_looks_like_a_placeholder() {
        let text = format!("a {PLACEHOLDER} b {NS_PLACEHOLDER}000001 c");
        let c = cut(&text, 2).unwrap();
        assert_eq!(c.holes, [Hole::Cluster, Hole::Namespace(1)]);
        assert_eq!(fill(&c, "x", &["n0", "n1"]), "a x b n1 c");
        assert!(cut(&text, 1).is_none(), "a namespace beyond the shape's");
        assert!(cut(&format!("{PREFIX}other"), 0).is_none());
        assert!(cut(&format!("{NS_PLACEHOLDER}12"), 20).is_none());
    }
}
