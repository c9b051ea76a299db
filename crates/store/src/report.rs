//! What the office reports: coverage, checklist outcomes, visits, the
//! walking list for tomorrow and peer spread. Plain data, filled by a
//! `Store` from its report tables, shown by the dashboard, printed by
//! `doorstep-server report`, and written by the exports.
//!
//! Days are the campaign's local days: Vietnam is UTC+7 all year.

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

/// The campaign's offset from UTC, in hours (Asia/Ho_Chi_Minh, no DST).
pub const LOCAL_OFFSET_HOURS: i64 = 7;

/// Which part of the campaign a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these communes (ids); `None` is every commune (an admin).
    pub communes: Option<Vec<String>>,
    /// Only this village (id).
    pub village: Option<String>,
    /// Visits and checklist runs from this local day on (coverage is
    /// always the state today).
    pub from: Option<NaiveDate>,
    /// Visits up to this local day.
    pub to: Option<NaiveDate>,
    /// Today, for follow-ups due.
    pub today: NaiveDate,
}

/// Coverage of one village.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VillageCoverage {
    /// Commune id.
    pub commune_id: String,
    /// Commune name.
    pub commune: String,
    /// Village id.
    pub village_id: String,
    /// Village name.
    pub village: String,
    /// Households on the register.
    pub households: u64,
    /// Households someone talked to (a visit other than "nobody home").
    pub reached: u64,
    /// Never visited.
    pub not_visited: u64,
    /// A follow-up is due.
    pub follow_up_due: u64,
    /// Work remains.
    pub in_progress: u64,
    /// Nothing left to do.
    pub done: u64,
}

/// Outcomes of one checklist pack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackOutcome {
    /// Pack key.
    pub pack: String,
    /// Runs started.
    pub runs: u64,
    /// Runs completed.
    pub completed: u64,
    /// Runs blocked.
    pub blocked: u64,
    /// Runs under way (started, not finished, not blocked).
    pub in_progress: u64,
    /// Residents with a completed run: residents helped.
    pub residents_helped: u64,
}

/// A count under a name (a blocker reason, a unit, a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted: a code, a date or a name.
    pub key: String,
    /// How many.
    pub count: u64,
}

/// One volunteer's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolunteerWork {
    /// Member id (empty when the visit named none).
    pub member_id: String,
    /// Name.
    pub name: String,
    /// Unit code.
    pub unit: String,
    /// Visits.
    pub visits: u64,
    /// Distinct households visited.
    pub households: u64,
}

/// The overview page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// Coverage per village, by commune and village name.
    pub villages: Vec<VillageCoverage>,
    /// Outcomes per pack, by key.
    pub packs: Vec<PackOutcome>,
    /// Why runs are blocked, most frequent first.
    pub blockers: Vec<Count>,
    /// Visits per local day, oldest first.
    pub visits_per_day: Vec<Count>,
    /// Visits per unit, most first.
    pub visits_per_unit: Vec<Count>,
    /// Work per volunteer, most visits first.
    pub volunteers: Vec<VolunteerWork>,
}

impl Overview {
    /// The villages' coverage summed per commune.
    pub fn communes(&self) -> Vec<VillageCoverage> {
        let mut out: Vec<VillageCoverage> = Vec::new();
        for v in &self.villages {
            let row = match out.iter_mut().find(|c| c.commune_id == v.commune_id) {
                Some(row) => row,
                None => {
                    out.push(VillageCoverage {
                        commune_id: v.commune_id.clone(),
                        commune: v.commune.clone(),
                        ..VillageCoverage::default()
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            row.households += v.households;
            row.reached += v.reached;
            row.not_visited += v.not_visited;
            row.follow_up_due += v.follow_up_due;
            row.in_progress += v.in_progress;
            row.done += v.done;
        }
        out
    }
}

/// A household to go to tomorrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkStop {
    /// Commune name.
    pub commune: String,
    /// Village name.
    pub village: String,
    /// Household id.
    pub household_id: String,
    /// Head of household.
    pub head_name: String,
    /// How to find the house.
    pub landmark: Option<String>,
    /// Household phone.
    pub phone: Option<String>,
    /// `follow_up_due` or `not_visited`.
    pub status: String,
    /// Latest visit, local day.
    pub last_visit_on: Option<String>,
    /// Its outcome.
    pub last_outcome: Option<String>,
    /// The follow-up day asked for.
    pub follow_up_on: Option<String>,
}

/// Peer spread: households that came to the campaign through a neighbour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerSpread {
    /// Households with a visit that names who taught or sent them.
    pub households_taught_by_neighbour: u64,
    /// People living in those households.
    pub residents_in_them: u64,
    /// Residents who taught or sent at least one other household.
    pub teachers: u64,
    /// The longest chains, longest first (at most five): each a list of
    /// households, the first one taught by a volunteer.
    pub longest_chains: Vec<Vec<ChainLink>>,
}

/// One household in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    /// Household id.
    pub household_id: String,
    /// Head of household.
    pub head_name: String,
    /// Village name.
    pub village: String,
}

/// One visit, as the exports list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// Commune name.
    pub commune: String,
    /// Village id (the exports group by it: two communes may share a
    /// village name).
    pub village_id: String,
    /// Village name.
    pub village: String,
    /// Household id.
    pub household_id: String,
    /// Head of household.
    pub head_name: String,
    /// Local day the visit started.
    pub started_on: Option<NaiveDate>,
    /// Local time it started.
    pub started_time: Option<NaiveTime>,
    /// Outcome code (`helped`, `nobody_home`, ...).
    pub outcome: String,
    /// The follow-up day asked for.
    pub follow_up_on: Option<NaiveDate>,
    /// The volunteer's name (empty when the visit named none).
    pub volunteer: String,
    /// The volunteer's unit code.
    pub unit: String,
    /// The neighbour who taught or sent the household.
    pub referred_by: String,
    /// The volunteer's notes.
    pub notes: String,
}

/// One checklist run, as the exports list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    /// Commune name.
    pub commune: String,
    /// Village id.
    pub village_id: String,
    /// Village name.
    pub village: String,
    /// Household id.
    pub household_id: String,
    /// Head of household.
    pub head_name: String,
    /// The person helped.
    pub person: String,
    /// Pack key.
    pub pack: String,
    /// Pack version.
    pub pack_version: u32,
    /// `not_started`, `in_progress`, `blocked` or `completed`.
    pub status: String,
    /// Steps done.
    pub steps_done: u32,
    /// Steps in the pack version.
    pub steps_total: u32,
    /// Why it is blocked (a blocker reason code).
    pub blocker: Option<String>,
    /// Local day it started.
    pub started_on: Option<NaiveDate>,
}

/// A field edited on two devices at once, for a lead to settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictRow {
    /// Entity kind code.
    pub kind: String,
    /// Entity id.
    pub entity_id: String,
    /// Its commune.
    pub commune_id: String,
    /// What it is called (a household's head, a person's name).
    pub label: String,
    /// The field.
    pub field: String,
    /// The value shown now first, then the values that lost.
    pub values: Vec<ConflictValue>,
}

/// One of the values in a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictValue {
    /// The value as text (empty for none).
    pub value: String,
    /// When it was written (UTC, from its stamp).
    pub written_at: String,
    /// Its version, `HLC-DEVICE`: what a pick names.
    pub version: String,
    /// The device that wrote it (the office's own for a lead's pick).
    pub device: String,
}
