//! The sync client: enrolment, and pushing the outbox and pulling the
//! commune's changes over the protocol of `doorstep_core::protocol`.
//!
//! [`sync`] is a **blocking** call that may take minutes on a 2G link. Call
//! it from a plain background thread (the Tauri app does), never from an
//! async runtime thread: the HTTP client is reqwest's blocking one, which
//! panics when created or dropped on a tokio runtime.
//!
//! Module map: `session` runs the push/pull loop; `batch` fills a request up
//! to its compressed byte budget; `answer` applies an answer in one
//! transaction and `restamp` adopts the server's stamps; `upload` sends a
//! push as a resumable upload; `http` is the only
//! part that knows HTTP; `backoff` spaces retries; `enroll`, `packs` and
//! `status` do what their names say; `error` says what went wrong.
//!
//! **Invariants**
//! - Every round is idempotent: an answer is applied in one transaction
//!   (ack, rejections, restamps, pulled page and cursor, clock offset), so a
//!   cut at any byte is resumed by doing the round again.
//! - The acked position only moves back when the server says it lost
//!   changes (seq gap, or confirming less than before); the outbox keeps
//!   every change, so they are resent.
//! - The token is read from the store, sent only as a bearer header to the
//!   enrolled server, and never logged, printed or put in `Debug` output.

mod answer;
mod backoff;
mod batch;
mod enroll;
mod erase;
mod error;
mod http;
mod keys;
mod packs;
mod rehome;
mod restamp;
mod session;
mod status;
mod upload;

use std::time::Duration;

use doorstep_core::protocol::Health;
use serde::Serialize;

pub use enroll::{enroll, request_enrolment};
pub use erase::{
    EraseNotice, delete_database, dismiss_notice, erase_store, finish_interrupted_erase, notice_path, read_notice,
    report_erase,
};
pub use error::SyncError;
pub(crate) use http::gzip as gzip_bytes;
pub use http::normalise_server_url;
pub use packs::PacksReport;
pub use status::{RejectedChange, SyncStatus};

use crate::pull::PullReport;
use crate::store::Store;

/// How a sync behaves on the link. [`SyncOptions::default`] suits a tablet
/// in the field; [`SyncOptions::fast_retries`] suits tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// The largest request body, in bytes *after* gzip (at least one change
    /// is always sent). Default 64 KiB: a few seconds on 2G, little lost to
    /// a cut.
    pub batch_bytes: usize,
    /// At most this many pulled changes per round. Default 2000.
    pub pull_limit: u32,
    /// Consecutive failed attempts of one round before giving up. Default 8.
    pub max_attempts: u32,
    /// The first retry waits up to this long (full jitter). Default 0.5 s.
    pub backoff_base: Duration,
    /// No retry waits longer. Default 30 s.
    pub backoff_max: Duration,
    /// One request, from connecting to the last byte of the answer.
    /// Default 120 s.
    pub request_timeout: Duration,
    /// Opening the connection. Default 20 s.
    pub connect_timeout: Duration,
    /// Fetch the checklist packs after the data. Default true.
    pub fetch_packs: bool,
    /// Send pushes as resumable uploads, so a cut costs only the bytes that
    /// did not arrive (`upload`). Default true; false resends a cut request
    /// whole, as before (benchmarks compare the two).
    pub resume_uploads: bool,
    /// Talk to this address instead of the enrolled one (the token is sent
    /// there): tests through a fault-injecting proxy, an office reaching
    /// the server by another route. Default none.
    pub server_url: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            batch_bytes: 64 * 1024,
            pull_limit: 2000,
            max_attempts: 8,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(20),
            fetch_packs: true,
            resume_uploads: true,
            server_url: None,
        }
    }
}

impl SyncOptions {
    /// Tests against a server on loopback: millisecond backoff, short
    /// timeouts, a few attempts.
    pub fn fast_retries() -> SyncOptions {
        SyncOptions {
            max_attempts: 5,
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(20),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            ..SyncOptions::default()
        }
    }
}

/// Where a running sync stands, reported after every round (and retry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncProgress {
    /// Outbox changes confirmed by the server so far in this sync.
    pub pushed: u64,
    /// Outbox changes this sync has to push (grows if the app writes meanwhile).
    pub to_push: u64,
    /// Changes pulled so far.
    pub pulled: u64,
    /// The server has more to pull.
    pub has_more: bool,
    /// Request bytes sent (compressed, as on the wire).
    pub bytes_sent: u64,
    /// Answer bytes received (compressed, as on the wire).
    pub bytes_received: u64,
    /// Completed rounds (a round both pushes and pulls).
    pub round_trips: u32,
    /// Failed attempts that were retried.
    pub retries: u32,
}

/// What a completed sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The final progress.
    pub progress: SyncProgress,
    /// Pushes the server refused for good in this sync, with its reasons
    /// (also kept in the store: [`Store::rejected_changes`]).
    pub rejected: Vec<(u64, String)>,
    /// This device's changes whose stamps the server replaced.
    pub restamped: usize,
    /// Totals of the pulled pages (merged, conflicts, ...).
    pub pulled: PullReport,
    /// Server clock minus this device's clock, in ms, as now used.
    pub clock_offset_ms: i64,
    /// The checklist packs.
    pub packs: PacksReport,
    /// The server had lost confirmed changes; they were resent from this seq.
    pub resent_from: Option<u64>,
    /// When the sync finished (corrected clock, stored form).
    pub finished_at: String,
}

/// Syncs the store with its server until both agree: pushes the outbox in
/// batches, pulls the commune's changes, adopts the server's clock and
/// stamps, then fetches new checklist packs. `progress` is called after
/// every round and retry. A blocking call (see the module docs).
///
/// On failure the error is also stored for the status screen; nothing
/// written on the tablet is lost, and the next sync resumes where this one
/// stopped.
pub fn sync(
    store: &mut Store,
    options: &SyncOptions,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncReport, SyncError> {
    if store.is_practice() {
        return Err(SyncError::PracticeStore);
    }
    let span = tracing::info_span!("sync", device = %store.device_id());
    let _entered = span.enter();
    let result = store
        .credentials()
        .map_err(SyncError::from)
        .and_then(|c| c.ok_or(SyncError::NotEnrolled))
        .and_then(|c| {
            let url = options.server_url.as_deref().unwrap_or(&c.server_url);
            http::Http::new(url, Some(c.token), options.connect_timeout, options.request_timeout)
        })
        .and_then(|http| session::run(store, &http, options, progress));
    match &result {
        Ok(report) => tracing::info!(
            pushed = report.progress.pushed,
            pulled = report.progress.pulled,
            rounds = report.progress.round_trips,
            "sync done"
        ),
        Err(e) => {
            tracing::warn!(error = e.kind(), "sync failed");
            // Best effort: the status screen shows it; a store too broken to
            // take it has already said so in `e`.
            let _ = store.record_sync_error(&e.to_string());
            if let SyncError::Copied { seq } = e {
                let _ = store.record_copied(*seq);
            }
        }
    }
    result
}

/// Asks a server for its health, protocol range and clock (`/healthz`).
pub fn server_health(server_url: &str, options: &SyncOptions) -> Result<Health, SyncError> {
    let http = http::Http::new(server_url, None, options.connect_timeout, options.request_timeout)?;
    match http.health() {
        Ok(exchange) => Ok(exchange.value),
        Err(http::HttpFailure::Link(e)) => Err(e),
        Err(http::HttpFailure::Status(answer)) => Err(answer.to_error()),
    }
}
