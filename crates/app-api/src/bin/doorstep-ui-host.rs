//! `doorstep-ui-host`: serves the built UI and the app's commands over HTTP
//! on loopback, for headless-browser tests and UI development without the
//! Tauri shell. Same commands, same store code, a real SQLite file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use doorstep_app_api::app::AppOptions;
use doorstep_app_api::sync_worker::WorkerOptions;
use doorstep_app_api::{App, host};

/// Serve the Doorstep tablet UI and its commands over HTTP (loopback only).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The app's data folder (field.db, practice.db, settings.json).
    #[arg(long)]
    data: PathBuf,
    /// The built UI (`ui/dist`).
    #[arg(long, default_value = "ui/dist")]
    ui: PathBuf,
    /// Where to listen; loopback addresses only.
    #[arg(long, default_value = "127.0.0.1:1420")]
    listen: SocketAddr,
    /// Seconds between background sync tries (0: no background sync).
    #[arg(long, default_value_t = 120)]
    sync_interval: u64,
    /// Keep the databases' keys in the OS keyring when one runs, as the app
    /// does (default: a key file beside each database, so tests leave
    /// nothing in a developer's keyring).
    #[arg(long)]
    keyring: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "error: --listen {} is not a loopback address: this host has no sign-in",
            args.listen
        );
        return std::process::ExitCode::from(2);
    }
    let mut options = AppOptions::new(&args.data);
    if !args.keyring {
        options.keys = doorstep_app_api::doorstep_device::key::KeyPolicy::KeyFileOnly;
    }
    options.worker = WorkerOptions {
        interval: Duration::from_secs(args.sync_interval.max(1)),
        enabled: args.sync_interval > 0,
        ..WorkerOptions::default()
    };
    let app = match tokio::task::spawn_blocking(move || App::open(options, Box::new(|_| {}))).await {
        Ok(Ok(app)) => Arc::new(app),
        Ok(Err(e)) => {
            eprintln!("error: {}", e.message);
            return std::process::ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map_or(args.listen, |a| a);
    eprintln!("doorstep-ui-host: http://{addr}/ (data {})", args.data.display());
    let router = host::router(Arc::clone(&app), args.ui);
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    let stopping = Arc::clone(&app);
    let _ = tokio::task::spawn_blocking(move || stopping.shutdown()).await;
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
