//! String `format`s kube-apiserver checks on custom resources (kube-openapi's strfmt
//! registry). Formats it does not know are not checked, as on the real server; `int32`,
//! `int64`, `float`, `double` only describe numbers.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `text` has `format`: `Some(ok)` for a checked format, `None` for one the server
/// does not check.
pub fn check(format: &str, text: &str) -> Option<bool> {
    let ok = match format {
        "date-time" | "datetime" => {
            jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%:z", text).is_ok()
                || text.parse::<jiff::Timestamp>().is_ok()
        }
        "date" => text.parse::<jiff::civil::Date>().is_ok() && text.len() == 10,
        "duration" => duration(text),
        "byte" => base64(text),
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        "ip" => text.parse::<std::net::IpAddr>().is_ok(),
        "cidr" => cidr(text),
        "hostname" => hostname(text),
        "uri" => uri(text),
        "uuid" => uuid(text),
        "mac" => mac(text),
        _ => return None,
    };
    Some(ok)
}

/// Go's time.ParseDuration syntax (`1h30m`, `-1.5s`, `0`), which strfmt accepts, plus its
/// own `N unit` forms (`3 days`).
fn duration(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    if t == "0" {
        return true;
    }
    if go_duration(t) {
        return true;
    }
    let mut parts = t.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(unit), None) => {
            n.parse::<u64>().is_ok()
                && matches!(
                    unit.trim_end_matches('s'),
                    "ns" | "n"
                        | "us"
                        | "u"
                        | "ms"
                        | "m"
                        | "s"
                        | "h"
                        | "d"
                        | "w"
                        | "nanosecond"
                        | "microsecond"
                        | "millisecond"
                        | "second"
                        | "minute"
                        | "hour"
                        | "day"
                        | "week"
                )
        }
        _ => false,
    }
}

fn go_duration(t: &str) -> bool {
    if t.is_empty() {
        return false;
    }
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if i == start {
            return false;
        }
        let unit_start = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if !matches!(
            &t[unit_start..i],
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"
        ) {
            return false;
        }
    }
    true
}

fn base64(text: &str) -> bool {
    let t = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - t.len() <= 2
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

fn cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    (ip.parse::<Ipv4Addr>().is_ok() && bits <= 32)
        || (ip.parse::<Ipv6Addr>().is_ok() && bits <= 128)
}

/// RFC 1123 host names (strfmt's rule: labels of letters, digits and dashes, at most 63
/// characters each, 255 in all).
fn hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// strfmt's `uri`: Go's url.ParseRequestURI, i.e. an absolute URI or an absolute path.
fn uri(text: &str) -> bool {
    if text.starts_with('/') {
        return !text.contains(char::is_whitespace);
    }
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !text.contains(char::is_whitespace)
}

fn uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn mac(text: &str) -> bool {
    let groups: Vec<&str> = text.split([':', '-']).collect();
    matches!(groups.len(), 6 | 8 | 20)
        && groups
            .iter()
            .all(|g| g.len() == 2 && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn the_formats_the_shared_crds_use() {
        for (format, good, bad) in [
            ("date-time", "2024-05-01T10:00:00Z", "2024-05-01"),
            ("date-time", "2024-05-01T10:00:00.5+02:00", "now"),
            ("duration", "1h30m", "90 minutes later"),
            ("duration", "10s", "ten"),
            ("uri", "https://example.com/x", "not a uri"),
            ("byte", "aGVsbG8=", "hello!"),
            ("ipv6", "fd00::1", "10.0.0.1"),
            ("ip", "10.0.0.1", "10.0.0.256"),
            ("hostname", "api.example.com", "-bad-.example"),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123"),
        ] {
            assert_eq!(check(format, good), Some(true), "{format} {good}");
            assert_eq!(check(format, bad), Some(false), "{format} {bad}");
        }
        assert_eq!(check("int32", "x"), None);
        assert_eq!(check("password", "x"), None);
    }
}
