//! The exports' rows: every visit and every checklist run of a filter,
//! one spreadsheet row each.

use rusqlite::{Connection, params_from_iter};

use super::queries::Where;
use crate::StoreError;
use crate::report::{Filter, LOCAL_OFFSET_HOURS, RunRow, VisitRow};
use crate::report_rows::{day, local_time};

/// Every visit of the filter (days by the visit's local start), by
/// commune, village and time.
pub(crate) fn visit_rows(conn: &Connection, filter: &Filter) -> Result<Vec<VisitRow>, StoreError> {
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
pub(crate) fn run_rows(conn: &Connection, filter: &Filter) -> Result<Vec<RunRow>, StoreError> {
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
