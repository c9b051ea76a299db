//! Where a household stands in the campaign, from its latest visit and its
//! checklist runs. The tablet's household list and the office's dashboard
//! use this one rule, so they never disagree.

use chrono::NaiveDate;
use serde::Serialize;

/// Where a household stands, for filters, the list's colour and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStatus {
    /// Nobody has visited yet.
    NotVisited,
    /// A follow-up is due (by date, or nobody was home, or "come back").
    FollowUpDue,
    /// Visited, work remains (a checklist under way, a later follow-up).
    InProgress,
    /// Visited and nothing left to do.
    Done,
}

impl HouseholdStatus {
    /// Every status, in display order.
    pub const ALL: [HouseholdStatus; 4] = [
        HouseholdStatus::NotVisited,
        HouseholdStatus::FollowUpDue,
        HouseholdStatus::InProgress,
        HouseholdStatus::Done,
    ];

    /// The code (`not_visited`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            HouseholdStatus::NotVisited => "not_visited",
            HouseholdStatus::FollowUpDue => "follow_up_due",
            HouseholdStatus::InProgress => "in_progress",
            HouseholdStatus::Done => "done",
        }
    }

    /// Parses a filter name (`not-visited`, `follow-up-due`, `in-progress`,
    /// `done`, with `-` or `_`).
    pub fn from_filter(s: &str) -> Result<HouseholdStatus, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "not-visited" => Ok(HouseholdStatus::NotVisited),
            "follow-up-due" => Ok(HouseholdStatus::FollowUpDue),
            "in-progress" => Ok(HouseholdStatus::InProgress),
            "done" => Ok(HouseholdStatus::Done),
            _ => Err(format!(
                "unknown filter {s:?} (expected one of: not-visited, follow-up-due, in-progress, done)"
            )),
        }
    }
}

/// The status of a household: `last_outcome` is its latest visit's outcome
/// code (none when never visited), `follow_up_on` that visit's follow-up
/// date, `runs` and `completed` its checklist runs.
pub fn household_status(
    last_outcome: Option<&str>,
    follow_up_on: Option<NaiveDate>,
    runs: u32,
    completed: u32,
    today: NaiveDate,
) -> HouseholdStatus {
    let Some(outcome) = last_outcome else {
        return HouseholdStatus::NotVisited;
    };
    let come_back = matches!(outcome, "nobody_home" | "revisit");
    match follow_up_on {
        Some(d) if d <= today => HouseholdStatus::FollowUpDue,
        None if come_back => HouseholdStatus::FollowUpDue,
        Some(_) => HouseholdStatus::InProgress,
        None if completed < runs || outcome == "partial" => HouseholdStatus::InProgress,
        None => HouseholdStatus::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_rule_in_each_case() {
        let today = d("2026-11-27");
        use HouseholdStatus as S;
        assert_eq!(household_status(None, None, 0, 0, today), S::NotVisited);
        assert_eq!(
            household_status(Some("helped"), Some(d("2026-11-27")), 1, 1, today),
            S::FollowUpDue
        );
        assert_eq!(household_status(Some("nobody_home"), None, 0, 0, today), S::FollowUpDue);
        assert_eq!(
            household_status(Some("helped"), Some(d("2026-12-01")), 1, 1, today),
            S::InProgress
        );
        assert_eq!(household_status(Some("helped"), None, 2, 1, today), S::InProgress);
        assert_eq!(household_status(Some("partial"), None, 0, 0, today), S::InProgress);
        assert_eq!(household_status(Some("helped"), None, 1, 1, today), S::Done);
        assert_eq!(household_status(Some("declined"), None, 0, 0, today), S::Done);
        assert_eq!(HouseholdStatus::from_filter("Follow_up-due"), Ok(S::FollowUpDue));
        assert!(HouseholdStatus::from_filter("soon").is_err());
    }
}
