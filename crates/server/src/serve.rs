//! Running the API: bind, serve until Ctrl-C or SIGTERM, finish requests
//! in flight.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use doorstep_core::protocol::PackFile;
use tokio::net::TcpListener;

use crate::api::{self, Limits, MetricsToken, PackBundle};
use crate::metrics::Metrics;
use doorstep_dashboard as dashboard;
use doorstep_store::accounts::Accounts;
use doorstep_store::{Store, StoreError};

/// Why the server cannot start serving packs.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A pack changes a version already handed out.
    #[error("{0}")]
    Refused(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator watching the server is given.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Serve `GET /metrics` to this bearer token (`--metrics-token`);
    /// without it the route does not exist (404).
    pub metrics_token: Option<MetricsToken>,
}

/// Records `packs` as handed out and bundles every version ever handed
/// out, for `GET /api/v1/packs`.
pub async fn pack_bundle<S: Store>(store: &S, packs: Vec<PackFile>) -> Result<PackBundle, PackError> {
    let all = store
        .record_packs(packs, Utc::now())
        .await?
        .map_err(PackError::Refused)?;
    Ok(PackBundle::from_files(all))
}

/// Serves the API and the dashboard on `listener` until Ctrl-C or SIGTERM.
pub async fn serve<S: Store + Accounts + Clone>(
    store: S,
    listener: TcpListener,
    limits: Limits,
    packs: PackBundle,
    watch: Watch,
) -> std::io::Result<()> {
    serve_until(store, listener, limits, packs, watch, shutdown_signal()).await
}

/// Serves the API and the dashboard on `listener` until `stop` completes
/// (embedding, tests).
pub async fn serve_until<S: Store + Accounts + Clone>(
    store: S,
    listener: TcpListener,
    limits: Limits,
    packs: PackBundle,
    watch: Watch,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let dash = dashboard::Dashboard::new(store.clone());
    let metrics = Arc::new(Metrics::new());
    let app = api::App::new(store, limits, packs, metrics.clone());
    let mut router = api::router(app.clone()).merge(dashboard::router(dash));
    if let Some(token) = watch.metrics_token {
        router = router.merge(api::metrics_router(app, token));
    }
    // On every route (so each request is counted under its template).
    let router = router.route_layer(axum::middleware::from_fn_with_state(metrics, api::count));
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(stop)
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
