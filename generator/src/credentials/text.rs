//! A first pass over a site file's text: false when nothing in the file can be key material,
//! so that the search of the parsed site with field paths ([`super::scan::find`]) is skipped.
//! One pass over the text (a fleet's site file is megabytes long), finding a superset of what
//! that search finds, line by line:
//!
//! * a line holding a prefix key material starts with, confirmed on the whole line (a value
//!   is part of its line; what confirms it in the value confirms it in the line);
//! * a run of 32 or more characters of the base64 alphabet (or hex): every key with no prefix
//!   (a pre-shared key's hex, an AWS secret access key, an Azure account key, base64 text);
//! * a mapping key named like a secret (`password:`), or `data:` / `stringData:`.
//!
//! Text with escapes (`\`) is not decided here: an escape can spell anything.

use super::detect;

/// `Some(false)` when no line of `text` can hold key material, `Some(true)` when one may,
/// `None` when the text has escapes (ask the parsed value instead).
pub fn may_hold(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    if memchr::memchr(b'\\', bytes).is_some() {
        return None;
    }
    let mut checked_until = 0;
    for start in detect::trigger_starts(text) {
        if start < checked_until {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', &bytes[..start]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        if detect::in_text(&text[line_start..line_end]).is_some() {
            return Some(true);
        }
        checked_until = line_end;
    }
    Some(
        has_long_run(bytes)
            || memchr::memchr_iter(b':', bytes).any(|colon| is_secret_key(bytes, colon)),
    )
}

/// Whether 32 or more characters of the base64 alphabet (`+`, `/`, `=`, `-`, `_` included)
/// follow one another. Each window of 32 is read from its end: at the first character outside
/// the alphabet, no run through it can start earlier, and the next window starts after it (so
/// that text of short words is read a fraction of a time).
fn has_long_run(bytes: &[u8]) -> bool {
    const RUN: usize = 32;
    fn in_alphabet(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
    }
    let mut start = 0;
    while start + RUN <= bytes.len() {
        match bytes[start..start + RUN]
            .iter()
            .rposition(|&b| !in_alphabet(b))
        {
            None => return true,
            Some(outside) => start += outside + 1,
        }
    }
    false
}

/// Whether the `:` at `colon` ends a mapping key (followed by a space, a line end or the end)
/// named like a secret, or `data` / `stringData`.
fn is_secret_key(bytes: &[u8], colon: usize) -> bool {
    if !matches!(
        bytes.get(colon + 1),
        None | Some(b' ' | b'\t' | b'\n' | b'\r')
    ) {
        return false;
    }
    let before = &bytes[..colon];
    let key = match before.last() {
        Some(&quote @ (b'"' | b'\'')) => {
            let inner = &before[..before.len() - 1];
            let open = inner.iter().rposition(|&b| b == quote).map_or(0, |i| i + 1);
            &inner[open..]
        }
        _ => {
            let start = before
                .iter()
                .rposition(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'{' | b',' | b'['))
                .map_or(0, |i| i + 1);
            &before[start..]
        }
    };
    key == b"data" || key == b"stringData" || detect::is_secret_name_bytes(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_site_text_holds_nothing() {
        let text = "\
apiVersion: hubdr.io/v1alpha1
spec:
  git: {url: \"https://git.example.com/platform/acm-dr.git\"}
  storage:
    credentialsSecret: {name: cloud-credentials, key: cloud}
  managedClusters:
    - name: east-1
      apiServer: https://api.east-1.example.com:6443
  volsync:
    replications:
      - {name: db, pskSecret: db-psk, schedule: \"*/5 * * * *\"}
";
        assert_eq!(may_hold(text), Some(false));
    }

    #[test]
    fn each_kind_of_finding_is_let_through() {
        let hex = "0123456789abcdef".repeat(2);
        for text in [
            format!("a:\n  b: {}\n", ["AKIA", "IOSFODNN7EXAMPLE"].concat()),
            format!("psk: \"volsync:{hex}\"\n"),
            "config: {password: x}\n".to_string(),
            "  \"clientSecret\": 1\n".to_string(),
            "merge:\n  data:\n    x: y\n".to_string(),
            "- stringData: {}\n".to_string(),
            "url: https://u:p4ssw0rd@git.example.com/r.git\n".to_string(),
        ] {
            assert_eq!(may_hold(&text), Some(true), "{text}");
        }
        assert_eq!(may_hold("a: \"x\\ny\"\n"), None);
    }

    #[test]
    fn runs_of_32_are_found_wherever_they_are() {
        let run = "a".repeat(32);
        for text in [
            run.clone(),
            format!("x {run}"),
            format!("{run} x"),
            format!("k: v\nkey: {}/{}\n", "b".repeat(20), "c".repeat(11)),
        ] {
            assert!(has_long_run(text.as_bytes()), "{text}");
        }
        for text in [
            "a".repeat(31),
            format!("{} {}", "a".repeat(31), "b".repeat(31)),
            "short words: only, here".to_string(),
        ] {
            assert!(!has_long_run(text.as_bytes()), "{text}");
        }
    }
}
