//! The report tables (`r_<kind>`, migration 0003) in PostgreSQL: merged
//! entities as rows, kept in the same transaction as every write, so the
//! dashboard and the exports read indexes instead of JSON. The same tables,
//! rules and results as SQLite's (`store::sqlite::report`); the logic that
//! is not SQL is shared (`store::report_rows`).
//!
//! Writes are batched: a kind's rows go in one `unnest` statement, the
//! touched runs and households in one statement per chunk, so a push costs
//! a few round trips whatever its size.
//!
//! Text sorts `COLLATE "C"` with NULLs first, as SQLite sorts (byte order,
//! NULL smallest), whatever the database's locale.
//!
//! This file keeps the tables up to date (the projection of every plan,
//! and the first build); `queries` reads the dashboard's figures from
//! them and `exports` the spreadsheets' rows.

use std::collections::HashMap;

use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

use super::{i64_of, text_id};
use crate::StoreError;
use crate::report_rows::{BUILT, Touched, change_of, entity_of, run_columns, steps_of_pack, table, uuid_of};
use doorstep_ingest::Plan;

mod exports;
mod queries;

pub(super) use exports::{run_rows, visit_rows};
pub(super) use queries::{conflicts, entity, overview, peer_spread, walking_list};

/// Rows per statement (and per page when building from scratch).
const CHUNK: usize = 1000;

/// A bound parameter that owns its value.
type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// Parameters as `query` takes them.
fn refs<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Writes the rows of a plan: entity states, new step events, and the
/// derived columns of the runs and households they touch.
pub(super) async fn project(tx: &Transaction<'_>, plan: &Plan) -> Result<(), StoreError> {
    let mut touched = Touched::default();
    let mut statements = HashMap::new();
    let rows: Vec<(String, EntityKind, &str, &EntityState)> = plan
        .entities
        .iter()
        .map(|(id, known)| (text_id(*id), known.kind, known.scope.as_str(), &known.state))
        .collect();
    put_entities(tx, &rows, &mut statements, &mut touched).await?;
    for accepted in &plan.accepted {
        if accepted.change.entity == EntityKind::StepEvent {
            touched.step(&accepted.change);
        }
    }
    finish(tx, touched).await
}

/// Builds the report tables from scratch if they were never completed
/// (a database from before they existed).
pub(super) async fn build_if_missing(tx: &Transaction<'_>) -> Result<bool, StoreError> {
    let built = tx
        .query_opt("SELECT value FROM server_meta WHERE key = $1", &[&BUILT])
        .await?;
    if built.is_some() {
        return Ok(false);
    }
    for kind in EntityKind::ALL.iter().filter(|k| **k != EntityKind::StepEvent) {
        tx.execute(&format!("DELETE FROM {}", table(*kind)), &[]).await?;
    }
    let mut touched = Touched::default();
    let mut statements = HashMap::new();
    // Page by id: a province's entities need not fit in memory at once.
    let entities = tx
        .prepare("SELECT id, kind, scope, state FROM entity WHERE id > $1 ORDER BY id LIMIT $2")
        .await?;
    let mut after = String::new();
    loop {
        let page = tx.query(&entities, &[&after, &i64_of(CHUNK as u64)]).await?;
        let mut states = Vec::with_capacity(page.len());
        for r in &page {
            let id: String = r.try_get(0)?;
            let kind: String = r.try_get(1)?;
            let state: String = r.try_get(3)?;
            let (kind, state) = entity_of(&id, &kind, &state)?;
            let id = text_id(uuid_of(&id)?);
            states.push((id, kind, r.try_get::<_, String>(2)?, state));
        }
        let rows: Vec<(String, EntityKind, &str, &EntityState)> = states
            .iter()
            .map(|(id, kind, scope, state)| (id.clone(), *kind, scope.as_str(), state))
            .collect();
        put_entities(tx, &rows, &mut statements, &mut touched).await?;
        match page.last() {
            Some(last) if page.len() == CHUNK => after = last.try_get(0)?,
            _ => break,
        }
    }
    let steps = tx
        .prepare("SELECT server_seq, body FROM change_log WHERE entity = $1 AND server_seq > $2 ORDER BY server_seq LIMIT $3")
        .await?;
    let mut after = 0i64;
    loop {
        let page = tx
            .query(
                &steps,
                &[&EntityKind::StepEvent.as_str(), &after, &i64_of(CHUNK as u64)],
            )
            .await?;
        for r in &page {
            touched.step(&change_of(r.try_get(1)?)?);
        }
        match page.last() {
            Some(last) if page.len() == CHUNK => after = last.try_get(0)?,
            _ => break,
        }
    }
    finish(tx, touched).await?;
    tx.execute(
        "INSERT INTO server_meta (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&BUILT],
    )
    .await?;
    Ok(true)
}

/// A report column's values for a batch of rows, as one array parameter.
#[derive(Debug)]
enum Column {
    /// A BIGINT column.
    Int(Vec<Option<i64>>),
    /// A TEXT column.
    Text(Vec<Option<String>>),
}

impl Column {
    /// Adds a field's value. A value of the other type is converted as
    /// SQLite's strict tables convert it, or refused.
    fn push(&mut self, field: &str, value: Option<&FieldValue>) -> Result<(), StoreError> {
        match (self, value) {
            (Column::Int(v), None | Some(FieldValue::Null)) => v.push(None),
            (Column::Text(v), None | Some(FieldValue::Null)) => v.push(None),
            (Column::Int(v), Some(FieldValue::Bool(b))) => v.push(Some(i64::from(*b))),
            (Column::Int(v), Some(FieldValue::Int(i))) => v.push(Some(*i)),
            (Column::Int(v), Some(FieldValue::Text(t))) => v
                .push(Some(t.parse().map_err(|_| {
                    StoreError::Damaged(format!("{field}: {t:?} is not a number"))
                })?)),
            (Column::Text(v), Some(FieldValue::Bool(b))) => v.push(Some(i64::from(*b).to_string())),
            (Column::Text(v), Some(FieldValue::Int(i))) => v.push(Some(i.to_string())),
            (Column::Text(v), Some(FieldValue::Text(t))) => v.push(Some(t.clone())),
        }
        Ok(())
    }

    fn into_param<'a>(self) -> Param<'a> {
        match self {
            Column::Int(v) => Box::new(v),
            Column::Text(v) => Box::new(v),
        }
    }
}

/// The upsert of a kind's rows: one array parameter per column.
fn upsert_sql(kind: EntityKind) -> String {
    let fields = kind.fields();
    let columns: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let arrays: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| format!("${}::{}[]", i + 3, if f.ty.is_integer() { "bigint" } else { "text" }))
        .collect();
    let updates: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO {} (id, scope, {}) SELECT * FROM unnest($1::text[], $2::text[], {})
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, {}",
        table(kind),
        columns.join(", "),
        arrays.join(", "),
        updates.join(", ")
    )
}

/// Upserts entity rows (id, kind, scope, state) into their report tables,
/// a statement per kind and chunk; step events are left to `Touched::step`.
async fn put_entities(
    tx: &Transaction<'_>,
    rows: &[(String, EntityKind, &str, &EntityState)],
    statements: &mut HashMap<EntityKind, Statement>,
    touched: &mut Touched,
) -> Result<(), StoreError> {
    for kind in EntityKind::ALL.iter().copied().filter(|k| *k != EntityKind::StepEvent) {
        let of_kind: Vec<&(String, EntityKind, &str, &EntityState)> = rows.iter().filter(|r| r.1 == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let statement = match statements.get(&kind) {
            Some(s) => s.clone(),
            None => {
                let s = tx.prepare(&upsert_sql(kind)).await?;
                statements.insert(kind, s.clone());
                s
            }
        };
        let fields = kind.fields();
        for chunk in of_kind.chunks(CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
            let scopes: Vec<&str> = chunk.iter().map(|r| r.2).collect();
            let mut columns: Vec<Column> = fields
                .iter()
                .map(|f| {
                    if f.ty.is_integer() {
                        Column::Int(Vec::with_capacity(chunk.len()))
                    } else {
                        Column::Text(Vec::with_capacity(chunk.len()))
                    }
                })
                .collect();
            for (id, _, _, state) in chunk {
                for (f, column) in fields.iter().zip(columns.iter_mut()) {
                    let value = state.value(f.name);
                    // `deleted` is NOT NULL with a default: a row never written keeps 0.
                    let value = match value {
                        None | Some(FieldValue::Null) if f.name == "deleted" => Some(&FieldValue::Int(0)),
                        v => v,
                    };
                    column.push(f.name, value)?;
                }
                touched.entity(id, kind, state);
            }
            let mut params: Vec<Param> = vec![Box::new(ids), Box::new(scopes)];
            params.extend(columns.into_iter().map(Column::into_param));
            tx.execute(&statement, &refs(&params)).await?;
        }
    }
    Ok(())
}

/// Recomputes the derived columns of the touched runs, then of their
/// households and the touched households.
async fn finish(tx: &Transaction<'_>, touched: Touched) -> Result<(), StoreError> {
    let Touched { runs, mut households } = touched;
    if !runs.is_empty() {
        let select = tx
            .prepare(
                "SELECT id, pack_key, pack_version, household_id, latest FROM r_checklist_run WHERE id = ANY($1::text[])",
            )
            .await?;
        let update = tx
            .prepare(
                "UPDATE r_checklist_run r SET status = u.status, steps_total = u.total, steps_done = u.done,
                        steps_skipped = u.skipped, steps_blocked = u.blocked, blocker = u.blocker, latest = u.latest
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
                             $7::text[], $8::text[])
                      AS u(id, status, total, done, skipped, blocked, blocker, latest)
                 WHERE r.id = u.id",
            )
            .await?;
        let mut packs: HashMap<(String, u32), Option<Vec<String>>> = HashMap::new();
        let ids: Vec<&str> = runs.keys().map(String::as_str).collect();
        for chunk in ids.chunks(CHUNK) {
            let mut new = RunUpdates::default();
            for r in tx.query(&select, &[&chunk]).await? {
                let run: String = r.try_get(0)?;
                let key: Option<String> = r.try_get(1)?;
                let version: Option<i64> = r.try_get(2)?;
                // Ingest accepts a step event only once its run is known.
                let (Some(key), Some(version)) = (key, version) else {
                    continue;
                };
                let household: Option<String> = r.try_get(3)?;
                let latest: String = r.try_get(4)?;
                let version = u32::try_from(version).unwrap_or(0);
                let steps = pack_steps(tx, &key, version, &mut packs).await?;
                let events = runs.get(&run).map(Vec::as_slice).unwrap_or_default();
                let columns = run_columns(&run, &latest, events, steps)?;
                new.id.push(run);
                new.status.push(columns.status);
                new.total.push(i64::from(columns.total));
                new.done.push(i64::from(columns.done));
                new.skipped.push(i64::from(columns.skipped));
                new.blocked.push(i64::from(columns.blocked));
                new.blocker.push(columns.blocker);
                new.latest.push(columns.latest);
                households.extend(household);
            }
            if !new.id.is_empty() {
                tx.execute(
                    &update,
                    &[
                        &new.id,
                        &new.status,
                        &new.total,
                        &new.done,
                        &new.skipped,
                        &new.blocked,
                        &new.blocker,
                        &new.latest,
                    ],
                )
                .await?;
            }
        }
    }
    if households.is_empty() {
        return Ok(());
    }
    // SQLite sorts NULL first, so DESC puts it last: NULLS LAST here.
    let update = tx
        .prepare(
            "UPDATE r_household SET
                visits = (SELECT count(*) FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0),
                reached = CASE WHEN EXISTS (SELECT 1 FROM r_visit v WHERE v.household_id = r_household.id
                                            AND v.deleted = 0 AND v.outcome <> 'nobody_home') THEN 1 ELSE 0 END,
                last_visit_at = (SELECT max(started_at COLLATE \"C\") FROM r_visit v
                                 WHERE v.household_id = r_household.id AND v.deleted = 0),
                last_outcome = (SELECT outcome FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0
                                ORDER BY started_at COLLATE \"C\" DESC NULLS LAST, id COLLATE \"C\" DESC LIMIT 1),
                follow_up_on = (SELECT follow_up_on FROM r_visit v WHERE v.household_id = r_household.id AND v.deleted = 0
                                ORDER BY started_at COLLATE \"C\" DESC NULLS LAST, id COLLATE \"C\" DESC LIMIT 1),
                runs = (SELECT count(*) FROM r_checklist_run r WHERE r.household_id = r_household.id AND r.deleted = 0),
                runs_completed = (SELECT count(*) FROM r_checklist_run r
                                  WHERE r.household_id = r_household.id AND r.deleted = 0 AND r.status = 'completed')
             WHERE id = ANY($1::text[])",
        )
        .await?;
    let households: Vec<&str> = households.iter().map(String::as_str).collect();
    for chunk in households.chunks(CHUNK) {
        tx.execute(&update, &[&chunk]).await?;
    }
    Ok(())
}

/// The new derived columns of a chunk of runs, one array per column.
#[derive(Debug, Default)]
struct RunUpdates {
    id: Vec<String>,
    status: Vec<&'static str>,
    total: Vec<i64>,
    done: Vec<i64>,
    skipped: Vec<i64>,
    blocked: Vec<i64>,
    blocker: Vec<Option<String>>,
    latest: Vec<String>,
}

/// The steps of a pack version, from the versions this server handed out.
async fn pack_steps(
    tx: &Transaction<'_>,
    key: &str,
    version: u32,
    cache: &mut HashMap<(String, u32), Option<Vec<String>>>,
) -> Result<Option<Vec<String>>, StoreError> {
    if let Some(hit) = cache.get(&(key.to_owned(), version)) {
        return Ok(hit.clone());
    }
    let toml: Option<String> = match tx
        .query_opt(
            "SELECT toml FROM pack_version WHERE key = $1 AND version = $2",
            &[&key, &i64::from(version)],
        )
        .await?
    {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    };
    let steps = steps_of_pack(toml.as_deref());
    cache.insert((key.to_owned(), version), steps.clone());
    Ok(steps)
}
