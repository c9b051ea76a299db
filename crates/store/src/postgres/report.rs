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

use std::collections::{BTreeSet, HashMap};

use doorstep_core::coverage::HouseholdStatus;
use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement, Transaction};

use super::{i64_of, text_id};
use crate::StoreError;
use crate::report::{
    ChainLink, ConflictRow, Count, Filter, LOCAL_OFFSET_HOURS, Overview, PackOutcome, PeerSpread, RunRow,
    VillageCoverage, VisitRow, VolunteerWork, WalkStop,
};
use crate::report_rows::{
    BUILT, Touched, add_pack_runs, change_of, conflict_rows, count, day, entity_of, local_time, longest_chains,
    run_columns, state_of, status_of, steps_of_pack, table, uuid_of,
};
use doorstep_ingest::Plan;

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

// ---- Queries ---------------------------------------------------------

/// A UTC timestamp column as a local time (SQLite: `col, '+7 hours'`).
/// Years PostgreSQL's timestamps cannot hold (0000, or beyond 9999, which
/// a stored timestamp can spell) give NULL instead of failing the query.
fn local(column: &str) -> String {
    format!(
        "(CASE WHEN ({column}) COLLATE \"C\" >= '0001' THEN \
         (({column})::timestamptz AT TIME ZONE 'UTC' + interval '{LOCAL_OFFSET_HOURS} hours') END)"
    )
}

/// A UTC timestamp column as its local day, `YYYY-MM-DD` (SQLite's `date`).
fn local_day(column: &str) -> String {
    format!("to_char({}, 'YYYY-MM-DD')", local(column))
}

/// SQL conditions for a filter, with their parameters, numbered from 1.
/// Every parameter is text.
#[derive(Debug, Default)]
struct Where {
    sql: String,
    params: Vec<String>,
}

impl Where {
    /// Adds a clause; each `$#` in it takes the next value's number.
    fn push(&mut self, clause: &str, values: impl IntoIterator<Item = String>) {
        let mut clause = clause.to_owned();
        for value in values {
            self.params.push(value);
            clause = clause.replacen("$#", &format!("${}", self.params.len()), 1);
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&clause);
    }

    /// Only rows of the filter's communes (by `alias.scope`).
    fn communes(&mut self, filter: &Filter, alias: &str) {
        if let Some(communes) = &filter.communes {
            if communes.is_empty() {
                self.sql.push_str(" AND false");
                return;
            }
            let marks = vec!["$#"; communes.len()].join(", ");
            self.push(&format!("{alias}.scope IN ({marks})"), communes.iter().cloned());
        }
    }

    /// Only the filter's village, for a household id column.
    fn village(&mut self, filter: &Filter, household_column: &str) {
        if let Some(village) = &filter.village {
            self.push(
                &format!("{household_column} IN (SELECT id FROM r_household WHERE village_id = $#)"),
                [village.clone()],
            );
        }
    }

    /// Only visits or checklist runs started in the filter's local days.
    fn days(&mut self, filter: &Filter, started_column: &str) {
        let local = local_day(started_column);
        if let Some(from) = filter.from {
            self.push(&format!("{local} COLLATE \"C\" >= $#"), [from.to_string()]);
        }
        if let Some(to) = filter.to {
            self.push(&format!("{local} COLLATE \"C\" <= $#"), [to.to_string()]);
        }
    }

    /// The parameters as `query` takes them.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

/// The overview page's figures.
pub(super) async fn overview(c: &Client, filter: &Filter) -> Result<Overview, StoreError> {
    Ok(Overview {
        villages: coverage(c, filter).await?,
        packs: packs(c, filter).await?,
        blockers: blockers(c, filter).await?,
        visits_per_day: visits_per_day(c, filter).await?,
        visits_per_unit: Vec::new(),
        volunteers: Vec::new(),
    }
    .with_volunteers(volunteers(c, filter).await?))
}

async fn coverage(c: &Client, filter: &Filter) -> Result<Vec<VillageCoverage>, StoreError> {
    let mut villages_where = Where::default();
    villages_where.communes(filter, "v");
    if let Some(village) = &filter.village {
        villages_where.push("v.id = $#", [village.clone()]);
    }
    let mut villages: Vec<VillageCoverage> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in c
        .query(
            &format!(
                "SELECT c.id, coalesce(c.name, ''), v.id, coalesce(v.name, '')
                 FROM r_village v JOIN r_commune c ON c.id = v.commune_id
                 WHERE v.deleted = 0{} ORDER BY c.name COLLATE \"C\" NULLS FIRST, v.name COLLATE \"C\" NULLS FIRST",
                villages_where.sql
            ),
            &villages_where.params(),
        )
        .await?
    {
        let row = VillageCoverage {
            commune_id: r.try_get(0)?,
            commune: r.try_get(1)?,
            village_id: r.try_get(2)?,
            village: r.try_get(3)?,
            ..VillageCoverage::default()
        };
        index.insert(row.village_id.clone(), villages.len());
        villages.push(row);
    }
    let mut households_where = Where::default();
    households_where.communes(filter, "h");
    if let Some(village) = &filter.village {
        households_where.push("h.village_id = $#", [village.clone()]);
    }
    for r in c
        .query(
            &format!(
                "SELECT h.village_id, h.last_outcome, h.follow_up_on, h.runs, h.runs_completed, h.reached
                 FROM r_household h WHERE h.deleted = 0{}",
                households_where.sql
            ),
            &households_where.params(),
        )
        .await?
    {
        let village: Option<String> = r.try_get(0)?;
        let Some(&at) = village.as_ref().and_then(|v| index.get(v)) else {
            continue;
        };
        let outcome: Option<String> = r.try_get(1)?;
        let follow_up: Option<String> = r.try_get(2)?;
        let status = status_of(
            outcome.as_deref(),
            follow_up.as_deref(),
            r.try_get(3)?,
            r.try_get(4)?,
            filter.today,
        );
        let reached: i64 = r.try_get(5)?;
        if let Some(row) = villages.get_mut(at) {
            row.add(reached != 0, status);
        }
    }
    Ok(villages)
}

async fn packs(c: &Client, filter: &Filter) -> Result<Vec<PackOutcome>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let mut out: Vec<PackOutcome> = Vec::new();
    for r in c
        .query(
            &format!(
                "SELECT r.pack_key, r.status, count(*), count(DISTINCT r.person_id)
                 FROM r_checklist_run r WHERE r.deleted = 0{} GROUP BY r.pack_key, r.status
                 ORDER BY r.pack_key COLLATE \"C\" NULLS FIRST",
                w.sql
            ),
            &w.params(),
        )
        .await?
    {
        let key: String = r.try_get::<_, Option<String>>(0)?.unwrap_or_default();
        let status: String = r.try_get(1)?;
        add_pack_runs(&mut out, key, &status, count(r.try_get(2)?), count(r.try_get(3)?));
    }
    Ok(out)
}

async fn blockers(c: &Client, filter: &Filter) -> Result<Vec<Count>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let rows = c
        .query(
            &format!(
                "SELECT coalesce(r.blocker, 'other'), count(*) FROM r_checklist_run r
                 WHERE r.deleted = 0 AND r.status = 'blocked'{} GROUP BY 1
                 ORDER BY 2 DESC, coalesce(r.blocker, 'other') COLLATE \"C\"",
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(Count {
            key: r.try_get(0)?,
            count: count(r.try_get(1)?),
        });
    }
    Ok(out)
}

async fn visits_per_day(c: &Client, filter: &Filter) -> Result<Vec<Count>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    let rows = c
        .query(
            &format!(
                "SELECT {} AS day, count(*) FROM r_visit v
                 WHERE v.deleted = 0{} GROUP BY 1 ORDER BY 1 NULLS FIRST",
                local_day("v.started_at"),
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(Count {
            key: r.try_get::<_, Option<String>>(0)?.unwrap_or_default(),
            count: count(r.try_get(1)?),
        });
    }
    Ok(out)
}

async fn volunteers(c: &Client, filter: &Filter) -> Result<Vec<VolunteerWork>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    // `m` is at most one row per member id (its primary key), so grouping
    // by its columns too makes the same groups as SQLite's.
    let rows = c
        .query(
            &format!(
                "SELECT coalesce(v.member_id, ''), coalesce(m.name, ''), coalesce(m.unit, 'other'),
                        count(*), count(DISTINCT v.household_id)
                 FROM r_visit v LEFT JOIN r_member m ON m.id = v.member_id
                 WHERE v.deleted = 0{} GROUP BY v.member_id, m.name, m.unit
                 ORDER BY 4 DESC, coalesce(m.name, '') COLLATE \"C\"",
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(VolunteerWork {
            member_id: r.try_get(0)?,
            name: r.try_get(1)?,
            unit: r.try_get(2)?,
            visits: count(r.try_get(3)?),
            households: count(r.try_get(4)?),
        });
    }
    Ok(out)
}

/// Households with a follow-up due or never visited, by commune, village
/// and landmark: tomorrow's walking list.
pub(super) async fn walking_list(c: &Client, filter: &Filter) -> Result<Vec<WalkStop>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "h");
    if let Some(village) = &filter.village {
        w.push("h.village_id = $#", [village.clone()]);
    }
    let rows = c
        .query(
            &format!(
                "SELECT coalesce(c.name, ''), coalesce(vi.name, ''), h.id, coalesce(h.head_name, ''), h.landmark,
                        h.phone, {}, h.last_outcome, h.follow_up_on, h.runs, h.runs_completed
                 FROM r_household h JOIN r_village vi ON vi.id = h.village_id JOIN r_commune c ON c.id = vi.commune_id
                 WHERE h.deleted = 0{}
                 ORDER BY c.name COLLATE \"C\" NULLS FIRST, vi.name COLLATE \"C\" NULLS FIRST,
                          h.landmark COLLATE \"C\" NULLS FIRST, h.head_name COLLATE \"C\" NULLS FIRST",
                local_day("h.last_visit_at"),
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let outcome: Option<String> = r.try_get(7)?;
        let follow_up: Option<String> = r.try_get(8)?;
        let status = status_of(
            outcome.as_deref(),
            follow_up.as_deref(),
            r.try_get(9)?,
            r.try_get(10)?,
            filter.today,
        );
        if !matches!(status, HouseholdStatus::FollowUpDue | HouseholdStatus::NotVisited) {
            continue;
        }
        out.push(WalkStop {
            commune: r.try_get(0)?,
            village: r.try_get(1)?,
            household_id: r.try_get(2)?,
            head_name: r.try_get(3)?,
            landmark: r.try_get(4)?,
            phone: r.try_get(5)?,
            status: status.as_str().to_owned(),
            last_visit_on: r.try_get(6)?,
            last_outcome: outcome,
            follow_up_on: follow_up,
        });
    }
    Ok(out)
}

/// Who taught or sent whom: households reached through a neighbour, and
/// the longest chains of neighbours teaching neighbours.
pub(super) async fn peer_spread(c: &Client, filter: &Filter) -> Result<PeerSpread, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    // (taught household, teaching person's household)
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    let mut teachers: BTreeSet<String> = BTreeSet::new();
    for r in c
        .query(
            &format!(
                "SELECT v.household_id, v.referred_by, p.household_id FROM r_visit v
                 JOIN r_person p ON p.id = v.referred_by
                 WHERE v.deleted = 0 AND v.referred_by IS NOT NULL{}",
                w.sql
            ),
            &w.params(),
        )
        .await?
    {
        let taught: String = r.try_get(0)?;
        let teacher: String = r.try_get(1)?;
        let from: Option<String> = r.try_get(2)?;
        teachers.insert(teacher);
        if let Some(from) = from.filter(|f| *f != taught) {
            edges.insert((taught, from));
        }
    }
    let taught: Vec<&str> = edges
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let residents = if taught.is_empty() {
        0
    } else {
        count(
            c.query_one(
                "SELECT count(*) FROM r_person WHERE deleted = 0 AND household_id = ANY($1::text[])",
                &[&taught],
            )
            .await?
            .try_get(0)?,
        )
    };
    let longest = longest_chains(&edges);
    let wanted: Vec<&str> = longest
        .iter()
        .flatten()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut names: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
    if !wanted.is_empty() {
        for r in c
            .query(
                "SELECT h.id, h.head_name, v.name FROM r_household h LEFT JOIN r_village v ON v.id = h.village_id
                 WHERE h.id = ANY($1::text[])",
                &[&wanted],
            )
            .await?
        {
            names.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
        }
    }
    let longest_chains = longest
        .into_iter()
        .map(|chain| {
            chain
                .into_iter()
                .map(|household| {
                    let (head, village) = names.get(&household).cloned().unwrap_or((None, None));
                    ChainLink {
                        household_id: household,
                        head_name: head.unwrap_or_default(),
                        village: village.unwrap_or_default(),
                    }
                })
                .collect()
        })
        .collect();
    Ok(PeerSpread {
        households_taught_by_neighbour: u64::try_from(taught.len()).unwrap_or(0),
        residents_in_them: residents,
        teachers: u64::try_from(teachers.len()).unwrap_or(0),
        longest_chains,
    })
}

// ---- Rows for the exports -------------------------------------------

/// Every visit of the filter (days by the visit's local start), by
/// commune, village and time.
pub(super) async fn visit_rows(c: &Client, filter: &Filter) -> Result<Vec<VisitRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    let rows = c
        .query(
            &format!(
                "SELECT coalesce(c.name, ''), coalesce(h.village_id, ''), coalesce(vi.name, ''),
                        coalesce(v.household_id, ''), coalesce(h.head_name, ''),
                        to_char({}, 'YYYY-MM-DD HH24:MI:SS'),
                        coalesce(v.outcome, ''), v.follow_up_on, coalesce(m.name, ''), coalesce(m.unit, ''),
                        coalesce(p.name, ''), coalesce(v.notes, '')
                 FROM r_visit v
                 LEFT JOIN r_household h ON h.id = v.household_id
                 LEFT JOIN r_village vi ON vi.id = h.village_id
                 LEFT JOIN r_commune c ON c.id = vi.commune_id
                 LEFT JOIN r_member m ON m.id = v.member_id
                 LEFT JOIN r_person p ON p.id = v.referred_by
                 WHERE v.deleted = 0{}
                 ORDER BY c.name COLLATE \"C\" NULLS FIRST, vi.name COLLATE \"C\" NULLS FIRST,
                          v.started_at COLLATE \"C\" NULLS FIRST, h.head_name COLLATE \"C\" NULLS FIRST,
                          v.id COLLATE \"C\"",
                local("v.started_at"),
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let started = local_time(r.try_get::<_, Option<String>>(5)?.as_deref());
        out.push(VisitRow {
            commune: r.try_get(0)?,
            village_id: r.try_get(1)?,
            village: r.try_get(2)?,
            household_id: r.try_get(3)?,
            head_name: r.try_get(4)?,
            started_on: started.map(|t| t.date()),
            started_time: started.map(|t| t.time()),
            outcome: r.try_get(6)?,
            follow_up_on: day(r.try_get::<_, Option<String>>(7)?.as_deref()),
            volunteer: r.try_get(8)?,
            unit: r.try_get(9)?,
            referred_by: r.try_get(10)?,
            notes: r.try_get(11)?,
        });
    }
    Ok(out)
}

/// Every checklist run of the filter (days by the run's local start), by
/// commune, village, household and person. A blocked run without a
/// recorded reason counts as `other`, as in the overview.
pub(super) async fn run_rows(c: &Client, filter: &Filter) -> Result<Vec<RunRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let rows = c
        .query(
            &format!(
                "SELECT coalesce(c.name, ''), coalesce(h.village_id, ''), coalesce(vi.name, ''),
                        coalesce(r.household_id, ''), coalesce(h.head_name, ''), coalesce(p.name, ''),
                        coalesce(r.pack_key, ''), coalesce(r.pack_version, 0),
                        r.status, r.steps_done, r.steps_total,
                        CASE WHEN r.status = 'blocked' THEN coalesce(r.blocker, 'other') ELSE r.blocker END,
                        {}
                 FROM r_checklist_run r
                 LEFT JOIN r_household h ON h.id = r.household_id
                 LEFT JOIN r_village vi ON vi.id = h.village_id
                 LEFT JOIN r_commune c ON c.id = vi.commune_id
                 LEFT JOIN r_person p ON p.id = r.person_id
                 WHERE r.deleted = 0{}
                 ORDER BY c.name COLLATE \"C\" NULLS FIRST, vi.name COLLATE \"C\" NULLS FIRST,
                          h.head_name COLLATE \"C\" NULLS FIRST, p.name COLLATE \"C\" NULLS FIRST,
                          r.started_at COLLATE \"C\" NULLS FIRST, r.id COLLATE \"C\"",
                local_day("r.started_at"),
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let small = |n: i64| u32::try_from(n).unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(RunRow {
            commune: r.try_get(0)?,
            village_id: r.try_get(1)?,
            village: r.try_get(2)?,
            household_id: r.try_get(3)?,
            head_name: r.try_get(4)?,
            person: r.try_get(5)?,
            pack: r.try_get(6)?,
            pack_version: small(r.try_get(7)?),
            status: r.try_get(8)?,
            steps_done: small(r.try_get(9)?),
            steps_total: small(r.try_get(10)?),
            blocker: r.try_get(11)?,
            started_on: day(r.try_get::<_, Option<String>>(12)?.as_deref()),
        });
    }
    Ok(out)
}

/// Open conflicts of the filter's communes, newest entity first. The text
/// filter skips the (nearly all) entities without losing values.
pub(super) async fn conflicts(c: &Client, filter: &Filter) -> Result<Vec<ConflictRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "e");
    let rows = c
        .query(
            &format!(
                "SELECT e.id, e.kind, e.scope, e.state FROM entity e WHERE e.state LIKE '%\"l\":[%'{}
                 ORDER BY e.id COLLATE \"C\" DESC",
                w.sql
            ),
            &w.params(),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        let kind: String = r.try_get(1)?;
        let scope: String = r.try_get(2)?;
        let state = state_of(&id, r.try_get(3)?)?;
        conflict_rows(&id, &kind, &scope, &state, &mut out);
    }
    Ok(out)
}

/// One entity's current state, if it exists.
pub(super) async fn entity(c: &Client, id: &str) -> Result<Option<(EntityKind, String, EntityState)>, StoreError> {
    let Some(r) = c
        .query_opt("SELECT kind, scope, state FROM entity WHERE id = $1", &[&id])
        .await?
    else {
        return Ok(None);
    };
    let kind: String = r.try_get(0)?;
    let scope: String = r.try_get(1)?;
    let state: String = r.try_get(2)?;
    let (kind, state) = entity_of(id, &kind, &state)?;
    Ok(Some((kind, scope, state)))
}
