//! What every page shares: the layout, short messages, the sign-in form,
//! and turning a page's query into a report filter the member may see.

use std::collections::BTreeMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use doorstep_core::pack::Pack;
use serde::Deserialize;

use super::session::SignedIn;
use super::texts::{LANGS, Texts};
use super::{Dashboard, html};
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::report::{Filter, LOCAL_OFFSET_HOURS, VillageCoverage};

/// A link of the navigation bar.
struct NavItem {
    href: &'static str,
    label: String,
    current: bool,
}

/// A link of the language switch: another language, named in itself.
struct LangLink {
    lang: &'static str,
    dir: &'static str,
    name: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "base.html")]
struct Base<'a> {
    lang: &'a str,
    dir: &'a str,
    title: &'a str,
    t: &'a Texts,
    signed_in: bool,
    nav: Vec<NavItem>,
    member_name: &'a str,
    csrf: &'a str,
    langs: Vec<LangLink>,
    body: String,
}

/// Wraps a page body in the layout.
pub(super) fn layout(t: &Texts, me: Option<&SignedIn>, title: &str, current: &str, path: &str, body: String) -> String {
    let nav = [
        ("/overview", "nav.overview"),
        ("/follow-ups", "nav.follow_ups"),
        ("/peer-spread", "nav.peer_spread"),
        ("/conflicts", "nav.conflicts"),
        ("/devices", "nav.devices"),
        ("/members", "nav.members"),
        ("/campaigns", "nav.campaigns"),
        ("/exports", "nav.exports"),
    ]
    .into_iter()
    .map(|(href, key)| NavItem {
        href,
        label: t.get(key).to_owned(),
        current: href == current,
    })
    .collect();
    let sep = if path.contains('?') { '&' } else { '?' };
    // Every other language, each named in itself and marked with its own
    // `lang` and `dir`, so a reader finds theirs whatever page they are on.
    let langs = LANGS
        .iter()
        .filter(|l| **l != t.lang)
        .map(|l| {
            let other = Texts::of(l);
            LangLink {
                lang: other.lang,
                dir: other.dir(),
                name: other.name(),
                href: format!("{path}{sep}lang={}", other.lang),
            }
        })
        .collect();
    Base {
        lang: t.lang,
        dir: t.dir(),
        title,
        t,
        signed_in: me.is_some(),
        nav,
        member_name: me.map_or("", |m| m.account.name.as_str()),
        csrf: me.map_or("", |m| m.csrf.as_str()),
        langs,
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
    pub(super) lang: Option<String>,
    pub(super) commune: Option<String>,
    pub(super) village: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
}

/// The filter of a page for a member; `Err` is the page to send instead
/// (another commune's data: 403; a bad date: 400).
pub(super) fn filter_for(me: &SignedIn, q: &PageQuery, t: &Texts) -> Result<Filter, Box<Response>> {
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
pub(super) fn scope_words(t: &Texts, filter: &Filter, names: &BTreeMap<String, String>) -> String {
    match &filter.communes {
        None => t.get("overview.scope_all").to_owned(),
        Some(ids) => {
            let list: Vec<&str> = ids
                .iter()
                .map(|id| names.get(id).map_or(id.as_str(), String::as_str))
                .collect();
            format!(
                "{}: {}",
                t.get("overview.scope_some"),
                list.join(t.get("list.separator"))
            )
        }
    }
}

/// The overview of everything a member may see: where the names of their
/// communes and villages come from.
pub(super) async fn my_places<S: Store + Accounts>(
    dash: &Dashboard<S>,
    me: &SignedIn,
) -> Result<doorstep_store::report::Overview, doorstep_store::StoreError> {
    let filter = Filter {
        communes: me.communes.clone(),
        today: Utc::now().date_naive(),
        ..Filter::default()
    };
    dash.store.overview(filter).await
}

/// Commune names by id, from the overview's villages.
pub(super) fn commune_names(villages: &[VillageCoverage]) -> BTreeMap<String, String> {
    villages
        .iter()
        .map(|v| (v.commune_id.clone(), v.commune.clone()))
        .collect()
}

/// Pack titles in a language, from the packs built in.
pub(super) fn pack_titles(lang: &str) -> BTreeMap<String, String> {
    doorstep_ingest::pack_catalog::bundled_packs()
        .iter()
        .map(|p| (p.key.clone(), Pack::text(&p.title, lang).to_owned()))
        .collect()
}

/// How a language writes a day and a moment (chrono patterns). Vietnamese
/// and Arabic: day/month/year in Western digits and a 24-hour clock (the
/// app writes Arabic numbers in Western digits too, and chrono has no
/// Arabic month names); English: "27 Nov 2026".
fn date_patterns(t: &Texts) -> (&'static str, &'static str) {
    match t.lang {
        "en" => ("%-d %b %Y", "%-d %b %Y, %H:%M"),
        _ => ("%d/%m/%Y", "%d/%m/%Y %H:%M"),
    }
}

/// A stored UTC timestamp as the campaign's local time, written the way
/// the page's language writes dates ("27/11/2026 15:30", "27 Nov 2026,
/// 15:30"); text that is not a timestamp is shown as it is.
pub(super) fn local_time(t: &Texts, stamp: &str) -> String {
    match doorstep_core::schema::parse_timestamp(stamp) {
        Ok(utc) => {
            let local = (utc + chrono::Duration::hours(LOCAL_OFFSET_HOURS)).naive_utc();
            local.format(date_patterns(t).1).to_string()
        }
        Err(_) => stamp.to_owned(),
    }
}

/// A `YYYY-MM-DD` day written the way the page's language writes days.
pub(super) fn day_words(t: &Texts, day: &str) -> String {
    match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) => d.format(date_patterns(t).0).to_string(),
        Err(_) => day.to_owned(),
    }
}

/// A word for a code from the locale (`{group}.{code}`), or the code with
/// spaces for underscores when the locale has none.
pub(super) fn code_word(t: &Texts, group: &str, code: &str) -> String {
    let key = format!("{group}.{code}");
    let word = t.get(&key);
    if word == key {
        code.replace('_', " ")
    } else {
        word.to_owned()
    }
}

pub(super) fn unit_word(t: &Texts, code: &str) -> String {
    code_word(t, "unit", code)
}
