//! The one error a command answers with: a stable kind the UI words in the
//! volunteer's language, and the message in English for the log-free detail
//! line.

use doorstep_device::StoreError;
use doorstep_device::sync::SyncError;
use serde::Serialize;

/// A command's failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ApiError {
    /// What went wrong, as a code (`bad_input`, `not_found`, `no_visit_today`,
    /// or a sync failure's kind such as `server_unreachable`).
    pub kind: String,
    /// What went wrong, in English, naming the field or record.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    /// Bad input from the screen, naming the field.
    pub fn bad_input(message: impl Into<String>) -> ApiError {
        ApiError::new("bad_input", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        let kind = match &e {
            StoreError::NotFound { .. } => "not_found",
            StoreError::UnknownName { .. } | StoreError::AmbiguousName { .. } => "not_found",
            StoreError::Rule(m) if m.contains("no visit today") => "no_visit_today",
            StoreError::Rule(m) if m.contains("a PIN is") => "bad_pin",
            StoreError::Rule(_) => "rule",
            StoreError::BadValue(_) | StoreError::BadCode(_) | StoreError::InvalidChange(_) => "bad_input",
            _ => "store",
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> ApiError {
        ApiError::new(e.kind(), e.to_string())
    }
}

impl From<doorstep_core::text::BadText> for ApiError {
    fn from(e: doorstep_core::text::BadText) -> ApiError {
        ApiError::bad_input(e.to_string())
    }
}
