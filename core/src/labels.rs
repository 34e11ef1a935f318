//! The label and annotation names hubdr puts on objects and the agent reads.

pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_SITE: &str = "hubdr.io/site";
pub const LABEL_CLUSTER: &str = "hubdr.io/cluster";
pub const ANNOTATION_WAVE: &str = "hubdr.io/wave";
pub const ANNOTATION_ARGO_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const ANNOTATION_PRUNE: &str = "hubdr.io/prune";
pub const ANNOTATION_LATE_BIND: &str = "hubdr.io/late-bind";
