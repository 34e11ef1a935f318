//! The rclone destination schedule derived from its source's (read by validation and rendering).

/// The rclone destination schedule: the source's minutes shifted by `offset` (default: half the
/// source's interval), so the destination pulls after the source finished writing the bucket.
pub fn rclone_offset_schedule(source: &str, offset: Option<u32>) -> Result<String, String> {
    let fields: Vec<&str> = source.split_whitespace().collect();
    let unsupported = || {
        format!("cannot derive an offset schedule from {source:?}: only schedules whose minute field is a number, a list or */N can be shifted")
    };
    if fields.len() != 5 {
        return Err(unsupported());
    }
    let minutes: Vec<u32> = if let Some(step) = fields[0].strip_prefix("*/") {
        let step: u32 = step.parse().map_err(|_| unsupported())?;
        if step == 0 || 60 % step != 0 {
            return Err(format!(
                "{} (step {step} does not divide 60)",
                unsupported()
            ));
        }
        (0..60).step_by(step as usize).collect()
    } else {
        let parsed: Result<Vec<u32>, _> = fields[0].split(',').map(str::parse).collect();
        parsed.map_err(|_| unsupported())?
    };
    if minutes.is_empty() || minutes.iter().any(|m| *m > 59) {
        return Err(unsupported());
    }
    let gap = smallest_gap(&minutes);
    let offset = offset.unwrap_or((gap / 2).max(1));
    if offset == 0 || offset >= gap {
        return Err(format!(
            "scheduleOffsetMinutes {offset} must be between 1 and {} (the source runs every {gap} minutes)",
            gap.saturating_sub(1)
        ));
    }
    let wraps = minutes.iter().any(|m| m + offset > 59);
    if wraps && fields[1] != "*" {
        return Err(format!("shifting {source:?} by {offset} minutes crosses into the next hour; set the destination schedule explicitly"));
    }
    let mut shifted: Vec<u32> = minutes.iter().map(|m| (m + offset) % 60).collect();
    shifted.sort_unstable();
    let list: Vec<String> = shifted.iter().map(u32::to_string).collect();
    Ok(format!("{} {}", list.join(","), fields[1..].join(" ")))
}

fn smallest_gap(minutes: &[u32]) -> u32 {
    let mut sorted = minutes.to_vec();
    sorted.sort_unstable();
    let mut gap = 60 - sorted[sorted.len() - 1] + sorted[0];
    for pair in sorted.windows(2) {
        gap = gap.min(pair[1] - pair[0]);
    }
    gap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rclone_offset_matches_the_documented_example() {
        // The seeds pair a */6 source with "3,9,15,...,57 * * * *".
        assert_eq!(
            rclone_offset_schedule("*/6 * * * *", Some(3)).unwrap(),
            "3,9,15,21,27,33,39,45,51,57 * * * *"
        );
        assert_eq!(
            rclone_offset_schedule("*/6 * * * *", None).unwrap(),
            "3,9,15,21,27,33,39,45,51,57 * * * *"
        );
    }

    #[test]
    fn rclone_offset_rejects_what_it_cannot_shift() {
        assert!(rclone_offset_schedule("*/6 * * * *", Some(6)).is_err());
        assert!(rclone_offset_schedule("@hourly", None).is_err());
        assert!(rclone_offset_schedule("50 2 * * *", Some(20)).is_err());
        assert_eq!(
            rclone_offset_schedule("0 2 * * *", Some(20)).unwrap(),
            "20 2 * * *"
        );
    }
}
