//! `POST /api/v1/erased`: a revoked tablet, told to erase its data, reports
//! that it did and how many unsent changes went with it. Its token is
//! revoked, so this is the one route that accepts a revoked token, and it
//! only ever records the erase of the token's own device.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use doorstep_core::protocol::{ErasedReport, ErrorCode};
use doorstep_core::schema::parse_timestamp;

use super::error::ApiError;
use super::{App, auth, body};
use doorstep_store::{EraseAck, Store};

pub(super) async fn erased<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<StatusCode, ApiError> {
    let device = auth::any_device(&app, &headers).await?;
    let raw = body::bytes(raw, 4 * 1024).await?;
    let report: ErasedReport = body::parse_with_protocol(&raw)?;
    if report.device_id != device.id {
        return Err(ApiError::forbidden(
            "this token belongs to another device: a tablet reports only its own erase",
        ));
    }
    let reported_at =
        parse_timestamp(&report.erased_at).map_err(|e| ApiError::bad_field("erased_at", format!("erased_at: {e}")))?;
    let ack = app
        .store
        .record_erased(device.id, report.unsent_changes, reported_at, Utc::now())
        .await
        .map_err(ApiError::internal)?;
    match ack {
        EraseAck::Recorded => {
            tracing::info!(device = %device.id, unsent = report.unsent_changes, "tablet reported its erase");
            Ok(StatusCode::NO_CONTENT)
        }
        EraseAck::AlreadyRecorded => Ok(StatusCode::NO_CONTENT),
        EraseAck::NotRequested => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::BadRequest,
            "no erase was asked for this device: nothing recorded",
        )),
        EraseAck::NoDevice => Err(ApiError::unauthorized(
            "this device token is not known to the server; enrol the device again",
        )),
    }
}
