//! The members of the lead's communes, and adding one.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::page::{layout, message, my_places, unit_word};
use super::session;
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use crate::store::Store;
use crate::store::accounts::Accounts;

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
