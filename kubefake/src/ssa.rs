//! Managed fields and server-side apply: merge, conflicts, removal, update ownership.

use serde_json::{json, Value};

use crate::fieldset::{self, FieldSet, Path, PathElement};
use crate::listorder;
use crate::schema::{self, ListType};

/// `Apply` or `Update`, as in `managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write (create, update, merge or JSON patch).
    Update,
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    /// Field manager name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// `"status"` for writes through the status subresource, empty otherwise.
    pub subresource: String,
    /// apiVersion the manager wrote with.
    pub api_version: String,
    /// When the entry last changed (RFC 3339).
    pub time: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl ManagedEntry {
    fn same_owner(&self, manager: &str, op: Operation, subresource: &str) -> bool {
        self.manager == manager && self.operation == op && self.subresource == subresource
    }

    /// The JSON form used in `metadata.managedFields`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": match self.operation { Operation::Apply => "Apply", Operation::Update => "Update" },
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

/// Who is writing: manager, operation scope, apiVersion and time.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `"status"` or `""`.
    pub subresource: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// Current time (RFC 3339).
    pub now: &'a str,
}

/// One field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager.
    pub manager: String,
    /// The other manager's apiVersion.
    pub api_version: String,
    /// The other manager's operation.
    pub operation: Operation,
    /// The other manager's subresource (`""` or `"status"`).
    pub subresource: String,
    /// The contested field.
    pub path: Path,
}

/// Merges an applied configuration into an object: objects field by field, map-lists by
/// key, set-lists by value; anything else is replaced.
pub fn merge(dst: &mut Value, src: &Value, schema: Option<&Value>, root: bool) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) if !schema::map_is_atomic(schema) => {
            for (k, sv) in s {
                let sub = schema::child_at(schema, k, root);
                match d.get_mut(k) {
                    Some(dv) => merge(dv, sv, sub, false),
                    None => {
                        d.insert(k.clone(), sv.clone());
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(s)) => match schema::list_type(schema) {
            ListType::Map(keys) => {
                let item_schema = schema::items(schema);
                let key = |v: &Value| fieldset::item_key(v, &keys).unwrap_or_else(|| v.to_string());
                *d = listorder::merge(d, s, key, |live, item| match live {
                    Some(live) => {
                        let mut merged = live.clone();
                        merge(&mut merged, item, item_schema, false);
                        merged
                    }
                    None => item.clone(),
                });
            }
            ListType::Set => {
                *d = listorder::merge(d, s, Value::to_string, |_, item| item.clone());
            }
            ListType::Atomic => *d = s.clone(),
        },
        (dst, src) => *dst = src.clone(),
    }
}

fn is_item_node(path: &Path) -> bool {
    matches!(
        path.last(),
        Some(PathElement::Key(_)) | Some(PathElement::Value(_))
    )
}

/// Whether `path` is a key field of a map-list item (removed only with the item).
fn is_key_field(path: &Path) -> bool {
    match path.as_slice() {
        [.., PathElement::Key(key), PathElement::Field(f)] => {
            serde_json::from_str::<Value>(key).is_ok_and(|k| k.get(f).is_some())
        }
        _ => false,
    }
}

/// Whether `path` holds a different value in `old` and `new` (items: whether it appeared).
fn changed(old: Option<&Value>, new: &Value, path: &Path) -> bool {
    let before = old.and_then(|o| fieldset::get_path(o, path));
    let after = fieldset::get_path(new, path);
    if is_item_node(path) {
        before.is_none() && after.is_some()
    } else {
        before != after
    }
}

/// The result of a successful apply.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The new object (without `managedFields`).
    pub object: Value,
    /// The new managed fields.
    pub managed: Vec<ManagedEntry>,
}

/// Server-side apply of `config` (already limited to the fields this endpoint may change)
/// onto `live`. With `force`, conflicting fields move to this manager; without it the
/// conflicts are returned. `defaulted` are key fields the server filled in: not owned.
pub fn apply(
    live: Option<&Value>,
    managed: &[ManagedEntry],
    config: &Value,
    defaulted: &FieldSet,
    schema: Option<&Value>,
    actor: &Actor<'_>,
    force: bool,
) -> Result<Applied, Vec<Conflict>> {
    let config_set = fieldset::fields_of(config, schema).difference(defaulted);
    let mut object = live.cloned().unwrap_or_else(|| json!({}));
    merge(&mut object, config, schema, true);

    let mut managed = managed.to_vec();
    let me = |e: &ManagedEntry| e.same_owner(actor.manager, Operation::Apply, actor.subresource);

    let mut conflicts = Vec::new();
    for entry in managed.iter().filter(|e| !me(e)) {
        for path in entry.fields.intersection(&config_set).iter() {
            if changed(live, &object, path) {
                conflicts.push(Conflict {
                    manager: entry.manager.clone(),
                    api_version: entry.api_version.clone(),
                    operation: entry.operation,
                    subresource: entry.subresource.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflicts);
        }
        let taken: FieldSet = conflicts.iter().map(|c| c.path.clone()).collect();
        for entry in managed.iter_mut().filter(|e| !me(e)) {
            entry.fields = entry.fields.difference(&taken);
        }
    }

    // Fields this manager applied before, dropped now and owned by nobody else go away.
    let previous = managed
        .iter()
        .find(|e| me(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others = managed
        .iter()
        .filter(|e| !me(e))
        .fold(FieldSet::new(), |acc, e| acc.union(&e.fields));
    let to_remove = previous.difference(&config_set).difference(&others);
    // Shorter paths first: removing a map-list item takes its fields along. A path that
    // still has owned fields below it (e.g. `spec: {}` grown into `spec: {a: 1}`) stays.
    // A map-list or set item stays only if another manager owns the item itself: fields
    // another manager merely edited inside it go with it, as in structured-merge-diff.
    for path in to_remove.iter() {
        let kept_by_others = if is_item_node(path) {
            others.contains(path)
        } else {
            others.has_descendant(path)
        };
        if kept_by_others || config_set.has_descendant(path) || is_key_field(path) {
            continue;
        }
        fieldset::remove_path(&mut object, path);
    }

    match managed.iter_mut().find(|e| me(e)) {
        Some(entry) => {
            if entry.fields != config_set || entry.api_version != actor.api_version {
                entry.time = actor.now.to_string();
            }
            entry.fields = config_set;
            entry.api_version = actor.api_version.to_string();
        }
        None => managed.push(ManagedEntry {
            manager: actor.manager.to_string(),
            operation: Operation::Apply,
            subresource: actor.subresource.to_string(),
            api_version: actor.api_version.to_string(),
            time: actor.now.to_string(),
            fields: config_set,
        }),
    }
    let managed = prune_entries(managed, &object, schema);
    Ok(Applied { object, managed })
}

/// Ownership after a non-apply write (create, update, patch): the writer takes every field
/// it added or changed, other managers lose those, and removed fields leave every set.
pub fn update(
    old: Option<&Value>,
    new: &Value,
    managed: &[ManagedEntry],
    schema: Option<&Value>,
    actor: &Actor<'_>,
) -> Vec<ManagedEntry> {
    let new_set = fieldset::fields_of(new, schema);
    let old_set = old
        .map(|o| fieldset::fields_of(o, schema))
        .unwrap_or_default();
    let mut changed_set: FieldSet = new_set
        .iter()
        .filter(|p| changed(old, new, p))
        .cloned()
        .collect();
    // Like the engine's comparison, an Update also owns each map it created (`".": {}`).
    let mut created = Vec::new();
    created_maps(old, new, schema, &mut Vec::new(), true, &mut created);
    for path in created {
        changed_set.insert(path);
    }
    let removed = old_set.difference(&new_set);
    if changed_set.is_empty() && removed.is_empty() {
        return managed.to_vec();
    }
    let mut managed = managed.to_vec();
    let me = |e: &ManagedEntry| e.same_owner(actor.manager, Operation::Update, actor.subresource);
    for entry in managed.iter_mut() {
        if !me(entry) {
            entry.fields = entry.fields.difference(&changed_set);
        }
        entry.fields = entry.fields.difference(&removed);
    }
    if !changed_set.is_empty() || managed.iter().any(me) {
        match managed.iter_mut().find(|e| me(e)) {
            Some(entry) => {
                entry.fields = entry.fields.union(&changed_set);
                entry.time = actor.now.to_string();
                entry.api_version = actor.api_version.to_string();
            }
            None => managed.push(ManagedEntry {
                manager: actor.manager.to_string(),
                operation: Operation::Update,
                subresource: actor.subresource.to_string(),
                api_version: actor.api_version.to_string(),
                time: actor.now.to_string(),
                fields: changed_set,
            }),
        }
    }
    prune_entries(managed, new, schema)
}

/// Paths of the granular maps (objects that are not atomic, below the root, outside
/// `metadata`) present in `new` and absent in `old`, including those inside map-list items.
fn created_maps(
    old: Option<&Value>,
    new: &Value,
    schema: Option<&Value>,
    path: &mut Path,
    root: bool,
    out: &mut Vec<Path>,
) {
    if let Value::Object(map) = new {
        for (k, child) in map {
            if root && matches!(k.as_str(), "apiVersion" | "kind" | "status") {
                continue;
            }
            let sub = schema::child_at(schema, k, root);
            let old_child = old.and_then(|o| o.get(k));
            path.push(PathElement::Field(k.clone()));
            if child.is_object() && !schema::map_is_atomic(sub) {
                let is_root_meta = root && k == "metadata";
                if !old_child.is_some_and(Value::is_object) && !is_root_meta {
                    out.push(path.clone());
                }
                created_maps(old_child, child, sub, path, false, out);
            } else if let (Value::Array(items), ListType::Map(keys)) =
                (child, schema::list_type(sub))
            {
                let item_schema = schema::items(sub);
                for item in items {
                    let Some(key) = fieldset::item_key(item, &keys) else {
                        continue;
                    };
                    let old_item = old_child.and_then(Value::as_array).and_then(|l| {
                        l.iter()
                            .find(|i| fieldset::item_key(i, &keys).as_ref() == Some(&key))
                    });
                    path.push(PathElement::Key(key));
                    created_maps(old_item, item, item_schema, path, false, out);
                    path.pop();
                }
            }
            path.pop();
        }
    }
}

/// Drops paths that no longer exist in `object` and entries left empty. A path that still
/// exists stays owned even if it is no longer a leaf (e.g. `spec: {}` that gained defaults).
fn prune_entries(
    managed: Vec<ManagedEntry>,
    object: &Value,
    _schema: Option<&Value>,
) -> Vec<ManagedEntry> {
    managed
        .into_iter()
        .map(|mut e| {
            e.fields = e
                .fields
                .iter()
                .filter(|p| fieldset::get_path(object, p).is_some())
                .cloned()
                .collect();
            e
        })
        .filter(|e| !e.fields.is_empty())
        .collect()
}

/// Entries in kube-apiserver's order: operation (`Apply` first), time, manager,
/// apiVersion, subresource.
pub fn sorted(managed: &[ManagedEntry]) -> Vec<&ManagedEntry> {
    let op = |e: &ManagedEntry| match e.operation {
        Operation::Apply => 0,
        Operation::Update => 1,
    };
    let mut v: Vec<&ManagedEntry> = managed.iter().collect();
    v.sort_by(|a, b| {
        (op(a), &a.time, &a.manager, &a.api_version, &a.subresource).cmp(&(
            op(b),
            &b.time,
            &b.manager,
            &b.api_version,
            &b.subresource,
        ))
    });
    v
}

/// Compares two managed-field lists ignoring timestamps.
pub fn same_ownership(a: &[ManagedEntry], b: &[ManagedEntry]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.manager == y.manager
                && x.operation == y.operation
                && x.subresource == y.subresource
                && x.api_version == y.api_version
                && x.fields == y.fields
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor<'a>(manager: &'a str) -> Actor<'a> {
        Actor {
            manager,
            subresource: "",
            api_version: "x.io/v1",
            now: "2026-01-01T00:00:00Z",
        }
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "components": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "enabled": {"type": "boolean"}}}},
            "a": {"type": "string"}, "b": {"type": "string"}}}}})
    }

    fn cfg(spec: Value) -> Value {
        json!({"apiVersion": "x.io/v1", "kind": "K", "metadata": {"name": "n"}, "spec": spec})
    }

    /// `manager` applies `spec` (with the test [`schema`], nothing defaulted) over `live`, an
    /// object and its managed fields (`None`: a create).
    fn apply_spec(
        live: Option<(&Value, &[ManagedEntry])>,
        spec: Value,
        manager: &str,
        force: bool,
    ) -> Result<Applied, Vec<Conflict>> {
        let (object, managed) = live.map_or((None, &[][..]), |(o, m)| (Some(o), m));
        let schema = schema();
        let config = cfg(spec);
        apply(
            object,
            managed,
            &config,
            &FieldSet::new(),
            Some(&schema),
            &actor(manager),
            force,
        )
    }

    /// What `applied` left, to apply over.
    fn over(applied: &Applied) -> Option<(&Value, &[ManagedEntry])> {
        Some((&applied.object, &applied.managed))
    }

    #[test]
    fn apply_creates_and_owns_fields() {
        let out = apply_spec(None, json!({"a": "1"}), "m1", false).unwrap();
        assert_eq!(out.object["spec"]["a"], "1");
        assert_eq!(out.managed.len(), 1);
        assert_eq!(out.managed[0].operation, Operation::Apply);
        assert_eq!(out.managed[0].fields.len(), 1);
    }

    #[test]
    fn conflicting_value_needs_force_and_force_moves_ownership() {
        let first = apply_spec(None, json!({"a": "1"}), "m1", false).unwrap();
        let err = apply_spec(over(&first), json!({"a": "2"}), "m2", false).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].manager, "m1");
        assert_eq!(fieldset::path_string(&err[0].path), ".spec.a");

        let forced = apply_spec(over(&first), json!({"a": "2"}), "m2", true).unwrap();
        assert_eq!(forced.object["spec"]["a"], "2");
        assert_eq!(forced.managed.len(), 1, "m1 lost its only field");
        assert_eq!(forced.managed[0].manager, "m2");
    }

    #[test]
    fn same_value_is_shared_not_a_conflict() {
        let first = apply_spec(None, json!({"a": "1"}), "m1", false).unwrap();
        let second = apply_spec(over(&first), json!({"a": "1"}), "m2", false).unwrap();
        assert_eq!(second.managed.len(), 2);
    }

    #[test]
    fn dropped_fields_are_removed_unless_someone_else_owns_them() {
        let one = apply_spec(None, json!({"a": "1", "b": "2"}), "m1", false).unwrap();
        let shared = apply_spec(over(&one), json!({"b": "2"}), "m2", false).unwrap();
        let two = apply_spec(over(&shared), json!({}), "m1", false).unwrap();
        assert!(two.object["spec"].get("a").is_none(), "{}", two.object);
        assert_eq!(two.object["spec"]["b"], "2", "still owned by m2");
    }

    #[test]
    fn an_empty_object_that_gains_fields_is_not_removed() {
        let empty = apply_spec(None, json!({}), "m1", false).unwrap();
        let grown = apply_spec(over(&empty), json!({"a": "1"}), "m1", false).unwrap();
        assert_eq!(grown.object["spec"], json!({"a": "1"}));
    }

    #[test]
    fn map_list_items_belong_to_their_appliers() {
        let a = apply_spec(
            None,
            json!({"components": [{"name": "x", "enabled": true}]}),
            "m1",
            false,
        )
        .unwrap();
        let b = apply_spec(
            over(&a),
            json!({"components": [{"name": "y", "enabled": false}]}),
            "m2",
            false,
        )
        .unwrap();
        assert_eq!(b.object["spec"]["components"].as_array().unwrap().len(), 2);
        // m1 drops its item; m2's stays.
        let c = apply_spec(over(&b), json!({"components": []}), "m1", false).unwrap();
        assert_eq!(
            c.object["spec"]["components"],
            json!([{"name": "y", "enabled": false}])
        );
    }

    #[test]
    fn update_takes_changed_fields_from_appliers() {
        let s = schema();
        let a = apply_spec(None, json!({"a": "1", "b": "1"}), "m1", false).unwrap();
        let mut edited = a.object.clone();
        edited["spec"]["a"] = json!("edited");
        let managed = update(
            Some(&a.object),
            &edited,
            &a.managed,
            Some(&s),
            &actor("kubectl-edit"),
        );
        assert_eq!(managed.len(), 2);
        assert_eq!(managed[0].fields.len(), 1, "m1 keeps only .spec.b");
        assert_eq!(managed[1].operation, Operation::Update);
        // Applying the old value again is now a conflict with the editor.
        let err = apply_spec(
            Some((&edited, &managed)),
            json!({"a": "1", "b": "1"}),
            "m1",
            false,
        )
        .unwrap_err();
        assert_eq!(err[0].manager, "kubectl-edit");
    }
}
