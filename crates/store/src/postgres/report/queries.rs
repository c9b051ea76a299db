//! The dashboard's queries on the report tables: the overview's figures,
//! the walking list, peer spread, open conflicts and one entity; and
//! [`Where`] with [`local`] and [`local_day`], the SQL of a dashboard
//! filter and of local times, which the exports use too.

use std::collections::{BTreeSet, HashMap};

use doorstep_core::coverage::HouseholdStatus;
use doorstep_core::merge::EntityState;
use doorstep_core::schema::EntityKind;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::StoreError;
use crate::report::{
    ChainLink, ConflictRow, Count, Filter, LOCAL_OFFSET_HOURS, Overview, PackOutcome, PeerSpread, VillageCoverage,
    VolunteerWork, WalkStop,
};
use crate::report_rows::{add_pack_runs, conflict_rows, count, entity_of, longest_chains, state_of, status_of};

/// A UTC timestamp column as a local time (SQLite: `col, '+7 hours'`).
/// Years PostgreSQL's timestamps cannot hold (0000, or beyond 9999, which
/// a stored timestamp can spell) give NULL instead of failing the query.
pub(super) fn local(column: &str) -> String {
    format!(
        "(CASE WHEN ({column}) COLLATE \"C\" >= '0001' THEN \
         (({column})::timestamptz AT TIME ZONE 'UTC' + interval '{LOCAL_OFFSET_HOURS} hours') END)"
    )
}

/// A UTC timestamp column as its local day, `YYYY-MM-DD` (SQLite's `date`).
pub(super) fn local_day(column: &str) -> String {
    format!("to_char({}, 'YYYY-MM-DD')", local(column))
}

/// SQL conditions for a filter, with their parameters, numbered from 1.
/// Every parameter is text.
#[derive(Debug, Default)]
pub(super) struct Where {
    pub(super) sql: String,
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
    pub(super) fn communes(&mut self, filter: &Filter, alias: &str) {
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
    pub(super) fn village(&mut self, filter: &Filter, household_column: &str) {
        if let Some(village) = &filter.village {
            self.push(
                &format!("{household_column} IN (SELECT id FROM r_household WHERE village_id = $#)"),
                [village.clone()],
            );
        }
    }

    /// Only visits or checklist runs started in the filter's local days.
    pub(super) fn days(&mut self, filter: &Filter, started_column: &str) {
        let local = local_day(started_column);
        if let Some(from) = filter.from {
            self.push(&format!("{local} COLLATE \"C\" >= $#"), [from.to_string()]);
        }
        if let Some(to) = filter.to {
            self.push(&format!("{local} COLLATE \"C\" <= $#"), [to.to_string()]);
        }
    }

    /// The parameters as `query` takes them.
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

/// The overview page's figures.
pub(crate) async fn overview(c: &Client, filter: &Filter) -> Result<Overview, StoreError> {
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
pub(crate) async fn walking_list(c: &Client, filter: &Filter) -> Result<Vec<WalkStop>, StoreError> {
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
pub(crate) async fn peer_spread(c: &Client, filter: &Filter) -> Result<PeerSpread, StoreError> {
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

/// Open conflicts of the filter's communes, newest entity first. The text
/// filter skips the (nearly all) entities without losing values.
pub(crate) async fn conflicts(c: &Client, filter: &Filter) -> Result<Vec<ConflictRow>, StoreError> {
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
pub(crate) async fn entity(c: &Client, id: &str) -> Result<Option<(EntityKind, String, EntityState)>, StoreError> {
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
