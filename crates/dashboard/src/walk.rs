//! Tomorrow's walking list (printable) and peer spread.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{PageQuery, filter_for, layout, scope_words};
use super::texts::Texts;
use super::{Dashboard, Lead, failure, html};
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::report::PeerSpread;

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
        Some(_) => names.into_values().collect::<Vec<_>>().join(t.get("list.separator")),
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
    // Commune names only: a few rows, not a whole overview.
    let (spread, names) = match (
        dash.store.peer_spread(filter.clone()).await,
        doorstep_office::admin::names(&dash.store, doorstep_core::schema::EntityKind::Commune).await,
    ) {
        (Ok(s), Ok(n)) => (s, n),
        (Err(e), _) => return failure(lang, e),
        (_, Err(e)) => return failure(lang, e),
    };
    let names: BTreeMap<String, String> = names.into_iter().map(|(id, n)| (id.to_string(), n)).collect();
    let body = PeerSpreadPage {
        t,
        scope: scope_words(t, &filter, &names),
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
