//! The overview: coverage per commune and village, checklists, blockers,
//! visits per day, unit and volunteer, as tables and SVG charts.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{PageQuery, commune_names, filter_for, layout, pack_titles, scope_words, unit_word};
use super::texts::Texts;
use super::{Dashboard, Lead, failure, html};
use crate::chart::{self, BarRow, ChartText, DayCount, Fill, Layout, Series};
use doorstep_core::labels;
use doorstep_core::vocab::BlockerReason;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::report::{VillageCoverage, VolunteerWork};

struct PlaceRow {
    name: String,
    c: VillageCoverage,
    commune_row: bool,
}

struct PackLine {
    title: String,
    o: doorstep_store::report::PackOutcome,
}

struct VolunteerLine {
    name: String,
    unit: String,
    visits: u64,
    households: u64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    t: &'a Texts,
    scope: String,
    places: Vec<PlaceRow>,
    coverage_chart: String,
    packs: Vec<PackLine>,
    packs_chart: String,
    blockers_chart: String,
    days_chart: String,
    units_chart: String,
    volunteers: Vec<VolunteerLine>,
}

pub(super) async fn overview<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<PageQuery>,
) -> Response {
    let filter = match filter_for(&me, &q, t) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let o = match dash.store.overview(filter.clone()).await {
        Ok(o) => o,
        Err(e) => return failure(lang, e),
    };
    let names = commune_names(&o.villages);
    let mut places = Vec::new();
    for c in o.communes() {
        places.push(PlaceRow {
            name: c.commune.clone(),
            c: c.clone(),
            commune_row: true,
        });
        for v in o.villages.iter().filter(|v| v.commune_id == c.commune_id) {
            places.push(PlaceRow {
                name: format!("{} / {}", v.commune, v.village),
                c: v.clone(),
                commune_row: false,
            });
        }
    }
    // Arabic pages draw their charts mirrored, as the tables under them read.
    let layout_wide = Layout {
        rtl: t.rtl(),
        ..Layout::default()
    };
    let no_data = t.get("overview.no_data");
    let coverage_chart = chart::bar_chart(
        &ChartText {
            id: "coverage",
            title: t.get("overview.coverage"),
            no_data,
        },
        &[
            Series::new(t.get("overview.reached"), Fill::Done),
            Series::new(t.get("overview.not_reached"), Fill::Remaining),
        ],
        &o.villages
            .iter()
            .map(|v| BarRow {
                label: v.village.clone(),
                ..BarRow::coverage(v)
            })
            .collect::<Vec<_>>(),
        &layout_wide,
    );
    let titles = pack_titles(lang);
    let packs: Vec<PackLine> = o
        .packs
        .iter()
        .map(|p| PackLine {
            title: titles.get(&p.pack).cloned().unwrap_or_else(|| p.pack.clone()),
            o: p.clone(),
        })
        .collect();
    let packs_chart = chart::bar_chart(
        &ChartText {
            id: "packs",
            title: t.get("overview.checklists"),
            no_data,
        },
        &[
            Series::new(t.get("overview.completed"), Fill::Done),
            Series::new(t.get("overview.blocked"), Fill::Blocked),
            Series::new(t.get("overview.under_way"), Fill::UnderWay),
        ],
        &packs
            .iter()
            .map(|p| BarRow {
                label: p.title.clone(),
                ..BarRow::pack(&p.o)
            })
            .collect::<Vec<_>>(),
        &layout_wide,
    );
    let blockers_chart = chart::bar_chart(
        &ChartText {
            id: "blockers",
            title: t.get("overview.blockers"),
            no_data,
        },
        &[Series::new(t.get("overview.count"), Fill::Blocked)],
        &o.blockers
            .iter()
            .map(|b| {
                let label = b
                    .key
                    .parse::<BlockerReason>()
                    .map_or_else(|_| b.key.clone(), |r| labels::blocker(r, lang).to_owned());
                BarRow {
                    label,
                    ..BarRow::count(b)
                }
            })
            .collect::<Vec<_>>(),
        // A reason is a sentence: room for it whole, printed on paper.
        &Layout {
            label_chars: 64,
            ..layout_wide
        },
    );
    let days_chart = chart::day_chart(
        &ChartText {
            id: "days",
            title: t.get("overview.visits_per_day"),
            no_data,
        },
        &Series::new(t.get("overview.visits"), Fill::Done),
        &DayCount::from_counts(&o.visits_per_day),
        &layout_wide,
    );
    let units_chart = chart::bar_chart(
        &ChartText {
            id: "units",
            title: t.get("overview.per_unit"),
            no_data,
        },
        &[Series::new(t.get("overview.visits"), Fill::Neutral)],
        &o.visits_per_unit
            .iter()
            .map(|u| BarRow {
                label: unit_word(t, &u.key),
                ..BarRow::count(u)
            })
            .collect::<Vec<_>>(),
        &Layout {
            width: 480,
            ..layout_wide
        },
    );
    let volunteers = o
        .volunteers
        .iter()
        .map(|v: &VolunteerWork| VolunteerLine {
            name: if v.name.is_empty() {
                t.get("overview.not_named").to_owned()
            } else {
                v.name.clone()
            },
            unit: unit_word(t, &v.unit),
            visits: v.visits,
            households: v.households,
        })
        .collect();
    let body = OverviewPage {
        t,
        scope: scope_words(t, &filter, &names),
        places,
        coverage_chart,
        packs,
        packs_chart,
        blockers_chart,
        days_chart,
        units_chart,
        volunteers,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("overview.title"), "/overview", "/overview", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}
