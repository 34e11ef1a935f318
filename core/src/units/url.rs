//! URLs, minimally.

/// Minimal URL check: `<scheme>://<host>[:<port>][/path][?query][#fragment]`.
///
/// * The scheme must be one of `schemes` (case-insensitive); an empty
///   `schemes` allows any syntactically valid scheme.
/// * The host is a name of letters, digits, `-`, `_` and `.`, or an IPv6
///   address in brackets (`[fd00::1]`); it must not be empty.
/// * The port, if present, is a number 1-65535.
/// * Whitespace and control characters are rejected anywhere; credentials
///   (`user:pass@`) are rejected, they belong in a Secret.
pub fn check_url(s: &str, schemes: &[&str]) -> Result<(), String> {
    let example_scheme = schemes.first().copied().unwrap_or("https");
    let shape = format!("{example_scheme}://host[:port][/path]");
    let bad = |detail: String| Err(format!("{s:?} is not a valid URL: {detail}"));

    if s.is_empty() {
        return bad(format!("it is empty; write it as {shape}"));
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return bad(format!(
            "it contains {c:?}; remove it (write spaces in paths as %20)"
        ));
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return bad(format!("it has no scheme; write it as {shape}"));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return bad(format!(
            "{scheme:?} is not a valid scheme; write it as {shape}"
        ));
    }
    if !schemes.is_empty() && !schemes.iter().any(|x| x.eq_ignore_ascii_case(scheme)) {
        let allowed: Vec<String> = schemes.iter().map(|x| format!("{x}://")).collect();
        return bad(format!(
            "scheme {scheme:?} is not allowed here; use {}",
            allowed.join(" or ")
        ));
    }

    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(at) = authority.rfind('@') {
        // Do not repeat the credentials in the message.
        let redacted = format!("{scheme}://***@{}", &rest[at + 1..]);
        return Err(format!(
            "{redacted:?} is not a valid URL: it contains credentials before '@'; remove them and provide credentials through a Secret"
        ));
    }
    if authority.is_empty() {
        return bad(format!("the host is empty; write it as {shape}"));
    }

    let port = if let Some(inside) = authority.strip_prefix('[') {
        let Some((address, tail)) = inside.split_once(']') else {
            return bad("the IPv6 address has no closing ']'".to_string());
        };
        if !address.contains(':')
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return bad(format!("[{address}] is not an IPv6 address"));
        }
        if tail.is_empty() {
            None
        } else if let Some(port) = tail.strip_prefix(':') {
            Some(port)
        } else {
            return bad(format!(
                "unexpected {tail:?} after the IPv6 address; write it as [address]:port"
            ));
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            None => (authority, None),
            Some((_, port)) if port.contains(':') => {
                return bad(
                    "IPv6 addresses must be written in brackets, for example [fd00::1]:443"
                        .to_string(),
                );
            }
            Some((host, port)) => (host, Some(port)),
        };
        if host.is_empty() {
            return bad(format!("the host is empty; write it as {shape}"));
        }
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return bad(format!(
                "the host {host:?} contains {c:?}; use letters, digits, '-' and '.'"
            ));
        }
        if host.starts_with(['.', '-']) || host.contains("..") {
            return bad(format!(
                "the host {host:?} is not a valid name: it has an empty part or starts with '.' or '-'"
            ));
        }
        port
    };

    if let Some(port) = port {
        if port.is_empty() {
            return bad(
                "the port after ':' is empty; remove the ':' or give a port 1-65535".to_string(),
            );
        }
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return bad(format!("port {port:?} is not a number; use 1-65535"));
        }
        match port.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) => {}
            _ => return bad(format!("port {port} is out of range 1-65535")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_accepts_valid() {
        let web = &["https", "http"];
        for ok in [
            "https://example.com",
            "https://example.com/",
            "http://example.com:8080/path/to?x=1#frag",
            "HTTPS://Example.COM",
            "https://10.0.0.1:443",
            "https://[fd00::1]:6443/api",
            "https://[::1]",
            "https://s3.eu-west-1.amazonaws.com/bucket",
            "https://my_host.local?x",
            "https://example.com#a",
            "https://example.com:65535",
        ] {
            assert_eq!(check_url(ok, web), Ok(()), "{ok:?}");
        }
        assert_eq!(check_url("s3://bucket", &[]), Ok(()));
        assert_eq!(check_url("git+ssh://host/repo", &[]), Ok(()));
    }

    #[test]
    fn url_rejects_invalid() {
        let https = &["https"];
        assert_eq!(
            check_url("ftp://x", https).unwrap_err(),
            "\"ftp://x\" is not a valid URL: scheme \"ftp\" is not allowed here; use https://"
        );
        let cases: &[(&str, &str)] = &[
            ("", "it is empty"),
            (
                "example.com",
                "it has no scheme; write it as https://host[:port][/path]",
            ),
            ("https:/example.com", "no scheme"),
            ("https://", "the host is empty"),
            ("https:///path", "the host is empty"),
            ("https://:443", "the host is empty"),
            ("https://example.com:", "port after ':' is empty"),
            ("https://example.com:0", "port 0 is out of range 1-65535"),
            ("https://example.com:65536", "port 65536 is out of range"),
            ("https://example.com:99999999999", "out of range"),
            ("https://example.com:80a", "is not a number"),
            ("https://example.com:-1", "is not a number"),
            ("https://user:pw@example.com", "\"https://***@example.com\""),
            ("https://exa mple.com", "contains ' '"),
            ("https://example.com/a\tb", "contains '\\t'"),
            ("https://exa!mple.com", "contains '!'"),
            ("https://.example.com", "not a valid name"),
            ("https://a..b", "not a valid name"),
            ("https://fd00::1", "must be written in brackets"),
            ("https://[fd00::1", "no closing ']'"),
            ("https://[zz]", "is not an IPv6 address"),
            ("https://[::1]x", "unexpected \"x\""),
            ("https://[::1]:0", "out of range"),
            ("1http://x", "not a valid scheme"),
            ("://x", "not a valid scheme"),
        ];
        for (input, needle) in cases {
            let err = check_url(input, https).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err:?} lacks {needle:?}");
        }
        assert!(!check_url("https://me:s3cret@h/p", https)
            .unwrap_err()
            .contains("s3cret"));
        assert!(check_url("http://x", &["https", "s3"])
            .unwrap_err()
            .contains("use https:// or s3://"));
    }
}
