//! Apply order: waves first (`hubdr.io/wave`), then a fixed kind order (CRDs and Namespaces
//! before everything else), ties broken by kind, namespace and name. Deletes run in reverse.

use hubdr_core::object::ObjectId;

/// Kinds that other objects depend on, applied first within a wave and deleted last.
const KIND_RANK: [&str; 6] = [
    "CustomResourceDefinition",
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
];

pub fn kind_rank(kind: &str) -> usize {
    KIND_RANK
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_RANK.len())
}

/// Sort key for applying: lower first.
pub fn apply_key(wave: i32, id: &ObjectId) -> (i32, usize, String, String, String) {
    (
        wave,
        kind_rank(&id.kind),
        id.kind.clone(),
        id.namespace.clone().unwrap_or_default(),
        id.name.clone(),
    )
}

/// Sort `items` for applying; reverse the result for deleting.
pub fn sort_for_apply<T>(items: &mut [T], key: impl Fn(&T) -> (i32, &ObjectId)) {
    items.sort_by_cached_key(|item| {
        let (wave, id) = key(item);
        apply_key(wave, id)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: &str, name: &str) -> ObjectId {
        ObjectId {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        }
    }

    #[test]
    fn waves_then_kind_rank_then_names() {
        let mut items = vec![
            (1, id("Restore", "b")),
            (0, id("MultiClusterHub", "m")),
            (1, id("Namespace", "z")),
            (1, id("Restore", "a")),
            (0, id("CustomResourceDefinition", "c")),
        ];
        sort_for_apply(&mut items, |(w, id)| (*w, id));
        let order: Vec<String> = items
            .iter()
            .map(|(w, id)| format!("{w}:{}", id.name))
            .collect();
        assert_eq!(order, ["0:c", "0:m", "1:z", "1:a", "1:b"]);
    }
}
