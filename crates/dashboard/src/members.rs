//! The members of the lead's communes, and adding one.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::page::{layout, message, my_places, unit_word};
use super::session::{self, SignedIn};
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use doorstep_store::Store;
use doorstep_store::accounts::{Account, Accounts};
use doorstep_store::password::PasswordError;

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
    roles: Vec<(&'static str, &'a str)>,
    units: Vec<(String, String)>,
    villages: Vec<(String, String)>,
    settable: Vec<(String, String)>,
    min_len: usize,
}

/// Whose sign-in password a member may set: an admin, any other lead or
/// admin; a lead, the other leads working only in their communes.
fn may_set_password(me: &SignedIn, a: &Account) -> bool {
    let signs_in = matches!(a.role.as_str(), "lead" | "admin");
    let other = a.member_id != me.account.member_id;
    let within = match &me.communes {
        None => true,
        Some(_) => a.role == "lead" && !a.communes.is_empty() && a.communes.iter().all(|c| me.may_see(c)),
    };
    signs_in && other && within
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
    let settable = accounts
        .iter()
        .filter(|a| may_set_password(&me, a))
        .map(|a| (a.member_id.clone(), a.name.clone()))
        .collect();
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
    let mut roles = vec![("volunteer", t.get("role.volunteer")), ("lead", t.get("role.lead"))];
    if me.communes.is_none() {
        roles.push(("admin", t.get("role.admin")));
    }
    let body = MembersPage {
        t,
        csrf: &me.csrf,
        members,
        roles,
        units,
        villages,
        settable,
        min_len: doorstep_store::password::MIN_LEN,
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
    #[serde(default)]
    phone: String,
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
    let admin_role = form.role == "admin" && me.communes.is_none();
    if !matches!(form.role.as_str(), "volunteer" | "lead") && !admin_role {
        return message(t, Some(&me), title, &form.role, StatusCode::BAD_REQUEST);
    }
    // The village must be in one of the lead's communes; the member joins
    // the campaign of its commune.
    let commune = match my_places(&dash, &me).await {
        Ok(o) => o
            .villages
            .into_iter()
            .find(|v| v.village_id == form.village)
            .map(|v| v.commune_id),
        Err(e) => return failure(lang, e),
    };
    let Some(commune) = commune else {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    };
    let campaign = match doorstep_office::admin::campaigns(&dash.store).await {
        Ok(all) => all
            .into_iter()
            .find(|c| c.communes.iter().any(|(id, _, _)| id.to_string() == commune))
            .map(|c| c.id.to_string()),
        Err(e) => return failure(lang, e),
    };
    let spec = doorstep_office::admin::MemberSpec {
        campaign,
        name: form.name,
        role: form.role,
        unit: form.unit,
        phone: Some(form.phone.trim().to_owned()).filter(|p| !p.is_empty()),
        villages: vec![form.village],
    };
    match doorstep_office::admin::add_member(&dash.store, spec, Utc::now()).await {
        Ok(_) => Redirect::to("/members").into_response(),
        Err(doorstep_office::admin::AdminError::Input(m)) => message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST),
        Err(e) => failure(lang, e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    csrf: String,
    member: String,
    password: String,
    repeat: String,
}

/// Sets the sign-in password of another lead (as `member set-password`);
/// their open sessions end.
pub(super) async fn set_password<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<PasswordForm>,
) -> Response {
    let title = t.get("members.set_password");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    let accounts = match dash.store.accounts().await {
        Ok(a) => a,
        Err(e) => return failure(lang, e),
    };
    let Some(account) = accounts.iter().find(|a| a.member_id == form.member) else {
        return message(t, Some(&me), title, &form.member, StatusCode::NOT_FOUND);
    };
    if !may_set_password(&me, account) {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    }
    match store_password(&dash, t, &account.member_id, form.password, &form.repeat).await {
        Ok(()) => message(
            t,
            Some(&me),
            title,
            &format!("{} {}", t.get("members.password_set"), account.name),
            StatusCode::OK,
        ),
        Err(r) => r.into_response(&me, t, title, lang),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct OwnPasswordForm {
    csrf: String,
    current: String,
    password: String,
    repeat: String,
}

/// Changes the signed-in member's own password, given the current one.
/// Every session of theirs ends, this one too: they sign in again.
pub(super) async fn own_password<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<OwnPasswordForm>,
) -> Response {
    let title = t.get("members.own_password");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    let stored = match dash.store.password_hash(me.account.member_id.clone()).await {
        Ok(h) => h.unwrap_or_default(),
        Err(e) => return failure(lang, e),
    };
    if !doorstep_store::password::verify_off_thread(form.current, stored).await {
        return message(
            t,
            Some(&me),
            title,
            t.get("members.current_wrong"),
            StatusCode::FORBIDDEN,
        );
    }
    match store_password(&dash, t, &me.account.member_id, form.password, &form.repeat).await {
        Ok(()) => Redirect::to("/login").into_response(),
        Err(r) => r.into_response(&me, t, title, lang),
    }
}

/// Why a new password was not stored.
enum Refused {
    /// The two entries differ, or it is too short: the member's to fix.
    Input(String),
    /// The store or the hash failed.
    Failed(String),
}

impl Refused {
    fn into_response(self, me: &SignedIn, t: &Texts, title: &str, lang: &str) -> Response {
        match self {
            Refused::Input(m) => message(t, Some(me), title, &m, StatusCode::BAD_REQUEST),
            Refused::Failed(e) => failure(lang, e),
        }
    }
}

/// Checks, hashes (off the async threads; the hash refuses a short
/// password) and stores a new password.
async fn store_password<S: Store + Accounts>(
    dash: &Dashboard<S>,
    t: &Texts,
    member_id: &str,
    password: String,
    repeat: &str,
) -> Result<(), Refused> {
    if password != repeat {
        return Err(Refused::Input(t.get("members.passwords_differ").to_owned()));
    }
    let hash = doorstep_store::password::hash_off_thread(password)
        .await
        .map_err(|e| match e {
            PasswordError::TooShort => Refused::Input(t.get("members.password_short").to_owned()),
            PasswordError::Hash(e) => Refused::Failed(e),
        })?;
    dash.store
        .set_password(member_id.to_owned(), hash, Utc::now())
        .await
        .map_err(|e| Refused::Failed(e.to_string()))
}
