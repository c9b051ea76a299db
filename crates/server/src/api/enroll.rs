//! `POST /api/v1/enroll`: a one-time code for a device id and token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use chrono::Utc;
use doorstep_core::ids::CommuneId;
use doorstep_core::protocol::{EnrollRequest, EnrollResponse, ErrorCode};
use doorstep_core::schema::format_timestamp;

use super::error::ApiError;
use super::{App, body, key};
use doorstep_store::auth;
use doorstep_store::{EnrollError, Store};

pub(super) async fn enroll<S: Store>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    raw: Body,
) -> Result<Json<EnrollResponse>, ApiError> {
    let ip = peer.ip();
    if app
        .enroll_guard
        .blocked(ip, app.limits.enroll_failures, app.limits.enroll_window)
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            "too many wrong enrolment codes from this address; wait ten minutes",
        ));
    }
    let raw = body::bytes(raw, 16 * 1024).await?;
    let request: EnrollRequest = body::parse_versioned(&raw)?;
    if request.label.as_ref().is_some_and(|l| l.chars().count() > 80) {
        return Err(ApiError::bad_field("label", "label is longer than 80 characters"));
    }
    app.enroll_guard.attempt(ip);
    let code = auth::normalise_code(&request.code);
    let bad_code = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCode,
            "this enrolment code is unknown, already used or expired; ask the team lead for a new one",
        )
    };
    if !auth::looks_like_code(&code) {
        return Err(bad_code());
    }
    let token = auth::new_token().map_err(ApiError::internal)?;
    let key = app.store.token_key();
    let enrolled = match app
        .store
        .enroll(key.hash(&code), key.hash(&token), request.label.clone(), Utc::now())
        .await
    {
        Ok(e) => e,
        Err(EnrollError::BadCode) => return Err(bad_code()),
        Err(EnrollError::Store(e)) => return Err(ApiError::store(e)),
    };
    app.enroll_guard.succeeded(ip);
    tracing::info!(device = %enrolled.device_id, commune = %enrolled.commune_id, "device enrolled");
    let commune = CommuneId::from_uuid(enrolled.commune_id);
    // Protocol 2: the tablet's key, kept with the new device.
    let signing = match request.public_key {
        Some(public_key) => Some(key::keep(&app, enrolled.device_id, commune, public_key).await?),
        None => None,
    };
    Ok(Json(EnrollResponse {
        device_id: enrolled.device_id,
        token,
        cert: signing.as_ref().map(|s| s.cert),
        server_key: signing.map(|s| s.server_key),
        commune_id: commune,
        commune_name: enrolled.commune_name,
        member_id: enrolled.member_id,
        server_time: format_timestamp(Utc::now()),
    }))
}
