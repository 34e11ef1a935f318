//! URLs shown without their credentials: `https://x-access-token:TOKEN@git.example.com/r.git`
//! is shown as `https://***@git.example.com/r.git`. One function, [`redact_urls`], for every
//! place a repository URL is shown: log lines, error messages, status files, command output.

use std::borrow::Cow;

/// `text` with the user information of every URL in it hidden. Applies to a URL alone and to
/// a message that quotes URLs. Hidden: anything before `@` in an `http(s)://` URL (the user
/// may be a token); elsewhere a `user:password` pair or a token-like user. A plain user name
/// such as `ssh://git@host` is kept.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    // Where the text not yet copied to `out` starts.
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = find(&bytes[from..], b"://") {
        let sep = from + found;
        let authority_start = sep + 3;
        let authority_len = bytes[authority_start..]
            .iter()
            .take_while(|b| {
                !b.is_ascii_whitespace()
                    && !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>')
            })
            .count();
        from = authority_start + authority_len;
        let authority = &bytes[authority_start..from];
        let Some(at) = authority.iter().rposition(|b| *b == b'@') else {
            continue;
        };
        let userinfo = &authority[..at];
        if userinfo.is_empty() || !hide(scheme_before(bytes, sep), userinfo) {
            continue;
        }
        out.push_str(&text[copied..authority_start]);
        out.push_str("***");
        copied = authority_start + at;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The scheme that ends at `sep` (the `://`), lower-cased.
fn scheme_before(bytes: &[u8], sep: usize) -> String {
    let start = bytes[..sep]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&bytes[start..sep]).to_ascii_lowercase()
}

fn hide(scheme: String, userinfo: &[u8]) -> bool {
    scheme == "http" || scheme == "https" || userinfo.contains(&b':') || userinfo.len() >= 20
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_urls_are_hidden_wherever_they_appear() {
        assert_eq!(
            redact_urls("https://x-access-token:s3cret@git.example.com/a.git"),
            "https://***@git.example.com/a.git"
        );
        assert_eq!(
            redact_urls("https://ghp_token@github.com/o/r.git"),
            "https://***@github.com/o/r.git"
        );
        assert_eq!(redact_urls("HTTP://u:p@h:8080"), "HTTP://***@h:8080");
        assert_eq!(
            redact_urls(
                "fetching from https://a:b@one.example/x failed; then http://c:d@two.example: \"ok\""
            ),
            "fetching from https://***@one.example/x failed; then http://***@two.example: \"ok\""
        );
        assert_eq!(
            redact_urls("ssh://git:pw@host:2222/r.git"),
            "ssh://***@host:2222/r.git"
        );
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        for text in [
            "https://git.example.com/a.git",
            "ssh://git@git.example.com/a.git",
            "git@github.com:o/r.git",
            "file:///srv/repo.git",
            "no url here",
            "://@",
            "https://",
        ] {
            assert!(
                matches!(redact_urls(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }
}
