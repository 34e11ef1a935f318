//! The order of an associative list (list-map or list-set) after an apply merges the
//! applied items into the live ones, as structured-merge-diff v6 (Kubernetes 1.34+) does in
//! `mergingWalker.visitListItems`: items both sides have come in the applier's order, items
//! only the live object has keep their place among them, and new items follow the shared
//! item they follow in the applied list. (v4, which Debian ships and the differential
//! oracle uses, kept the live order and appended new items.)

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Merges `applied` into `live`: `key` identifies an item, `merge_item` merges an applied
/// item into its live counterpart (`None` when the item is new).
pub fn merge(
    live: &[Value],
    applied: &[Value],
    key: impl Fn(&Value) -> String,
    mut merge_item: impl FnMut(Option<&Value>, &Value) -> Value,
) -> Vec<Value> {
    let lhs: Vec<String> = live.iter().map(&key).collect();
    let rhs: Vec<String> = applied.iter().map(&key).collect();
    let mut observed_lhs: HashMap<&str, &Value> = HashMap::new();
    for (k, v) in lhs.iter().zip(live) {
        observed_lhs.entry(k.as_str()).or_insert(v);
    }
    let mut observed_rhs: HashMap<&str, &Value> = HashMap::new();
    for (k, v) in rhs.iter().zip(applied) {
        observed_rhs.entry(k.as_str()).or_insert(v);
    }
    let mut shared = rhs
        .iter()
        .filter(|k| observed_lhs.contains_key(k.as_str()))
        .map(String::as_str);
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut l, mut r) = (0, 0);
    while l < lhs.len() || r < rhs.len() {
        if l < lhs.len() && r < rhs.len() {
            let pe = lhs[l].as_str();
            if pe == rhs[r] {
                merged_rhs.insert(pe);
                out.push(merge_item(observed_lhs.get(pe).copied(), observed_rhs[pe]));
                l += 1;
                r += 1;
                next_shared = shared.next();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                // A shared item, but not the one due in this round.
                l += 1;
                continue;
            }
        }
        if l < lhs.len() {
            let pe = lhs[l].as_str();
            if !observed_rhs.contains_key(pe) {
                out.push(live[l].clone());
                l += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                l += 1;
            }
        }
        if r < rhs.len() {
            let pe = rhs[r].as_str();
            merged_rhs.insert(pe);
            out.push(merge_item(observed_lhs.get(pe).copied(), observed_rhs[pe]));
            r += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(live: &[&str], applied: &[&str]) -> Vec<String> {
        let live: Vec<Value> = live.iter().map(|n| json!(n)).collect();
        let applied: Vec<Value> = applied.iter().map(|n| json!(n)).collect();
        merge(&live, &applied, |v| v.to_string(), |_, a| a.clone())
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn shared_items_take_the_appliers_order_and_live_only_items_keep_their_place() {
        assert_eq!(names(&["a", "b", "c"], &["c", "b", "a"]), ["c", "b", "a"]);
        assert_eq!(names(&["a", "x", "b"], &["b", "a"]), ["x", "b", "a"]);
        assert_eq!(names(&["a", "b"], &["a", "n", "b"]), ["a", "n", "b"]);
        assert_eq!(names(&["a", "b"], &["c"]), ["a", "b", "c"]);
        assert_eq!(names(&[], &["b", "a"]), ["b", "a"]);
    }
}
