//! Conflicts to review, and the lead's pick.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::page::{PageQuery, filter_for, layout, message};
use super::session;
use super::texts::Texts;
use super::{Dashboard, Lead, failure, html};
use crate::store::Store;
use crate::store::accounts::Accounts;

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
