//! One object to render (read by every planner of `render`).

use serde_json::Value;

/// One object to render: which template, with what context, where and in which wave.
#[derive(Debug, Clone)]
pub struct ObjectPlan {
    pub cluster: String,
    pub template: &'static str,
    pub context: Value,
    pub wave: i32,
    /// Extra annotations the renderer adds (late binding, gates).
    pub annotations: Vec<(String, String)>,
}

impl ObjectPlan {
    pub(crate) fn new(cluster: &str, template: &'static str, wave: i32, context: Value) -> Self {
        Self {
            cluster: cluster.to_string(),
            template,
            context,
            wave,
            annotations: Vec::new(),
        }
    }
}
