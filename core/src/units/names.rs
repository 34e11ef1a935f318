//! Kubernetes DNS-1123 labels and subdomains.

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// Describes the characters of `s` not allowed by `ok`, or `None`.
fn describe_bad_chars(s: &str, ok: impl Fn(char) -> bool) -> Option<String> {
    let mut bad: Vec<char> = Vec::new();
    for c in s.chars() {
        if !ok(c) && !bad.contains(&c) {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let shown: Vec<String> = bad.iter().take(5).map(|c| format!("{c:?}")).collect();
    let more = if bad.len() > 5 { " and more" } else { "" };
    let upper = if bad.iter().any(char::is_ascii_uppercase) {
        " (uppercase letters are not allowed)"
    } else {
        ""
    };
    Some(format!("it contains {}{more}{upper}", shown.join(", ")))
}

/// Checks a Kubernetes DNS-1123 label: at most 63 characters of lowercase
/// letters, digits and `-`, starting and ending with a letter or digit
/// (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`).
pub fn check_dns1123_label(s: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if s.is_empty() {
        problems.push("it is empty".to_string());
    } else {
        problems.extend(describe_bad_chars(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        }));
        if s.starts_with('-') {
            problems.push("it starts with '-'".to_string());
        }
        if s.len() > 1 && s.ends_with('-') {
            problems.push("it ends with '-'".to_string());
        }
        let len = s.chars().count();
        if len > DNS1123_LABEL_MAX {
            problems.push(format!("it is {len} characters long"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{s:?} is not a valid DNS-1123 label: {}; use lowercase letters, digits and '-', starting and ending with a letter or digit (max {DNS1123_LABEL_MAX} characters)",
        problems.join(", ")
    ))
}

/// Checks a Kubernetes DNS-1123 subdomain: at most 253 characters, one or
/// more dot-separated parts of lowercase letters, digits and `-`, each part
/// starting and ending with a letter or digit. Like Kubernetes, the parts
/// themselves have no length limit.
pub fn check_dns1123_subdomain(s: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if s.is_empty() {
        problems.push("it is empty".to_string());
    } else {
        problems.extend(describe_bad_chars(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
        }));
        if s.starts_with('.') {
            problems.push("it starts with '.'".to_string());
        }
        if s.len() > 1 && s.ends_with('.') {
            problems.push("it ends with '.'".to_string());
        }
        if s.contains("..") {
            problems.push("it contains an empty part \"..\"".to_string());
        }
        for part in s.split('.').filter(|p| !p.is_empty()) {
            if part.starts_with('-') || part.ends_with('-') {
                problems.push(format!("part {part:?} starts or ends with '-'"));
                break;
            }
        }
        let len = s.chars().count();
        if len > DNS1123_SUBDOMAIN_MAX {
            problems.push(format!("it is {len} characters long"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{s:?} is not a valid DNS-1123 subdomain: {}; use lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit (max {DNS1123_SUBDOMAIN_MAX} characters)",
        problems.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_label() {
        for ok in ["a", "0", "hub-a", "a1", "1a", "a-b-c", &"a".repeat(63)] {
            assert_eq!(check_dns1123_label(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(
            check_dns1123_label("Hub_A").unwrap_err(),
            "\"Hub_A\" is not a valid DNS-1123 label: it contains 'H', '_', 'A' (uppercase letters are not allowed); use lowercase letters, digits and '-', starting and ending with a letter or digit (max 63 characters)"
        );
        let cases: &[(&str, &str)] = &[
            ("", "it is empty"),
            ("-a", "starts with '-'"),
            ("a-", "ends with '-'"),
            ("-", "starts with '-'"),
            ("a.b", "contains '.'"),
            ("a b", "contains ' '"),
            ("héllo", "contains 'é'"),
            ("a\nb", "contains '\\n'"),
            ("abcdefg!", "contains '!'"),
            ("ABCDEFG", "and more"),
        ];
        for (input, needle) in cases {
            let err = check_dns1123_label(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err:?} lacks {needle:?}");
        }
        let long = "a".repeat(64);
        assert!(check_dns1123_label(&long)
            .unwrap_err()
            .contains("it is 64 characters long"));
    }

    #[test]
    fn dns1123_subdomain() {
        let long_ok = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(long_ok.len(), 253);
        for ok in [
            "a",
            "hub-a",
            "hub-a.example.com",
            "1.2.3.4",
            "a.b-c.d",
            &"a".repeat(100),
            &long_ok,
        ] {
            assert_eq!(check_dns1123_subdomain(ok), Ok(()), "{ok:?}");
        }
        let cases: &[(&str, &str)] = &[
            ("", "it is empty"),
            (".a", "starts with '.'"),
            ("a.", "ends with '.'"),
            ("a..b", "empty part"),
            ("a.-b.c", "part \"-b\" starts or ends with '-'"),
            ("a.b-", "part \"b-\""),
            ("Example.com", "contains 'E'"),
            ("a_b.com", "contains '_'"),
            (".", "starts with '.'"),
        ];
        for (input, needle) in cases {
            let err = check_dns1123_subdomain(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err:?} lacks {needle:?}");
            assert!(err.contains("DNS-1123 subdomain"));
        }
        let too_long = format!("{long_ok}a");
        assert!(check_dns1123_subdomain(&too_long)
            .unwrap_err()
            .contains("it is 254 characters long"));
    }
}
