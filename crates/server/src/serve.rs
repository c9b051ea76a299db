//! Running the API: bind, serve until Ctrl-C or SIGTERM, finish requests
//! in flight.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::api::{self, Limits, PackBundle};
use crate::store::Store;

/// Serves the API on `listener` until Ctrl-C or SIGTERM.
pub async fn serve<S: Store>(store: S, listener: TcpListener, limits: Limits) -> std::io::Result<()> {
    serve_until(store, listener, limits, shutdown_signal()).await
}

/// Serves the API on `listener` until `stop` completes (embedding, tests).
pub async fn serve_until<S: Store>(
    store: S,
    listener: TcpListener,
    limits: Limits,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = api::App::new(store, limits, PackBundle::bundled());
    let router = api::router(app);
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
