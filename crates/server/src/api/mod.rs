//! The HTTP API the tablets talk to (`/api/v1/...`, `/healthz`).
//!
//! Layers, outermost first: a request id (`x-request-id`, an incoming one
//! kept, sent back), tracing (a `request` span with the method, path,
//! request id and, once the token is checked, the device - never bodies),
//! a timeout, a limit on the bytes on the wire, gzip for request
//! and response bodies. Handlers parse, check the device and call the
//! [`Store`]; they hold no rules of their own.

mod auth;
mod body;
mod carried;
mod count;
mod enroll;
mod erased;
mod error;
mod key;
mod packs;
mod scrape;
mod sync;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use doorstep_core::protocol::paths;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use body::MIN_PROTOCOL;
pub use count::count;
pub use error::ApiError;
pub use packs::PackBundle;
pub use scrape::MetricsToken;

use crate::metrics::Metrics;
use doorstep_store::Store;

/// Limits the API enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes on the wire per request (compressed).
    pub wire_bytes: usize,
    /// Bytes of a request once decompressed.
    pub body_bytes: usize,
    /// Most changes in one pulled page.
    pub pull_limit: usize,
    /// About this many bytes of records in one pulled page (a 2G batch).
    pub pull_bytes: usize,
    /// Time for one request.
    pub timeout: Duration,
    /// Failed enrolment attempts per address in `enroll_window`.
    pub enroll_failures: u32,
    /// The window for `enroll_failures`.
    pub enroll_window: Duration,
    /// Partial sync uploads kept for a resume (`crate::uploads`).
    pub uploads: crate::uploads::UploadLimits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            wire_bytes: 2 * 1024 * 1024,
            body_bytes: 16 * 1024 * 1024,
            pull_limit: 5_000,
            pull_bytes: 640 * 1024,
            timeout: Duration::from_secs(120),
            enroll_failures: 10,
            enroll_window: Duration::from_secs(600),
            uploads: crate::uploads::UploadLimits::default(),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct App<S> {
    /// The database.
    pub store: S,
    /// The limits.
    pub limits: Limits,
    /// The packs handed to devices.
    pub packs: PackBundle,
    /// What `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// Partial sync uploads, by device and key.
    pub uploads: crate::uploads::Uploads,
    /// The key this server signs tablets' certificates with (derived from
    /// the database's token key, so it is the same after a restart or a
    /// restore, and in every instance of one database).
    pub cert_key: doorstep_core::sign::SigningKey,
    enroll_guard: doorstep_office::attempts::Attempts,
}

impl<S: Store> App<S> {
    /// The shared state for a router.
    pub fn new(store: S, limits: Limits, packs: PackBundle, metrics: Arc<Metrics>) -> Arc<App<S>> {
        let cert_key = key::certificate_key(store.token_key());
        Arc::new(App {
            cert_key,
            store,
            uploads: crate::uploads::Uploads::new(limits.uploads),
            limits,
            packs,
            metrics,
            enroll_guard: doorstep_office::attempts::Attempts::default(),
        })
    }
}

/// The router, with every layer.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let limits = app.limits.clone();
    Router::new()
        .route(paths::HEALTH, get(packs::health))
        .route(paths::ENROLL, post(enroll::enroll::<S>))
        .route(paths::SYNC, post(sync::sync::<S>))
        .route(paths::SYNC_UPLOAD, post(upload::piece::<S>).get(upload::probe::<S>))
        .route(paths::KEY, post(key::register::<S>))
        .route(paths::PACKS, get(packs::packs::<S>))
        .route(paths::ERASED, post(erased::erased::<S>))
        .with_state(app)
        .layer(CompressionLayer::new().gzip(true))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(RequestBodyLimitLayer::new(limits.wire_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// `GET /metrics`, answering only to `token` (`serve --metrics-token`).
pub fn metrics_router<S: Store>(app: Arc<App<S>>, token: MetricsToken) -> Router {
    Router::new()
        .route("/metrics", get(scrape::metrics::<S>))
        .with_state(Arc::new(scrape::Scrape { app, token }))
}

/// The span every API request's log lines carry: its request id (set by
/// the outer layer, or the one the client sent) and the device, recorded
/// by the token check (`auth::any_device`). The path only: a query could
/// carry anything. At ERROR level so it exists whatever `DOORSTEP_LOG`
/// lets through: a warning inside a request keeps its id under `warn`.
/// (A span's level is not printed; only its fields are.)
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::error_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id,
        device = tracing::field::Empty,
    )
}
