//! `POST` and `GET /api/v1/sync/upload`: a sync request sent as a
//! resumable upload (`doorstep_core::protocol::upload`).
//!
//! The body is streamed frame by frame into [`crate::uploads::Uploads`]
//! (not read whole by an extractor), so when the link cuts mid-body, the
//! bytes that arrived are already kept: a cut reaches this handler as a
//! read error, and a timeout that drops the handler loses nothing either.
//! The request-size layer still wraps the body, and the declared length is
//! checked against the same limit before a byte is kept. Once the body is
//! whole and its SHA-256 is its key, it is decompressed here (the
//! decompression layer never sees it whole) and answered by
//! [`super::sync::answer`], exactly as `POST /api/v1/sync`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use doorstep_core::protocol::{ErrorCode, upload};
use http_body_util::BodyExt;

use super::error::ApiError;
use super::{App, auth, body, sync};
use crate::uploads::{Finished, UploadKey, UploadRefusal};
use doorstep_store::Store;

/// `POST`: one piece of an upload; the sync answer once the body is whole.
pub(super) async fn piece<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, Response> {
    let device = auth::device(&app, &headers)
        .await
        .map_err(IntoResponse::into_response)?;
    let key = key(&headers).map_err(IntoResponse::into_response)?;
    let length = number(&headers, upload::LENGTH).map_err(IntoResponse::into_response)?;
    let offset = number(&headers, upload::OFFSET).map_err(IntoResponse::into_response)?;
    let wire = u64::try_from(app.limits.wire_bytes).unwrap_or(u64::MAX);
    if length > wire {
        return Err(refused(&UploadRefusal::TooLarge { length, limit: wire }));
    }
    if offset > length {
        return Err(ApiError::bad_field(
            upload::OFFSET,
            format!("the piece starts at byte {offset}, after the upload's end ({length} bytes)"),
        )
        .into_response());
    }
    let uploads = &app.uploads;
    let ticket = uploads
        .begin(device.id, key, length, offset, Instant::now())
        .map_err(|r| refused(&r))?;
    let mut raw = raw;
    while let Some(frame) = raw.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    uploads
                        .append(&ticket, &data, Instant::now())
                        .map_err(|r| refused(&r))?;
                }
            }
            Err(e) => {
                // The link was cut (or the size layer stopped it): what
                // came is kept, the device asks where to go on.
                tracing::info!(device = %device.id, "upload piece ended early; its bytes are kept");
                return Err(ApiError::bad_field(
                    "body",
                    format!("the piece could not be read to its end ({e}); what arrived is kept, resume it"),
                )
                .into_response());
            }
        }
    }
    let gzipped = match uploads.finish(&ticket).map_err(|r| refused(&r))? {
        Finished::Whole(bytes) => bytes,
        Finished::Short(held) => {
            return Err(refused(&UploadRefusal::WrongOffset { asked: length, held }));
        }
    };
    let limit = app.limits.body_bytes;
    let json = tokio::task::spawn_blocking(move || body::gunzip(&gzipped, limit))
        .await
        .map_err(|e| ApiError::internal(e).into_response())?
        .map_err(IntoResponse::into_response)?;
    tracing::debug!(device = %device.id, bytes = length, "upload whole");
    sync::answer(&app, &device, json)
        .await
        .map(IntoResponse::into_response)
        .map_err(IntoResponse::into_response)
}

/// `GET`: how many bytes of an upload the server holds (204, headers only).
pub(super) async fn probe<S: Store>(State(app): State<Arc<App<S>>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let device = auth::device(&app, &headers).await?;
    let key = key(&headers)?;
    let (held, length) = app.uploads.probe(device.id, key, Instant::now());
    let mut answer = StatusCode::NO_CONTENT.into_response();
    answer.headers_mut().insert(upload::OFFSET, HeaderValue::from(held));
    if let Some(length) = length {
        answer.headers_mut().insert(upload::LENGTH, HeaderValue::from(length));
    }
    Ok(answer)
}

/// The refusal as an answer: 409 with the offset to go on from (in the
/// `doorstep-upload-offset` header), 413 for an oversized upload, 400 for
/// the rest.
fn refused(refusal: &UploadRefusal) -> Response {
    let error = match refusal {
        UploadRefusal::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, refusal.to_string())
        }
        UploadRefusal::NotHeld { .. }
        | UploadRefusal::Expired { .. }
        | UploadRefusal::WrongOffset { .. }
        | UploadRefusal::Superseded => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::UploadOffset, refusal.to_string())
        }
        UploadRefusal::LengthChanged { .. } => ApiError::bad_field(upload::LENGTH, refusal.to_string()),
        UploadRefusal::Overrun { .. } => ApiError::bad_field("body", refusal.to_string()),
        UploadRefusal::HashMismatch => ApiError::bad_field(upload::KEY, refusal.to_string()),
    };
    let mut answer = error.into_response();
    if let Some(offset) = refusal.resume_at() {
        answer.headers_mut().insert(upload::OFFSET, HeaderValue::from(offset));
    }
    answer
}

fn key(headers: &HeaderMap) -> Result<UploadKey, ApiError> {
    let text = headers
        .get(upload::KEY)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_field(upload::KEY, format!("the {} header is missing", upload::KEY)))?;
    UploadKey::parse(text).map_err(|e| ApiError::bad_field(upload::KEY, e))
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::bad_field(name, format!("the {name} header is missing or not a whole number")))
}
