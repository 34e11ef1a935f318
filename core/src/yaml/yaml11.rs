//! What a YAML 1.1 reader (go-yaml v2, PyYAML) reads as anything but a string.

/// YAML 1.1 booleans of go-yaml v2 (which sigs.k8s.io/yaml, hence kubectl, kustomize and Argo
/// CD, reads manifests with) and PyYAML, beyond YAML 1.2's `true`/`false`; plus the merge key
/// `<<` and PyYAML's value key `=`.
pub(super) const YAML11_WORDS: [&str; 18] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF", "<<", "=",
];

/// Whether a YAML 1.1 reader (go-yaml v2 as used by sigs.k8s.io/yaml; PyYAML) reads the plain
/// scalar `s` as anything but the same string: a YAML 1.1 boolean, the merge key, an integer
/// or float once `_` is dropped (`1_000`, `0x_1F`, `0O17`, `0b1`, `017`, `1.`, `.5`), a
/// sexagesimal number (`1:20`), infinity or NaN in any case and sign, or a timestamp
/// (anything starting with four digits and `-`). Deliberately broad: a needless quote costs
/// nothing, a missing one changes a manifest.
pub fn yaml11_reads_as_non_string(s: &str) -> bool {
    if YAML11_WORDS.contains(&s) {
        return true;
    }
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return false;
    }
    let bytes = s.as_bytes();
    if bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
        return true;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return true;
    }
    let digits: String = unsigned.chars().filter(|&c| c != '_').collect();
    let all = |text: &str, ok: fn(&u8) -> bool| !text.is_empty() && text.as_bytes().iter().all(ok);
    for (prefixes, ok) in [
        (["0x", "0X"], u8::is_ascii_hexdigit as fn(&u8) -> bool),
        (
            ["0o", "0O"],
            (|b: &u8| (b'0'..=b'7').contains(b)) as fn(&u8) -> bool,
        ),
        (
            ["0b", "0B"],
            (|b: &u8| matches!(b, b'0' | b'1')) as fn(&u8) -> bool,
        ),
    ] {
        for prefix in prefixes {
            if let Some(rest) = digits.strip_prefix(prefix) {
                if all(rest, ok) {
                    return true;
                }
            }
        }
    }
    yaml11_float(&digits) || sexagesimal(unsigned)
}

/// go-yaml v2's float pattern `[0-9]+(\.[0-9]*)?|\.[0-9]+` with an optional exponent (the
/// sign is already dropped), which also covers the integers.
fn yaml11_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        None => !mantissa.is_empty() && digits(mantissa),
        Some((int, frac)) => digits(int) && digits(frac) && (!int.is_empty() || !frac.is_empty()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// PyYAML's YAML 1.1 base-60 numbers: `1:20`, `190:20:30.15`.
fn sexagesimal(s: &str) -> bool {
    let mut parts = s.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty()
        || !head.as_bytes()[0].is_ascii_digit()
        || !head.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return false;
    }
    rest.iter().enumerate().all(|(i, part)| {
        let part = if i + 1 == rest.len() {
            part.split_once('.').map_or(*part, |(whole, _)| whole)
        } else {
            part
        };
        (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    })
}
