//! `report overview|walking-list|peer-spread`: the campaign's figures as
//! aligned tables, or JSON.

use doorstep_store::Store;
use doorstep_store::report::{Count, Overview, VillageCoverage};

use super::Ctx;
use super::filter::filter_of;
use super::shared::{Failure, json, out};
use crate::cli::ReportArgs;

pub(crate) async fn run(ctx: &Ctx, args: &ReportArgs) -> Result<(), Failure> {
    let store = &ctx.store;
    let (filter, _) = filter_of(store, &args.filter, ctx.now).await?;
    match args.what.as_str() {
        "overview" => {
            let o = store.overview(filter).await?;
            if ctx.json {
                return json(&o);
            }
            overview(&o)
        }
        "walking-list" => {
            let stops = store.walking_list(filter).await?;
            if ctx.json {
                return json(&stops);
            }
            walking_list(stops)
        }
        _ => {
            let spread = store.peer_spread(filter).await?;
            if ctx.json {
                return json(&spread);
            }
            peer_spread(&spread)
        }
    }
}

/// Prints a table: a header line, then the rows, columns aligned by
/// characters (not bytes), trailing spaces trimmed.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    out(&line(header.iter().map(|h| (*h).to_owned()).collect()))?;
    for row in rows {
        out(&line(row))?;
    }
    Ok(())
}

/// `report overview`: coverage per commune and village, checklists per
/// pack, blockers, visits per day and unit, and the volunteers.
fn overview(o: &Overview) -> Result<(), Failure> {
    coverage(o)?;
    out("")?;
    checklists(o)?;
    out("")?;
    let counts = |rows: &[Count]| {
        rows.iter()
            .map(|c| vec![c.key.clone(), c.count.to_string()])
            .collect::<Vec<_>>()
    };
    table(&["BLOCKED BY", "RUNS"], counts(&o.blockers))?;
    out("")?;
    table(&["DAY", "VISITS"], counts(&o.visits_per_day))?;
    out("")?;
    table(&["UNIT", "VISITS"], counts(&o.visits_per_unit))?;
    out("")?;
    volunteers(o)
}

/// Households reached per commune, then per village.
fn coverage(o: &Overview) -> Result<(), Failure> {
    let coverage = |c: &VillageCoverage, name: String| {
        vec![
            name,
            c.households.to_string(),
            c.reached.to_string(),
            c.not_visited.to_string(),
            c.follow_up_due.to_string(),
            c.in_progress.to_string(),
            c.done.to_string(),
        ]
    };
    let header = [
        "PLACE",
        "HOUSEHOLDS",
        "REACHED",
        "NOT VISITED",
        "FOLLOW-UP DUE",
        "IN PROGRESS",
        "DONE",
    ];
    let mut rows: Vec<Vec<String>> = o.communes().iter().map(|c| coverage(c, c.commune.clone())).collect();
    rows.extend(
        o.villages
            .iter()
            .map(|v| coverage(v, format!("  {} / {}", v.commune, v.village))),
    );
    table(&header, rows)
}

/// Checklist runs per pack and how they ended.
fn checklists(o: &Overview) -> Result<(), Failure> {
    table(
        &[
            "CHECKLIST",
            "RUNS",
            "COMPLETED",
            "BLOCKED",
            "UNDER WAY",
            "RESIDENTS HELPED",
        ],
        o.packs
            .iter()
            .map(|p| {
                vec![
                    p.pack.clone(),
                    p.runs.to_string(),
                    p.completed.to_string(),
                    p.blocked.to_string(),
                    p.in_progress.to_string(),
                    p.residents_helped.to_string(),
                ]
            })
            .collect(),
    )
}

/// Visits and households per volunteer.
fn volunteers(o: &Overview) -> Result<(), Failure> {
    table(
        &["VOLUNTEER", "UNIT", "VISITS", "HOUSEHOLDS"],
        o.volunteers
            .iter()
            .map(|v| {
                let name = if v.name.is_empty() {
                    "(not named)".to_owned()
                } else {
                    v.name.clone()
                };
                vec![name, v.unit.clone(), v.visits.to_string(), v.households.to_string()]
            })
            .collect(),
    )
}

/// `report walking-list`: the households to go to, with their status.
fn walking_list(stops: Vec<doorstep_store::report::WalkStop>) -> Result<(), Failure> {
    table(
        &[
            "VILLAGE",
            "HEAD",
            "LANDMARK",
            "PHONE",
            "STATUS",
            "LAST VISIT",
            "OUTCOME",
            "FOLLOW-UP",
        ],
        stops
            .into_iter()
            .map(|s| {
                vec![
                    s.village,
                    s.head_name,
                    s.landmark.unwrap_or_default(),
                    s.phone.unwrap_or_default(),
                    s.status.replace('_', " "),
                    s.last_visit_on.unwrap_or_default(),
                    s.last_outcome.unwrap_or_default().replace('_', " "),
                    s.follow_up_on.unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

/// `report peer-spread`: households taught by a neighbour, and the
/// longest chains of neighbours teaching neighbours.
fn peer_spread(spread: &doorstep_store::report::PeerSpread) -> Result<(), Failure> {
    out(&format!(
        "Households taught or sent by a neighbour: {} ({} residents); residents who taught others: {}.",
        spread.households_taught_by_neighbour, spread.residents_in_them, spread.teachers
    ))?;
    for chain in &spread.longest_chains {
        let names: Vec<String> = chain
            .iter()
            .map(|l| format!("{} ({})", l.head_name, l.village))
            .collect();
        out(&format!("  {} households: {}", chain.len(), names.join(" -> ")))?;
    }
    Ok(())
}
