//! Pure validators for the value formats found in a site file.
//!
//! Every function takes the raw text and returns `Result<_, String>`. The
//! error is a short message that says what is wrong and how to fix it, ready
//! to be shown to a user after the key path of the offending value. None of
//! these functions panic, whatever the input. They do no I/O and use no
//! dependencies.
//!
//! The formats follow what the consuming controllers accept:
//!
//! * cron schedules: the standard parser of `robfig/cron` v3 used by Velero
//!   and VolSync ([`parse_cron`]),
//! * durations: Go `time.ParseDuration`, as used by Kubernetes
//!   `metav1.Duration` ([`parse_duration`]),
//! * quantities: Kubernetes `resource.Quantity` ([`parse_quantity`]),
//! * names: Kubernetes DNS-1123 labels and subdomains
//!   ([`check_dns1123_label`], [`check_dns1123_subdomain`]),
//! * VolSync rsync-tls pre-shared key lines ([`check_psk_line`]),
//! * URLs, minimally ([`check_url`]).

use std::time::Duration;

// ---------------------------------------------------------------------------
// Cron
// ---------------------------------------------------------------------------

/// A parsed cron schedule, as accepted by Velero and VolSync.
///
/// Build it with [`parse_cron`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    /// The zone of a `CRON_TZ=` or `TZ=` prefix; kept for completeness, the
    /// interval computation works in wall-clock time.
    timezone: Option<String>,
    kind: CronKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CronKind {
    /// Five fields (descriptors such as `@daily` are stored expanded).
    Fields(CronFields),
    /// `@every <duration>`, already rounded the way robfig/cron does.
    Every(Duration),
}

/// Bit sets of the allowed values of each field (bit `n` set = value `n`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CronFields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// The day-of-month field contains `*` or `?` (without a step > 1).
    dom_star: bool,
    /// The day-of-week field contains `*` or `?` (without a step > 1).
    dow_star: bool,
}

/// Days in a full Gregorian cycle (400 years), a whole number of weeks, so
/// the calendar (dates and weekdays) repeats exactly after it.
const GREGORIAN_CYCLE_DAYS: u64 = 146_097;
const MINUTES_PER_DAY: u64 = 24 * 60;

impl CronSchedule {
    /// The smallest gap, in minutes, between two consecutive firings.
    ///
    /// * For `@every <d>` this is `d` in whole minutes, rounded down, so a
    ///   sub-minute `@every` gives `Some(0)`.
    /// * For field schedules (and the descriptors, which are field
    ///   schedules), the minute and hour sets give the firing times of a day,
    ///   and the day-of-month, month and day-of-week fields (with the cron
    ///   rule: if either day field is `*`/`?` both must match, otherwise
    ///   either may match) are evaluated over a full 400-year Gregorian
    ///   cycle, so the result is exact for every schedule, including
    ///   day-of-month plus day-of-week combinations, February 29 and months
    ///   of different lengths.
    /// * The computation is in wall-clock time: daylight-saving transitions
    ///   in the schedule's time zone are ignored.
    /// * `None` means the schedule never fires (for example `0 0 30 2 *`,
    ///   February 30).
    pub fn min_interval_minutes(&self) -> Option<u64> {
        match &self.kind {
            CronKind::Every(d) => Some(d.as_secs() / 60),
            CronKind::Fields(f) => f.min_interval_minutes(),
        }
    }
}

impl CronFields {
    fn min_interval_minutes(&self) -> Option<u64> {
        // Firing times within one day, in minutes after midnight, sorted.
        let mut times = Vec::new();
        for h in 0..24u64 {
            if self.hour & (1 << h) == 0 {
                continue;
            }
            for m in 0..60u64 {
                if self.minute & (1 << m) != 0 {
                    times.push(h * 60 + m);
                }
            }
        }
        let (first, last) = (*times.first()?, *times.last()?);
        let within_day = times.windows(2).map(|w| w[1] - w[0]).min();
        let day_gap = self.min_day_gap()?;
        // Across days the gap is smallest between the last firing of one
        // firing day and the first firing of the next one.
        let across_days = day_gap * MINUTES_PER_DAY - (last - first);
        Some(within_day.map_or(across_days, |w| w.min(across_days)))
    }

    fn day_matches(&self, month: u32, dom: u32, dow: u32) -> bool {
        if self.month & (1 << month) == 0 {
            return false;
        }
        let dom_match = self.dom & (1 << dom) != 0;
        let dow_match = self.dow & (1 << dow) != 0;
        if self.dom_star || self.dow_star {
            dom_match && dow_match
        } else {
            dom_match || dow_match
        }
    }

    /// Smallest number of days between two consecutive firing days, or
    /// `None` if no day ever matches.
    fn min_day_gap(&self) -> Option<u64> {
        // 2000-01-01 was a Saturday (day of week 6).
        let (mut year, mut month, mut dom, mut dow) = (2000u32, 1u32, 1u32, 6u32);
        let mut first: Option<u64> = None;
        let mut last: Option<u64> = None;
        let mut best = u64::MAX;
        for day in 0..GREGORIAN_CYCLE_DAYS {
            if self.day_matches(month, dom, dow) {
                match last {
                    Some(prev) => {
                        best = best.min(day - prev);
                        if best == 1 {
                            return Some(1);
                        }
                    }
                    None => first = Some(day),
                }
                last = Some(day);
            }
            dow = (dow + 1) % 7;
            if dom < days_in_month(year, month) {
                dom += 1;
            } else {
                dom = 1;
                if month < 12 {
                    month += 1;
                } else {
                    month = 1;
                    year += 1;
                }
            }
        }
        let (first, last) = (first?, last?);
        // The calendar repeats, so the gap wraps around the cycle.
        Some(best.min(first + GREGORIAN_CYCLE_DAYS - last))
    }
}

// `u32::is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn is_leap_year(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// How one cron field is parsed.
struct FieldSpec {
    name: &'static str,
    min: u32,
    /// Largest value accepted when written explicitly.
    max: u32,
    /// End of `*`, `?` and `N/S` (differs from `max` for day-of-week, where
    /// 7 is accepted but `*` means 0-6).
    star_max: u32,
    names: &'static [&'static str],
    /// Value of `names[0]`.
    name_base: u32,
    allow_question: bool,
    /// The value 7 means 0 (Sunday in the day-of-week field).
    seven_is_zero: bool,
    /// What to write, for messages.
    allowed: &'static str,
}

const MONTH_NAMES: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DOW_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const MINUTE_FIELD: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    star_max: 59,
    names: &[],
    name_base: 0,
    allow_question: false,
    seven_is_zero: false,
    allowed: "0-59",
};
const HOUR_FIELD: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    star_max: 23,
    names: &[],
    name_base: 0,
    allow_question: false,
    seven_is_zero: false,
    allowed: "0-23",
};
const DOM_FIELD: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    star_max: 31,
    names: &[],
    name_base: 0,
    allow_question: true,
    seven_is_zero: false,
    allowed: "1-31",
};
const MONTH_FIELD: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    star_max: 12,
    names: MONTH_NAMES,
    name_base: 1,
    allow_question: false,
    seven_is_zero: false,
    allowed: "1-12 or JAN-DEC",
};
const DOW_FIELD: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    star_max: 6,
    names: DOW_NAMES,
    name_base: 0,
    allow_question: true,
    seven_is_zero: true,
    allowed: "0-6 or SUN-SAT (7 is also Sunday)",
};

const CRON_FIELDS_HINT: &str =
    "minute hour day-of-month month day-of-week, for example \"0 2 * * *\" (daily at 02:00)";
const CRON_DESCRIPTORS: &str =
    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>";

/// Parses a cron schedule the way Velero and VolSync do (robfig/cron v3
/// standard parser).
///
/// Accepted:
/// * exactly 5 whitespace-separated fields: minute (0-59), hour (0-23),
///   day-of-month (1-31), month (1-12 or JAN-DEC), day-of-week (0-6 or
///   SUN-SAT, 7 is also Sunday); names are case-insensitive;
/// * each field a comma list of `*`, `?` (day fields only), `N`, `A-B`,
///   `*/S`, `A-B/S` or `N/S` (= `N-max/S`), with step `S >= 1` and `A <= B`;
/// * the descriptors `@yearly @annually @monthly @weekly @daily @midnight
///   @hourly` and `@every <Go duration>` (duration > 0);
/// * an optional `CRON_TZ=Zone ` or `TZ=Zone ` prefix (the zone name is
///   checked for plausible characters only, there is no time zone database
///   here).
///
/// Surrounding whitespace is ignored.
pub fn parse_cron(expr: &str) -> Result<CronSchedule, String> {
    let spec = expr.trim();
    if spec.is_empty() {
        return Err(format!(
            "cron schedule is empty: use 5 fields ({CRON_FIELDS_HINT}) or a descriptor like @daily"
        ));
    }

    let (timezone, spec) = split_cron_timezone(spec)?;

    let kind = if spec.starts_with('@') {
        parse_cron_descriptor(spec)?
    } else {
        CronKind::Fields(parse_cron_fields(spec)?)
    };
    Ok(CronSchedule { timezone, kind })
}

fn split_cron_timezone(spec: &str) -> Result<(Option<String>, &str), String> {
    let Some(after) = spec
        .strip_prefix("CRON_TZ=")
        .or_else(|| spec.strip_prefix("TZ="))
    else {
        return Ok((None, spec));
    };
    let (zone, rest) = match after.find(char::is_whitespace) {
        Some(i) => (&after[..i], after[i..].trim_start()),
        None => (after, ""),
    };
    if zone.is_empty() {
        return Err(format!(
            "{spec:?} has an empty time zone: write it as CRON_TZ=Europe/Berlin followed by the schedule"
        ));
    }
    if let Some(c) = zone
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+')))
    {
        return Err(format!(
            "time zone {zone:?} contains {c:?}: use an IANA zone name such as UTC or America/New_York"
        ));
    }
    if rest.is_empty() {
        return Err(format!(
            "{spec:?} has a time zone but no schedule: add one after a space, for example \"CRON_TZ={zone} 0 2 * * *\""
        ));
    }
    Ok((Some(zone.to_string()), rest))
}

fn parse_cron_descriptor(spec: &str) -> Result<CronKind, String> {
    let expanded = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            let mut words = spec.split_whitespace();
            if words.next() != Some("@every") {
                return Err(format!(
                    "{spec:?} is not a known cron descriptor: use {CRON_DESCRIPTORS}"
                ));
            }
            let (Some(text), None) = (words.next(), words.next()) else {
                return Err(format!(
                    "{spec:?}: @every needs exactly one duration, for example \"@every 1h30m\""
                ));
            };
            let duration = parse_duration(text).map_err(|e| format!("@every: {e}"))?;
            if duration.is_zero() {
                return Err(format!(
                    "{spec:?}: the @every duration must be greater than 0, for example \"@every 1h\""
                ));
            }
            // robfig/cron rounds down to whole seconds, with a 1 s minimum.
            let secs = duration.as_secs().max(1);
            return Ok(CronKind::Every(Duration::from_secs(secs)));
        }
    };
    parse_cron_fields(expanded).map(CronKind::Fields)
}

fn parse_cron_fields(spec: &str) -> Result<CronFields, String> {
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        let extra = if fields.len() == 6 {
            "; a seconds field is not supported"
        } else {
            ""
        };
        return Err(format!(
            "{spec:?} has {} field{} but a cron schedule needs exactly 5: {CRON_FIELDS_HINT}{extra}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" },
        ));
    };
    let (minute, _) = parse_cron_field(&MINUTE_FIELD, minute)?;
    let (hour, _) = parse_cron_field(&HOUR_FIELD, hour)?;
    let (dom, dom_star) = parse_cron_field(&DOM_FIELD, dom)?;
    let (month, _) = parse_cron_field(&MONTH_FIELD, month)?;
    let (dow, dow_star) = parse_cron_field(&DOW_FIELD, dow)?;
    Ok(CronFields {
        minute,
        hour,
        dom,
        month,
        dow,
        dom_star,
        dow_star,
    })
}

/// `<name> field "<field>" <what>` when the token is the whole field,
/// otherwise `<name> field "<field>": "<token>" <what>`.
fn field_message(spec: &FieldSpec, field: &str, token: &str, what: &str) -> String {
    if token == field {
        format!("{} field {field:?} {what}", spec.name)
    } else {
        format!("{} field {field:?}: {token:?} {what}", spec.name)
    }
}

/// Parses one field into a bit set and whether it counts as a star.
fn parse_cron_field(spec: &FieldSpec, field: &str) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in field.split(',') {
        if part.is_empty() {
            return Err(format!(
                "{} field {field:?} has an empty list entry: separate values with single commas, for example 1,15",
                spec.name
            ));
        }
        let (range, step_text) = match part.split_once('/') {
            None => (part, None),
            Some((range, step)) => (range, Some(step)),
        };
        let step = match step_text {
            None => 1u64,
            Some(s) if s.contains('/') => {
                return Err(field_message(
                    spec,
                    field,
                    part,
                    "has more than one '/': use */S or A-B/S, for example */15",
                ));
            }
            Some("") => {
                return Err(field_message(
                    spec,
                    field,
                    part,
                    "is missing the step after '/': for example */15",
                ));
            }
            Some(s) if !s.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(field_message(
                    spec,
                    field,
                    part,
                    &format!("has step {s:?}, which is not a number: for example */15"),
                ));
            }
            // All digits: only a too large number can fail; such a step
            // simply selects the start value alone.
            Some(s) => s.parse::<u64>().unwrap_or(u64::MAX),
        };
        if step == 0 {
            return Err(field_message(
                spec,
                field,
                part,
                "has step 0: the step after '/' must be at least 1",
            ));
        }

        let (start, end, is_star) = if range == "*" || range == "?" {
            if range == "?" && !spec.allow_question {
                return Err(field_message(
                    spec,
                    field,
                    part,
                    "uses '?', which is only allowed in the day-of-month and day-of-week fields: use '*'",
                ));
            }
            (spec.min, spec.star_max, true)
        } else if range.is_empty() {
            return Err(field_message(
                spec,
                field,
                part,
                "has no value before '/': for example */15 or 0-30/5",
            ));
        } else {
            match range.split_once('-') {
                None => {
                    let value = parse_cron_value(spec, field, range)?;
                    // `N/S` means `N-max/S`.
                    let end = if step_text.is_some() {
                        spec.star_max.max(value)
                    } else {
                        value
                    };
                    (value, end, false)
                }
                Some((low, high)) => {
                    if low.is_empty() || high.is_empty() || high.contains('-') {
                        return Err(field_message(
                            spec,
                            field,
                            range,
                            &format!("is not a valid range: use A-B with A <= B within {}, for example 1-5", spec.allowed),
                        ));
                    }
                    let low = parse_cron_value(spec, field, low)?;
                    let high = parse_cron_value(spec, field, high)?;
                    if low > high {
                        return Err(field_message(
                            spec,
                            field,
                            range,
                            &format!(
                                "goes backwards and cron ranges do not wrap around: use {low}-{},{}-{high}",
                                spec.star_max.max(low),
                                spec.min
                            ),
                        ));
                    }
                    (low, high, false)
                }
            }
        };

        let mut value = u64::from(start);
        while value <= u64::from(end) {
            let bit = if spec.seven_is_zero && value == 7 {
                0
            } else {
                value
            };
            bits |= 1 << bit;
            value = value.saturating_add(step);
        }
        // As in robfig/cron: `*` or `?` with a step above 1 is not a star.
        if is_star && step == 1 {
            star = true;
        }
    }
    Ok((bits, star))
}

fn parse_cron_value(spec: &FieldSpec, field: &str, token: &str) -> Result<u32, String> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(n) if (spec.min..=spec.max).contains(&n) => Ok(n),
            _ => Err(field_message(
                spec,
                field,
                token,
                &format!("is out of range {}", spec.allowed),
            )),
        };
    }
    if let Some(index) = spec
        .names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(token))
    {
        // `names` has at most 12 entries, so the index fits.
        return Ok(spec.name_base + u32::try_from(index).unwrap_or(0));
    }
    let what = if spec.names.is_empty() {
        format!("is not a number: use {}", spec.allowed)
    } else {
        format!("is not a number or name: use {}", spec.allowed)
    };
    Err(field_message(spec, field, token, &what))
}

// ---------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// DNS-1123 names
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Pre-shared keys
// ---------------------------------------------------------------------------

const PSK_MIN_HEX_DIGITS: usize = 32;
const PSK_HINT: &str =
    "write it as <identity>:<hex key>, for example volsync:$(openssl rand -hex 32)";

/// Checks a VolSync rsync-tls pre-shared key line `<identity>:<hex key>`
/// with at least 32 hex digits.
///
/// The messages never repeat the key (nor the line, which would contain it);
/// only the identity is quoted.
pub fn check_psk_line(s: &str) -> Result<(), String> {
    match psk_problem(s) {
        None => Ok(()),
        Some(problem) => Err(problem.message()),
    }
}

/// Whether `s` is a well-formed pre-shared key line: [`check_psk_line`] without building a
/// message, for scanning many strings.
pub fn is_psk_line(s: &str) -> bool {
    psk_problem(s).is_none()
}

/// What is wrong with a pre-shared key line; `None` when it is a valid one.
fn psk_problem(s: &str) -> Option<PskProblem<'_>> {
    let Some((id, key)) = s.split_once(':') else {
        return Some(PskProblem::NoColon);
    };
    if id.is_empty() {
        return Some(PskProblem::EmptyIdentity);
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(PskProblem::IdentityWhitespace(id));
    }
    if key.is_empty() {
        return Some(PskProblem::NoKey(id));
    }
    if let Some((index, c)) = key.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Some(PskProblem::NotHex {
            id,
            position: index + 1,
            whitespace: c.is_whitespace(),
        });
    }
    if key.len() < PSK_MIN_HEX_DIGITS {
        return Some(PskProblem::TooShort {
            id,
            digits: key.len(),
        });
    }
    None
}

enum PskProblem<'a> {
    NoColon,
    EmptyIdentity,
    IdentityWhitespace(&'a str),
    NoKey(&'a str),
    NotHex {
        id: &'a str,
        position: usize,
        whitespace: bool,
    },
    TooShort {
        id: &'a str,
        digits: usize,
    },
}

impl PskProblem<'_> {
    fn message(&self) -> String {
        match self {
            PskProblem::NoColon => format!(
                "the pre-shared key line has no ':' between identity and key; {PSK_HINT}"
            ),
            PskProblem::EmptyIdentity => format!(
                "the pre-shared key line has an empty identity before ':'; {PSK_HINT}"
            ),
            PskProblem::IdentityWhitespace(id) => format!(
                "the pre-shared key identity {id:?} contains whitespace; {PSK_HINT}"
            ),
            PskProblem::NoKey(id) => format!(
                "the pre-shared key line for {id:?} has no key after ':'; {PSK_HINT}"
            ),
            PskProblem::NotHex {
                id,
                position,
                whitespace,
            } => {
                let what = if *whitespace {
                    "whitespace (remove trailing spaces or newlines)"
                } else {
                    "a character that is not a hex digit (0-9, a-f)"
                };
                format!(
                    "the pre-shared key for {id:?} contains {what} at key position {position}; {PSK_HINT}"
                )
            }
            PskProblem::TooShort { id, digits } => format!(
                "the pre-shared key for {id:?} has {digits} hex digits but at least {PSK_MIN_HEX_DIGITS} are needed; {PSK_HINT}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    // ----- cron -----

    fn interval(expr: &str) -> Option<u64> {
        parse_cron(expr)
            .unwrap_or_else(|e| panic!("{expr:?} should parse: {e}"))
            .min_interval_minutes()
    }

    fn cron_err(expr: &str) -> String {
        match parse_cron(expr) {
            Ok(s) => panic!("{expr:?} should be rejected, got {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn cron_accepts_common_schedules() {
        for expr in [
            "0 2 * * *",
            "*/15 * * * *",
            "0 */6 * * *",
            "30 1 * * 1-5",
            "0 0 1 * *",
            "0 0 * * 0",
            "0 0 * * 7",
            "0 0 ? * MON",
            "0 0 1 * ?",
            "0 0 1 jan,Jul *",
            "0 0 * * mon-FRI",
            "5,10,15 0-23/2 1-31 1-12 0-6",
            "0 12/3 * * *",
            "0 0 * * 5-7",
            "  0   2 * *  *  ",
            "0\t2 * * *",
            "00 02 * * *",
            "*/1 * * * *",
            "*/100 * * * *",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
            "@every 1h30m",
            "@every 90s",
            "CRON_TZ=Europe/Berlin 0 2 * * *",
            "TZ=UTC @daily",
            "CRON_TZ=America/New_York   @every 5m",
        ] {
            assert!(parse_cron(expr).is_ok(), "{expr:?}: {:?}", parse_cron(expr));
        }
    }

    #[test]
    fn cron_keeps_timezone() {
        let s = parse_cron("CRON_TZ=Europe/Berlin 0 2 * * *").unwrap();
        assert_eq!(s.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(parse_cron("0 2 * * *").unwrap().timezone, None);
    }

    #[test]
    fn cron_out_of_range_messages() {
        assert_eq!(
            cron_err("75 * * * *"),
            "minute field \"75\" is out of range 0-59"
        );
        assert_eq!(
            cron_err("0 24 * * *"),
            "hour field \"24\" is out of range 0-23"
        );
        assert_eq!(
            cron_err("0 0 0 * *"),
            "day-of-month field \"0\" is out of range 1-31"
        );
        assert_eq!(
            cron_err("0 0 * 13 *"),
            "month field \"13\" is out of range 1-12 or JAN-DEC"
        );
        assert_eq!(
            cron_err("0 0 * * 8"),
            "day-of-week field \"8\" is out of range 0-6 or SUN-SAT (7 is also Sunday)"
        );
        assert_eq!(
            cron_err("0,75 * * * *"),
            "minute field \"0,75\": \"75\" is out of range 0-59"
        );
        assert_eq!(
            cron_err("0 0-24 * * *"),
            "hour field \"0-24\": \"24\" is out of range 0-23"
        );
        assert!(cron_err("99999999999999999999 * * * *").contains("out of range 0-59"));
    }

    #[test]
    fn cron_rejects_bad_syntax() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("0 2 * *", "has 4 fields"),
            ("0 0 2 * * *", "seconds field is not supported"),
            ("0 2 * * * * *", "has 7 fields"),
            ("x * * * *", "minute field \"x\" is not a number: use 0-59"),
            ("*/0 * * * *", "step 0"),
            ("*/ * * * *", "missing the step"),
            ("*/x * * * *", "not a number"),
            ("*/5/2 * * * *", "more than one '/'"),
            ("/5 * * * *", "no value before '/'"),
            ("1,,2 * * * *", "empty list entry"),
            ("1, * * * *", "empty list entry"),
            ("? * * * *", "'?', which is only allowed"),
            ("0 ? * * *", "'?'"),
            ("0 0 * ? *", "'?'"),
            ("1-2-3 * * * *", "not a valid range"),
            ("-5 * * * *", "not a valid range"),
            ("5- * * * *", "not a valid range"),
            ("0 22-2 * * *", "use 22-23,0-2"),
            ("0 0 * * FRI-MON", "use 5-6,0-1"),
            (
                "0 0 * FOO *",
                "is not a number or name: use 1-12 or JAN-DEC",
            ),
            ("0 0 * * MONDAY", "is not a number or name"),
            ("0 0 * JAN *x", "day-of-week field \"*x\""),
            ("+5 * * * *", "not a number"),
            ("@fortnightly", "not a known cron descriptor"),
            ("@Daily", "not a known cron descriptor"),
            ("@daily 0", "not a known cron descriptor"),
            ("@every", "exactly one duration"),
            ("@every 1h 2m", "exactly one duration"),
            ("@every 5x", "@every: \"5x\" is not a duration"),
            ("@every 0s", "greater than 0"),
            ("@every -5m", "negative"),
            ("CRON_TZ= 0 2 * * *", "empty time zone"),
            ("CRON_TZ=Europe/Berlin", "no schedule"),
            ("TZ=Bad;Zone 0 2 * * *", "contains ';'"),
            ("CRON_TZ=UTC 0 2 * *", "has 4 fields"),
        ];
        for (expr, needle) in cases {
            let err = cron_err(expr);
            assert!(err.contains(needle), "{expr:?}: {err:?} lacks {needle:?}");
        }
    }

    #[test]
    fn cron_field_sets() {
        let CronKind::Fields(f) = parse_cron("0 0 * * 7").unwrap().kind else {
            panic!("fields expected");
        };
        assert_eq!(f.dow, 1, "7 means Sunday");
        let CronKind::Fields(f) = parse_cron("0 0 * * 5-7").unwrap().kind else {
            panic!("fields expected");
        };
        assert_eq!(f.dow, 0b110_0001);
        let CronKind::Fields(f) = parse_cron("0 0 * * 1/3").unwrap().kind else {
            panic!("fields expected");
        };
        assert_eq!(f.dow, 0b001_0010, "N/S runs to 6, not 7");
        let CronKind::Fields(f) = parse_cron("10/20 0 * * *").unwrap().kind else {
            panic!("fields expected");
        };
        assert_eq!(f.minute, (1 << 10) | (1 << 30) | (1 << 50));
        let CronKind::Fields(f) = parse_cron("0 0 */2 * *").unwrap().kind else {
            panic!("fields expected");
        };
        assert!(!f.dom_star, "a step above 1 is not a star");
        let CronKind::Fields(f) = parse_cron("0 0 ? * *").unwrap().kind else {
            panic!("fields expected");
        };
        assert!(f.dom_star && f.dow_star);
        let CronKind::Fields(f) = parse_cron("0 0 * dec *").unwrap().kind else {
            panic!("fields expected");
        };
        assert_eq!(f.month, 1 << 12);
    }

    #[test]
    fn cron_descriptors_match_their_expansion() {
        assert_eq!(
            parse_cron("@daily").unwrap(),
            parse_cron("0 0 * * *").unwrap()
        );
        assert_eq!(
            parse_cron("@midnight").unwrap(),
            parse_cron("0 0 * * *").unwrap()
        );
        assert_eq!(
            parse_cron("@weekly").unwrap(),
            parse_cron("0 0 * * 0").unwrap()
        );
        assert_eq!(
            parse_cron("@annually").unwrap(),
            parse_cron("0 0 1 1 *").unwrap()
        );
        assert_ne!(
            parse_cron("@hourly").unwrap(),
            parse_cron("@daily").unwrap()
        );
    }

    #[test]
    fn cron_min_interval_within_a_day() {
        assert_eq!(interval("* * * * *"), Some(1));
        assert_eq!(interval("*/15 * * * *"), Some(15));
        assert_eq!(interval("0,10 * * * *"), Some(10));
        assert_eq!(interval("0 */6 * * *"), Some(360));
        assert_eq!(interval("@hourly"), Some(60));
        // 01:00 and 23:00: the smallest gap crosses midnight.
        assert_eq!(interval("0 1,23 * * *"), Some(120));
        // */7 minutes: 56 -> 0 of the next hour is 4 minutes.
        assert_eq!(interval("*/7 * * * *"), Some(4));
    }

    #[test]
    fn cron_min_interval_across_days() {
        assert_eq!(interval("0 2 * * *"), Some(1440));
        assert_eq!(interval("@daily"), Some(1440));
        assert_eq!(interval("30 1 * * 1-5"), Some(1440));
        assert_eq!(interval("0 0 * * 0"), Some(7 * 1440));
        assert_eq!(interval("@weekly"), Some(7 * 1440));
        assert_eq!(interval("0 0 * * 1,4"), Some(3 * 1440));
        // Monthly: shortest month is February, 28 days.
        assert_eq!(interval("@monthly"), Some(28 * 1440));
        // 1st and 15th: Feb 15 -> Mar 1 in a common year is 14 days.
        assert_eq!(interval("0 0 1,15 * *"), Some(14 * 1440));
        assert_eq!(interval("@yearly"), Some(365 * 1440));
        // Feb 29: leap years are at least 4 years apart.
        assert_eq!(interval("0 0 29 2 *"), Some(1461 * 1440));
        // Every other day of the month: 31 -> 1 is one day.
        assert_eq!(interval("0 0 */2 * *"), Some(1440));
        // Twice a day on Sundays only.
        assert_eq!(interval("0 6,18 * * SUN"), Some(720));
    }

    #[test]
    fn cron_min_interval_dom_and_dow() {
        // Both restricted: either matches (the 13th OR any Friday), so a
        // Thursday 13th followed by Friday 14th is one day apart.
        assert_eq!(interval("0 0 13 * 5"), Some(1440));
        // One of them starred: both must match (every Friday).
        assert_eq!(interval("0 0 ? * FRI"), Some(7 * 1440));
        // dom 13 with dow '*': both must match, so every 13th (Feb 13 to
        // Mar 13 in a common year is 28 days).
        assert_eq!(interval("0 0 13 * *"), Some(28 * 1440));
    }

    #[test]
    fn cron_min_interval_never_and_every() {
        assert_eq!(interval("0 0 30 2 *"), None);
        assert_eq!(interval("0 0 31 4,6,9,11 *"), None);
        assert_eq!(interval("@every 1h30m"), Some(90));
        assert_eq!(interval("@every 90s"), Some(1));
        assert_eq!(interval("@every 30s"), Some(0));
        assert_eq!(interval("@every 1ns"), Some(0));
        assert_eq!(interval("CRON_TZ=UTC @every 168h"), Some(7 * 1440));
    }

    // ----- durations -----

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

    // ----- quantities -----

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

    // ----- DNS-1123 -----

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

    // ----- pre-shared keys -----

    #[test]
    fn psk_line() {
        let hex64 = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        assert_eq!(check_psk_line(&format!("volsync:{hex64}")), Ok(()));
        assert_eq!(
            check_psk_line(&format!("volsync:{}", "a".repeat(32))),
            Ok(())
        );

        let short = format!("volsync:{}", "a".repeat(31));
        let err = check_psk_line(&short).unwrap_err();
        assert!(err.contains("has 31 hex digits but at least 32"), "{err}");

        let cases: Vec<(String, &str)> = vec![
            (hex64.to_string(), "no ':'"),
            (format!(":{hex64}"), "empty identity"),
            ("volsync:".to_string(), "no key"),
            (format!("vol sync:{hex64}"), "contains whitespace"),
            (format!("volsync:{hex64}\n"), "whitespace (remove trailing"),
            (format!("volsync:{hex64}g"), "not a hex digit"),
            (format!("volsync:{hex64}:{hex64}"), "at key position 65"),
        ];
        for (input, needle) in &cases {
            let err = check_psk_line(input).unwrap_err();
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
            assert!(!err.contains(hex64), "the key must not be echoed: {err}");
        }
    }

    // ----- URLs -----

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

    // ----- robustness -----

    #[test]
    fn no_panics_on_odd_input() {
        let inputs = [
            "",
            " ",
            "\0",
            "-",
            "+",
            ".",
            ":",
            "@",
            "@every",
            "/",
            "*/",
            "µ",
            "é",
            "é:é",
            "💥",
            "-µs",
            "1µ",
            "0x10",
            "1e-",
            "[",
            "]",
            "://",
            "TZ=",
            "CRON_TZ=é",
            "*,*,*",
            "\u{200b}",
            "9999999999999999999999",
        ];
        for s in inputs {
            let _ = parse_cron(s);
            let _ = parse_cron(&format!("{s} * * * *"));
            let _ = parse_cron(&format!("0 0 {s} {s} {s}"));
            let _ = parse_duration(s);
            let _ = parse_quantity(s);
            let _ = check_dns1123_label(s);
            let _ = check_dns1123_subdomain(s);
            let _ = check_psk_line(s);
            let _ = check_url(s, &["https"]);
            let _ = check_url(&format!("https://{s}"), &["https"]);
            let _ = check_url(&format!("https://[{s}]:{s}"), &[]);
        }
    }
}
