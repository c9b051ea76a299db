//! Tablets' signing keys: registering one (`POST /api/v1/key`, or with the
//! enrolment), and the certificates the server signs for them.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use doorstep_core::ids::{CommuneId, DeviceId};
use doorstep_core::protocol::{ErrorCode, KeyRequest, KeyResponse};
use doorstep_core::sign::{DeviceCert, PublicKey, SigningKey};
use doorstep_store::auth::TokenKey;
use doorstep_store::{KeyRegistered, Store};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::{App, auth, body};

/// The server's certificate key: a seed derived from the database's token
/// key, so every instance serving one database, and the same database
/// after a restore, signs with the same key.
pub(super) fn certificate_key(token_key: &TokenKey) -> SigningKey {
    let derived = token_key.hash("doorstep device certificate key v2");
    SigningKey::from_seed(Sha256::digest(derived.as_bytes()).into())
}

pub(super) async fn register<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<KeyResponse>, ApiError> {
    let device = auth::device(&app, &headers).await?;
    let raw = body::bytes(raw, 4 * 1024).await?;
    let request: KeyRequest = body::parse_with_protocol(&raw)?;
    let commune = device
        .commune_id
        .as_deref()
        .and_then(|c| c.parse::<CommuneId>().ok())
        .ok_or_else(|| ApiError::forbidden("the office identity has no signing key"))?;
    let response = keep(&app, device.id, commune, request.public_key).await?;
    tracing::info!(device = %device.id, "signing key registered");
    Ok(Json(response))
}

/// Keeps `key` as `device`'s (once: the same key again is harmless,
/// another one refused) and gives its certificate.
pub(super) async fn keep<S: Store>(
    app: &App<S>,
    device: DeviceId,
    commune: CommuneId,
    key: PublicKey,
) -> Result<KeyResponse, ApiError> {
    match app
        .store
        .register_key(device, key.to_string())
        .await
        .map_err(ApiError::store)?
    {
        KeyRegistered::Registered | KeyRegistered::Same => Ok(KeyResponse {
            cert: DeviceCert::issue(&app.cert_key, device, commune, key),
            server_key: app.cert_key.public_key(),
        }),
        KeyRegistered::Other => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::KeyConflict,
            "this tablet already registered another signing key; a lead must enrol it again",
        )),
        KeyRegistered::NoDevice => Err(ApiError::forbidden("this device is not an enrolled tablet")),
    }
}
