//! Reading request bodies: size limits, and JSON errors that name the field.

use axum::body::Body;
use axum::http::StatusCode;
use doorstep_core::protocol::{ErrorCode, PROTOCOL_VERSION, SCHEMA_VERSION};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Oldest protocol this server still answers.
pub const MIN_PROTOCOL: u32 = 1;

/// Reads the whole (already decompressed) body, at most `limit` bytes.
pub(super) async fn bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<http_body_util::LengthLimitError>())
            .is_some()
            || e.to_string().contains("length limit");
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("the request body is larger than {limit} bytes; send smaller batches"),
            )
        } else {
            ApiError::bad_field("body", format!("the request body could not be read: {e}"))
        }
    })
}

/// Decompresses a gzipped body joined by hand (a resumable upload, which
/// the decompression layer never sees whole), at most `limit` bytes out.
pub(super) fn gunzip(gzipped: &[u8], limit: usize) -> Result<axum::body::Bytes, ApiError> {
    use std::io::Read;
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(gzipped.len().saturating_mul(4).min(limit));
    match flate2::read::GzDecoder::new(gzipped).take(cap).read_to_end(&mut out) {
        Ok(_) if out.len() > limit => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("the request body unpacks to more than {limit} bytes; send smaller batches"),
        )),
        Ok(_) => Ok(out.into()),
        Err(e) => Err(ApiError::bad_field(
            "body",
            format!("the uploaded body is not complete gzip: {e}"),
        )),
    }
}

/// Parses a JSON request whose `protocol` and `schema_version` are checked
/// first, so an old app gets "update the app" rather than a parse error.
pub(super) fn parse_versioned<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let value = json(raw)?;
    check_protocol(&value)?;
    let schema = version(&value, "schema_version")?;
    if schema < u64::from(SCHEMA_VERSION) {
        return Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpgradeRequired,
            format!("this app's data schema {schema} is older than the server's {SCHEMA_VERSION}: update the app"),
        ));
    }
    if schema > u64::from(SCHEMA_VERSION) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedProtocol,
            format!("this app's data schema {schema} is newer than the server's {SCHEMA_VERSION}: update the server"),
        ));
    }
    typed(value)
}

/// Parses a JSON request that carries only a `protocol` (no data, so no
/// `schema_version`), checked first like [`parse_versioned`].
pub(super) fn parse_with_protocol<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let value = json(raw)?;
    check_protocol(&value)?;
    typed(value)
}

fn json(raw: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::bad_field("body", format!("the request body is not JSON: {e}")))
}

fn version(value: &serde_json::Value, name: &str) -> Result<u64, ApiError> {
    value
        .get(name)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ApiError::bad_field(name, format!("{name} is missing or not a whole number")))
}

fn check_protocol(value: &serde_json::Value) -> Result<(), ApiError> {
    let protocol = version(value, "protocol")?;
    if protocol < u64::from(MIN_PROTOCOL) {
        return Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpgradeRequired,
            format!(
                "this app speaks sync protocol {protocol}, the server needs {MIN_PROTOCOL} or later: update the app"
            ),
        ));
    }
    if protocol > u64::from(PROTOCOL_VERSION) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedProtocol,
            format!(
                "this app speaks sync protocol {protocol}, newer than the server's {PROTOCOL_VERSION}: update the server"
            ),
        ));
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_field(path.clone(), format!("{path}: {}", e.into_inner()))
    })
}
