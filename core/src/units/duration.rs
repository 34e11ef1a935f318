//! Durations in Go `time.ParseDuration` syntax, as Kubernetes `metav1.Duration` reads them.

use std::time::Duration;

const DURATION_HINT: &str =
    "use a number followed by a unit (h, m, s), for example \"120h\" or \"1h30m\"";

/// Units of Go `time.ParseDuration`, in nanoseconds.
const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // µs, MICRO SIGN
    ("\u{3bc}s", 1_000), // μs, GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

/// Parses a duration in Go `time.ParseDuration` syntax, as Kubernetes
/// `metav1.Duration` does: one or more `<number><unit>` with an optional
/// fraction (`"120h"`, `"1h30m"`, `"720h0m0s"`, `"1.5h"`), units `ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`. `"0"` alone is allowed. There is no days unit.
/// Negative durations are rejected (a negative zero such as `"-0s"` is zero
/// and accepted); values above Go's limit (about 2562047h) are rejected.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err(format!(
            "\"\" is not a duration: it is empty; {DURATION_HINT}"
        ));
    }
    if s.chars().any(char::is_whitespace) {
        let joined: String = s.split_whitespace().collect();
        let fix = if !joined.is_empty() && parse_duration(&joined).is_ok() {
            format!("write it as {joined:?}")
        } else {
            DURATION_HINT.to_string()
        };
        return Err(format!(
            "{s:?} is not a duration: it contains spaces; {fix}"
        ));
    }
    let (negative, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(format!(
            "{s:?} is not a duration: there is no number after the sign; {DURATION_HINT}"
        ));
    }
    let nanos = if body == "0" {
        0
    } else {
        parse_unsigned_duration(s, body)?
    };
    if negative && nanos != 0 {
        return Err(format!(
            "{s:?} is negative: durations must be positive, for example {body:?}"
        ));
    }
    // parse_unsigned_duration keeps nanos <= i64::MAX.
    Ok(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// Parses `body` (no sign) into nanoseconds; `orig` is for messages.
fn parse_unsigned_duration(orig: &str, body: &str) -> Result<u128, String> {
    const MAX_NANOS: u128 = i64::MAX as u128;
    let too_large =
        || format!("{orig:?} is too large: the maximum duration is 2562047h47m16.854775807s");
    let bytes = body.as_bytes();
    let mut pos = 0;
    let mut total: u128 = 0;
    while pos < bytes.len() {
        // Integer part.
        let int_start = pos;
        let mut int: u128 = 0;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            int = int
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(bytes[pos] - b'0')))
                .ok_or_else(too_large)?;
            pos += 1;
        }
        let has_int = pos > int_start;
        // Fraction part.
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        let mut has_frac = false;
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                has_frac = true;
                // Digits beyond nanosecond-of-an-hour precision do not
                // matter; ignore them instead of overflowing.
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + u128::from(bytes[pos] - b'0');
                    scale *= 10;
                }
                pos += 1;
            }
        }
        if !has_int && !has_frac {
            let rest = &body[int_start..];
            return Err(format!(
                "{orig:?} is not a duration: expected a number at {rest:?}; {DURATION_HINT}"
            ));
        }
        // Unit: everything up to the next digit or '.'. Those are ASCII, so
        // the cut is on a character boundary.
        let unit_start = pos;
        while pos < bytes.len() && !(bytes[pos].is_ascii_digit() || bytes[pos] == b'.') {
            pos += 1;
        }
        let unit = &body[unit_start..pos];
        let number = &body[int_start..unit_start];
        if unit.is_empty() {
            return Err(format!(
                "{orig:?} is not a duration: the number {number} has no unit; {DURATION_HINT}"
            ));
        }
        let Some(&(_, unit_nanos)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(unknown_duration_unit(orig, number, unit));
        };
        let value = int
            .checked_mul(unit_nanos)
            .and_then(|v| v.checked_add(frac * unit_nanos / scale))
            .ok_or_else(too_large)?;
        total = total.checked_add(value).ok_or_else(too_large)?;
        if total > MAX_NANOS {
            return Err(too_large());
        }
    }
    Ok(total)
}

fn unknown_duration_unit(orig: &str, number: &str, unit: &str) -> String {
    let hours_per = match unit {
        "d" | "D" => Some(("days", 24u64)),
        "w" | "W" => Some(("weeks", 24 * 7)),
        _ => None,
    };
    if let Some((what, hours)) = hours_per {
        let example = match number.parse::<u64>() {
            Ok(n) if orig.trim_start_matches('+') == format!("{number}{unit}") => {
                n.checked_mul(hours).map(|h| format!("{h}h"))
            }
            _ => None,
        }
        .unwrap_or_else(|| format!("{hours}h"));
        let one = &what[..1];
        return format!(
            "{orig:?} is not a duration: {what} are not supported, use hours instead (1{one} = {hours}h), for example {example:?}"
        );
    }
    let lower = unit.to_ascii_lowercase();
    if lower != unit && DURATION_UNITS.iter().any(|(name, _)| *name == lower) {
        return format!(
            "{orig:?} is not a duration: units are lowercase, write {lower:?} instead of {unit:?}"
        );
    }
    format!("{orig:?} is not a duration: unknown unit {unit:?}; {DURATION_HINT}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dur(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn dur_err(s: &str) -> String {
        match parse_duration(s) {
            Ok(d) => panic!("{s:?} should be rejected, got {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn duration_accepts_go_syntax() {
        assert_eq!(dur("120h"), Duration::from_secs(120 * 3600));
        assert_eq!(dur("1h30m"), Duration::from_secs(5400));
        assert_eq!(dur("720h0m0s"), Duration::from_secs(720 * 3600));
        assert_eq!(dur("1.5h"), Duration::from_secs(5400));
        assert_eq!(dur("10m"), Duration::from_secs(600));
        assert_eq!(dur("0"), Duration::ZERO);
        assert_eq!(dur("+0"), Duration::ZERO);
        assert_eq!(dur("-0"), Duration::ZERO);
        assert_eq!(dur("-0s"), Duration::ZERO);
        assert_eq!(dur("0s"), Duration::ZERO);
        assert_eq!(dur("+5s"), Duration::from_secs(5));
        assert_eq!(dur(".5s"), Duration::from_millis(500));
        assert_eq!(dur("1.s"), Duration::from_secs(1));
        assert_eq!(dur("300ms"), Duration::from_millis(300));
        assert_eq!(dur("2us"), Duration::from_micros(2));
        assert_eq!(dur("2\u{b5}s"), Duration::from_micros(2));
        assert_eq!(dur("2\u{3bc}s"), Duration::from_micros(2));
        assert_eq!(dur("7ns"), Duration::from_nanos(7));
        assert_eq!(dur("1h1h"), Duration::from_secs(7200));
        assert_eq!(dur("1.000000001s"), Duration::from_nanos(1_000_000_001));
        assert_eq!(
            dur("0.1234567890123456789012345s"),
            Duration::from_nanos(123_456_789)
        );
        assert_eq!(
            dur("2562047h47m16.854775807s"),
            Duration::from_nanos(i64::MAX as u64)
        );
    }

    #[test]
    fn duration_rejects_bad_input() {
        assert_eq!(
            dur_err("5x"),
            "\"5x\" is not a duration: unknown unit \"x\"; use a number followed by a unit (h, m, s), for example \"120h\" or \"1h30m\""
        );
        assert_eq!(
            dur_err("7d"),
            "\"7d\" is not a duration: days are not supported, use hours instead (1d = 24h), for example \"168h\""
        );
        assert!(dur_err("2w").contains("\"336h\""));
        assert!(dur_err("1h7d").contains("days are not supported"));
        assert!(dur_err("").contains("it is empty"));
        assert!(dur_err("-").contains("no number after the sign"));
        assert!(dur_err("+").contains("no number after the sign"));
        assert!(dur_err("10").contains("the number 10 has no unit"));
        assert!(dur_err("1h30").contains("the number 30 has no unit"));
        assert!(dur_err("00").contains("has no unit"));
        assert!(dur_err("-5m").contains("is negative"));
        assert!(dur_err("-1.5h").contains("is negative"));
        assert!(dur_err("h").contains("expected a number at \"h\""));
        assert!(dur_err(".s").contains("expected a number"));
        assert!(dur_err("--5m").contains("expected a number"));
        assert!(dur_err("1h-5m").contains("unknown unit \"h-\""));
        assert!(dur_err("5H").contains("units are lowercase, write \"h\""));
        assert!(dur_err("5MS").contains("write \"ms\""));
        assert!(dur_err("1h 30m").contains("write it as \"1h30m\""));
        assert!(dur_err(" 5m").contains("contains spaces"));
        assert!(dur_err("1 x").contains("contains spaces"));
        assert!(dur_err("2562047h47m16.854775808s").contains("too large"));
        assert!(dur_err("9999999999999999999999999999999999999999h").contains("too large"));
        assert!(dur_err("3000000h").contains("too large"));
        assert!(dur_err("1é").contains("unknown unit \"é\""));
    }
}
