//! `serve`: the API for tablets until Ctrl-C, with scheduled backups and,
//! with a token, `/metrics`.

use doorstep_server::api::Limits;
use doorstep_server::serve::PackError;
use doorstep_store::any::AnyStore;

use super::shared::{Failure, out};
use crate::cli::ServeArgs;

/// Serves `store` (opened from `db`) until the server stops.
pub(crate) async fn run(store: AnyStore, db: &str, args: ServeArgs) -> Result<(), Failure> {
    // Held while serving: `restore` never replaces an open file.
    let _serving = match doorstep_store::any::sqlite_path(db) {
        Some(path) => Some(doorstep_store::sqlite::serving_lock(&path, false)?),
        None => None,
    };
    let watch = doorstep_server::serve::Watch {
        metrics_token: args.metrics_token,
    };
    if let Some(dir) = args.backup_dir {
        let schedule = doorstep_server::backups::Schedule {
            dir,
            every: args.backup_every,
            keep: usize::try_from(args.keep).unwrap_or(usize::MAX),
        };
        tokio::spawn(doorstep_server::backups::run(store.clone(), schedule));
    }
    let bundle = packs(&store, args.packs.as_deref()).await?;
    let listen = args.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::System(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::System(format!("listening address: {e}")))?;
    // Tests and scripts read this line to find the port.
    out(&format!("listening on http://{addr}"))?;
    let limits = Limits {
        wire_bytes: args.max_request_bytes,
        ..Limits::default()
    };
    doorstep_server::serve::serve(store, listener, limits, bundle, watch)
        .await
        .map_err(|e| Failure::System(format!("server stopped: {e}")))
}

/// The checklist packs handed out: those built in, or those of `--packs`.
async fn packs(store: &AnyStore, dir: Option<&std::path::Path>) -> Result<doorstep_server::api::PackBundle, Failure> {
    let files = match dir {
        None => doorstep_ingest::pack_catalog::bundled(),
        Some(dir) => doorstep_ingest::pack_catalog::from_dir(dir)
            .map_err(|problems| Failure::Input(format!("checklist packs not served: {}", problems.join("; "))))?,
    };
    doorstep_server::serve::pack_bundle(store, files)
        .await
        .map_err(|e| match e {
            PackError::Refused(m) => Failure::Input(m),
            PackError::Store(e) => Failure::from(e),
        })
}
