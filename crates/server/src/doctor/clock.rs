//! The computer's clock against the newest stamp in the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstep_core::hlc::{Hlc, HlcClock};

use super::{Check, Outcome, round_age};

/// How far the newest stamp may be ahead of this computer's clock before
/// it says the clock was set back: what the server lets a tablet's clock
/// run ahead, plus a minute.
const CLOCK_SET_BACK: Duration = Duration::from_millis(HlcClock::DEFAULT_MAX_AHEAD_MS + 60_000);

/// The clock check: `now` (this computer's clock) against the newest stamp
/// the database holds. No network clock is asked.
pub fn clock_check(now: DateTime<Utc>, newest_stamp: Option<Hlc>) -> Check {
    let Some(stamp) = newest_stamp else {
        return Check::ok("clock", "nothing stamped yet: no clock to compare");
    };
    let newest = stamp.to_datetime();
    let ahead = (newest - now).to_std().unwrap_or(Duration::ZERO);
    let when = newest.format("%Y-%m-%d %H:%M UTC");
    let set_right =
        "Set this computer's date and time right (automatic time, correct time zone), then restart the server";
    if ahead > CLOCK_SET_BACK {
        Check::not_ok(
            "clock",
            Outcome::Fail,
            format!(
                "this computer's clock is {} behind the newest change in the database ({when}): it was set back",
                round_age(ahead)
            ),
            set_right,
        )
    } else if ahead > Duration::from_secs(60) {
        Check::not_ok(
            "clock",
            Outcome::Warn,
            format!(
                "the newest change in the database ({when}) is {} ahead of this computer's clock: a tablet's clock runs fast, or this one was set back",
                round_age(ahead)
            ),
            format!("Compare this computer's time with a phone's. If it is wrong: {set_right}"),
        )
    } else {
        Check::ok(
            "clock",
            format!("this computer's clock is not behind the newest change ({when})"),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        doorstep_core::schema::parse_timestamp(s).unwrap()
    }

    #[test]
    fn a_clock_set_back_is_named() {
        let now = at("2026-12-07T12:00:00Z");
        let stamp = |t: &str| Some(Hlc::new(u64::try_from(at(t).timestamp_millis()).unwrap(), 0));
        assert_eq!(clock_check(now, None).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T11:59:00Z")).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T12:00:30Z")).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T12:03:00Z")).outcome, Outcome::Warn);
        let back = clock_check(now, stamp("2026-12-08T12:00:00Z"));
        assert_eq!(back.outcome, Outcome::Fail);
        assert!(back.finding.contains("it was set back"), "{}", back.finding);
        assert!(back.finding.contains("24 hours behind"), "{}", back.finding);
    }
}
