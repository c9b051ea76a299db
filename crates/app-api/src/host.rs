//! The browser host: the built UI (`ui/dist`) and the same commands over
//! HTTP on one origin (`POST /invoke/<command>` with the arguments as JSON).
//! Headless Chromium runs the real UI against the real store through it,
//! and `npm run dev` proxies to it. Loopback only: it has no sign-in.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tower_http::services::ServeDir;

use crate::app::App;
use crate::error::ApiError;

fn status_of(e: &ApiError) -> StatusCode {
    match e.kind.as_str() {
        "not_found" => StatusCode::NOT_FOUND,
        "bad_input" | "no_visit_today" | "rule" | "unknown_command" | "bad_code" | "bad_server_url" => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        "bad_pin" | "wrong_pin" | "no_lead_pin" => StatusCode::UNPROCESSABLE_ENTITY,
        "pin_wait" => StatusCode::TOO_MANY_REQUESTS,
        "locked" | "pin_required" | "erased" => StatusCode::LOCKED,
        "store" | "settings" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => (status_of(&e), Json(e)).into_response(),
    }
}

macro_rules! dispatch_table {
    ($($name:ident($args:ty) -> $ret:ty;)*) => {
        /// Runs the command `name` with JSON arguments.
        pub fn dispatch(app: &App, name: &str, args: Value) -> Result<Value, ApiError> {
            match name {
                $(stringify!($name) => {
                    let args: $args = serde_json::from_value(args).map_err(|e| {
                        ApiError::bad_input(format!("arguments of {}: {e}", stringify!($name)))
                    })?;
                    let answer: $ret = app.$name(args)?;
                    serde_json::to_value(answer).map_err(|e| ApiError::new("store", e.to_string()))
                })*
                other => Err(ApiError::new("unknown_command", format!("no command {other:?}"))),
            }
        }
    };
}
crate::for_each_command!(dispatch_table);

async fn invoke(State(app): State<Arc<App>>, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let args: Value = if body.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return answer(Err(ApiError::bad_input(format!("the request body is not JSON: {e}")))),
        }
    };
    // Store calls block (SQLite, and the enrolment's HTTP client).
    let result = tokio::task::spawn_blocking(move || dispatch(&app, &name, args))
        .await
        .unwrap_or_else(|e| Err(ApiError::new("store", format!("the command stopped: {e}"))));
    answer(result)
}

/// The host's routes: commands under `/invoke/`, the UI's files elsewhere.
pub fn router(app: Arc<App>, ui_dir: PathBuf) -> Router {
    Router::new()
        .route("/invoke/{name}", post(invoke))
        .fallback_service(ServeDir::new(ui_dir).append_index_html_on_directories(true))
        .with_state(app)
}
