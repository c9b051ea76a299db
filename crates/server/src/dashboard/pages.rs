//! The dashboard's pages: each handler checks who may see what, asks the
//! store, and fills a template.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use doorstep_core::labels;
use doorstep_core::pack::Pack;
use doorstep_core::vocab::BlockerReason;
use serde::Deserialize;

use super::session::{self, SignedIn};
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use crate::chart::{self, BarRow, ChartText, DayCount, Fill, Layout, Series};
use crate::report::{Filter, LOCAL_OFFSET_HOURS, PeerSpread, VillageCoverage, VolunteerWork};
use crate::store::Store;
use crate::store::accounts::Accounts;

/// A link of the navigation bar.
struct NavItem {
    href: &'static str,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "base.html")]
struct Base<'a> {
    lang: &'a str,
    title: &'a str,
    t: &'a Texts,
    signed_in: bool,
    nav: Vec<NavItem>,
    member_name: &'a str,
    csrf: &'a str,
    other_lang: &'a str,
    other_lang_href: String,
    body: String,
}

/// Wraps a page body in the layout.
fn layout(t: &Texts, me: Option<&SignedIn>, title: &str, current: &str, path: &str, body: String) -> String {
    let nav = [
        ("/overview", "nav.overview"),
        ("/follow-ups", "nav.follow_ups"),
        ("/peer-spread", "nav.peer_spread"),
        ("/conflicts", "nav.conflicts"),
        ("/devices", "nav.devices"),
        ("/members", "nav.members"),
        ("/exports", "nav.exports"),
    ]
    .into_iter()
    .map(|(href, key)| NavItem {
        href,
        label: t.get(key).to_owned(),
        current: href == current,
    })
    .collect();
    let other_lang = if t.lang == "en" { "vi" } else { "en" };
    let sep = if path.contains('?') { '&' } else { '?' };
    Base {
        lang: t.lang,
        title,
        t,
        signed_in: me.is_some(),
        nav,
        member_name: me.map_or("", |m| m.account.name.as_str()),
        csrf: me.map_or("", |m| m.csrf.as_str()),
        other_lang,
        other_lang_href: format!("{path}{sep}lang={other_lang}"),
        body,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"))
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    heading: &'a str,
    message: &'a str,
    back: &'a str,
}

/// A short page saying what happened.
pub(super) fn message(t: &Texts, me: Option<&SignedIn>, heading: &str, text: &str, status: StatusCode) -> Response {
    let body = MessagePage {
        heading,
        message: text,
        back: t.get("message.back"),
    }
    .render()
    .unwrap_or_default();
    html(layout(t, me, heading, "", "/overview", body), None, status)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    error: Option<&'a str>,
    name: &'a str,
}

pub(super) fn render_login(t: &Texts, csrf: &str, error: Option<&str>, name: &str) -> String {
    let body = LoginPage { t, csrf, error, name }.render().unwrap_or_default();
    layout(t, None, t.get("login.title"), "", "/login", body)
}

/// What every report page takes in its query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    lang: Option<String>,
    commune: Option<String>,
    village: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The filter of a page for a member; `Err` is the page to send instead
/// (another commune's data: 403; a bad date: 400).
fn filter_for(me: &SignedIn, q: &PageQuery, t: &Texts) -> Result<Filter, Box<Response>> {
    let day = |s: &Option<String>| -> Result<Option<NaiveDate>, Box<Response>> {
        match s.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| {
                Box::new(message(
                    t,
                    Some(me),
                    t.get("message.error"),
                    &format!("{text:?}: YYYY-MM-DD"),
                    StatusCode::BAD_REQUEST,
                ))
            }),
        }
    };
    let communes = match q.commune.as_deref().filter(|c| !c.is_empty()) {
        Some(c) if !me.may_see(c) => {
            return Err(Box::new(message(
                t,
                Some(me),
                t.get("message.error"),
                t.get("error.forbidden"),
                StatusCode::FORBIDDEN,
            )));
        }
        Some(c) => Some(vec![c.to_owned()]),
        None => me.communes.clone(),
    };
    Ok(Filter {
        communes,
        village: q.village.clone().filter(|v| !v.is_empty()),
        from: day(&q.from)?,
        to: day(&q.to)?,
        today: (Utc::now() + chrono::Duration::hours(LOCAL_OFFSET_HOURS)).date_naive(),
    })
}

/// "All communes" or the names of the member's communes.
fn scope_words(t: &Texts, filter: &Filter, names: &BTreeMap<String, String>) -> String {
    match &filter.communes {
        None => t.get("overview.scope_all").to_owned(),
        Some(ids) => {
            let list: Vec<&str> = ids
                .iter()
                .map(|id| names.get(id).map_or(id.as_str(), String::as_str))
                .collect();
            format!("{}: {}", t.get("overview.scope_some"), list.join(", "))
        }
    }
}

/// The overview of everything a member may see: where the names of their
/// communes and villages come from.
async fn my_places<S: Store + Accounts>(
    dash: &Dashboard<S>,
    me: &SignedIn,
) -> Result<crate::report::Overview, crate::store::StoreError> {
    let filter = Filter {
        communes: me.communes.clone(),
        today: Utc::now().date_naive(),
        ..Filter::default()
    };
    dash.store.overview(filter).await
}

/// Commune names by id, from the overview's villages.
fn commune_names(villages: &[VillageCoverage]) -> BTreeMap<String, String> {
    villages
        .iter()
        .map(|v| (v.commune_id.clone(), v.commune.clone()))
        .collect()
}

/// Pack titles in a language, from the packs built in.
fn pack_titles(lang: &str) -> BTreeMap<String, String> {
    crate::pack_catalog::bundled()
        .into_iter()
        .filter_map(|f| Pack::from_toml(&f.toml).ok())
        .map(|p| (p.key.clone(), Pack::text(&p.title, lang).to_owned()))
        .collect()
}

struct PlaceRow {
    name: String,
    c: VillageCoverage,
    commune_row: bool,
}

struct PackLine {
    title: String,
    o: crate::report::PackOutcome,
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

fn unit_word(t: &Texts, code: &str) -> String {
    let key = format!("unit.{code}");
    let word = t.get(&key);
    if word == key {
        code.replace('_', " ")
    } else {
        word.to_owned()
    }
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
    let layout_wide = Layout::default();
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
        &layout_wide,
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
            ..Layout::default()
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

struct Stop {
    head: String,
    landmark: String,
    phone: String,
    why: String,
    last_visit: String,
    follow_up_on: String,
}

struct WalkVillage {
    name: String,
    stops: Vec<Stop>,
}

#[derive(Template)]
#[template(path = "follow_ups.html")]
struct FollowUpsPage<'a> {
    t: &'a Texts,
    scope: String,
    villages: Vec<WalkVillage>,
}

pub(super) async fn follow_ups<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<PageQuery>,
) -> Response {
    let filter = match filter_for(&me, &q, t) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let stops = match dash.store.walking_list(filter.clone()).await {
        Ok(s) => s,
        Err(e) => return failure(lang, e),
    };
    let mut villages: Vec<WalkVillage> = Vec::new();
    let mut names = BTreeMap::new();
    for s in stops {
        let name = format!("{} / {}", s.commune, s.village);
        names.insert(s.commune.clone(), s.commune.clone());
        if villages.last().is_none_or(|v| v.name != name) {
            villages.push(WalkVillage {
                name,
                stops: Vec::new(),
            });
        }
        let why = t.get(&format!("status.{}", s.status)).to_owned();
        let last = match (&s.last_visit_on, &s.last_outcome) {
            (Some(day), Some(outcome)) => format!("{day} ({})", t.get(&format!("outcome.{outcome}"))),
            (Some(day), None) => day.clone(),
            _ => String::new(),
        };
        if let Some(v) = villages.last_mut() {
            v.stops.push(Stop {
                head: s.head_name,
                landmark: s.landmark.unwrap_or_default(),
                phone: s.phone.unwrap_or_default(),
                why,
                last_visit: last,
                follow_up_on: s.follow_up_on.unwrap_or_default(),
            });
        }
    }
    let scope = match &filter.communes {
        None => t.get("overview.scope_all").to_owned(),
        Some(_) => names.into_values().collect::<Vec<_>>().join(", "),
    };
    let body = FollowUpsPage { t, scope, villages }
        .render()
        .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(
            t,
            Some(&me),
            t.get("follow_ups.title"),
            "/follow-ups",
            "/follow-ups",
            body,
        ),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "peer_spread.html")]
struct PeerSpreadPage<'a> {
    t: &'a Texts,
    scope: String,
    spread: PeerSpread,
}

pub(super) async fn peer_spread<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<PageQuery>,
) -> Response {
    let filter = match filter_for(&me, &q, t) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (spread, overview) = match (
        dash.store.peer_spread(filter.clone()).await,
        dash.store.overview(filter.clone()).await,
    ) {
        (Ok(s), Ok(o)) => (s, o),
        (Err(e), _) | (_, Err(e)) => return failure(lang, e),
    };
    let body = PeerSpreadPage {
        t,
        scope: scope_words(t, &filter, &commune_names(&overview.villages)),
        spread,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(
            t,
            Some(&me),
            t.get("peer_spread.title"),
            "/peer-spread",
            "/peer-spread",
            body,
        ),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage<'a> {
    t: &'a Texts,
    all_allowed: bool,
    communes: Vec<(String, String)>,
}

pub(super) async fn exports<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<LangQuery>,
) -> Response {
    let o = match my_places(&dash, &me).await {
        Ok(o) => o,
        Err(e) => return failure(lang, e),
    };
    let body = ExportsPage {
        t,
        all_allowed: me.communes.is_none(),
        communes: commune_names(&o.villages).into_iter().collect(),
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("exports.title"), "/exports", "/exports", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct DownloadQuery {
    what: String,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn download<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<DownloadQuery>,
) -> Response {
    let filter = match filter_for(&me, &q.page, t) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let table = crate::export::Table::parse(&q.what);
    if table.is_none() && q.what != "workbook" {
        return message(t, Some(&me), t.get("message.error"), &q.what, StatusCode::BAD_REQUEST);
    }
    let (overview, visits, runs) = match (
        dash.store.overview(filter.clone()).await,
        dash.store.visit_rows(filter.clone()).await,
        dash.store.run_rows(filter.clone()).await,
    ) {
        (Ok(o), Ok(v), Ok(r)) => (o, v, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failure(lang, e),
    };
    let names = commune_names(&overview.villages);
    let report = crate::export::Report {
        scope: crate::export::Scope {
            communes: filter
                .communes
                .iter()
                .flatten()
                .map(|c| names.get(c).cloned().unwrap_or_else(|| c.clone()))
                .collect(),
            village: None,
            from: filter.from,
            to: filter.to,
            today: filter.today,
        },
        overview,
        visits,
        runs,
    };
    let stamp = filter.today.format("%Y-%m-%d");
    let (bytes, kind, file) = match table {
        Some(tbl) => (
            Ok(crate::export::csv(tbl, &report, lang)),
            "text/csv; charset=utf-8",
            format!("doorstep-{}-{stamp}.csv", q.what),
        ),
        None => (
            crate::export::xlsx(&report, lang),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("doorstep-{stamp}.xlsx"),
        ),
    };
    match bytes {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, kind.to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failure(lang, e),
    }
}

struct DeviceLine {
    id: String,
    label: String,
    member: String,
    commune: String,
    last_sync: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    devices: Vec<DeviceLine>,
    members: Vec<(String, String)>,
    communes: Vec<(String, String)>,
}

pub(super) async fn devices<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<LangQuery>,
) -> Response {
    let (devices, accounts, overview) = match (
        dash.store.devices().await,
        dash.store.accounts().await,
        my_places(&dash, &me).await,
    ) {
        (Ok(d), Ok(a), Ok(o)) => (d, a, o),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failure(lang, e),
    };
    let communes = commune_names(&overview.villages);
    // Members a code may be made for: those working in the lead's communes.
    let enrollable: Vec<(String, String)> = accounts
        .iter()
        .filter(|a| me.communes.is_none() || a.communes.iter().any(|c| me.may_see(c)))
        .map(|a| (a.member_id.clone(), a.name.clone()))
        .collect();
    let members: BTreeMap<String, String> = accounts.into_iter().map(|a| (a.member_id, a.name)).collect();
    let lines = devices
        .into_iter()
        .filter(|d| d.commune_id.as_deref().is_some_and(|c| me.may_see(c)))
        .map(|d| DeviceLine {
            id: d.id.to_string(),
            label: d.label.clone().unwrap_or_else(|| d.id.to_string()),
            member: d
                .member_id
                .and_then(|m| members.get(&m.to_string()).cloned())
                .unwrap_or_default(),
            commune: d
                .commune_id
                .as_ref()
                .and_then(|c| communes.get(c).cloned())
                .unwrap_or_default(),
            last_sync: d
                .last_seen_at
                .clone()
                .unwrap_or_else(|| t.get("devices.never").to_owned()),
            revoked: d.revoked_at.is_some(),
        })
        .collect();
    let body = DevicesPage {
        t,
        csrf: &me.csrf,
        devices: lines,
        members: enrollable,
        communes: communes.into_iter().collect(),
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("devices.title"), "/devices", "/devices", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct RevokeForm {
    csrf: String,
    device: String,
}

pub(super) async fn revoke<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<RevokeForm>,
) -> Response {
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(
            t,
            Some(&me),
            t.get("devices.revoke"),
            t.get("error.csrf"),
            StatusCode::FORBIDDEN,
        );
    }
    let devices = match dash.store.devices().await {
        Ok(d) => d,
        Err(e) => return failure(lang, e),
    };
    let Some(device) = devices.into_iter().find(|d| d.id.to_string() == form.device) else {
        return message(
            t,
            Some(&me),
            t.get("devices.revoke"),
            &form.device,
            StatusCode::NOT_FOUND,
        );
    };
    if !device.commune_id.as_deref().is_some_and(|c| me.may_see(c)) {
        return message(
            t,
            Some(&me),
            t.get("devices.revoke"),
            t.get("error.forbidden"),
            StatusCode::FORBIDDEN,
        );
    }
    match dash.store.revoke(device.id, Utc::now()).await {
        Ok(_) => Redirect::to("/devices").into_response(),
        Err(e) => failure(lang, e),
    }
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct ConflictsPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    rows: Vec<crate::report::ConflictRow>,
}

pub(super) async fn conflicts<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<PageQuery>,
) -> Response {
    let filter = match filter_for(&me, &q, t) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let rows = match dash.store.conflicts(filter).await {
        Ok(rows) => rows,
        Err(e) => return failure(lang, e),
    };
    let body = ConflictsPage {
        t,
        csrf: &me.csrf,
        rows,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("conflicts.title"), "/conflicts", "/conflicts", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct ResolveForm {
    csrf: String,
    entity: String,
    field: String,
    version: String,
}

/// The lead's pick: a new office change that writes the chosen value over
/// the shown one and resolves every value that lost, so the conflict
/// closes on every tablet at its next sync.
pub(super) async fn resolve<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<ResolveForm>,
) -> Response {
    let title = t.get("conflicts.title");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    let Ok(id) = uuid::Uuid::parse_str(&form.entity) else {
        return message(t, Some(&me), title, &form.entity, StatusCode::BAD_REQUEST);
    };
    let known = match dash.store.entity(id).await {
        Ok(Some(k)) => k,
        Ok(None) => return message(t, Some(&me), title, &form.entity, StatusCode::NOT_FOUND),
        Err(e) => return failure(lang, e),
    };
    if !me.may_see(&known.scope) {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    }
    let version_text = |v: &doorstep_core::change::Version| format!("{:016x}-{}", v.hlc.as_u64(), v.device);
    let Some(field) = known.state.fields.get(&form.field).filter(|f| !f.losers.is_empty()) else {
        return message(t, Some(&me), title, t.get("conflicts.changed"), StatusCode::CONFLICT);
    };
    let chosen = field
        .winner
        .iter()
        .map(|w| (&w.version, &w.value))
        .chain(field.losers.iter())
        .find(|(v, _)| version_text(v) == form.version)
        .map(|(_, value)| value.clone());
    let Some(value) = chosen else {
        return message(t, Some(&me), title, t.get("conflicts.changed"), StatusCode::CONFLICT);
    };
    let write = crate::store::OfficeWrite {
        kind: known.kind,
        id,
        create: false,
        fields: vec![(form.field.clone(), value)],
        resolves_conflicts: true,
    };
    match dash.store.office_write(vec![write], Utc::now()).await {
        Ok(_) => Redirect::to("/conflicts").into_response(),
        Err(e) => failure(lang, e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CodeForm {
    csrf: String,
    member: String,
    commune: String,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage<'a> {
    t: &'a Texts,
    member: &'a str,
    commune: &'a str,
    code: &'a str,
    qr: String,
    expires: String,
}

/// A one-time enrolment code for a member's tablet, shown once with its QR
/// code (the server keeps only its hash).
pub(super) async fn new_code<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let title = t.get("devices.code_title");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    if !me.may_see(&form.commune) {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    }
    let issued = match crate::admin::new_enrol_code(
        &dash.store,
        &form.member,
        &form.commune,
        chrono::Duration::days(7),
        Utc::now(),
    )
    .await
    {
        Ok(issued) => issued,
        Err(crate::admin::AdminError::Input(m)) => return message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST),
        Err(e) => return failure(lang, e),
    };
    // Tablets reach the server at the address the lead's browser used.
    let server = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}"));
    let body = CodePage {
        t,
        member: &issued.member_name,
        commune: &issued.commune_name,
        code: &issued.code,
        qr: issued.qr_svg(server.as_deref()).unwrap_or_default(),
        expires: issued.expires_at.format("%Y-%m-%d %H:%M").to_string(),
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), title, "/devices", "/devices", body),
        None,
        StatusCode::OK,
    )
}

struct MemberLine {
    name: String,
    role: String,
    unit: String,
    signs_in: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    members: Vec<MemberLine>,
    units: Vec<(String, String)>,
    villages: Vec<(String, String)>,
}

pub(super) async fn members<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<LangQuery>,
) -> Response {
    let (accounts, overview) = match (dash.store.accounts().await, my_places(&dash, &me).await) {
        (Ok(a), Ok(o)) => (a, o),
        (Err(e), _) | (_, Err(e)) => return failure(lang, e),
    };
    let members = accounts
        .into_iter()
        .filter(|a| me.communes.is_none() || a.communes.iter().any(|c| me.may_see(c)))
        .map(|a| MemberLine {
            role: t.get(&format!("role.{}", a.role)).to_owned(),
            unit: unit_word(t, &a.unit),
            signs_in: a.has_password && matches!(a.role.as_str(), "lead" | "admin"),
            name: a.name,
        })
        .collect();
    let units = doorstep_core::vocab::Unit::CODES
        .iter()
        .map(|u| ((*u).to_owned(), unit_word(t, u)))
        .collect();
    let villages = overview
        .villages
        .iter()
        .map(|v| (v.village_id.clone(), format!("{} / {}", v.commune, v.village)))
        .collect();
    let body = MembersPage {
        t,
        csrf: &me.csrf,
        members,
        units,
        villages,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("members.title"), "/members", "/members", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct MemberForm {
    csrf: String,
    name: String,
    role: String,
    unit: String,
    village: String,
}

/// Adds a volunteer or a lead walking one of the lead's villages (the same
/// as `doorstep-server member add`).
pub(super) async fn add_member<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<MemberForm>,
) -> Response {
    let title = t.get("members.add");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    if !matches!(form.role.as_str(), "volunteer" | "lead") {
        return message(t, Some(&me), title, &form.role, StatusCode::BAD_REQUEST);
    }
    // The village must be in one of the lead's communes.
    let allowed = match my_places(&dash, &me).await {
        Ok(o) => o.villages.iter().any(|v| v.village_id == form.village),
        Err(e) => return failure(lang, e),
    };
    if !allowed {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    }
    let spec = crate::admin::MemberSpec {
        campaign: None,
        name: form.name,
        role: form.role,
        unit: form.unit,
        phone: None,
        villages: vec![form.village],
    };
    match crate::admin::add_member(&dash.store, spec, Utc::now()).await {
        Ok(_) => Redirect::to("/members").into_response(),
        Err(crate::admin::AdminError::Input(m)) => message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST),
        Err(e) => failure(lang, e),
    }
}
