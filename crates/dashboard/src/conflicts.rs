//! Conflicts to review, and the lead's pick.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use doorstep_core::schema::{EntityKind, FieldType};
use serde::Deserialize;

use super::page::{PageQuery, code_word, filter_for, layout, local_time, message};
use super::session;
use super::texts::Texts;
use super::{Dashboard, Lead, failure, html};
use doorstep_store::accounts::Accounts;
use doorstep_store::report::ConflictRow;
use doorstep_store::{Store, StoreError};

/// One conflict as the lead reads it: what record, which field in words.
struct ConflictView {
    label: String,
    what: String,
    entity_id: String,
    field: String,
    values: Vec<ValueView>,
}

/// One of its values: in words, when (local time) and by whom.
struct ValueView {
    shown: String,
    when: String,
    who: String,
    version: String,
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct ConflictsPage<'a> {
    t: &'a Texts,
    csrf: &'a str,
    rows: Vec<ConflictView>,
}

/// A stored value in the page's words: yes/no, a code's word, a local
/// time; anything else as it is.
fn value_words(t: &Texts, kind: Option<EntityKind>, field: &str, value: &str) -> String {
    if value.is_empty() {
        return t.get("conflicts.empty").to_owned();
    }
    match kind.and_then(|k| k.field(field)).map(|f| &f.ty) {
        Some(FieldType::Bool) => t
            .get(if value == "true" {
                "conflicts.yes"
            } else {
                "conflicts.no"
            })
            .to_owned(),
        Some(FieldType::Timestamp) => local_time(t, value),
        Some(FieldType::Code { .. }) => code_word(t, field, value),
        _ => value.to_owned(),
    }
}

/// The rows of the page: words for kinds and fields, and the member whose
/// tablet wrote each value.
fn views(t: &Texts, rows: Vec<ConflictRow>, writers: &BTreeMap<String, String>) -> Vec<ConflictView> {
    rows.into_iter()
        .map(|row| {
            let kind = row.kind.parse::<EntityKind>().ok();
            let what = format!(
                "{} · {}",
                code_word(t, "kind", &row.kind),
                code_word(t, "field", &row.field)
            );
            let values = row
                .values
                .into_iter()
                .map(|v| ValueView {
                    shown: value_words(t, kind, &row.field, &v.value),
                    when: local_time(t, &v.written_at),
                    who: writers
                        .get(&v.device)
                        .cloned()
                        .unwrap_or_else(|| t.get("conflicts.unknown_tablet").to_owned()),
                    version: v.version,
                })
                .collect();
            ConflictView {
                label: row.label,
                what,
                entity_id: row.entity_id,
                field: row.field,
                values,
            }
        })
        .collect()
}

/// Who wrote with each device: its member's name, and the office's pick.
async fn writers<S: Store + Accounts>(dash: &Dashboard<S>, t: &Texts) -> Result<BTreeMap<String, String>, StoreError> {
    let members: BTreeMap<String, String> = dash
        .store
        .accounts()
        .await?
        .into_iter()
        .map(|a| (a.member_id, a.name))
        .collect();
    let mut writers: BTreeMap<String, String> = dash
        .store
        .devices()
        .await?
        .into_iter()
        .map(|d| {
            let member = d.member_id.and_then(|m| members.get(&m.to_string()).cloned());
            let name = member
                .or(d.label)
                .unwrap_or_else(|| t.get("conflicts.unknown_tablet").to_owned());
            (d.id.to_string(), name)
        })
        .collect();
    writers.insert(
        dash.store.office_device().to_string(),
        t.get("conflicts.office").to_owned(),
    );
    Ok(writers)
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
    let (rows, writers) = match (dash.store.conflicts(filter).await, writers(&dash, t).await) {
        (Ok(rows), Ok(writers)) => (rows, writers),
        (Err(e), _) | (_, Err(e)) => return failure(lang, e),
    };
    let body = ConflictsPage {
        t,
        csrf: &me.csrf,
        rows: views(t, rows, &writers),
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
    let write = doorstep_ingest::OfficeWrite {
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
