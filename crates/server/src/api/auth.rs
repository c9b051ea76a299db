//! Finding the device behind a bearer token.

use axum::http::{HeaderMap, StatusCode, header};
use doorstep_core::protocol::ErrorCode;

use super::App;
use super::error::ApiError;
use doorstep_store::{DeviceRecord, Store};

/// The enrolled, unrevoked device the request's token belongs to. A
/// revoked one is refused with `revoked`, and with `erase` when a lead
/// asked for its data to be erased and it has not reported doing so.
pub(super) async fn device<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<DeviceRecord, ApiError> {
    let device = any_device(app, headers).await?;
    if let Some(when) = &device.revoked_at {
        let mut refusal = ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Revoked,
            format!("this device was removed by a team lead at {when}; ask for a new enrolment code"),
        );
        if device.erase_requested_at.is_some() && device.erased_at.is_none() {
            refusal = refusal.with_erase();
        }
        return Err(refusal);
    }
    Ok(device)
}

/// The device the request's token belongs to, revoked or not: only for
/// the report of an erase, which a revoked tablet sends.
pub(super) async fn any_device<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<DeviceRecord, ApiError> {
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
    // The request's span (`api::request_span`) names the device from here on.
    tracing::Span::current().record("device", tracing::field::display(&device.id));
    Ok(device)
}
