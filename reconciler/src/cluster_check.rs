//! The check at start that `--cluster` names a cluster of the repository: a misspelt name
//! would otherwise run a whole agent that applies nothing and writes its status under a name
//! no one reads. Refused before the agent writes anything, naming the close names.

use crate::desired::{self, DesiredError};
use crate::git::GitSource;

/// At most this many close names are listed.
const MAX_SUGGESTIONS: usize = 5;

/// Fetch `source` and refuse when its render index does not list `cluster`. A repository that
/// cannot be fetched or read now is not refused here: the passes report that (and retry).
pub async fn refuse_unknown(source: &GitSource, cluster: &str) -> Result<(), String> {
    let source = source.clone();
    let name = cluster.to_string();
    let known = tokio::task::spawn_blocking(move || {
        let fetched = source.fetch().ok()?;
        match desired::read_cluster(&fetched, &name) {
            Err(DesiredError::UnknownCluster { commit, known, .. }) => Some((commit, known)),
            _ => None,
        }
    })
    .await
    .ok()
    .flatten();
    match known {
        Some((commit, known)) => Err(refusal(cluster, &commit.to_string(), &known)),
        None => Ok(()),
    }
}

/// The error for a `--cluster` the index at `commit` does not list.
pub fn refusal(cluster: &str, commit: &str, known: &[String]) -> String {
    let close = close_names(cluster, known);
    let hint = if !close.is_empty() {
        format!("did you mean {}?", close.join(", "))
    } else if known.is_empty() {
        "the repository lists no clusters".to_string()
    } else {
        format!(
            "no name is close; the repository lists {} cluster(s), e.g. {}",
            known.len(),
            known
                .iter()
                .take(MAX_SUGGESTIONS)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "--cluster {cluster}: no such cluster in the rendered repository at commit {} (no clusters/{cluster}/ in .hubdr/index.yaml); {hint}\n  fix: start the agent with --cluster set to the cluster's name in site.yaml, or add the cluster to site.yaml and re-render; nothing was applied and no status was written",
        &commit[..commit.len().min(12)]
    )
}

/// Names of `known` within a small edit distance of `name`, closest first.
pub fn close_names(name: &str, known: &[String]) -> Vec<String> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, k)| k.clone())
        .collect()
}

/// Levenshtein distance (insertions, deletions, substitutions), by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("hub-a", "hub-a"), 0);
        assert_eq!(edit_distance("hub-a", "hub-b"), 1);
        assert_eq!(edit_distance("hbu-a", "hub-a"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("east-1", "west-1"), 2);
    }

    #[test]
    fn close_names_are_listed_closest_first() {
        let known = names(&["east-1", "hub-a", "hub-b", "west-1"]);
        assert_eq!(close_names("hub-c", &known), names(&["hub-a", "hub-b"]));
        assert_eq!(close_names("hub-aa", &known), names(&["hub-a", "hub-b"]));
        assert_eq!(close_names("west-2", &known), names(&["west-1"]));
        assert!(close_names("production", &known).is_empty());
    }

    #[test]
    fn the_refusal_names_the_cluster_and_close_names_or_some_names() {
        let known = names(&["east-1", "hub-a", "hub-b", "west-1"]);
        let text = refusal("hub-c", "0123456789abcdef", &known);
        assert!(
            text.starts_with("--cluster hub-c: no such cluster"),
            "{text}"
        );
        assert!(text.contains("at commit 0123456789ab "), "{text}");
        assert!(text.contains("did you mean hub-a, hub-b?"), "{text}");
        let text = refusal("production", "0123", &known);
        assert!(
            text.contains("lists 4 cluster(s), e.g. east-1, hub-a, hub-b, west-1"),
            "{text}"
        );
    }
}
