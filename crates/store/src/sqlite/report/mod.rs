//! The report tables (`r_<kind>`, migration 0003): merged entities as rows,
//! kept in the same transaction as every write, so the dashboard and the
//! exports read indexes instead of JSON.
//!
//! Columns follow doorstep-core's schema, one per field. Derived columns
//! follow the tablet's rules: a run's progress comes from its step events
//! and its pack version's steps (`doorstep_core::progress`), a household's
//! visit and run counts from its rows that are not deleted.
//!
//! This file keeps the tables up to date (the projection of every plan,
//! and the first build); `queries` reads the dashboard's figures from
//! them and `exports` the spreadsheets' rows.

use std::collections::HashMap;

use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params_from_iter};
use uuid::Uuid;

use super::text_id;
use crate::StoreError;
use crate::report_rows::{BUILT, Latest, Touched, change_of, entity_of, run_columns, steps_of_pack, table, uuid_of};
use doorstep_ingest::Plan;

mod exports;
mod queries;

pub(super) use exports::{run_rows, visit_rows};
pub(super) use queries::{conflicts, entity, overview, peer_spread, walking_list};

/// A field's value as an SQL value (lists stay JSON text).
fn sql_value(value: Option<&FieldValue>) -> Value {
    match value {
        None | Some(FieldValue::Null) => Value::Null,
        Some(FieldValue::Bool(b)) => Value::Integer(i64::from(*b)),
        Some(FieldValue::Int(i)) => Value::Integer(*i),
        Some(FieldValue::Text(t)) => Value::Text(t.clone()),
    }
}

/// Writes the rows of a plan: entity states, new step events, and the
/// derived columns of the runs and households they touch.
pub(super) fn project(tx: &Transaction<'_>, plan: &Plan) -> Result<(), StoreError> {
    let mut touched = Touched::default();
    for (id, known) in &plan.entities {
        put_entity(tx, *id, known.kind, &known.scope, &known.state, &mut touched)?;
    }
    for accepted in &plan.accepted {
        if accepted.change.entity == EntityKind::StepEvent {
            touched.step(&accepted.change);
        }
    }
    finish(tx, touched)
}

/// Builds the report tables from scratch if they were never completed
/// (a database from before they existed).
pub(super) fn build_if_missing(tx: &Transaction<'_>) -> Result<bool, StoreError> {
    let built: Option<String> = tx
        .query_row("SELECT value FROM server_meta WHERE key = ?1", [BUILT], |r| r.get(0))
        .optional()?;
    if built.is_some() {
        return Ok(false);
    }
    for kind in EntityKind::ALL.iter().filter(|k| **k != EntityKind::StepEvent) {
        tx.execute(&format!("DELETE FROM {}", table(*kind)), [])?;
    }
    let mut touched = Touched::default();
    {
        let mut entities = tx.prepare("SELECT id, kind, scope, state FROM entity")?;
        let rows = entities.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (id, kind, scope, state) = row?;
            let (kind, state) = entity_of(&id, &kind, &state)?;
            let id = uuid_of(&id)?;
            put_entity(tx, id, kind, &scope, &state, &mut touched)?;
        }
        let mut steps = tx.prepare("SELECT body FROM change_log WHERE entity = ?1 ORDER BY server_seq")?;
        let rows = steps.query_map([EntityKind::StepEvent.as_str()], |r| r.get::<_, String>(0))?;
        for row in rows {
            touched.step(&change_of(&row?)?);
        }
    }
    finish(tx, touched)?;
    tx.execute(
        "INSERT OR REPLACE INTO server_meta (key, value) VALUES (?1, '1')",
        [BUILT],
    )?;
    Ok(true)
}

fn put_entity(
    tx: &Transaction<'_>,
    id: Uuid,
    kind: EntityKind,
    scope: &str,
    state: &EntityState,
    touched: &mut Touched,
) -> Result<(), StoreError> {
    if kind == EntityKind::StepEvent {
        return Ok(()); // step events arrive as changes (put_step)
    }
    let fields = kind.fields();
    let columns: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let placeholders: Vec<String> = (3..3 + columns.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let sql = format!(
        "INSERT INTO {} (id, scope, {}) VALUES (?1, ?2, {}) ON CONFLICT(id) DO UPDATE SET scope = excluded.scope, {}",
        table(kind),
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let mut values = vec![Value::Text(text_id(id)), Value::Text(scope.to_owned())];
    for f in fields {
        let value = sql_value(state.value(f.name));
        // `deleted` is NOT NULL with a default: a row never written keeps 0.
        values.push(if f.name == "deleted" && value == Value::Null {
            Value::Integer(0)
        } else {
            value
        });
    }
    tx.prepare_cached(&sql)?.execute(params_from_iter(values))?;
    touched.entity(&text_id(id), kind, state);
    Ok(())
}

/// Recomputes the derived columns of the touched runs, then of their
/// households and the touched households.
fn finish(tx: &Transaction<'_>, mut touched: Touched) -> Result<(), StoreError> {
    let mut packs: HashMap<(String, u32), Option<Vec<String>>> = HashMap::new();
    for (run, events) in &touched.runs {
        if let Some(household) = run_progress_row(tx, run, events, &mut packs)? {
            touched.households.insert(household);
        }
    }
    let mut update = tx.prepare_cached(
        "UPDATE r_household SET
            visits = (SELECT count(*) FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0),
            reached = EXISTS (SELECT 1 FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0
                              AND v.outcome <> 'nobody_home'),
            last_visit_at = (SELECT max(started_at) FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0),
            last_outcome = (SELECT outcome FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0
                            ORDER BY started_at DESC, id DESC LIMIT 1),
            follow_up_on = (SELECT follow_up_on FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0
                            ORDER BY started_at DESC, id DESC LIMIT 1),
            runs = (SELECT count(*) FROM r_checklist_run r WHERE r.household_id = r_household.id AND r.deleted = 0),
            runs_completed = (SELECT count(*) FROM r_checklist_run r
                              WHERE r.household_id = r_household.id AND r.deleted = 0 AND r.status = 'completed')
         WHERE id = ?1",
    )?;
    for household in &touched.households {
        update.execute([household])?;
    }
    Ok(())
}

/// The steps of a pack version, from the versions this server handed out.
fn pack_steps(
    tx: &Transaction<'_>,
    key: &str,
    version: u32,
    cache: &mut HashMap<(String, u32), Option<Vec<String>>>,
) -> Result<Option<Vec<String>>, StoreError> {
    if let Some(hit) = cache.get(&(key.to_owned(), version)) {
        return Ok(hit.clone());
    }
    let toml: Option<String> = tx
        .query_row(
            "SELECT toml FROM pack_version WHERE key = ?1 AND version = ?2",
            (key, version),
            |r| r.get(0),
        )
        .optional()?;
    let steps = steps_of_pack(toml.as_deref());
    cache.insert((key.to_owned(), version), steps.clone());
    Ok(steps)
}

/// A run's pack key, pack version, household and latest-per-step record.
type RunRowParts = (Option<String>, Option<i64>, Option<String>, String);

/// Merges a run's new step events into its latest-per-step record and
/// recomputes its progress; returns its household.
fn run_progress_row(
    tx: &Transaction<'_>,
    run: &str,
    new_events: &[(String, Latest)],
    packs: &mut HashMap<(String, u32), Option<Vec<String>>>,
) -> Result<Option<String>, StoreError> {
    let row: Option<RunRowParts> = tx
        .prepare_cached("SELECT pack_key, pack_version, household_id, latest FROM r_checklist_run WHERE id = ?1")?
        .query_row([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    // Ingest accepts a step event only once its run is known.
    let Some((Some(key), Some(version), household, latest)) = row else {
        return Ok(None);
    };
    let version = u32::try_from(version).unwrap_or(0);
    let steps = pack_steps(tx, &key, version, packs)?;
    let columns = run_columns(run, &latest, new_events, steps)?;
    tx.prepare_cached(
        "UPDATE r_checklist_run SET status = ?2, steps_total = ?3, steps_done = ?4, steps_skipped = ?5,
                steps_blocked = ?6, blocker = ?7, latest = ?8 WHERE id = ?1",
    )?
    .execute((
        run,
        columns.status,
        columns.total,
        columns.done,
        columns.skipped,
        columns.blocked,
        columns.blocker,
        columns.latest,
    ))?;
    Ok(household)
}
