//! Running a checklist with a resident: start a run in a visit, record each
//! step, and read the run back step by step (for the guided screen).

use doorstep_core::entities::{ChecklistRun, StepEvent, StepStatus};
use doorstep_core::ids::{ChecklistRunId, HouseholdId, PersonId, StepEventId, VisitId};
use doorstep_core::pack::Pack;
use doorstep_core::schema::EntityKind;
use doorstep_core::text::{Key, Notes};
use doorstep_core::vocab::BlockerReason;
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::queries::{RUN_COLUMNS, RunRow, run_row};
use crate::store::Store;

/// One step of a run, ready to show.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunStep {
    /// Step id.
    pub id: String,
    /// Position, from 1.
    pub number: usize,
    /// Title in the chosen locale.
    pub title: String,
    /// The instruction.
    pub instruction: String,
    /// A tip, if the pack has one.
    pub tip: Option<String>,
    /// How to check it worked.
    pub verify: String,
    /// Illustration path under `assets/illustrations/`.
    pub illustration: Option<String>,
    /// Blocker reasons that apply.
    #[cfg_attr(feature = "ts", ts(type = "Array<BlockerReason>"))]
    pub blockers: Vec<BlockerReason>,
    /// Latest outcome: done, skipped, blocked, or none yet.
    pub outcome: Option<String>,
    /// Blocker reason of the latest event.
    pub blocker: Option<String>,
    /// Note of the latest event.
    pub note: Option<String>,
}

/// A run with its steps, for the guided screen and `checklist show`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunView {
    /// The run and its progress.
    #[serde(flatten)]
    pub run: RunRow,
    /// The person's household.
    pub household_id: String,
    /// The person's name.
    pub person_name: String,
    /// Pack title in the chosen locale.
    pub pack_title: String,
    /// The steps.
    pub steps: Vec<RunStep>,
}

/// The audience of packs for new volunteers, run only in practice stores.
pub const TRAINEE: &str = "trainee";

impl Store {
    /// Starts a checklist for a person, in a visit to their household. With
    /// no visit given, the household's latest visit from today is used.
    /// The newest installed version of the pack is used and kept.
    pub fn start_checklist(
        &mut self,
        person: PersonId,
        pack_key: &str,
        visit: Option<VisitId>,
    ) -> Result<ChecklistRun> {
        let household = self.household_of_person(person)?;
        let visit_id = match visit {
            Some(v) => {
                let of: Option<String> = self
                    .conn
                    .query_row("SELECT household_id FROM visit WHERE id = ?1", [v.to_string()], |r| {
                        r.get(0)
                    })
                    .optional()?;
                match of {
                    None => {
                        return Err(StoreError::NotFound {
                            kind: EntityKind::Visit,
                            id: v.to_string(),
                        });
                    }
                    Some(h) if h != household.to_string() => {
                        return Err(StoreError::Rule(format!(
                            "visit {v} is to another household than person {person}'s"
                        )));
                    }
                    Some(_) => v,
                }
            }
            None => self.todays_visit(household)?,
        };
        let pack = self.latest_pack(pack_key)?;
        if pack.audience.as_deref() == Some(TRAINEE) && !self.is_practice() {
            return Err(StoreError::Rule(format!(
                "the {:?} pack is for trainees: run it in a practice database (doorstep init --practice), \
                 so practice never counts as a resident helped",
                pack.key
            )));
        }
        let run = ChecklistRun {
            id: ChecklistRunId::new(),
            visit_id,
            person_id: person,
            household_id: household,
            pack_key: Key::parse(&pack.key)?,
            pack_version: pack.version,
            started_at: self.now(),
        };
        self.insert(&run)?;
        Ok(run)
    }

    /// The household a person lives in.
    pub fn household_of_person(&self, person: PersonId) -> Result<HouseholdId> {
        let h: Option<String> = self
            .conn
            .query_row(
                "SELECT household_id FROM person WHERE id = ?1",
                [person.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let h = h.ok_or_else(|| StoreError::NotFound {
            kind: EntityKind::Person,
            id: person.to_string(),
        })?;
        h.parse().map_err(|e| StoreError::Stored(format!("{e}")))
    }

    fn todays_visit(&self, household: HouseholdId) -> Result<VisitId> {
        let (start, end) = self.local_day_bounds(self.today());
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM visit WHERE household_id = ?1 AND deleted = 0 AND started_at >= ?2 AND started_at < ?3
                 ORDER BY started_at DESC LIMIT 1",
                (household.to_string(), start, end),
                |r| r.get(0),
            )
            .optional()?;
        let v = v.ok_or_else(|| {
            StoreError::Rule(format!(
                "household {household} has no visit today: record one first (doorstep visit record --household {household} ...)"
            ))
        })?;
        v.parse().map_err(|e| StoreError::Stored(format!("{e}")))
    }

    /// Records what happened to a step. With no step given, the run's
    /// current step (the first not done or skipped) is meant.
    pub fn record_step(
        &mut self,
        run: ChecklistRunId,
        step: Option<&str>,
        status: StepStatus,
        note: Option<Notes>,
    ) -> Result<StepEvent> {
        let (key, version, current): (String, u32, Option<String>) = self
            .conn
            .query_row(
                "SELECT pack_key, pack_version, current_step FROM checklist_run WHERE id = ?1 AND deleted = 0",
                [run.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                kind: EntityKind::ChecklistRun,
                id: run.to_string(),
            })?;
        let pack = self.pack(&key, version)?.ok_or_else(|| {
            StoreError::Pack(format!("{key} version {version} is not on this device; sync to get it"))
        })?;
        let step_id = match step {
            Some(s) => s.to_owned(),
            None => current.ok_or_else(|| {
                StoreError::Rule(format!(
                    "run {run} is complete; name a step (--step) to record it again"
                ))
            })?,
        };
        let Some(spec) = pack.step(&step_id) else {
            return Err(StoreError::Rule(format!(
                "pack {key} v{version} has no step {step_id:?} (steps: {})",
                pack.step_ids().join(", ")
            )));
        };
        if let StepStatus::Blocked(reason) = status {
            let allowed = Pack::blockers(spec);
            if reason != BlockerReason::Other && !allowed.contains(&reason) {
                let codes: Vec<&str> = allowed.iter().map(|b| b.as_str()).collect();
                return Err(StoreError::Rule(format!(
                    "blocker {reason} does not apply to step {step_id:?} (it lists: {})",
                    codes.join(", ")
                )));
            }
        }
        let at = self.now();
        let step_id = Key::parse(&step_id)?;
        self.write(|w| {
            let event = StepEvent {
                id: StepEventId::from_uuid(w.next_change_id()),
                run_id: run,
                step_id,
                status,
                at,
                note,
            };
            w.create(&event)?;
            Ok(event)
        })
    }

    /// A run with every step in `locale` (falling back to Vietnamese).
    pub fn run_view(&self, run: ChecklistRunId, locale: &str) -> Result<RunView> {
        let sql = format!(
            "SELECT {RUN_COLUMNS}, household_id,
                    (SELECT name FROM person p WHERE p.id = checklist_run.person_id)
             FROM checklist_run WHERE id = ?1"
        );
        let found = self
            .conn
            .query_row(&sql, [run.to_string()], |r| {
                Ok((run_row(r)?, r.get::<_, String>(11)?, r.get::<_, Option<String>>(12)?))
            })
            .optional()?;
        let (row, household_id, person_name) = found.ok_or_else(|| StoreError::NotFound {
            kind: EntityKind::ChecklistRun,
            id: run.to_string(),
        })?;
        let (pack_key, pack_version) = (row.pack_key.clone(), row.pack_version);
        let pack = self.pack(&pack_key, pack_version)?;
        let mut latest = self.conn.prepare(
            "SELECT step_id, outcome, blocker, note FROM step_event WHERE run_id = ?1 ORDER BY hlc, device_id",
        )?;
        let mut last: std::collections::HashMap<String, (String, Option<String>, Option<String>)> = Default::default();
        for row in latest.query_map([run.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })? {
            let (step, outcome, blocker, note) = row?;
            last.insert(step, (outcome, blocker, note));
        }
        let steps = pack
            .as_ref()
            .map(|p| {
                p.steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let seen = last.get(&s.id);
                        RunStep {
                            id: s.id.clone(),
                            number: i + 1,
                            title: Pack::text(&s.title, locale).to_owned(),
                            instruction: Pack::text(&s.instruction, locale).to_owned(),
                            tip: (!s.tip.is_empty()).then(|| Pack::text(&s.tip, locale).to_owned()),
                            verify: Pack::text(&s.verify, locale).to_owned(),
                            illustration: s.illustration.clone(),
                            blockers: Pack::blockers(s),
                            outcome: seen.map(|l| l.0.clone()),
                            blocker: seen.and_then(|l| l.1.clone()),
                            note: seen.and_then(|l| l.2.clone()),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(RunView {
            pack_title: pack
                .as_ref()
                .map_or_else(|| pack_key.clone(), |p| Pack::text(&p.title, locale).to_owned()),
            run: row,
            household_id,
            person_name: person_name.unwrap_or_default(),
            steps,
        })
    }
}
