//! Finding the device behind a bearer token.

use axum::http::{HeaderMap, StatusCode, header};
use doorstep_core::protocol::ErrorCode;

use super::App;
use super::error::ApiError;
use crate::store::{DeviceRecord, Store};

/// The enrolled, unrevoked device the request's token belongs to.
pub(super) async fn device<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<DeviceRecord, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("no device token: send \"Authorization: Bearer <token>\" (enrol the device first)")
        })?;
    let hash = app.store.token_key().hash(token);
    let device = app
        .store
        .device_by_token(hash)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::unauthorized("this device token is not known to the server; enrol the device again")
        })?;
    if let Some(when) = &device.revoked_at {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Revoked,
            format!("this device was removed by a team lead at {when}; ask for a new enrolment code"),
        ));
    }
    Ok(device)
}
