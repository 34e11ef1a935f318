//! Kubernetes `resource.Quantity` values.

/// A parsed Kubernetes `resource.Quantity`.
///
/// Build it with [`parse_quantity`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    value: f64,
}

impl Quantity {
    /// The value as a plain number, suffix applied (`"10Gi"` gives
    /// 10737418240, `"500m"` gives 0.5). Approximate: it is an `f64`, good
    /// for checks such as "capacity > 0" or comparisons, not for exact
    /// arithmetic. Negative quantities give negative values.
    pub fn as_bytes_approx(&self) -> f64 {
        self.value
    }
}

const QUANTITY_HINT: &str = "use a number with an optional suffix, for example 10Gi, 500M or 1e3";
const QUANTITY_SUFFIXES: &str =
    "binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, or an exponent like e3";

/// Parses a Kubernetes quantity: `<signed number><suffix>` where the number
/// has digits with an optional fraction and the suffix is one of the binary
/// suffixes `Ki Mi Gi Ti Pi Ei`, the decimal suffixes `n u m k M G T P E` (or
/// none), or a decimal exponent `e<int>`/`E<int>` (e.g. `1e3`, `5E-2`).
///
/// Slightly stricter than Kubernetes, which also accepts inputs without any
/// digit such as `"Gi"` or `"-"` (as zero): those are rejected here, as are
/// values too large for an `f64`.
pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    let not = |detail: &str| format!("{s:?} is not a Kubernetes quantity: {detail}");
    if s.is_empty() {
        return Err(not(&format!("it is empty; {QUANTITY_HINT}")));
    }
    if s.chars().any(char::is_whitespace) {
        let joined: String = s.split_whitespace().collect();
        let fix = if !joined.is_empty() && parse_quantity(&joined).is_ok() {
            format!("write it as {joined}")
        } else {
            QUANTITY_HINT.to_string()
        };
        return Err(not(&format!("it contains spaces; {fix}")));
    }

    let bytes = s.as_bytes();
    let mut pos = 0;
    let negative = match bytes[0] {
        b'-' => {
            pos = 1;
            true
        }
        b'+' => {
            pos = 1;
            false
        }
        _ => false,
    };
    let int_start = pos;
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_part = &s[int_start..pos];
    let mut frac_part = "";
    if pos < bytes.len() && bytes[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_part = &s[frac_start..pos];
    }
    // Everything left is ASCII up to here, so `pos` is a char boundary.
    let suffix = &s[pos..];
    if int_part.is_empty() && frac_part.is_empty() {
        let example = if suffix.is_empty() {
            "10Gi".to_string()
        } else {
            format!("10{suffix}")
        };
        return Err(not(&format!(
            "it has no number; put digits before the suffix, for example {example}"
        )));
    }

    let Some(multiplier) = quantity_multiplier(suffix) else {
        return Err(not(&quantity_suffix_hint(&s[..pos], suffix)));
    };
    let mantissa: f64 = format!(
        "{}.{}",
        if int_part.is_empty() { "0" } else { int_part },
        if frac_part.is_empty() { "0" } else { frac_part }
    )
    .parse()
    .unwrap_or(f64::INFINITY);
    let value = mantissa * multiplier;
    if !value.is_finite() {
        return Err(not("it is too large to be a useful quantity"));
    }
    Ok(Quantity {
        value: if negative { -value } else { value },
    })
}

/// The factor of a quantity suffix, or `None` if it is not valid.
fn quantity_multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(2f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "" => decimal(0),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => {
            let exponent = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            let digits = exponent
                .strip_prefix('-')
                .or_else(|| exponent.strip_prefix('+'))
                .unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Kubernetes parses the exponent as a 32-bit integer.
            exponent.parse::<i32>().ok().map(|e| 10f64.powi(e))
        }
    }
}

fn quantity_suffix_hint(number: &str, suffix: &str) -> String {
    // Common mistakes: 10GB, 10gi, 10KiB, 10K, 10mb...
    let first = suffix.chars().next().map(|c| c.to_ascii_uppercase());
    let letters_only = suffix.chars().all(|c| c.is_ascii_alphabetic());
    match first {
        Some(c @ ('K' | 'M' | 'G' | 'T' | 'P' | 'E')) if letters_only && suffix.len() <= 3 => {
            let decimal = if c == 'K' { 'k' } else { c };
            format!(
                "unknown suffix {suffix:?}; use binary suffixes like {number}{c}i or decimal like {number}{decimal}"
            )
        }
        _ => format!("unknown suffix {suffix:?}; valid suffixes are {QUANTITY_SUFFIXES}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qty(s: &str) -> f64 {
        parse_quantity(s)
            .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
            .as_bytes_approx()
    }

    fn qty_err(s: &str) -> String {
        match parse_quantity(s) {
            Ok(q) => panic!("{s:?} should be rejected, got {q:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn quantity_accepts_kubernetes_syntax() {
        assert_eq!(qty("10Gi"), 10.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(qty("1Ki"), 1024.0);
        assert_eq!(qty("1Ei"), 2f64.powi(60));
        assert_eq!(qty("10G"), 1e10);
        assert_eq!(qty("1k"), 1000.0);
        assert_eq!(qty("1E"), 1e18);
        assert_eq!(qty("100"), 100.0);
        assert_eq!(qty("0"), 0.0);
        assert_eq!(qty("1e3"), 1000.0);
        assert_eq!(qty("1E3"), 1000.0);
        assert_eq!(qty("1e+3"), 1000.0);
        assert_eq!(qty("5e-1"), 0.5);
        assert_eq!(qty("500m"), 0.5);
        assert_eq!(qty("1.5Gi"), 1.5 * 2f64.powi(30));
        assert_eq!(qty(".5G"), 5e8);
        assert_eq!(qty("1.G"), 1e9);
        assert_eq!(qty("+1M"), 1e6);
        assert_eq!(qty("-1M"), -1e6);
        assert!(qty("100n") > 0.0);
        assert!(qty("3u") > 0.0);
        assert!(qty("2T") > 0.0 && qty("2P") > 0.0 && qty("1Ti") > 0.0 && qty("1Pi") > 0.0);
    }

    #[test]
    fn quantity_rejects_bad_input() {
        assert_eq!(
            qty_err("10GB"),
            "\"10GB\" is not a Kubernetes quantity: unknown suffix \"GB\"; use binary suffixes like 10Gi or decimal like 10G"
        );
        assert!(qty_err("10KB").contains("like 10Ki or decimal like 10k"));
        assert!(qty_err("10gi").contains("like 10Gi"));
        assert!(qty_err("10GiB").contains("like 10Gi"));
        assert!(qty_err("10K").contains("like 10Ki"));
        assert!(qty_err("10 Gi").contains("contains spaces; write it as 10Gi"));
        assert!(qty_err("10Gi ").contains("contains spaces"));
        assert!(
            qty_err("Gi").contains("has no number; put digits before the suffix, for example 10Gi")
        );
        assert!(qty_err("-").contains("has no number"));
        assert!(qty_err("+").contains("has no number"));
        assert!(qty_err(".").contains("has no number"));
        assert!(qty_err("").contains("it is empty"));
        assert!(qty_err("1e").contains("unknown suffix \"e\""));
        assert!(qty_err("1e+").contains("unknown suffix"));
        assert!(qty_err("1E3.5").contains("unknown suffix"));
        assert!(qty_err("1e99999999999").contains("unknown suffix"));
        assert!(qty_err("1e400").contains("too large"));
        assert!(qty_err("1x").contains("valid suffixes are"));
        assert!(qty_err("1.2.3").contains("unknown suffix \".3\""));
        assert!(qty_err("--1").contains("has no number"));
        assert!(qty_err("1Giµ").contains("unknown suffix"));
    }
}
