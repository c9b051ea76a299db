//! `GET /api/v1/packs` (with ETag) and `GET /healthz`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_core::protocol::{Health, PROTOCOL_VERSION, PackFile, PacksResponse};
use doorstep_core::schema::format_timestamp;
use sha2::{Digest, Sha256};

use super::body::MIN_PROTOCOL;
use super::error::ApiError;
use super::{App, auth};
use doorstep_store::Store;

/// The packs the server hands out (every version ever handed out, see
/// `pack_catalog`), with their ETag.
#[derive(Debug, Clone)]
pub struct PackBundle {
    body: String,
    etag: String,
}

impl PackBundle {
    /// A bundle of given pack files.
    pub fn from_files(packs: Vec<PackFile>) -> PackBundle {
        let body = serde_json::to_string(&PacksResponse { packs }).unwrap_or_default();
        let digest = Sha256::digest(body.as_bytes());
        let etag = format!(
            "\"{}\"",
            digest.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>()
        );
        PackBundle { body, etag }
    }
}

pub(super) async fn packs<S: Store>(State(app): State<Arc<App<S>>>, headers: HeaderMap) -> Result<Response, ApiError> {
    auth::device(&app, &headers).await?;
    let etag = HeaderValue::from_str(&app.packs.etag).map_err(ApiError::internal)?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == app.packs.etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ],
        app.packs.body.clone(),
    )
        .into_response())
}

pub(super) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        min_protocol: MIN_PROTOCOL,
        protocol: PROTOCOL_VERSION,
        server_time: format_timestamp(Utc::now()),
    })
}
