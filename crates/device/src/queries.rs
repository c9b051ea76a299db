//! What the app and the CLI read: a village's households with their
//! progress, one household in full, follow-ups due, coverage per village,
//! open conflicts and the device's status.
//!
//! Queries are read-only and return plain serialisable rows; statuses that
//! need judgement ("follow-up due") are derived here in one place.

use chrono::NaiveDate;
use doorstep_core::ids::{BadId, HouseholdId, VillageId};
use doorstep_core::schema::EntityKind;
use doorstep_core::text::match_key;
use doorstep_register::{KnownVillage, VillageError, Villages};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::store::{SCHEMA_VERSION, Store};

/// A village with its commune, for pickers.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VillageRow {
    /// Village id.
    pub id: String,
    /// Village name.
    pub name: String,
    /// Commune id.
    pub commune_id: String,
    /// Commune name.
    pub commune: String,
    /// Households on the register.
    pub households: u32,
}

pub use doorstep_core::coverage::HouseholdStatus;

/// Parses a household filter name (`not-visited`, `follow-up-due`, ...).
pub fn parse_status(s: &str) -> Result<HouseholdStatus> {
    HouseholdStatus::from_filter(s).map_err(StoreError::Rule)
}

/// One row of a village's household list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HouseholdRow {
    /// Household id.
    pub id: String,
    /// Head of household.
    pub head_name: String,
    /// How to find the house.
    pub landmark: Option<String>,
    /// Household phone.
    pub phone: Option<String>,
    /// People recorded.
    pub people: u32,
    /// When it was last visited.
    pub last_visit_at: Option<String>,
    /// How the last visit went.
    pub last_outcome: Option<String>,
    /// Follow-up date set by the last visit.
    pub follow_up_on: Option<String>,
    /// Checklist runs started.
    pub runs: u32,
    /// Runs finished.
    pub runs_completed: u32,
    /// Runs with a blocked step.
    pub runs_blocked: u32,
    /// Derived status.
    #[cfg_attr(feature = "ts", ts(type = "HouseholdStatus"))]
    pub status: HouseholdStatus,
}

/// Filters for [`Store::village_households`].
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    /// Only households in this state.
    pub status: Option<HouseholdStatus>,
    /// Only households whose head, landmark or phone contains this text
    /// (ignoring case and diacritics).
    pub search: Option<String>,
}

fn status_of(
    last_outcome: Option<&str>,
    follow_up_on: Option<&str>,
    runs: u32,
    completed: u32,
    today: NaiveDate,
) -> HouseholdStatus {
    let follow_up = follow_up_on.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    doorstep_core::coverage::household_status(last_outcome, follow_up, runs, completed, today)
}

/// A person, for the household screen.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonRow {
    /// Person id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Year of birth.
    pub birth_year: Option<u16>,
    /// Phone.
    pub phone: Option<String>,
    /// Phone kind.
    pub phone_kind: Option<String>,
    /// Number in own name.
    pub phone_in_own_name: Option<bool>,
    /// Chip ID card.
    pub chip_id_card: Option<bool>,
    /// Notes.
    pub notes: Option<String>,
}

/// A visit, for the household screen.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitRow {
    /// Visit id.
    pub id: String,
    /// Start.
    pub started_at: String,
    /// End.
    pub ended_at: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Follow-up date.
    pub follow_up_on: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Who referred the household (person id).
    pub referred_by: Option<String>,
    /// The volunteer (member id).
    pub member_id: Option<String>,
}

/// A checklist run, for the household screen.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Person id.
    pub person_id: String,
    /// Pack key.
    pub pack_key: String,
    /// Pack version.
    pub pack_version: u32,
    /// Derived status.
    pub status: String,
    /// Steps done.
    pub steps_done: u32,
    /// Steps skipped.
    pub steps_skipped: u32,
    /// Steps blocked.
    pub steps_blocked: u32,
    /// Steps in total.
    pub steps_total: u32,
    /// Where to resume.
    pub current_step: Option<String>,
    /// Start.
    pub started_at: String,
}

/// The columns [`run_row`] reads, in its order.
pub(crate) const RUN_COLUMNS: &str = "id, person_id, pack_key, pack_version, status, steps_done, steps_skipped, \
     steps_blocked, steps_total, current_step, started_at";

/// Reads a [`RunRow`] from a row selected with [`RUN_COLUMNS`] first.
pub(crate) fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        person_id: r.get(1)?,
        pack_key: r.get(2)?,
        pack_version: r.get(3)?,
        status: r.get(4)?,
        steps_done: r.get(5)?,
        steps_skipped: r.get(6)?,
        steps_blocked: r.get(7)?,
        steps_total: r.get(8)?,
        current_step: r.get(9)?,
        started_at: r.get(10)?,
    })
}

/// One household in full.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HouseholdDetail {
    /// Household id.
    pub id: String,
    /// Village id.
    pub village_id: String,
    /// Village name.
    pub village: String,
    /// Head of household.
    pub head_name: String,
    /// Landmark.
    pub landmark: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Members count.
    pub members_count: Option<u32>,
    /// Home language.
    pub language: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Latitude, degrees.
    pub latitude: Option<f64>,
    /// Longitude, degrees.
    pub longitude: Option<f64>,
    /// On the register since.
    pub created_at: String,
    /// Derived status.
    #[cfg_attr(feature = "ts", ts(type = "HouseholdStatus"))]
    pub status: HouseholdStatus,
    /// People.
    pub people: Vec<PersonRow>,
    /// Visits, newest first.
    pub visits: Vec<VisitRow>,
    /// Checklist runs, newest first.
    pub runs: Vec<RunRow>,
}

/// A household to go back to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FollowUpRow {
    /// Household id.
    pub household_id: String,
    /// Head of household.
    pub head_name: String,
    /// Village.
    pub village: String,
    /// Landmark.
    pub landmark: Option<String>,
    /// Follow-up date, if one was set.
    pub follow_up_on: Option<String>,
    /// Last visit.
    pub last_visit_at: String,
    /// How it went.
    pub last_outcome: String,
}

/// Coverage of one village.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VillageCoverage {
    /// Village id.
    pub village_id: String,
    /// Village name.
    pub village: String,
    /// Commune name.
    pub commune: String,
    /// Households on the register.
    pub households: u32,
    /// Households visited at least once.
    pub visited: u32,
    /// Households with a visit marked helped or partial.
    pub helped: u32,
    /// Households never visited.
    pub not_visited: u32,
    /// Households with a follow-up due.
    pub follow_ups_due: u32,
    /// Checklist runs finished.
    pub runs_completed: u32,
    /// Checklist runs with a blocked step.
    pub runs_blocked: u32,
    /// People with at least one finished run.
    pub people_helped: u32,
}

/// An open conflict, for review.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictRow {
    /// Entity kind.
    pub entity: String,
    /// Entity id.
    pub entity_id: String,
    /// Field.
    pub field: String,
    /// The value shown now.
    pub current: serde_json::Value,
    /// The losing value.
    pub losing: serde_json::Value,
    /// The device that wrote the losing value.
    pub losing_device: String,
    /// When the conflict was noticed here.
    pub recorded_at: String,
}

/// The device at a glance (`doorstep status`).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceStatus {
    /// Device id.
    pub device_id: String,
    /// Practice store (never syncs).
    pub practice: bool,
    /// Database schema version.
    pub schema_version: usize,
    /// Changes ever written on this device.
    pub outbox_total: u64,
    /// Changes not yet confirmed by the server.
    pub outbox_pending: u64,
    /// Highest seq confirmed by the server.
    pub acked_seq: u64,
    /// The last successful sync.
    pub last_sync_at: Option<String>,
    /// The server position reached.
    pub pull_cursor: Option<String>,
    /// Open conflicts.
    pub conflicts: u64,
    /// Pulled changes waiting for another record.
    pub waiting_changes: u64,
    /// Pulled changes that could not be read (newer app?).
    pub invalid_changes: u64,
    /// Households on this device.
    pub households: u64,
    /// Visits on this device.
    pub visits: u64,
    /// Enrolment, last sync and its error, refused pushes.
    pub sync: crate::sync::SyncStatus,
}

impl VillageRow {
    /// The village as `doorstep-register` knows villages.
    pub(crate) fn known(&self) -> Result<KnownVillage> {
        let stored = |what: &str, e: BadId| StoreError::Stored(format!("{what} of village {}: {e}", self.id));
        Ok(KnownVillage {
            id: self.id.parse().map_err(|e| stored("id", e))?,
            name: self.name.clone(),
            commune_id: self.commune_id.parse().map_err(|e| stored("commune id", e))?,
            commune: self.commune.clone(),
        })
    }
}

/// Picks one village by id or name (ignoring case and diacritics), within a
/// commune (by name or id) when one is given: `doorstep-register`'s
/// matching, the same as a register import's.
pub(crate) fn pick_village<'a>(
    villages: &'a [VillageRow],
    name_or_id: &str,
    commune: Option<&str>,
) -> Result<&'a VillageRow> {
    let known = villages.iter().map(VillageRow::known).collect::<Result<Vec<_>>>()?;
    match Villages::new(&known).position(name_or_id, commune) {
        Ok(i) => villages
            .get(i)
            .ok_or_else(|| StoreError::Stored(format!("village {i} of {} picked", villages.len()))),
        Err(VillageError::Unknown { name, known }) => Err(StoreError::UnknownName {
            what: "village",
            name,
            known,
        }),
        Err(VillageError::Ambiguous { name, count }) => Err(StoreError::AmbiguousName {
            what: "village",
            name,
            count,
        }),
    }
}

/// A village's households with their derived progress columns (kept up to
/// date by `apply::refresh_household`): one index scan, no joins.
const HOUSEHOLD_LIST: &str = "
SELECT id, head_name, landmark, phone, people, last_visit_at, last_outcome, last_follow_up_on,
       runs_total, runs_completed, runs_blocked
FROM household
WHERE village_id = ?1 AND deleted = 0";

impl Store {
    /// Every village with its commune and household count, by commune then name.
    pub fn villages(&self) -> Result<Vec<VillageRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.id, v.name, c.id, c.name,
                    (SELECT count(*) FROM household h WHERE h.village_id = v.id AND h.deleted = 0)
             FROM village v JOIN commune c ON c.id = v.commune_id
             WHERE v.deleted = 0 ORDER BY c.name, v.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(VillageRow {
                id: r.get(0)?,
                name: r.get(1)?,
                commune_id: r.get(2)?,
                commune: r.get(3)?,
                households: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Finds a village by id or by name (ignoring case and diacritics),
    /// optionally within a commune named the same way.
    pub fn find_village(&self, name_or_id: &str, commune: Option<&str>) -> Result<VillageRow> {
        pick_village(&self.villages()?, name_or_id, commune).cloned()
    }

    /// A village's households with their last visit, checklist progress and
    /// status, sorted by head of household.
    pub fn village_households(&self, village: VillageId, filter: &HouseholdFilter) -> Result<Vec<HouseholdRow>> {
        let today = self.today();
        let mut stmt = self.conn.prepare_cached(HOUSEHOLD_LIST)?;
        let rows = stmt.query_map([village.to_string()], |r| {
            let outcome: Option<String> = r.get(6)?;
            let follow_up: Option<String> = r.get(7)?;
            let (runs, completed): (u32, u32) = (r.get(8)?, r.get(9)?);
            Ok(HouseholdRow {
                id: r.get(0)?,
                head_name: r.get(1)?,
                landmark: r.get(2)?,
                phone: r.get(3)?,
                people: r.get(4)?,
                last_visit_at: r.get(5)?,
                status: status_of(outcome.as_deref(), follow_up.as_deref(), runs, completed, today),
                last_outcome: outcome,
                follow_up_on: follow_up,
                runs,
                runs_completed: completed,
                runs_blocked: r.get(10)?,
            })
        })?;
        let search = filter.search.as_deref().map(match_key).filter(|s| !s.is_empty());
        let mut out: Vec<(String, HouseholdRow)> = Vec::new();
        for row in rows {
            let row = row?;
            if filter.status.is_some_and(|s| s != row.status) {
                continue;
            }
            let key = match_key(&row.head_name);
            if let Some(s) = &search {
                let hay = format!(
                    "{key} {} {}",
                    row.landmark.as_deref().map(match_key).unwrap_or_default(),
                    row.phone.as_deref().unwrap_or("")
                );
                if !hay.contains(s.as_str()) {
                    continue;
                }
            }
            out.push((key, row));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// One household with its people, visits and checklist runs.
    pub fn household(&self, id: HouseholdId) -> Result<HouseholdDetail> {
        let id_text = id.to_string();
        let mut detail = self
            .conn
            .query_row(
                "SELECT h.id, h.village_id, v.name, h.head_name, h.landmark, h.phone, h.members_count, h.language,
                        h.notes, h.lat_e7, h.lng_e7, h.created_at
                 FROM household h JOIN village v ON v.id = h.village_id WHERE h.id = ?1 AND h.deleted = 0",
                [&id_text],
                |r| {
                    let lat: Option<i64> = r.get(9)?;
                    let lng: Option<i64> = r.get(10)?;
                    Ok(HouseholdDetail {
                        id: r.get(0)?,
                        village_id: r.get(1)?,
                        village: r.get(2)?,
                        head_name: r.get(3)?,
                        landmark: r.get(4)?,
                        phone: r.get(5)?,
                        members_count: r.get(6)?,
                        language: r.get(7)?,
                        notes: r.get(8)?,
                        #[allow(clippy::cast_precision_loss)]
                        latitude: lat.map(|v| v as f64 / 1e7),
                        #[allow(clippy::cast_precision_loss)]
                        longitude: lng.map(|v| v as f64 / 1e7),
                        created_at: r.get(11)?,
                        status: HouseholdStatus::NotVisited,
                        people: Vec::new(),
                        visits: Vec::new(),
                        runs: Vec::new(),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                kind: EntityKind::Household,
                id: id_text.clone(),
            })?;
        let mut people = self.conn.prepare_cached(
            "SELECT id, name, birth_year, phone, phone_kind, phone_in_own_name, chip_id_card, notes
             FROM person WHERE household_id = ?1 AND deleted = 0 ORDER BY birth_year IS NULL, birth_year, name",
        )?;
        detail.people = people
            .query_map([&id_text], |r| {
                Ok(PersonRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    birth_year: r.get(2)?,
                    phone: r.get(3)?,
                    phone_kind: r.get(4)?,
                    phone_in_own_name: r.get(5)?,
                    chip_id_card: r.get(6)?,
                    notes: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut visits = self.conn.prepare_cached(
            "SELECT id, started_at, ended_at, outcome, follow_up_on, notes, referred_by, member_id
             FROM visit WHERE household_id = ?1 AND deleted = 0 ORDER BY started_at DESC, id DESC",
        )?;
        detail.visits = visits
            .query_map([&id_text], |r| {
                Ok(VisitRow {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    ended_at: r.get(2)?,
                    outcome: r.get(3)?,
                    follow_up_on: r.get(4)?,
                    notes: r.get(5)?,
                    referred_by: r.get(6)?,
                    member_id: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM checklist_run
             WHERE household_id = ?1 AND deleted = 0
               AND person_id IN (SELECT id FROM person WHERE household_id = ?1 AND deleted = 0)
               AND visit_id IN (SELECT id FROM visit WHERE household_id = ?1 AND deleted = 0)
             ORDER BY started_at DESC, id DESC"
        );
        detail.runs = self
            .conn
            .prepare_cached(&sql)?
            .query_map([&id_text], run_row)?
            .collect::<rusqlite::Result<_>>()?;
        let last = detail.visits.first();
        let completed = detail.runs.iter().filter(|r| r.status == "completed").count();
        detail.status = status_of(
            last.map(|v| v.outcome.as_str()),
            last.and_then(|v| v.follow_up_on.as_deref()),
            u32::try_from(detail.runs.len()).unwrap_or(u32::MAX),
            u32::try_from(completed).unwrap_or(u32::MAX),
            self.today(),
        );
        Ok(detail)
    }

    /// Households to go back to by `by` (inclusive), oldest date first.
    pub fn follow_ups_due(&self, by: NaiveDate, village: Option<VillageId>) -> Result<Vec<FollowUpRow>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH last_visit AS (
                 SELECT household_id, started_at, outcome, follow_up_on,
                        row_number() OVER (PARTITION BY household_id ORDER BY started_at DESC, id DESC) AS n
                 FROM visit WHERE deleted = 0
             )
             SELECT h.id, h.head_name, v.name, h.landmark, lv.follow_up_on, lv.started_at, lv.outcome
             FROM last_visit lv
             JOIN household h ON h.id = lv.household_id AND h.deleted = 0
             JOIN village v ON v.id = h.village_id
             WHERE lv.n = 1 AND (?2 IS NULL OR h.village_id = ?2)
               AND (lv.follow_up_on <= ?1 OR (lv.follow_up_on IS NULL AND lv.outcome IN ('nobody_home', 'revisit')))
             ORDER BY coalesce(lv.follow_up_on, substr(lv.started_at, 1, 10)), v.name, h.head_name",
        )?;
        let rows = stmt.query_map(
            (by.format("%Y-%m-%d").to_string(), village.map(|v| v.to_string())),
            |r| {
                Ok(FollowUpRow {
                    household_id: r.get(0)?,
                    head_name: r.get(1)?,
                    village: r.get(2)?,
                    landmark: r.get(3)?,
                    follow_up_on: r.get(4)?,
                    last_visit_at: r.get(5)?,
                    last_outcome: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Coverage counts for every village on the device (works offline, from
    /// what this tablet holds).
    pub fn coverage(&self) -> Result<Vec<VillageCoverage>> {
        let mut out = Vec::new();
        for village in self.villages()? {
            let id: VillageId = village.id.parse().map_err(|e| StoreError::Stored(format!("{e}")))?;
            let rows = self.village_households(id, &HouseholdFilter::default())?;
            let mut c = VillageCoverage {
                village_id: village.id.clone(),
                village: village.name.clone(),
                commune: village.commune.clone(),
                ..VillageCoverage::default()
            };
            for h in &rows {
                c.households += 1;
                match h.status {
                    HouseholdStatus::NotVisited => c.not_visited += 1,
                    HouseholdStatus::FollowUpDue => c.follow_ups_due += 1,
                    _ => {}
                }
                if h.last_visit_at.is_some() {
                    c.visited += 1;
                }
                c.runs_completed += h.runs_completed;
                c.runs_blocked += h.runs_blocked;
            }
            let (helped, people_helped): (u32, u32) = self.conn.query_row(
                "SELECT
                    (SELECT count(DISTINCT v.household_id) FROM visit v JOIN household h ON h.id = v.household_id
                     WHERE h.village_id = ?1 AND h.deleted = 0 AND v.deleted = 0 AND v.outcome IN ('helped', 'partial')),
                    (SELECT count(DISTINCT r.person_id) FROM checklist_run r JOIN household h ON h.id = r.household_id
                     JOIN person p ON p.id = r.person_id AND p.deleted = 0
                     JOIN visit v ON v.id = r.visit_id AND v.deleted = 0
                     WHERE h.village_id = ?1 AND h.deleted = 0 AND r.deleted = 0 AND r.status = 'completed')",
                [&village.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            c.helped = helped;
            c.people_helped = people_helped;
            out.push(c);
        }
        Ok(out)
    }

    /// Open conflicts, newest first.
    pub fn conflicts(&self) -> Result<Vec<ConflictRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT entity, entity_id, field, device_id, value, recorded_at FROM conflict ORDER BY recorded_at DESC, entity_id",
        )?;
        let rows: Vec<(String, String, String, String, String, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (entity, entity_id, field, device, value, recorded_at) in rows {
            let kind: EntityKind = entity.parse()?;
            let Some(spec) = kind.field(&field) else {
                continue;
            };
            let current = self
                .conn
                .query_row(
                    &format!("SELECT {} FROM {} WHERE id = ?1", spec.name, kind.table()),
                    [&entity_id],
                    |r| Ok(crate::apply::from_sql(spec.ty, r.get_ref(0)?)),
                )
                .optional()?;
            out.push(ConflictRow {
                entity,
                entity_id,
                field,
                current: serde_json::to_value(current).unwrap_or_default(),
                losing: serde_json::from_str(&value).unwrap_or_default(),
                losing_device: device,
                recorded_at,
            });
        }
        Ok(out)
    }

    /// Resolves an id typed by a person: a full UUID, or any unique part of
    /// one at least 6 characters long (the last characters of an id are
    /// random, so the end of an id shown in a list is enough).
    pub fn resolve_id(&self, kind: EntityKind, text: &str) -> Result<uuid::Uuid> {
        let text = text.trim().to_ascii_lowercase();
        if let Ok(id) = uuid::Uuid::parse_str(&text) {
            return Ok(id);
        }
        let shape_ok = text.len() >= 6 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if !shape_ok {
            return Err(StoreError::Rule(format!(
                "{text:?} is not a {kind} id (give the whole id, or at least 6 of its characters)"
            )));
        }
        let sql = format!("SELECT id FROM {} WHERE instr(id, ?1) > 0 LIMIT 2", kind.table());
        let found: Vec<String> = self
            .conn
            .prepare(&sql)?
            .query_map([&text], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match found.as_slice() {
            [one] => uuid::Uuid::parse_str(one).map_err(|e| StoreError::Stored(e.to_string())),
            [] => Err(StoreError::NotFound { kind, id: text }),
            _ => Err(StoreError::Rule(format!(
                "several {kind} ids contain {text:?}; give more characters"
            ))),
        }
    }

    /// The device at a glance.
    pub fn status(&self) -> Result<DeviceStatus> {
        let position = self.sync_position()?;
        let count = |sql: &str| -> Result<u64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(DeviceStatus {
            device_id: self.device_id().to_string(),
            practice: self.is_practice(),
            schema_version: SCHEMA_VERSION,
            outbox_total: count("SELECT count(*) FROM outbox")?,
            outbox_pending: position.last_seq.saturating_sub(position.acked_seq),
            acked_seq: position.acked_seq,
            last_sync_at: position.last_sync_at,
            pull_cursor: position.pull_cursor,
            conflicts: count("SELECT count(*) FROM conflict")?,
            waiting_changes: count("SELECT count(*) FROM parked_change WHERE awaits_kind IS NOT NULL")?,
            invalid_changes: count("SELECT count(*) FROM parked_change WHERE awaits_kind IS NULL")?,
            households: count("SELECT count(*) FROM household WHERE deleted = 0")?,
            visits: count("SELECT count(*) FROM visit WHERE deleted = 0")?,
            sync: self.sync_status()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn household_status_rules() {
        let today = day("2026-11-27");
        assert_eq!(status_of(None, None, 0, 0, today), HouseholdStatus::NotVisited);
        assert_eq!(
            status_of(Some("helped"), Some("2026-11-27"), 1, 1, today),
            HouseholdStatus::FollowUpDue
        );
        assert_eq!(
            status_of(Some("helped"), Some("2026-12-01"), 1, 1, today),
            HouseholdStatus::InProgress
        );
        assert_eq!(
            status_of(Some("nobody_home"), None, 0, 0, today),
            HouseholdStatus::FollowUpDue
        );
        assert_eq!(
            status_of(Some("helped"), None, 2, 1, today),
            HouseholdStatus::InProgress
        );
        assert_eq!(
            status_of(Some("partial"), None, 0, 0, today),
            HouseholdStatus::InProgress
        );
        assert_eq!(status_of(Some("helped"), None, 2, 2, today), HouseholdStatus::Done);
        assert_eq!(status_of(Some("declined"), None, 0, 0, today), HouseholdStatus::Done);
    }
}
