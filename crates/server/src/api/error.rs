//! Error answers: a status, a stable code and one sentence naming what is
//! wrong, always with the server's time.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_core::protocol::{ErrorBody, ErrorCode};
use doorstep_core::schema::format_timestamp;

use doorstep_store::StoreError;

/// What a tablet is told when the office's disk is full.
pub(super) const DISK_FULL: &str = "the office computer's disk is full; nothing of this sync was kept: the tablet keeps its changes and will try again. Tell the office lead to free space on the office computer";

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An answer with this status and code.
    pub fn new(status: StatusCode, error: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
                field: None,
                expected_seq: None,
                copied_seq: None,
                erase: false,
                server_time: format_timestamp(Utc::now()),
            },
        }
    }

    /// 400, naming the field at fault.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message);
        e.body.field = Some(field.into());
        e
    }

    /// 401: no token or an unknown one.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// The same answer, telling a revoked tablet to erase its data.
    pub fn with_erase(mut self) -> ApiError {
        self.body.erase = true;
        self
    }

    /// 409 with the seq the server needs.
    pub fn seq_gap(expected: u64, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::CONFLICT, ErrorCode::SeqGap, message);
        e.body.expected_seq = Some(expected);
        e
    }

    /// 409: this tablet is a copy of another (`ingest::Refusal::Copied`).
    pub fn copied(seq: u64, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::CONFLICT, ErrorCode::Copied, message);
        e.body.copied_seq = Some(seq);
        e
    }

    /// 507: the disk holding the database is full. The push was rolled
    /// back whole; the tablet keeps its changes and retries.
    pub fn disk_full(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "the disk holding the database is full: a write was refused");
        ApiError::new(StatusCode::INSUFFICIENT_STORAGE, ErrorCode::DiskFull, DISK_FULL)
    }

    /// The answer for a failure of the store: 507 for a full disk,
    /// else 500 ([`ApiError::internal`]).
    pub fn store(e: StoreError) -> ApiError {
        if e.is_disk_full() {
            ApiError::disk_full(e)
        } else {
            ApiError::internal(e)
        }
    }

    /// 500: the server failed; the message is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the server failed to store or read data; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.body.error;
        let mut response = (self.status, Json(self.body)).into_response();
        // Read by the metrics middleware (`count`): errors counted by code.
        response.extensions_mut().insert(code);
        response
    }
}
