//! Merging one change record into the materialised tables.
//!
//! Local writes and pulled changes take the same path: load what the store
//! knows about the entity's touched fields, let `doorstep-core`'s merge
//! decide, and write back only the difference (row columns, field clocks,
//! conflicts, pending bases). Keeping one path is what makes a tablet's own
//! view equal to every other replica's once they have the same changes.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_core::change::{Change, Version};
use doorstep_core::merge::{ChangeEffect, EntityState, FieldState, Stamped};
use doorstep_core::progress::{StepMark, run_progress};
use doorstep_core::schema::{EntityKind, FieldSpec, FieldType, FieldValue};
use doorstep_core::vocab::StepOutcome;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::packs::PackCache;

/// What merging a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Merged; `conflicts` counts losing values newly kept for review.
    Merged { won: usize, conflicts: usize },
    /// An append-only record that was already here.
    AlreadyPresent,
    /// Cannot be merged until another entity arrives.
    Waiting { kind: EntityKind, id: String },
}

pub(crate) fn to_sql(v: &FieldValue) -> Value {
    match v {
        FieldValue::Null => Value::Null,
        FieldValue::Bool(b) => Value::Integer(i64::from(*b)),
        FieldValue::Int(i) => Value::Integer(*i),
        FieldValue::Text(t) => Value::Text(t.clone()),
    }
}

pub(crate) fn from_sql(ty: FieldType, v: ValueRef<'_>) -> FieldValue {
    match (ty, v) {
        (_, ValueRef::Null) => FieldValue::Null,
        (FieldType::Bool, ValueRef::Integer(i)) => FieldValue::Bool(i != 0),
        (_, ValueRef::Integer(i)) => FieldValue::Int(i),
        (_, ValueRef::Text(t)) => FieldValue::Text(String::from_utf8_lossy(t).into_owned()),
        // STRICT tables hold only the types above in entity columns.
        (_, ValueRef::Real(_) | ValueRef::Blob(_)) => FieldValue::Null,
    }
}

fn version(hlc: i64, device: &str) -> Result<Version> {
    Ok(Version {
        hlc: doorstep_core::hlc::Hlc::from_u64(
            u64::try_from(hlc).map_err(|_| StoreError::Stored(format!("negative clock {hlc}")))?,
        ),
        device: device.parse().map_err(|e| StoreError::Stored(format!("{e}")))?,
    })
}

fn hlc_sql(v: &Version) -> i64 {
    // HLC stamps use 64 bits; SQLite integers are signed. Stamps stay below
    // 2^63 until the year 4200 (48-bit ms), so the cast keeps order.
    i64::try_from(v.hlc.as_u64()).unwrap_or(i64::MAX)
}

/// Whether an entity row exists.
pub(crate) fn exists(conn: &Connection, kind: EntityKind, id: &str) -> Result<bool> {
    let sql = format!("SELECT 1 FROM {} WHERE id = ?1", kind.table());
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The two tables that hold one version per (entity, field, ...) row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VersionTable {
    /// The version of each field's shown value.
    FieldClock,
    /// Versions named as a base before they arrived.
    PendingBase,
}

/// The (field, version) rows of one entity in a version table.
pub(crate) fn field_versions(
    conn: &Connection,
    table: VersionTable,
    kind: EntityKind,
    id: &str,
) -> Result<Vec<(String, Version)>> {
    let sql = match table {
        VersionTable::FieldClock => {
            "SELECT field, hlc, device_id FROM field_clock WHERE entity = ?1 AND entity_id = ?2"
        }
        VersionTable::PendingBase => {
            "SELECT field, hlc, device_id FROM pending_base WHERE entity = ?1 AND entity_id = ?2"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map((kind.as_str(), id), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (field, hlc, device) = row?;
        out.push((field, version(hlc, &device)?));
    }
    Ok(out)
}

/// What the store knows about the given fields of one entity.
fn load_state(conn: &Connection, kind: EntityKind, id: &str, touched: &[&'static FieldSpec]) -> Result<EntityState> {
    let mut state = EntityState::default();
    if kind.is_append_only() {
        state.exists = exists(conn, kind, id)?;
        return Ok(state);
    }
    let columns: Vec<&str> = touched.iter().map(|f| f.name).collect();
    let sql = format!("SELECT {} FROM {} WHERE id = ?1", columns.join(", "), kind.table());
    let values: Option<Vec<FieldValue>> = conn
        .prepare_cached(&sql)?
        .query_row([id], |row| {
            touched
                .iter()
                .enumerate()
                .map(|(i, f)| Ok(from_sql(f.ty, row.get_ref(i)?)))
                .collect()
        })
        .optional()?;
    let entity = kind.as_str();
    let winners: BTreeMap<String, Version> = field_versions(conn, VersionTable::FieldClock, kind, id)?
        .into_iter()
        .collect();
    if let Some(values) = values {
        state.exists = true;
        for (spec, value) in touched.iter().zip(values) {
            let field = state.fields.entry(spec.name.to_owned()).or_default();
            if let Some(v) = winners.get(spec.name) {
                field.winner = Some(Stamped { value, version: *v });
            }
        }
    }
    let mut losers =
        conn.prepare_cached("SELECT field, hlc, device_id, value FROM conflict WHERE entity = ?1 AND entity_id = ?2")?;
    for row in losers.query_map((entity, id), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })? {
        let (field, hlc, device, value) = row?;
        let value: FieldValue = serde_json::from_str(&value).map_err(|e| StoreError::Stored(e.to_string()))?;
        state
            .fields
            .entry(field)
            .or_default()
            .losers
            .insert(version(hlc, &device)?, value);
    }
    for (field, v) in field_versions(conn, VersionTable::PendingBase, kind, id)? {
        state.fields.entry(field).or_default().pending_bases.insert(v);
    }
    Ok(state)
}

/// The required reference of a change that points to a missing entity.
/// Optional references (who referred a household, which member) are soft:
/// they may point outside this device's commune.
pub(crate) fn missing_reference(conn: &Connection, change: &Change) -> Result<Option<(EntityKind, String)>> {
    for write in &change.fields {
        let Some(spec) = change.entity.field(&write.field) else {
            continue;
        };
        if let (FieldType::Ref(target), true, FieldValue::Text(id)) = (spec.ty, spec.required, &write.value)
            && !exists(conn, target, id)?
        {
            return Ok(Some((target, id.clone())));
        }
    }
    Ok(None)
}

/// Runs and households whose derived columns need recomputing before the
/// transaction commits. Collected while merging and flushed once, so a page
/// of 500 changes recomputes each touched household once, not 500 times.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    runs: BTreeSet<String>,
    households: BTreeSet<String>,
}

impl Dirty {
    /// Marks a run (and through it, its household) for recomputing.
    pub(crate) fn run(&mut self, id: String) {
        self.runs.insert(id);
    }

    /// Marks what a change to this entity affects: a run's progress, or
    /// the derived columns of the household a visit, person or run belongs to.
    pub(crate) fn touched(&mut self, conn: &Connection, kind: EntityKind, id: &str) -> Result<()> {
        match kind {
            EntityKind::StepEvent => {
                let run: Option<String> = conn
                    .prepare_cached("SELECT run_id FROM step_event WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                if let Some(run) = run {
                    self.run(run);
                }
            }
            EntityKind::ChecklistRun => self.run(id.to_owned()),
            EntityKind::Visit | EntityKind::Person => {
                if let Some(household) = household_of(conn, kind, id)? {
                    self.households.insert(household);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Recomputes what was marked: runs first (their status feeds the
    /// households' counts), then households.
    pub(crate) fn flush(&mut self, conn: &Connection, packs: &PackCache) -> Result<()> {
        for run in std::mem::take(&mut self.runs) {
            if let Some(household) = refresh_run(conn, packs, &run)? {
                self.households.insert(household);
            }
        }
        for household in std::mem::take(&mut self.households) {
            refresh_household(conn, &household)?;
        }
        Ok(())
    }
}

/// The household a visit, person or run belongs to.
fn household_of(conn: &Connection, kind: EntityKind, id: &str) -> Result<Option<String>> {
    let sql = format!("SELECT household_id FROM {} WHERE id = ?1", kind.table());
    Ok(conn.prepare_cached(&sql)?.query_row([id], |r| r.get(0)).optional()?)
}

/// Recomputes a household's derived columns (people, last visit, runs).
/// A run counts while it, its person and its visit are not deleted.
pub(crate) fn refresh_household(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE household SET
            people = (SELECT count(*) FROM person WHERE household_id = ?1 AND deleted = 0),
            (last_visit_at, last_outcome, last_follow_up_on) = (
                SELECT started_at, outcome, follow_up_on FROM visit
                WHERE household_id = ?1 AND deleted = 0 ORDER BY started_at DESC, id DESC LIMIT 1),
            (runs_total, runs_completed, runs_blocked) = (
                SELECT count(*), coalesce(sum(r.status = 'completed'), 0), coalesce(sum(r.status = 'blocked'), 0)
                FROM checklist_run r
                JOIN person p ON p.id = r.person_id AND p.deleted = 0
                JOIN visit v ON v.id = r.visit_id AND v.deleted = 0
                WHERE r.household_id = ?1 AND r.deleted = 0)
         WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

/// Merges a validated change into the tables. `now` stamps new conflicts;
/// derived columns it affects are marked in `dirty`, to be recomputed
/// before the transaction commits.
pub(crate) fn merge_change(conn: &Connection, change: &Change, now: &str, dirty: &mut Dirty) -> Result<Applied> {
    let kind = change.entity;
    let id = change.entity_id.hyphenated().to_string();
    if let Some((kind, id)) = missing_reference(conn, change)? {
        return Ok(Applied::Waiting { kind, id });
    }
    let touched: Vec<&'static FieldSpec> = change.fields.iter().filter_map(|w| kind.field(&w.field)).collect();
    let mut state = load_state(conn, kind, &id, &touched)?;
    let existed = state.exists;
    let before: BTreeMap<String, FieldState> = state.fields.clone();
    let won = match state.merge(change) {
        ChangeEffect::AwaitsCreate => return Ok(Applied::Waiting { kind, id }),
        ChangeEffect::AlreadyPresent => return Ok(Applied::AlreadyPresent),
        ChangeEffect::Merged { won, .. } => won,
    };
    if kind.is_append_only() {
        insert_append_only(conn, change, &touched, &id)?;
    } else {
        write_row(conn, kind, &id, existed, &won, &state)?;
    }
    let version = change.version();
    let entity = kind.as_str();
    for field in won.iter().filter(|_| !kind.is_append_only()) {
        conn.prepare_cached(
            "INSERT INTO field_clock (entity, entity_id, field, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc, device_id = excluded.device_id",
        )?
        .execute((entity, &id, field, hlc_sql(&version), version.device.to_string()))?;
    }
    let mut conflicts = 0;
    let none = FieldState::default();
    for spec in &touched {
        let old = before.get(spec.name).unwrap_or(&none);
        let new = state.fields.get(spec.name).unwrap_or(&none);
        conflicts += sync_losers(conn, entity, &id, spec.name, old, new, now)?;
        sync_pending(conn, entity, &id, spec.name, old, new)?;
    }
    match (kind, change.get("run_id")) {
        (EntityKind::StepEvent, Some(FieldValue::Text(run))) => dirty.run(run.clone()),
        _ => dirty.touched(conn, kind, &id)?,
    }
    Ok(Applied::Merged {
        won: won.len(),
        conflicts,
    })
}

fn insert_append_only(conn: &Connection, change: &Change, touched: &[&'static FieldSpec], id: &str) -> Result<()> {
    let kind = change.entity;
    let columns: Vec<&str> = touched.iter().map(|f| f.name).collect();
    let marks: Vec<String> = (1..=columns.len() + 3).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {} (id, {}, hlc, device_id) VALUES ({})",
        kind.table(),
        columns.join(", "),
        marks.join(", ")
    );
    let mut values = vec![Value::Text(id.to_owned())];
    values.extend(
        change
            .fields
            .iter()
            .filter(|w| kind.field(&w.field).is_some())
            .map(|w| to_sql(&w.value)),
    );
    values.push(Value::Integer(hlc_sql(&change.version())));
    values.push(Value::Text(change.device.to_string()));
    conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

fn write_row(
    conn: &Connection,
    kind: EntityKind,
    id: &str,
    existed: bool,
    won: &[String],
    state: &EntityState,
) -> Result<()> {
    if won.is_empty() {
        return Ok(());
    }
    let value = |f: &String| state.value(f).map_or(Value::Null, to_sql);
    let mut values: Vec<Value> = won.iter().map(value).collect();
    values.push(Value::Text(id.to_owned()));
    let sql = if existed {
        let sets: Vec<String> = won
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{f} = ?{}", i + 1))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE id = ?{}",
            kind.table(),
            sets.join(", "),
            won.len() + 1
        )
    } else {
        let marks: Vec<String> = (1..=won.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO {} ({}, id) VALUES ({}, ?{})",
            kind.table(),
            won.join(", "),
            marks.join(", "),
            won.len() + 1
        )
    };
    conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

fn sync_losers(
    conn: &Connection,
    entity: &str,
    id: &str,
    field: &str,
    old: &FieldState,
    new: &FieldState,
    now: &str,
) -> Result<usize> {
    let mut added = 0;
    for (v, value) in &new.losers {
        if !old.losers.contains_key(v) {
            let json = serde_json::to_string(value).map_err(|e| StoreError::Stored(e.to_string()))?;
            conn.prepare_cached(
                "INSERT OR IGNORE INTO conflict (entity, entity_id, field, hlc, device_id, value, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((entity, id, field, hlc_sql(v), v.device.to_string(), json, now))?;
            added += 1;
        }
    }
    for v in old.losers.keys().filter(|v| !new.losers.contains_key(*v)) {
        conn.prepare_cached(
            "DELETE FROM conflict WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND hlc = ?4 AND device_id = ?5",
        )?
        .execute((entity, id, field, hlc_sql(v), v.device.to_string()))?;
    }
    Ok(added)
}

fn sync_pending(
    conn: &Connection,
    entity: &str,
    id: &str,
    field: &str,
    old: &FieldState,
    new: &FieldState,
) -> Result<()> {
    for v in new.pending_bases.difference(&old.pending_bases) {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO pending_base (entity, entity_id, field, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((entity, id, field, hlc_sql(v), v.device.to_string()))?;
    }
    for v in old.pending_bases.difference(&new.pending_bases) {
        conn.prepare_cached(
            "DELETE FROM pending_base WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND hlc = ?4 AND device_id = ?5",
        )?
        .execute((entity, id, field, hlc_sql(v), v.device.to_string()))?;
    }
    Ok(())
}

/// Recomputes a run's cached progress from its step events and its pack;
/// returns the run's household.
pub(crate) fn refresh_run(conn: &Connection, packs: &PackCache, run_id: &str) -> Result<Option<String>> {
    let run: Option<(String, u32, String)> = conn
        .prepare_cached("SELECT pack_key, pack_version, household_id FROM checklist_run WHERE id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((key, pack_version, household)) = run else {
        return Ok(None);
    };
    let pack = packs.get(conn, &key, pack_version)?;
    let steps: Vec<&str> = pack.as_ref().map(|p| p.step_ids()).unwrap_or_default();
    let mut stmt = conn.prepare_cached("SELECT step_id, outcome, hlc, device_id FROM step_event WHERE run_id = ?1")?;
    let rows: Vec<(String, String, i64, String)> = stmt
        .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut marks = Vec::with_capacity(rows.len());
    for (step, outcome, hlc, device) in &rows {
        let outcome: StepOutcome = outcome.parse()?;
        marks.push(StepMark {
            step_id: step,
            outcome,
            version: version(*hlc, device)?,
        });
    }
    let mut progress = run_progress(&steps, marks);
    if pack.is_none() && !rows.is_empty() {
        // The pack version has not reached this device yet: show the run as
        // under way; installing the pack recomputes it.
        progress.status = doorstep_core::progress::RunStatus::InProgress;
    }
    conn.prepare_cached(
        "UPDATE checklist_run SET steps_total = ?2, steps_done = ?3, steps_skipped = ?4, steps_blocked = ?5,
         status = ?6, current_step = ?7 WHERE id = ?1",
    )?
    .execute((
        run_id,
        progress.total,
        progress.done,
        progress.skipped,
        progress.blocked,
        progress.status.as_str(),
        progress.current_step,
    ))?;
    Ok(Some(household))
}
