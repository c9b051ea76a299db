//! The exports' rows: every visit and every checklist run of a filter,
//! one spreadsheet row each.

use tokio_postgres::Client;

use super::queries::{Where, local, local_day};
use crate::StoreError;
use crate::report::{Filter, RunRow, VisitRow};
use crate::report_rows::{day, local_time};

pub(crate) async fn visit_rows(c: &Client, filter: &Filter) -> Result<Vec<VisitRow>, StoreError> {
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
pub(crate) async fn run_rows(c: &Client, filter: &Filter) -> Result<Vec<RunRow>, StoreError> {
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
