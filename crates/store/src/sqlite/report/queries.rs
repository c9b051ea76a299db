//! The dashboard's queries on the report tables: the overview's figures,
//! the walking list, peer spread, open conflicts and one entity; and
//! [`Where`], the SQL conditions of a dashboard filter, which the exports
//! use too.

use std::collections::{BTreeSet, HashMap};

use doorstep_core::coverage::HouseholdStatus;
use doorstep_core::merge::EntityState;
use doorstep_core::schema::EntityKind;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::StoreError;
use crate::report::{
    ChainLink, Count, Filter, LOCAL_OFFSET_HOURS, Overview, PackOutcome, PeerSpread, VillageCoverage, VolunteerWork,
    WalkStop,
};
use crate::report_rows::{add_pack_runs, conflict_rows, count, entity_of, longest_chains, state_of, status_of};

/// SQL conditions for a filter, with their parameters, numbered from 1.
#[derive(Debug, Default)]
pub(super) struct Where {
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
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
    pub(super) fn communes(&mut self, filter: &Filter, alias: &str) {
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
    pub(super) fn village(&mut self, filter: &Filter, household_column: &str) {
        if let Some(village) = &filter.village {
            self.push(
                &format!("{household_column} IN (SELECT id FROM r_household WHERE village_id = ?#)"),
                [Value::Text(village.clone())],
            );
        }
    }

    /// Only visits or checklist runs started in the filter's local days.
    pub(super) fn days(&mut self, filter: &Filter, started_column: &str) {
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
pub(crate) fn overview(conn: &Connection, filter: &Filter) -> Result<Overview, StoreError> {
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
pub(crate) fn walking_list(conn: &Connection, filter: &Filter) -> Result<Vec<WalkStop>, StoreError> {
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
pub(crate) fn peer_spread(conn: &Connection, filter: &Filter) -> Result<PeerSpread, StoreError> {
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

/// Open conflicts of the filter's communes, newest entity first. The text
/// filter skips the (nearly all) entities without losing values.
pub(crate) fn conflicts(conn: &Connection, filter: &Filter) -> Result<Vec<crate::report::ConflictRow>, StoreError> {
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
pub(crate) fn entity(conn: &Connection, id: &str) -> Result<Option<(EntityKind, String, EntityState)>, StoreError> {
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
