//! The report tables (`r_<kind>`, migration 0003): merged entities as rows,
//! kept in the same transaction as every write, so the dashboard and the
//! exports read indexes instead of JSON.
//!
//! Columns follow doorstep-core's schema, one per field. Derived columns
//! follow the tablet's rules: a run's progress comes from its step events
//! and its pack version's steps (`doorstep_core::progress`), a household's
//! visit and run counts from its rows that are not deleted.

use std::collections::{BTreeSet, HashMap};

use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params_from_iter};
use uuid::Uuid;

use super::text_id;
use crate::StoreError;
use crate::report_rows::{
    BUILT, Latest, Touched, add_pack_runs, change_of, conflict_rows, count, day, entity_of, local_time, longest_chains,
    run_columns, state_of, status_of, steps_of_pack, table, uuid_of,
};
use doorstep_ingest::Plan;

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

// ---- Queries ---------------------------------------------------------

use rusqlite::Connection;

use crate::report::{
    ChainLink, Count, Filter, LOCAL_OFFSET_HOURS, Overview, PackOutcome, PeerSpread, VillageCoverage, VolunteerWork,
    WalkStop,
};
use doorstep_core::coverage::HouseholdStatus;

/// SQL conditions for a filter, with their parameters, numbered from 1.
#[derive(Debug, Default)]
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn push(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) {
        let mut clause = clause.to_owned();
        for value in values {
            self.params.push(value);
            clause = clause.replacen("?#", &format!("?{}", self.params.len()), 1);
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&clause);
    }

    /// Only rows of the filter's communes (by `alias.scope`).
    fn communes(&mut self, filter: &Filter, alias: &str) {
        if let Some(communes) = &filter.communes {
            if communes.is_empty() {
                self.sql.push_str(" AND 0");
                return;
            }
            let marks = vec!["?#"; communes.len()].join(", ");
            self.push(
                &format!("{alias}.scope IN ({marks})"),
                communes.iter().map(|c| Value::Text(c.clone())),
            );
        }
    }

    /// Only the filter's village, for a household id column.
    fn village(&mut self, filter: &Filter, household_column: &str) {
        if let Some(village) = &filter.village {
            self.push(
                &format!("{household_column} IN (SELECT id FROM r_household WHERE village_id = ?#)"),
                [Value::Text(village.clone())],
            );
        }
    }

    /// Only visits or checklist runs started in the filter's local days.
    fn days(&mut self, filter: &Filter, started_column: &str) {
        let local = format!("date({started_column}, '+{LOCAL_OFFSET_HOURS} hours')");
        if let Some(from) = filter.from {
            self.push(&format!("{local} >= ?#"), [Value::Text(from.to_string())]);
        }
        if let Some(to) = filter.to {
            self.push(&format!("{local} <= ?#"), [Value::Text(to.to_string())]);
        }
    }
}

/// The overview page's figures.
pub(super) fn overview(conn: &Connection, filter: &Filter) -> Result<Overview, StoreError> {
    Ok(Overview {
        villages: coverage(conn, filter)?,
        packs: packs(conn, filter)?,
        blockers: blockers(conn, filter)?,
        visits_per_day: visits_per_day(conn, filter)?,
        visits_per_unit: Vec::new(),
        volunteers: Vec::new(),
    }
    .with_volunteers(volunteers(conn, filter)?))
}

fn coverage(conn: &Connection, filter: &Filter) -> Result<Vec<VillageCoverage>, StoreError> {
    let mut villages_where = Where::default();
    villages_where.communes(filter, "v");
    if let Some(village) = &filter.village {
        villages_where.push("v.id = ?#", [Value::Text(village.clone())]);
    }
    let mut villages: Vec<VillageCoverage> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT c.id, coalesce(c.name, ''), v.id, coalesce(v.name, '')
             FROM r_village v JOIN r_commune c ON c.id = v.commune_id
             WHERE v.deleted = 0{} ORDER BY c.name, v.name",
            villages_where.sql
        ))?;
        let rows = stmt.query_map(params_from_iter(&villages_where.params), |r| {
            Ok(VillageCoverage {
                commune_id: r.get(0)?,
                commune: r.get(1)?,
                village_id: r.get(2)?,
                village: r.get(3)?,
                ..VillageCoverage::default()
            })
        })?;
        for row in rows {
            let row = row?;
            index.insert(row.village_id.clone(), villages.len());
            villages.push(row);
        }
    }
    let mut households_where = Where::default();
    households_where.communes(filter, "h");
    if let Some(village) = &filter.village {
        households_where.push("h.village_id = ?#", [Value::Text(village.clone())]);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT h.village_id, h.last_outcome, h.follow_up_on, h.runs, h.runs_completed, h.reached
         FROM r_household h WHERE h.deleted = 0{}",
        households_where.sql
    ))?;
    let mut rows = stmt.query(params_from_iter(&households_where.params))?;
    while let Some(r) = rows.next()? {
        let village: Option<String> = r.get(0)?;
        let Some(&at) = village.as_ref().and_then(|v| index.get(v)) else {
            continue;
        };
        let outcome: Option<String> = r.get(1)?;
        let follow_up: Option<String> = r.get(2)?;
        let status = status_of(
            outcome.as_deref(),
            follow_up.as_deref(),
            r.get(3)?,
            r.get(4)?,
            filter.today,
        );
        villages[at].add(r.get(5)?, status);
    }
    Ok(villages)
}

fn packs(conn: &Connection, filter: &Filter) -> Result<Vec<PackOutcome>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT r.pack_key, r.status, count(*), count(DISTINCT r.person_id)
         FROM r_checklist_run r WHERE r.deleted = 0{} GROUP BY r.pack_key, r.status ORDER BY r.pack_key",
        w.sql
    ))?;
    let mut out: Vec<PackOutcome> = Vec::new();
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(r) = rows.next()? {
        let key: String = r.get::<_, Option<String>>(0)?.unwrap_or_default();
        let status: String = r.get(1)?;
        add_pack_runs(&mut out, key, &status, count(r.get(2)?), count(r.get(3)?));
    }
    Ok(out)
}

fn blockers(conn: &Connection, filter: &Filter) -> Result<Vec<Count>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(r.blocker, 'other'), count(*) FROM r_checklist_run r
         WHERE r.deleted = 0 AND r.status = 'blocked'{} GROUP BY 1 ORDER BY 2 DESC, 1",
        w.sql
    ))?;
    let rows = stmt.query_map(params_from_iter(&w.params), |r| {
        Ok(Count {
            key: r.get(0)?,
            count: count(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn visits_per_day(conn: &Connection, filter: &Filter) -> Result<Vec<Count>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT date(v.started_at, '+{LOCAL_OFFSET_HOURS} hours') AS day, count(*) FROM r_visit v
         WHERE v.deleted = 0{} GROUP BY day ORDER BY day",
        w.sql
    ))?;
    let rows = stmt.query_map(params_from_iter(&w.params), |r| {
        Ok(Count {
            key: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            count: count(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn volunteers(conn: &Connection, filter: &Filter) -> Result<Vec<VolunteerWork>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(v.member_id, ''), coalesce(m.name, ''), coalesce(m.unit, 'other'),
                count(*), count(DISTINCT v.household_id)
         FROM r_visit v LEFT JOIN r_member m ON m.id = v.member_id
         WHERE v.deleted = 0{} GROUP BY v.member_id ORDER BY 4 DESC, 2",
        w.sql
    ))?;
    let rows = stmt.query_map(params_from_iter(&w.params), |r| {
        Ok(VolunteerWork {
            member_id: r.get(0)?,
            name: r.get(1)?,
            unit: r.get(2)?,
            visits: count(r.get(3)?),
            households: count(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Households with a follow-up due or never visited, by commune, village
/// and landmark: tomorrow's walking list.
pub(super) fn walking_list(conn: &Connection, filter: &Filter) -> Result<Vec<WalkStop>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "h");
    if let Some(village) = &filter.village {
        w.push("h.village_id = ?#", [Value::Text(village.clone())]);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(c.name, ''), coalesce(vi.name, ''), h.id, coalesce(h.head_name, ''), h.landmark, h.phone,
                date(h.last_visit_at, '+{LOCAL_OFFSET_HOURS} hours'), h.last_outcome, h.follow_up_on,
                h.runs, h.runs_completed
         FROM r_household h JOIN r_village vi ON vi.id = h.village_id JOIN r_commune c ON c.id = vi.commune_id
         WHERE h.deleted = 0{} ORDER BY c.name, vi.name, h.landmark, h.head_name",
        w.sql
    ))?;
    let mut out = Vec::new();
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(r) = rows.next()? {
        let outcome: Option<String> = r.get(7)?;
        let follow_up: Option<String> = r.get(8)?;
        let status = status_of(
            outcome.as_deref(),
            follow_up.as_deref(),
            r.get(9)?,
            r.get(10)?,
            filter.today,
        );
        if !matches!(status, HouseholdStatus::FollowUpDue | HouseholdStatus::NotVisited) {
            continue;
        }
        out.push(WalkStop {
            commune: r.get(0)?,
            village: r.get(1)?,
            household_id: r.get(2)?,
            head_name: r.get(3)?,
            landmark: r.get(4)?,
            phone: r.get(5)?,
            status: status.as_str().to_owned(),
            last_visit_on: r.get(6)?,
            last_outcome: outcome,
            follow_up_on: follow_up,
        });
    }
    Ok(out)
}

/// Who taught or sent whom: households reached through a neighbour, and
/// the longest chains of neighbours teaching neighbours.
pub(super) fn peer_spread(conn: &Connection, filter: &Filter) -> Result<PeerSpread, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    // (taught household, teaching person's household)
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    let mut teachers: BTreeSet<String> = BTreeSet::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT v.household_id, v.referred_by, p.household_id FROM r_visit v
             JOIN r_person p ON p.id = v.referred_by
             WHERE v.deleted = 0 AND v.referred_by IS NOT NULL{}",
            w.sql
        ))?;
        let mut rows = stmt.query(params_from_iter(&w.params))?;
        while let Some(r) = rows.next()? {
            let taught: String = r.get(0)?;
            let teacher: String = r.get(1)?;
            let from: Option<String> = r.get(2)?;
            teachers.insert(teacher);
            if let Some(from) = from.filter(|f| *f != taught) {
                edges.insert((taught, from));
            }
        }
    }
    let taught: BTreeSet<&String> = edges.iter().map(|(t, _)| t).collect();
    let residents = if taught.is_empty() {
        0
    } else {
        let marks: Vec<String> = (1..=taught.len()).map(|i| format!("?{i}")).collect();
        count(conn.query_row(
            &format!(
                "SELECT count(*) FROM r_person WHERE deleted = 0 AND household_id IN ({})",
                marks.join(", ")
            ),
            params_from_iter(taught.iter()),
            |r| r.get(0),
        )?)
    };
    let longest = longest_chains(&edges);
    let mut links = Vec::new();
    for chain in longest {
        let mut out = Vec::new();
        for household in chain {
            let (head, village): (Option<String>, Option<String>) = conn
                .query_row(
                    "SELECT h.head_name, v.name FROM r_household h LEFT JOIN r_village v ON v.id = h.village_id
                     WHERE h.id = ?1",
                    [&household],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .unwrap_or((None, None));
            out.push(ChainLink {
                household_id: household,
                head_name: head.unwrap_or_default(),
                village: village.unwrap_or_default(),
            });
        }
        links.push(out);
    }
    Ok(PeerSpread {
        households_taught_by_neighbour: u64::try_from(taught.len()).unwrap_or(0),
        residents_in_them: residents,
        teachers: u64::try_from(teachers.len()).unwrap_or(0),
        longest_chains: links,
    })
}

// ---- Rows for the exports -------------------------------------------

use crate::report::{RunRow, VisitRow};

/// Every visit of the filter (days by the visit's local start), by
/// commune, village and time.
pub(super) fn visit_rows(conn: &Connection, filter: &Filter) -> Result<Vec<VisitRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "v");
    w.village(filter, "v.household_id");
    w.days(filter, "v.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(c.name, ''), coalesce(h.village_id, ''), coalesce(vi.name, ''), coalesce(v.household_id, ''),
                coalesce(h.head_name, ''), strftime('%Y-%m-%d %H:%M:%S', v.started_at, '+{LOCAL_OFFSET_HOURS} hours'),
                coalesce(v.outcome, ''), v.follow_up_on, coalesce(m.name, ''), coalesce(m.unit, ''),
                coalesce(p.name, ''), coalesce(v.notes, '')
         FROM r_visit v
         LEFT JOIN r_household h ON h.id = v.household_id
         LEFT JOIN r_village vi ON vi.id = h.village_id
         LEFT JOIN r_commune c ON c.id = vi.commune_id
         LEFT JOIN r_member m ON m.id = v.member_id
         LEFT JOIN r_person p ON p.id = v.referred_by
         WHERE v.deleted = 0{} ORDER BY c.name, vi.name, v.started_at, h.head_name, v.id",
        w.sql
    ))?;
    let rows = stmt.query_map(params_from_iter(&w.params), |r| {
        let started = local_time(r.get::<_, Option<String>>(5)?.as_deref());
        Ok(VisitRow {
            commune: r.get(0)?,
            village_id: r.get(1)?,
            village: r.get(2)?,
            household_id: r.get(3)?,
            head_name: r.get(4)?,
            started_on: started.map(|t| t.date()),
            started_time: started.map(|t| t.time()),
            outcome: r.get(6)?,
            follow_up_on: day(r.get::<_, Option<String>>(7)?.as_deref()),
            volunteer: r.get(8)?,
            unit: r.get(9)?,
            referred_by: r.get(10)?,
            notes: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every checklist run of the filter (days by the run's local start), by
/// commune, village, household and person. A blocked run without a
/// recorded reason counts as `other`, as in the overview.
pub(super) fn run_rows(conn: &Connection, filter: &Filter) -> Result<Vec<RunRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "r");
    w.village(filter, "r.household_id");
    w.days(filter, "r.started_at");
    let mut stmt = conn.prepare(&format!(
        "SELECT coalesce(c.name, ''), coalesce(h.village_id, ''), coalesce(vi.name, ''), coalesce(r.household_id, ''),
                coalesce(h.head_name, ''), coalesce(p.name, ''), coalesce(r.pack_key, ''), coalesce(r.pack_version, 0),
                r.status, r.steps_done, r.steps_total,
                CASE WHEN r.status = 'blocked' THEN coalesce(r.blocker, 'other') ELSE r.blocker END,
                date(r.started_at, '+{LOCAL_OFFSET_HOURS} hours')
         FROM r_checklist_run r
         LEFT JOIN r_household h ON h.id = r.household_id
         LEFT JOIN r_village vi ON vi.id = h.village_id
         LEFT JOIN r_commune c ON c.id = vi.commune_id
         LEFT JOIN r_person p ON p.id = r.person_id
         WHERE r.deleted = 0{} ORDER BY c.name, vi.name, h.head_name, p.name, r.started_at, r.id",
        w.sql
    ))?;
    let small = |n: i64| u32::try_from(n).unwrap_or(0);
    let rows = stmt.query_map(params_from_iter(&w.params), |r| {
        Ok(RunRow {
            commune: r.get(0)?,
            village_id: r.get(1)?,
            village: r.get(2)?,
            household_id: r.get(3)?,
            head_name: r.get(4)?,
            person: r.get(5)?,
            pack: r.get(6)?,
            pack_version: small(r.get(7)?),
            status: r.get(8)?,
            steps_done: small(r.get(9)?),
            steps_total: small(r.get(10)?),
            blocker: r.get(11)?,
            started_on: day(r.get::<_, Option<String>>(12)?.as_deref()),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Open conflicts of the filter's communes, newest entity first. The text
/// filter skips the (nearly all) entities without losing values.
pub(super) fn conflicts(conn: &Connection, filter: &Filter) -> Result<Vec<crate::report::ConflictRow>, StoreError> {
    let mut w = Where::default();
    w.communes(filter, "e");
    let mut stmt = conn.prepare(&format!(
        "SELECT e.id, e.kind, e.scope, e.state FROM entity e WHERE e.state LIKE '%\"l\":[%'{} ORDER BY e.id DESC",
        w.sql
    ))?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let kind: String = r.get(1)?;
        let scope: String = r.get(2)?;
        let state: String = r.get(3)?;
        let state = state_of(&id, &state)?;
        conflict_rows(&id, &kind, &scope, &state, &mut out);
    }
    Ok(out)
}

/// One entity's current state, if it exists.
pub(super) fn entity(conn: &Connection, id: &str) -> Result<Option<(EntityKind, String, EntityState)>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .query_row("SELECT kind, scope, state FROM entity WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    row.map(|(kind, scope, state)| {
        let (kind, state) = entity_of(id, &kind, &state)?;
        Ok((kind, scope, state))
    })
    .transpose()
}
