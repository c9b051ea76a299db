//! `GET /api/v1/packs` (with ETag) and `GET /healthz`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_core::pack::Pack;
use doorstep_core::protocol::{Health, PROTOCOL_VERSION, PackFile, PacksResponse};
use doorstep_core::schema::format_timestamp;
use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

use super::body::MIN_PROTOCOL;
use super::error::ApiError;
use super::{App, auth};
use crate::store::Store;

static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../assets/packs");

/// The packs the server hands out, with their ETag.
#[derive(Debug, Clone)]
pub struct PackBundle {
    body: String,
    etag: String,
}

impl PackBundle {
    /// The packs under `assets/packs`, built into the binary. A pack that
    /// does not parse is left out and named in the log.
    pub fn bundled() -> PackBundle {
        let mut packs = Vec::new();
        for file in BUNDLED.files() {
            let Some(text) = file.contents_utf8() else { continue };
            match Pack::from_toml(text) {
                Ok(pack) => packs.push(PackFile {
                    key: pack.key.to_string(),
                    version: pack.version,
                    toml: text.to_owned(),
                }),
                Err(e) => tracing::warn!(file = %file.path().display(), error = %e, "pack left out"),
            }
        }
        packs.sort_by(|a, b| (&a.key, a.version).cmp(&(&b.key, b.version)));
        PackBundle::from_files(packs)
    }

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
