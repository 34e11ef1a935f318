//! Fault injection: error responses and delays for matching requests.

use std::time::Duration;

use crate::apierror::ApiError;

/// The verb of a request, as far as fault matching is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// Any PATCH, including server-side apply.
    Patch,
    /// PATCH with `application/apply-patch+yaml` only.
    Apply,
    /// DELETE.
    Delete,
    /// `/api`, `/apis` and the group-version resource lists.
    Discovery,
}

impl Verb {
    /// Whether a fault declared for `self` applies to a request with verb `actual`.
    pub fn covers(self, actual: Verb) -> bool {
        self == actual || (self == Verb::Patch && actual == Verb::Apply)
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this HTTP code and a `Status` body (reason from the code).
    Error {
        /// HTTP code, e.g. 500 or 503.
        code: u16,
        /// `Status.message`.
        message: String,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
}

/// A fault rule: which requests it matches, what it does and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    verb: Option<Verb>,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    action: FaultAction,
    times: Option<u32>,
}

/// What the server knows about a request when it checks faults.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The verb (`None` only for paths kubefake does not serve).
    pub verb: Option<Verb>,
    /// API group.
    pub group: String,
    /// Kind, when the resource is known.
    pub kind: String,
    /// Plural resource name from the URL.
    pub plural: String,
    /// Namespace from the URL.
    pub namespace: Option<String>,
    /// Object name from the URL or body.
    pub name: Option<String>,
}

impl Fault {
    /// A fault answering `code` (404, 409, 422, 500, 503, 504, ...) with `message`.
    /// Matches every request until narrowed; fires every time until [`Fault::times`].
    pub fn error(code: u16, message: impl Into<String>) -> Self {
        Self::with_action(FaultAction::Error {
            code,
            message: message.into(),
        })
    }

    /// A fault delaying matching requests by `delay` (for client timeouts).
    pub fn delay(delay: Duration) -> Self {
        Self::with_action(FaultAction::Delay(delay))
    }

    fn with_action(action: FaultAction) -> Self {
        Fault {
            verb: None,
            resource: None,
            namespace: None,
            name: None,
            action,
            times: None,
        }
    }

    /// Only requests with this verb ([`Verb::Patch`] also covers apply).
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verb = Some(verb);
        self
    }

    /// Only this resource: plural (`restores`), kind (`Restore`) or `plural.group`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Only this namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Only objects whose name matches this pattern (`*` matches any run of characters).
    pub fn name(mut self, pattern: impl Into<String>) -> Self {
        self.name = Some(pattern.into());
        self
    }

    /// Fire `n` times, then stop matching.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Fire on every matching request (the default).
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    fn matches(&self, req: &RequestInfo) -> bool {
        if let Some(v) = self.verb {
            if !req.verb.is_some_and(|actual| v.covers(actual)) {
                return false;
            }
        }
        if let Some(r) = &self.resource {
            let r = r.to_lowercase();
            let dotted = format!("{}.{}", req.plural, req.group);
            if r != req.plural && r != req.kind.to_lowercase() && r != dotted {
                return false;
            }
        }
        if let Some(ns) = &self.namespace {
            if req.namespace.as_deref() != Some(ns.as_str()) {
                return false;
            }
        }
        if let Some(pattern) = &self.name {
            if !req.name.as_deref().is_some_and(|n| glob(pattern, n)) {
                return false;
            }
        }
        true
    }
}

/// `*`-only glob match.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The active fault rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

/// What the faults decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Total delay to wait before answering.
    pub delay: Duration,
    /// An error to answer with instead of handling the request.
    pub error: Option<ApiError>,
}

impl Faults {
    /// Adds a rule; rules are checked in the order they were added.
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Applies matching rules to `req`: delays add up, the first error wins. Counts down
    /// `times` of every rule that fired and drops exhausted rules.
    pub fn decide(&mut self, req: &RequestInfo) -> Decision {
        let mut decision = Decision::default();
        for rule in self.rules.iter_mut() {
            if !rule.matches(req) {
                continue;
            }
            match &rule.action {
                FaultAction::Delay(d) => decision.delay += *d,
                FaultAction::Error { code, message } => {
                    if decision.error.is_some() {
                        continue;
                    }
                    decision.error = Some(ApiError::new(*code, message.clone()));
                }
            }
            if let Some(n) = rule.times.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        self.rules.retain(|r| r.times != Some(0));
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(verb: Verb, name: &str) -> RequestInfo {
        RequestInfo {
            verb: Some(verb),
            group: "velero.io".into(),
            kind: "Restore".into(),
            plural: "restores".into(),
            namespace: Some("ns".into()),
            name: Some(name.into()),
        }
    }

    #[test]
    fn glob_matches_stars() {
        assert!(glob("restore-*", "restore-acm-g4"));
        assert!(glob("*-g4", "restore-acm-g4"));
        assert!(glob("r*acm*4", "restore-acm-g4"));
        assert!(!glob("restore-*", "backup-1"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn counted_faults_fire_n_times_then_stop() {
        let mut f = Faults::default();
        f.add(
            Fault::error(503, "busy")
                .verb(Verb::Patch)
                .resource("Restore")
                .name("r-*")
                .times(2),
        );
        assert!(
            f.decide(&req(Verb::Get, "r-1")).error.is_none(),
            "verb differs"
        );
        assert!(
            f.decide(&req(Verb::Apply, "x")).error.is_none(),
            "name differs"
        );
        assert_eq!(f.decide(&req(Verb::Apply, "r-1")).error.unwrap().code, 503);
        assert_eq!(
            f.decide(&req(Verb::Patch, "r-2")).error.unwrap().reason,
            "ServiceUnavailable"
        );
        assert!(
            f.decide(&req(Verb::Apply, "r-1")).error.is_none(),
            "exhausted"
        );
    }

    #[test]
    fn delays_add_up_and_resource_accepts_plural_dot_group() {
        let mut f = Faults::default();
        f.add(Fault::delay(Duration::from_millis(5)).resource("restores.velero.io"));
        f.add(Fault::delay(Duration::from_millis(7)));
        let d = f.decide(&req(Verb::Get, "a"));
        assert_eq!(d.delay, Duration::from_millis(12));
        assert!(d.error.is_none());
    }
}
