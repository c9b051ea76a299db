//! The report tables' logic that is not SQL, shared by the SQLite and
//! PostgreSQL stores: what a write touched, a run's progress from the
//! latest event of each of its steps, and turning query rows into the
//! report's figures. Each store keeps only its queries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use doorstep_core::change::{Change, Version};
use doorstep_core::coverage::{HouseholdStatus, household_status};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::DeviceId;
use doorstep_core::merge::EntityState;
use doorstep_core::pack::Pack;
use doorstep_core::progress::{StepMark, run_progress};
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use doorstep_core::vocab::StepOutcome;
use uuid::Uuid;

use super::StoreError;
use crate::report::{ConflictRow, ConflictValue, Count, Overview, PackOutcome, VillageCoverage, VolunteerWork};

/// The marker in `server_meta` saying the report tables are complete.
pub(crate) const BUILT: &str = "report_built";

/// The report table of an entity kind.
pub(crate) fn table(kind: EntityKind) -> String {
    format!("r_{}", kind.as_str())
}

/// A step's latest event, as a run keeps it: `[hlc, device, outcome,
/// blocker]` under the step id in `r_checklist_run.latest`.
pub(crate) type Latest = (u64, String, String, Option<String>);

/// What a write touched, to recompute derived columns once each: runs with
/// their new step events, and households.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    /// Runs, with their new step events (step id, event).
    pub(crate) runs: BTreeMap<String, Vec<(String, Latest)>>,
    /// Households whose visit and run columns need recomputing.
    pub(crate) households: BTreeSet<String>,
}

impl Touched {
    /// Notes an entity written to its report table.
    pub(crate) fn entity(&mut self, id: &str, kind: EntityKind, state: &EntityState) {
        let text = |field: &str| state.value(field).and_then(FieldValue::as_text).map(str::to_owned);
        match kind {
            EntityKind::Household => {
                self.households.insert(id.to_owned());
            }
            EntityKind::Visit => {
                self.households.extend(text("household_id"));
            }
            EntityKind::ChecklistRun => {
                self.runs.entry(id.to_owned()).or_default();
                self.households.extend(text("household_id"));
            }
            _ => {}
        }
    }

    /// Notes a step event. Step events are not kept one row each (a
    /// million rows whose random ids would cost more than the rest of an
    /// ingest): each run keeps the latest event of each of its steps,
    /// which is all its progress depends on.
    pub(crate) fn step(&mut self, change: &Change) {
        let text = |name: &str| {
            change
                .fields
                .iter()
                .find(|f| f.field == name)
                .and_then(|f| f.value.as_text())
                .map(str::to_owned)
        };
        let (Some(run), Some(step), Some(outcome)) = (text("run_id"), text("step_id"), text("outcome")) else {
            return; // ingest accepts no step event without these
        };
        self.runs.entry(run).or_default().push((
            step,
            (change.hlc.as_u64(), change.device.to_string(), outcome, text("blocker")),
        ));
    }
}

/// The step ids of a pack version's TOML (`None` if it does not read).
pub(crate) fn steps_of_pack(toml: Option<&str>) -> Option<Vec<String>> {
    toml.and_then(|t| Pack::from_toml(t).ok())
        .map(|p| p.steps.into_iter().map(|s| s.id).collect())
}

/// A run's derived columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunColumns {
    /// `status`.
    pub(crate) status: &'static str,
    /// `steps_total`.
    pub(crate) total: u32,
    /// `steps_done`.
    pub(crate) done: u32,
    /// `steps_skipped`.
    pub(crate) skipped: u32,
    /// `steps_blocked`.
    pub(crate) blocked: u32,
    /// `blocker`: the reason of the latest of its steps still blocked.
    pub(crate) blocker: Option<String>,
    /// `latest`, as JSON.
    pub(crate) latest: String,
}

/// Merges a run's new step events into its stored latest-per-step record
/// (`latest`, JSON) and derives its columns. `pack_steps` are the steps of
/// its pack version; without them, the steps seen so far stand in.
pub(crate) fn run_columns(
    run: &str,
    latest: &str,
    new_events: &[(String, Latest)],
    pack_steps: Option<Vec<String>>,
) -> Result<RunColumns, StoreError> {
    let mut latest: BTreeMap<String, Latest> = serde_json::from_str(latest)
        .map_err(|e| StoreError::Damaged(format!("r_checklist_run.latest of {run}: {e}")))?;
    let version_of = |l: &Latest| -> Result<Version, StoreError> {
        Ok(Version {
            hlc: Hlc::from_u64(l.0),
            device: l
                .1
                .parse::<DeviceId>()
                .map_err(|e| StoreError::Damaged(format!("r_checklist_run.latest device: {e}")))?,
        })
    };
    for (step, event) in new_events {
        let newer = match latest.get(step) {
            Some(old) => version_of(event)? > version_of(old)?,
            None => true,
        };
        if newer {
            latest.insert(step.clone(), event.clone());
        }
    }
    let mut marks = Vec::with_capacity(latest.len());
    for (step, l) in &latest {
        let outcome: StepOutcome =
            l.2.parse()
                .map_err(|e| StoreError::Damaged(format!("r_checklist_run.latest outcome: {e}")))?;
        marks.push((step.as_str(), outcome, version_of(l)?, l.3.as_deref()));
    }
    let steps = pack_steps.unwrap_or_else(|| latest.keys().cloned().collect());
    let step_refs: Vec<&str> = steps.iter().map(String::as_str).collect();
    let progress = run_progress(
        &step_refs,
        marks.iter().map(|(step, outcome, version, _)| StepMark {
            step_id: step,
            outcome: *outcome,
            version: *version,
        }),
    );
    // The reason shown for a blocked run: the latest of its steps that are
    // still blocked.
    let blocker = marks
        .iter()
        .filter(|m| m.1 == StepOutcome::Blocked)
        .max_by_key(|m| m.2)
        .and_then(|m| m.3.map(str::to_owned));
    let latest = serde_json::to_string(&latest).map_err(|e| StoreError::Task(e.to_string()))?;
    Ok(RunColumns {
        status: progress.status.as_str(),
        total: progress.total,
        done: progress.done,
        skipped: progress.skipped,
        blocked: progress.blocked,
        blocker,
        latest,
    })
}

// ---- Rows into figures -----------------------------------------------

/// A count from SQL.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A `YYYY-MM-DD` date from SQL.
pub(crate) fn day(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// A local time as the queries print it (`YYYY-MM-DD HH:MM:SS`).
pub(crate) fn local_time(text: Option<&str>) -> Option<NaiveDateTime> {
    text.and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
}

/// A household's status from its derived columns.
pub(crate) fn status_of(
    outcome: Option<&str>,
    follow_up_on: Option<&str>,
    runs: i64,
    runs_completed: i64,
    today: NaiveDate,
) -> HouseholdStatus {
    household_status(
        outcome,
        day(follow_up_on),
        u32::try_from(runs).unwrap_or(0),
        u32::try_from(runs_completed).unwrap_or(0),
        today,
    )
}

impl VillageCoverage {
    /// Counts one household of the village.
    pub(crate) fn add(&mut self, reached: bool, status: HouseholdStatus) {
        self.households += 1;
        self.reached += u64::from(reached);
        match status {
            HouseholdStatus::NotVisited => self.not_visited += 1,
            HouseholdStatus::FollowUpDue => self.follow_up_due += 1,
            HouseholdStatus::InProgress => self.in_progress += 1,
            HouseholdStatus::Done => self.done += 1,
        }
    }
}

/// Adds a row of runs of one pack and status (rows come by pack key).
pub(crate) fn add_pack_runs(out: &mut Vec<PackOutcome>, key: String, status: &str, runs: u64, people: u64) {
    if out.last().is_none_or(|p| p.pack != key) {
        out.push(PackOutcome {
            pack: key,
            ..PackOutcome::default()
        });
    }
    let Some(p) = out.last_mut() else { return };
    p.runs += runs;
    match status {
        "completed" => {
            p.completed += runs;
            p.residents_helped += people;
        }
        "blocked" => p.blocked += runs,
        _ => p.in_progress += runs,
    }
}

impl Overview {
    /// Sets the volunteers and the visits per unit they add up to.
    pub(crate) fn with_volunteers(mut self, volunteers: Vec<VolunteerWork>) -> Overview {
        let mut units: BTreeMap<String, u64> = BTreeMap::new();
        for v in &volunteers {
            *units.entry(v.unit.clone()).or_default() += v.visits;
        }
        let mut units: Vec<Count> = units.into_iter().map(|(key, count)| Count { key, count }).collect();
        units.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        self.visits_per_unit = units;
        self.volunteers = volunteers;
        self
    }
}

/// The longest chains (at most five) of neighbours teaching neighbours,
/// from (taught household, teaching person's household) links, each chain
/// from its first teacher on.
pub(crate) fn longest_chains(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let taught: BTreeSet<&String> = edges.iter().map(|(t, _)| t).collect();
    // Longest chain ending at each household: follow "taught by" links back.
    let teacher_of: HashMap<&str, &str> = edges.iter().map(|(t, f)| (t.as_str(), f.as_str())).collect();
    let mut chains: Vec<Vec<String>> = Vec::new();
    for start in &taught {
        let mut chain = vec![start.to_string()];
        let mut seen: BTreeSet<&str> = BTreeSet::from([start.as_str()]);
        let mut at = start.as_str();
        while let Some(&from) = teacher_of.get(at) {
            if !seen.insert(from) {
                break; // a loop: A taught B and B taught A
            }
            chain.push(from.to_owned());
            at = from;
        }
        chain.reverse();
        chains.push(chain);
    }
    chains.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    // Keep only chains that are not the start of a longer one.
    let mut longest: Vec<Vec<String>> = Vec::new();
    for c in chains {
        if longest.iter().any(|l| l.starts_with(&c)) {
            continue;
        }
        longest.push(c);
        if longest.len() == 5 {
            break;
        }
    }
    longest
}

/// The open conflicts of one entity, a row per field with losing values:
/// the winner first, then the losers newest first.
pub(crate) fn conflict_rows(id: &str, kind: &str, scope: &str, state: &EntityState, out: &mut Vec<ConflictRow>) {
    let text = |v: &FieldValue| match v {
        FieldValue::Null => String::new(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::Text(t) => t.clone(),
    };
    let label = ["head_name", "name"]
        .iter()
        .find_map(|f| state.value(f).and_then(FieldValue::as_text))
        .unwrap_or_default()
        .to_owned();
    let version_text = |v: &Version| format!("{:016x}-{}", v.hlc.as_u64(), v.device);
    for (field, f) in &state.fields {
        let (Some(winner), false) = (&f.winner, f.losers.is_empty()) else {
            continue;
        };
        let mut values = vec![ConflictValue {
            value: text(&winner.value),
            written_at: format_timestamp(winner.version.hlc.to_datetime()),
            version: version_text(&winner.version),
            device: winner.version.device.to_string(),
        }];
        for (version, value) in f.losers.iter().rev() {
            values.push(ConflictValue {
                value: text(value),
                written_at: format_timestamp(version.hlc.to_datetime()),
                version: version_text(version),
                device: version.device.to_string(),
            });
        }
        out.push(ConflictRow {
            kind: kind.to_owned(),
            entity_id: id.to_owned(),
            commune_id: scope.to_owned(),
            label: label.clone(),
            field: field.clone(),
            values,
        });
    }
}

/// An `entity.state` read back.
pub(crate) fn state_of(id: &str, state: &str) -> Result<EntityState, StoreError> {
    doorstep_ingest::entity_state::from_json(state).map_err(|e| StoreError::Damaged(format!("entity {id}: {e}")))
}

/// An `entity` row read back: its kind and state.
pub(crate) fn entity_of(id: &str, kind: &str, state: &str) -> Result<(EntityKind, EntityState), StoreError> {
    let kind: EntityKind = kind
        .parse()
        .map_err(|e| StoreError::Damaged(format!("entity.kind: {e}")))?;
    Ok((kind, state_of(id, state)?))
}

/// A `change_log` body read back.
pub(crate) fn change_of(body: &str) -> Result<Change, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Damaged(format!("change_log body: {e}")))
}

/// A `Uuid` from an `entity.id`.
pub(crate) fn uuid_of(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|e| StoreError::Damaged(format!("entity.id {id}: {e}")))
}
