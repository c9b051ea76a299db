//! Reading values typed on the command line: dates, yes/no, ids, times.

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};

/// Reads a day: `2026-12-01`, `today`, `tomorrow`, `+3d` or `+2w`.
pub(crate) fn day(raw: &str, today: NaiveDate, what: &str) -> anyhow::Result<NaiveDate> {
    let text = raw.trim().to_ascii_lowercase();
    let relative = |n: &str, unit: u64| -> anyhow::Result<NaiveDate> {
        let n: u64 = n
            .parse()
            .with_context(|| format!("{what} {raw:?} is not a date (use 2026-12-01, +3d, +1w or tomorrow)"))?;
        n.checked_mul(unit)
            .filter(|days| *days <= 3660)
            .and_then(|days| today.checked_add_days(chrono::Days::new(days)))
            .with_context(|| format!("{what} {raw:?} is more than ten years away"))
    };
    match text.as_str() {
        "today" => Ok(today),
        "tomorrow" => relative("1", 1),
        t if t.starts_with('+') && t.ends_with('d') => relative(&t[1..t.len() - 1], 1),
        t if t.starts_with('+') && t.ends_with('w') => relative(&t[1..t.len() - 1], 7),
        t => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .with_context(|| format!("{what} {raw:?} is not a date (use 2026-12-01, +3d, +1w or tomorrow)")),
    }
}

/// Reads yes/no in English or Vietnamese (có / không).
pub(crate) fn yes_no(raw: &str, what: &str) -> anyhow::Result<bool> {
    match doorstep_core::text::match_key(raw).as_str() {
        "yes" | "y" | "true" | "1" | "co" => Ok(true),
        "no" | "n" | "false" | "0" | "khong" => Ok(false),
        _ => bail!("{what} {raw:?} is not yes or no"),
    }
}

/// Reads an RFC 3339 time.
pub(crate) fn time(raw: &str, what: &str) -> anyhow::Result<DateTime<Utc>> {
    doorstep_core::schema::parse_timestamp(raw.trim()).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// An optional text: `Some("")` means "clear it".
pub(crate) fn clearable<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, doorstep_core::text::BadText>,
) -> anyhow::Result<Option<Option<T>>> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(Some(None)),
        Some(s) => Ok(Some(Some(parse(s)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_absolute_and_relative() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
        assert_eq!(
            day("+3d", today, "x").expect("ok"),
            NaiveDate::from_ymd_opt(2026, 11, 30).expect("date")
        );
        assert_eq!(
            day("+1w", today, "x").expect("ok"),
            NaiveDate::from_ymd_opt(2026, 12, 4).expect("date")
        );
        assert_eq!(
            day("tomorrow", today, "x").expect("ok"),
            NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
        );
        for huge in ["+99999999d", "+2000000000000000000w", "+3661d"] {
            assert!(
                day(huge, today, "x").expect_err(huge).to_string().contains("ten years"),
                "{huge}"
            );
        }
        let err = day("next week", today, "follow-up").expect_err("bad");
        assert!(err.to_string().contains("\"next week\""), "{err}");
    }

    #[test]
    fn yes_and_no_in_two_languages() {
        assert!(yes_no("Có", "x").expect("ok"));
        assert!(!yes_no("không", "x").expect("ok"));
        assert!(
            yes_no("maybe", "chip id")
                .expect_err("bad")
                .to_string()
                .contains("\"maybe\"")
        );
    }
}
