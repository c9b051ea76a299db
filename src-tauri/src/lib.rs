//! `doorstep-app`: the Tauri 2 shell of the tablet app.
//!
//! Each `#[tauri::command]` is one line into [`doorstep_app_api::App`],
//! generated from the same command table as the TypeScript bindings
//! (`ui/src/lib/bindings.ts`) and the browser test host, so the three
//! cannot disagree. The background sync's state reaches the UI as the
//! `sync-progress` event.
//!
//! The data folder is the platform's app-data folder, or `DOORSTEP_DATA_DIR`
//! when set (the demo and the end-to-end tests point it at a temporary one).

use std::sync::Arc;

use doorstep_app_api::app::AppOptions;
use doorstep_app_api::{ApiError, App};
use tauri::{Emitter, Manager};

macro_rules! tauri_commands {
    ($($name:ident($args:ty) -> $ret:ty;)*) => {
        /// The app's commands: each only calls [`App`].
        mod commands {
            use super::*;
            $(
                #[tauri::command(async)]
                pub(crate) fn $name(app: tauri::State<'_, Arc<App>>, args: $args) -> Result<$ret, ApiError> {
                    app.$name(args)
                }
            )*
        }

        fn builder() -> tauri::Builder<tauri::Wry> {
            tauri::Builder::default().invoke_handler(tauri::generate_handler![$(commands::$name),*])
        }
    };
}
doorstep_app_api::for_each_command!(tauri_commands);

fn data_dir(app: &tauri::App) -> Result<std::path::PathBuf, String> {
    if let Some(dir) = std::env::var_os("DOORSTEP_DATA_DIR") {
        return Ok(dir.into());
    }
    app.path()
        .app_data_dir()
        .map_err(|e| format!("no app data folder on this device: {e}"))
}

/// Starts the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut builder = builder();
    #[cfg(mobile)]
    {
        builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    }
    builder = builder.setup(|app| {
        let dir = data_dir(app)?;
        let handle = app.handle().clone();
        let notify = Box::new(move |state: &doorstep_app_api::sync_worker::SyncWorker| {
            // A closed window cannot take the event; the next one reads
            // the state with `sync_screen`.
            let _ = handle.emit("sync-progress", state);
        });
        let opened = App::open(AppOptions::new(&dir), notify).map_err(|e| e.message)?;
        app.manage(Arc::new(opened));
        Ok(())
    });
    let app = match builder.build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Doorstep could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<Arc<App>>()
        {
            state.shutdown();
        }
    });
}
