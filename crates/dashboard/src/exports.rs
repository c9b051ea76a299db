//! The exports page and its downloads (CSV with BOM, XLSX workbook).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::page::{PageQuery, commune_names, filter_for, layout, message, my_places};
use super::texts::Texts;
use super::{Dashboard, LangQuery, Lead, failure, html};
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;

/// The languages the files themselves are written in
/// (`doorstep_office::export` has Vietnamese and English words).
const FILE_LANGS: [&str; 2] = ["vi", "en"];

/// The language of the files for a page's language: the same when the
/// exports speak it, else English (Arabic: the partners' common language;
/// passing "ar" would mix Vietnamese headers with Arabic pack titles and
/// blocker reasons, which `doorstep-core` has in Arabic).
fn file_lang(lang: &str) -> &'static str {
    FILE_LANGS.into_iter().find(|l| *l == lang).unwrap_or("en")
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage<'a> {
    t: &'a Texts,
    /// Said when the files are not in the page's language.
    in_english: bool,
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
        in_english: file_lang(lang) != lang,
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
    let table = doorstep_office::export::Table::parse(&q.what);
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
    let report = doorstep_office::export::Report {
        scope: doorstep_office::export::Scope {
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
    let written_in = file_lang(lang);
    let (bytes, kind, file) = match table {
        Some(tbl) => (
            Ok(doorstep_office::export::csv(tbl, &report, written_in)),
            "text/csv; charset=utf-8",
            format!("doorstep-{}-{stamp}.csv", q.what),
        ),
        None => (
            doorstep_office::export::xlsx(&report, written_in),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_in_the_page_language_or_english() {
        assert_eq!(file_lang("vi"), "vi");
        assert_eq!(file_lang("en"), "en");
        assert_eq!(file_lang("ar"), "en");
    }
}
