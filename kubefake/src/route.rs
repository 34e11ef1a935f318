//! URL paths of the Kubernetes API, parsed.

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/api`.
    CoreVersions,
    /// `/api/<version>`.
    CoreResources(String),
    /// `/apis`.
    Groups,
    /// `/apis/<group>`.
    Group(String),
    /// `/apis/<group>/<version>`.
    GroupResources(String, String),
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// The parts of a resource URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourcePath {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from `/namespaces/<ns>/...`.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let namespaced = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(group.is_empty() && rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, rest) = if namespaced {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.is_empty() || rest.len() > 3 {
        return Route::Unknown;
    }
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        plural: rest[0].to_string(),
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
    })
}

/// Parses a request path (without query).
pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["api", v] => Route::CoreResources(v.to_string()),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupResources(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_discovery_paths() {
        assert_eq!(parse("/api"), Route::CoreVersions);
        assert_eq!(parse("/api/v1"), Route::CoreResources("v1".into()));
        assert_eq!(parse("/apis/"), Route::Groups);
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::GroupResources("apps".into(), "v1".into())
        );
        assert_eq!(parse("/healthz/x/y"), Route::Unknown);
    }

    #[test]
    fn parses_namespaced_and_cluster_resources() {
        let r = res("/apis/velero.io/v1/namespaces/ns1/restores/r1/status");
        assert_eq!(
            (
                r.group.as_str(),
                r.namespace.as_deref(),
                r.plural.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            (
                "velero.io",
                Some("ns1"),
                "restores",
                Some("r1"),
                Some("status")
            )
        );
        let ns = res("/api/v1/namespaces/ns1");
        assert_eq!(
            (ns.plural.as_str(), ns.name.as_deref(), ns.namespace),
            ("namespaces", Some("ns1"), None)
        );
        let ns_status = res("/api/v1/namespaces/ns1/status");
        assert_eq!(
            (ns_status.name.as_deref(), ns_status.subresource.as_deref()),
            (Some("ns1"), Some("status"))
        );
        let list = res("/api/v1/namespaces/ns1/configmaps");
        assert_eq!((list.namespace.as_deref(), list.name), (Some("ns1"), None));
        let all = res("/apis/apps/v1/deployments");
        assert_eq!((all.namespace, all.plural.as_str()), (None, "deployments"));
    }
}
