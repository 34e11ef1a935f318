//! An object to apply (read by `apply`, which applies it, and by the gates and the fence,
//! which read the plan).

use hubdr_core::object::ObjectId;
use serde_json::Value;

/// An object to apply, with its wave.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: ObjectId,
    pub wave: i32,
    pub value: Value,
}
