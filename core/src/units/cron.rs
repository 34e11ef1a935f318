//! Cron schedules as Velero and VolSync parse them (robfig/cron v3 standard parser).

use super::duration::parse_duration;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
