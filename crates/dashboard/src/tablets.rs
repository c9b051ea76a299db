//! Tablets: the list, revoking one (keeping or erasing its data), and a one-time enrolment code with
//! its QR code.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::page::{code_word, commune_names, layout, local_time, message, my_places};
use super::session;
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use doorstep_core::ids::DeviceId;
use doorstep_store::accounts::Accounts;
use doorstep_store::{DELIVERED, DeviceRecord, RelayRecord, Store};

struct DeviceLine {
    id: String,
    label: String,
    member: String,
    commune: String,
    /// How its work last reached the office, worded: directly, and through
    /// the tablet that last carried it; "never" when neither.
    reached: Vec<String>,
    /// Batches carried for it or by it that the office refused, worded.
    refused: Vec<String>,
    revoked: bool,
    /// What became of the tablet's data, worded: empty while not revoked.
    status: String,
    /// Revoked without erase asked: a lead may still have it erased.
    may_erase: bool,
    /// A copy of it was seen, worded: empty if none.
    copied: String,
}

/// An enrolment code not used yet: for whom, until when.
struct CodeLine {
    hash: String,
    member: String,
    commune: String,
    made: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    devices: Vec<DeviceLine>,
    codes: Vec<CodeLine>,
    members: Vec<(String, String)>,
    communes: Vec<(String, String)>,
}

pub(super) async fn devices<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Query(q): Query<LangQuery>,
) -> Response {
    let (devices, codes, accounts, overview) = match (
        dash.store.devices().await,
        dash.store.pending_codes(Utc::now()).await,
        dash.store.accounts().await,
        my_places(&dash, &me).await,
    ) {
        (Ok(d), Ok(c), Ok(a), Ok(o)) => (d, c, a, o),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => return failure(lang, e),
    };
    let relays = match dash.store.relays().await {
        Ok(r) => r,
        Err(e) => return failure(lang, e),
    };
    let communes = commune_names(&overview.villages);
    // Members a code may be made for: those working in the lead's communes.
    let enrollable: Vec<(String, String)> = accounts
        .iter()
        .filter(|a| me.communes.is_none() || a.communes.iter().any(|c| me.may_see(c)))
        .map(|a| (a.member_id.clone(), a.name.clone()))
        .collect();
    let members: BTreeMap<String, String> = accounts.into_iter().map(|a| (a.member_id, a.name)).collect();
    let devices: Vec<DeviceRecord> = devices
        .into_iter()
        .filter(|d| d.commune_id.as_deref().is_some_and(|c| me.may_see(c)))
        .collect();
    // Other tablets are named by label only when the lead may see them.
    let names: HashMap<DeviceId, String> = devices.iter().map(|d| (d.id, label_of(d))).collect();
    let lines = devices
        .into_iter()
        .map(|d| DeviceLine {
            id: d.id.to_string(),
            label: label_of(&d),
            member: d
                .member_id
                .and_then(|m| members.get(&m.to_string()).cloned())
                .unwrap_or_default(),
            commune: d
                .commune_id
                .as_ref()
                .and_then(|c| communes.get(c).cloned())
                .unwrap_or_default(),
            reached: reached(t, &d, &relays, &names),
            refused: refused(t, d.id, &relays, &names),
            revoked: d.revoked_at.is_some(),
            status: device_status(t, &d),
            may_erase: d.revoked_at.is_some() && d.erase_requested_at.is_none(),
            copied: d.copied_at.as_deref().map_or_else(String::new, |at| {
                t.get("devices.copied")
                    .replace("{when}", &local_time(t, at))
                    .replace("{n}", &d.copied_kept.to_string())
            }),
        })
        .collect();
    let codes = codes
        .into_iter()
        .filter(|c| me.may_see(&c.commune_id.to_string()))
        .map(|c| CodeLine {
            member: members.get(&c.member_id.to_string()).cloned().unwrap_or_default(),
            commune: communes.get(&c.commune_id.to_string()).cloned().unwrap_or_default(),
            made: local_time(t, &c.created_at),
            expires: local_time(t, &c.expires_at),
            hash: c.code_hash,
        })
        .collect();
    let body = DevicesPage {
        t,
        csrf: &me.csrf,
        devices: lines,
        codes,
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

fn label_of(d: &DeviceRecord) -> String {
    d.label.clone().unwrap_or_else(|| d.id.to_string())
}

/// Another tablet as a line names it: its label if the lead may see it,
/// else the last 8 characters of its id (random, so enough to tell tablets
/// apart), isolated so it reads whole in a right-to-left sentence.
fn name_of(id: DeviceId, names: &HashMap<DeviceId, String>) -> String {
    let name = names.get(&id).cloned().unwrap_or_else(|| {
        let id = id.to_string();
        id[id.len().saturating_sub(8)..].to_owned()
    });
    format!("\u{2068}{name}\u{2069}")
}

/// How a tablet's work last reached the office: directly (its own last
/// sync) and through the tablet that last delivered a batch of it.
fn reached(t: &Texts, d: &DeviceRecord, relays: &[RelayRecord], names: &HashMap<DeviceId, String>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(at) = d.last_seen_at.as_deref() {
        lines.push(t.get("devices.reached_directly").replace("{when}", &local_time(t, at)));
    }
    let through = relays
        .iter()
        .filter(|r| r.origin == d.id && r.outcome == DELIVERED)
        .max_by(|a, b| a.last_at.cmp(&b.last_at));
    if let Some(r) = through {
        lines.push(
            t.get("devices.reached_through")
                .replace("{carrier}", &name_of(r.carrier, names))
                .replace("{when}", &local_time(t, &r.last_at)),
        );
    }
    if lines.is_empty() {
        lines.push(t.get("devices.never").to_owned());
    }
    lines
}

/// Carried batches the office refused, where the tablet wrote them (and
/// another carried them) or carried them for another, worded with why.
fn refused(t: &Texts, id: DeviceId, relays: &[RelayRecord], names: &HashMap<DeviceId, String>) -> Vec<String> {
    relays
        .iter()
        .filter(|r| r.outcome != DELIVERED && (r.origin == id || r.carrier == id))
        .map(|r| {
            let (key, other, who) = if r.origin == id {
                ("devices.relay_refused", "{carrier}", r.carrier)
            } else {
                ("devices.carried_refused", "{origin}", r.origin)
            };
            t.get(key)
                .replace(other, &name_of(who, names))
                .replace("{reason}", &code_word(t, "devices.relay", &r.outcome))
                .replace("{n}", &r.count.to_string())
        })
        .collect()
}

/// Revoked, erase asked, or erased (with the unsent changes lost), worded.
fn device_status(t: &Texts, d: &DeviceRecord) -> String {
    match (&d.revoked_at, &d.erase_requested_at, &d.erased_at) {
        (None, _, _) => String::new(),
        (Some(at), None, _) => t.get("devices.revoked_at").replace("{when}", &local_time(t, at)),
        (Some(_), Some(asked), None) => t.get("devices.erase_asked").replace("{when}", &local_time(t, asked)),
        (Some(_), Some(_), Some(done)) => t
            .get("devices.erased")
            .replace("{when}", &local_time(t, done))
            .replace("{n}", &d.erased_unsent.unwrap_or(0).to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RevokeForm {
    csrf: String,
    device: String,
    /// "1": revoke and erase the tablet's data.
    #[serde(default)]
    erase: Option<String>,
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
    let erase = form.erase.as_deref() == Some("1");
    match dash.store.revoke(device.id, erase, Utc::now()).await {
        Ok(_) => {
            tracing::info!(device = %device.id, erase, "a lead revoked a tablet");
            Redirect::to("/devices").into_response()
        }
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
    let issued = match doorstep_office::admin::new_enrol_code(
        &dash.store,
        &form.member,
        &form.commune,
        chrono::Duration::days(7),
        Utc::now(),
    )
    .await
    {
        Ok(issued) => issued,
        Err(doorstep_office::admin::AdminError::Input(m)) => {
            return message(t, Some(&me), title, &m, StatusCode::BAD_REQUEST);
        }
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
        expires: local_time(t, &doorstep_core::schema::format_timestamp(issued.expires_at)),
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    html(
        layout(t, Some(&me), title, "/devices", "/devices", body),
        None,
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct CancelCodeForm {
    csrf: String,
    code: String,
}

/// Stops a code that was never used (a tablet lost before enrolling, a
/// code sent to the wrong person).
pub(super) async fn cancel_code<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    Lead { lang, t, me }: Lead,
    Form(form): Form<CancelCodeForm>,
) -> Response {
    let title = t.get("devices.cancel_code");
    if !session::same_secret(&me.csrf, &form.csrf) {
        return message(t, Some(&me), title, t.get("error.csrf"), StatusCode::FORBIDDEN);
    }
    let now = Utc::now();
    let pending = match dash.store.pending_codes(now).await {
        Ok(p) => p,
        Err(e) => return failure(lang, e),
    };
    let Some(code) = pending.into_iter().find(|c| c.code_hash == form.code) else {
        return message(t, Some(&me), title, t.get("devices.code_gone"), StatusCode::NOT_FOUND);
    };
    if !me.may_see(&code.commune_id.to_string()) {
        return message(t, Some(&me), title, t.get("error.forbidden"), StatusCode::FORBIDDEN);
    }
    match dash.store.cancel_code(code.code_hash, now).await {
        Ok(true) => Redirect::to("/devices").into_response(),
        Ok(false) => message(t, Some(&me), title, t.get("devices.code_gone"), StatusCode::NOT_FOUND),
        Err(e) => failure(lang, e),
    }
}
