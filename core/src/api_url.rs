//! Kubernetes API server URLs as a site names them (`managedClusters[].apiServer`) and as a
//! ManagedCluster holds them (`spec.managedClusterClientConfigs[].url`, what ACM's auto-import
//! connects to): parsed, compared normalized (scheme and host case, the default port, a
//! trailing slash), and reported by the hub agent without anything that could be a credential
//! (a URL with user info, a query or a fragment is reported as unusable, never echoed).

use std::fmt;

/// The longest URL read (an API server URL is short; anything longer is not one).
pub const MAX_LEN: usize = 512;

/// A parsed `http(s)://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

impl ApiUrl {
    /// Why `text` is not an API server URL. The reasons never repeat the text: it may hold a
    /// credential.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_LEN {
            return Err(format!("longer than {MAX_LEN} bytes"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains white space or control characters".into());
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("has no scheme (https://...)")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err("is not an http(s) URL".into()),
        };
        if rest.contains(['?', '#']) {
            return Err("has a query or a fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("has user info (user:password@)".into());
        }
        let (host, port) = split_port(authority)?;
        let host = host.to_ascii_lowercase();
        let valid_host = if let Some(inner) = host.strip_prefix('[') {
            inner
                .strip_suffix(']')
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if !valid_host {
            return Err("has no valid host name".into());
        }
        Ok(ApiUrl {
            scheme,
            host,
            port: port.unwrap_or(default_port),
            path: path.trim_end_matches('/').to_string(),
        })
    }

    /// Whether `a` and `b` name the same API server once normalized; `false` when either is
    /// not a URL.
    pub fn same(a: &str, b: &str) -> bool {
        matches!((Self::parse(a), Self::parse(b)), (Ok(a), Ok(b)) if a == b)
    }

    /// What the hub agent reports of a ManagedCluster's client-config URL: the URL itself when
    /// it is one, or `(unusable: <reason>)` without its text.
    pub fn report(text: &str) -> String {
        match Self::parse(text) {
            Ok(_) => text.to_string(),
            Err(reason) => format!("{UNUSABLE}{reason})"),
        }
    }
}

/// How [`ApiUrl::report`] starts a URL it does not repeat.
pub const UNUSABLE: &str = "(unusable: ";

fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let colon = if authority.starts_with('[') {
        authority
            .find(']')
            .and_then(|end| authority[end..].find(':').map(|i| end + i))
    } else {
        authority.rfind(':')
    };
    let Some(i) = colon else {
        return Ok((authority, None));
    };
    let port: u16 = authority[i + 1..]
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("has a port that is not a number from 1 to 65535")?;
    Ok((&authority[..i], Some(port)))
}

impl fmt::Display for ApiUrl {
    /// The normalized form: lower-case scheme and host, the port always written, no trailing
    /// slash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_compare_normalized() {
        let same = [
            (
                "https://api.east-1.example:6443",
                "https://API.East-1.example:6443/",
            ),
            (
                "https://api.east-1.example",
                "https://api.east-1.example:443",
            ),
            ("HTTPS://api.x.example:443/", "https://api.x.example"),
            ("https://[fd00::1]:6443", "https://[FD00::1]:6443/"),
            (
                "https://api.x.example/k8s/",
                "https://api.x.example:443/k8s",
            ),
        ];
        for (a, b) in same {
            assert!(ApiUrl::same(a, b), "{a} = {b}");
        }
        let different = [
            (
                "https://api.east-1.example:6443",
                "https://api.east-1.example",
            ),
            ("http://api.x.example", "https://api.x.example"),
            ("https://api.x.example:6443", "https://api.y.example:6443"),
            ("https://api.x.example/a", "https://api.x.example/b"),
            ("https://api.x.example", "not a url"),
        ];
        for (a, b) in different {
            assert!(!ApiUrl::same(a, b), "{a} != {b}");
        }
        assert_eq!(
            ApiUrl::parse("HTTPS://API.X.example/").unwrap().to_string(),
            "https://api.x.example:443"
        );
    }

    #[test]
    fn a_report_never_repeats_what_could_be_a_credential() {
        assert_eq!(
            ApiUrl::report("https://api.x.example:6443"),
            "https://api.x.example:6443"
        );
        for (bad, reason) in [
            ("https://admin:s3cret@api.x.example:6443", "user info"),
            ("https://api.x.example:6443/?token=s3cret", "query"),
            ("https://api.x.example#s3cret", "fragment"),
            ("ftp://s3cret.example", "http(s)"),
            ("https://api.x.example:99999", "port"),
            ("https://s3cret .example", "white space"),
            ("s3cret", "no scheme"),
        ] {
            let report = ApiUrl::report(bad);
            assert!(report.starts_with(UNUSABLE), "{report}");
            assert!(report.contains(reason), "{bad}: {report}");
            assert!(!report.contains("s3cret"), "{report}");
        }
        let long = format!("https://{}.example", "a".repeat(MAX_LEN));
        assert!(ApiUrl::report(&long).contains("longer than"));
    }
}
