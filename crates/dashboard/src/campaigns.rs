//! Campaigns: the ones a member works in, with their communes, villages
//! and checklists; an admin starts a new one (as `campaign create`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};

use super::page::{day_words, layout, message, pack_titles};
use super::session;
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use doorstep_office::admin::{AdminError, CampaignSpec, PlaceSpec};
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;

/// A campaign as the page shows it.
struct CampaignLine {
    name: String,
    days: String,
    communes: Vec<(String, String)>,
    packs: String,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    campaigns: Vec<CampaignLine>,
    is_admin: bool,
    packs: Vec<(String, String, bool)>,
    today: String,
}

pub(super) async fn campaigns<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<LangQuery>,
) -> Response {
    let all = match doorstep_office::admin::campaigns(&dash.store).await {
        Ok(c) => c,
        Err(e) => return failure(lang, e),
    };
    let titles = pack_titles(lang);
    let title = |key: &str| titles.get(key).cloned().unwrap_or_else(|| key.to_owned());
    let campaigns = all
        .into_iter()
        .filter(|c| c.communes.iter().any(|(id, _, _)| me.may_see(&id.to_string())))
        .map(|c| CampaignLine {
            days: match &c.ends_on {
                Some(end) => format!("{} – {}", day_words(t, &c.starts_on), day_words(t, end)),
                None => format!("{} –", day_words(t, &c.starts_on)),
            },
            communes: c
                .communes
                .iter()
                .filter(|(id, _, _)| me.may_see(&id.to_string()))
                .map(|(_, name, villages)| (name.clone(), villages.join(t.get("list.separator"))))
                .collect(),
            packs: c
                .packs
                .iter()
                .map(|k| title(k))
                .collect::<Vec<_>>()
                .join(t.get("list.separator")),
            name: c.name,
        })
        .collect();
    let resident = doorstep_ingest::pack_catalog::resident_keys();
    let packs = doorstep_ingest::pack_catalog::bundled_packs()
        .iter()
        .map(|p| (p.key.clone(), title(&p.key), resident.contains(&p.key)))
        .collect();
    let body = CampaignsPage {
        t,
        csrf: &me.csrf,
        campaigns,
        is_admin: me.communes.is_none(),
        packs,
        today: Utc::now().date_naive().to_string(),
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), t.get("campaigns.title"), "/campaigns", "/campaigns", body),
        q.lang.as_deref(),
        StatusCode::OK,
    )
}

/// The new-campaign form. Read from the form's pairs, since a checkbox
/// list repeats its name (`pack=vneid&pack=vssid`).
#[derive(Debug, Default)]
pub(super) struct CampaignForm {
    csrf: String,
    name: String,
    starts_on: String,
    ends_on: String,
    province: String,
    communes: String,
    pack: Vec<String>,
}

impl CampaignForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> CampaignForm {
        let mut form = CampaignForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = value,
                "name" => form.name = value,
                "starts_on" => form.starts_on = value,
                "ends_on" => form.ends_on = value,
                "province" => form.province = value,
                "communes" => form.communes = value,
                "pack" => form.pack.push(value),
                _ => {}
            }
        }
        form
    }
}

/// Starts a campaign with its communes and villages; admins only, since a
/// campaign spans communes no lead holds yet.
pub(super) async fn create<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = CampaignForm::from_pairs(pairs);
    let title = t.get("campaigns.new");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    if me.communes.is_some() {
        return message(
            t,
            Some(&me),
            title,
            t.get("campaigns.admins_only"),
            StatusCode::FORBIDDEN,
        );
    }
    let spec = match spec_of(&form) {
        Ok(spec) => spec,
        Err(m) => return message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST),
    };
    match doorstep_office::admin::create_campaign(&dash.store, spec, Utc::now()).await {
        Ok(_) => Redirect::to("/campaigns").into_response(),
        Err(AdminError::Input(m)) => message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST),
        Err(e) => failure(lang, e),
    }
}

/// The form as a campaign: dates checked, one commune per non-empty line.
fn spec_of(form: &CampaignForm) -> Result<CampaignSpec, String> {
    let day = |what: &str, text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| format!("{what} {text:?}: YYYY-MM-DD"))
    };
    let starts_on = day("starts_on", &form.starts_on)?;
    let ends_on = match form.ends_on.trim() {
        "" => None,
        text => Some(day("ends_on", text)?),
    };
    if ends_on.is_some_and(|end| end < starts_on) {
        return Err(format!(
            "ends_on {} is before starts_on {starts_on}",
            form.ends_on.trim()
        ));
    }
    let places = form
        .communes
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| PlaceSpec::parse(l, Some(&form.province)).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let packs = if form.pack.is_empty() {
        doorstep_ingest::pack_catalog::resident_keys()
    } else {
        form.pack.clone()
    };
    Ok(CampaignSpec {
        name: form.name.trim().to_owned(),
        starts_on,
        ends_on,
        places,
        packs,
    })
}
