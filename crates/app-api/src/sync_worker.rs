//! The background sync: a thread of its own, with its own connection to the
//! field database, so the screens never wait for the network.
//!
//! It wakes every [`WorkerOptions::interval`] and at once on "Sync now" (or
//! after enrolment), asks the server for `/healthz` with a short timeout,
//! and syncs when the server answers. Every change of state (checking,
//! syncing with progress, done, failed) goes to the [`Notify`] callback:
//! the Tauri shell emits it as the `sync-progress` event.
//!
//! A server that answers "revoked, erase" has the worker close its
//! connection and ask the app to erase the tablet ([`Tablet::erase`]), then
//! report the erase to the server (again at each wake until it is heard).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use doorstep_device::sync::{self, RejectedChange, SyncError, SyncOptions, SyncProgress, SyncReport};
use doorstep_device::{Store, StoreError};
use serde::Serialize;
use ts_rs::TS;

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Waiting for the next try.
    #[default]
    Idle,
    /// Asking whether the server is reachable.
    Checking,
    /// Syncing.
    Syncing,
}

/// Why the last try failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncFailure {
    /// The sync error's kind (`no_network`, `server_unreachable`, ...).
    pub kind: String,
    /// In English, for the detail line.
    pub message: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// What the last successful sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncSummary {
    /// Changes confirmed by the server.
    pub pushed: u64,
    /// Changes received.
    pub pulled: u64,
    /// Changes the server refused.
    pub rejected: u64,
    /// Conflicts found in what was received.
    pub conflicts: u64,
    /// Checklist packs installed.
    pub packs_installed: u64,
    /// When it finished.
    pub finished_at: String,
}

/// The worker's state, as the sync screen and the top bar show it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, TS)]
pub struct SyncWorker {
    /// What it is doing.
    pub phase: SyncPhase,
    /// The running sync's progress.
    pub progress: Option<SyncProgress>,
    /// Whether the server answered the last check (none before the first).
    pub server_reachable: Option<bool>,
    /// When the server was last checked.
    pub last_checked_at: Option<String>,
    /// The last failure, cleared by a success.
    pub last_failure: Option<SyncFailure>,
    /// The last success.
    pub last_summary: Option<SyncSummary>,
}

/// The sync screen.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncScreen {
    /// Enrolled with a server.
    pub enrolled: bool,
    /// Practice mode is on (the practice database never syncs; the field
    /// one goes on syncing in the background).
    pub practice: bool,
    /// The server.
    pub server_url: Option<String>,
    /// The commune.
    pub commune_name: Option<String>,
    /// Changes waiting to be sent.
    #[ts(type = "number")]
    pub pending: u64,
    /// The last successful sync.
    pub last_sync_at: Option<String>,
    /// Why the last sync failed, as stored.
    pub last_error: Option<String>,
    /// Conflicts to review.
    #[ts(type = "number")]
    pub conflicts: u64,
    /// Records the server refused, to fix.
    pub rejected: Vec<RejectedChange>,
    /// The office has a backup that holds this tablet's work (changes it
    /// holds are dropped from the tablet); false: the tablet keeps all.
    pub office_backup: bool,
    /// Sent changes kept here until the office's next backup holds them.
    #[ts(type = "number")]
    pub awaiting_backup: u64,
    /// The background worker.
    pub worker: SyncWorker,
}

/// Receives every change of the worker's state.
pub type Notify = Box<dyn Fn(&SyncWorker) + Send + Sync>;

/// What the worker syncs: the tablet's field database, reached through the
/// app, which holds its key and may have erased it.
pub trait Tablet: Send + Sync + 'static {
    /// The field database's path (its erase notice lies beside it).
    fn field_path(&self) -> PathBuf;
    /// A new connection to the field database; `None` when there is none
    /// (erased, waiting for a new enrolment).
    fn connect(&self) -> Result<Option<Store>, StoreError>;
    /// The server ordered the tablet erased: erase its data now. The
    /// worker's own connection is already closed.
    fn erase(&self) -> Result<(), StoreError>;
}

/// When the worker tries.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// Between tries when nobody asks. Default 2 minutes.
    pub interval: Duration,
    /// The reachability check's timeouts. Default 5 s.
    pub check_timeout: Duration,
    /// Start at all (tests of the screens turn it off).
    pub enabled: bool,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions {
            interval: Duration::from_secs(120),
            check_timeout: Duration::from_secs(5),
            enabled: true,
        }
    }
}

struct Shared {
    state: Mutex<SyncWorker>,
    woken: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    syncs_done: AtomicU64,
    notify: Notify,
}

/// The handle the [`crate::App`] keeps.
pub struct Worker {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the thread for `tablet`'s field database.
    pub fn start(tablet: Arc<dyn Tablet>, sync: SyncOptions, options: WorkerOptions, notify: Notify) -> Worker {
        let shared = Arc::new(Shared {
            state: Mutex::new(SyncWorker::default()),
            woken: Mutex::new(false),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            syncs_done: AtomicU64::new(0),
            notify,
        });
        let thread = options.enabled.then(|| {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("doorstep-sync".to_owned())
                .spawn(move || run(&shared, tablet.as_ref(), &sync, options))
                .ok()
        });
        Worker {
            shared,
            thread: Mutex::new(thread.flatten()),
        }
    }

    /// The state now.
    pub fn state(&self) -> SyncWorker {
        self.shared.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Successful syncs so far.
    pub fn syncs_done(&self) -> u64 {
        self.shared.syncs_done.load(Ordering::SeqCst)
    }

    /// Try now.
    pub fn wake(&self) {
        if let Ok(mut woken) = self.shared.woken.lock() {
            *woken = true;
            self.shared.wake.notify_all();
        }
    }

    /// Stops the thread and waits for it (a sync in progress finishes its
    /// current request first).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut SyncWorker)) {
        let snapshot = match self.state.lock() {
            Ok(mut state) => {
                f(&mut state);
                state.clone()
            }
            Err(_) => return,
        };
        (self.notify)(&snapshot);
    }

    /// Waits for a wake-up or the interval; false when asked to stop.
    fn wait(&self, interval: Duration) -> bool {
        if let Ok(woken) = self.woken.lock() {
            let mut woken = match self.wake.wait_timeout_while(woken, interval, |w| !*w) {
                Ok((guard, _)) => guard,
                Err(_) => return false,
            };
            *woken = false;
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn failed(&self, e: &SyncError) {
        let failure = SyncFailure {
            kind: e.kind().to_owned(),
            message: e.to_string(),
            at: now(),
        };
        self.update(|s| {
            s.phase = SyncPhase::Idle;
            s.progress = None;
            if e.is_network() {
                s.server_reachable = Some(false);
            }
            s.last_failure = Some(failure);
        });
    }
}

fn run(shared: &Shared, tablet: &dyn Tablet, options: &SyncOptions, worker: WorkerOptions) {
    // The first try comes at once: a tablet switched on at the office syncs.
    let mut first = true;
    while first || shared.wait(worker.interval) {
        first = false;
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        try_once(shared, tablet, options, worker);
    }
}

/// Tells the server the tablet erased, as it asked; kept for the next try
/// if the server cannot be reached now.
fn report_erase(shared: &Shared, db: &std::path::Path, options: &SyncOptions) {
    match sync::report_erase(db, options) {
        Ok(_) => shared.update(|s| {
            s.phase = SyncPhase::Idle;
            s.progress = None;
        }),
        Err(e) => shared.failed(&e),
    }
}

fn try_once(shared: &Shared, tablet: &dyn Tablet, options: &SyncOptions, worker: WorkerOptions) {
    let db = tablet.field_path();
    match sync::read_notice(&db) {
        Ok(Some(notice)) if !notice.reported => return report_erase(shared, &db, options),
        Ok(_) => {}
        Err(e) => return shared.failed(&SyncError::Store(e)),
    }
    let mut store = match tablet.connect() {
        Ok(Some(store)) => store,
        Ok(None) => return,
        Err(e) => return shared.failed(&SyncError::Store(e)),
    };
    let status = match store.sync_status() {
        Ok(status) => status,
        Err(e) => return shared.failed(&SyncError::Store(e)),
    };
    let Some(server) = status.server_url.filter(|_| status.enrolled && !store.is_practice()) else {
        return;
    };
    shared.update(|s| s.phase = SyncPhase::Checking);
    let check = SyncOptions {
        connect_timeout: worker.check_timeout,
        request_timeout: worker.check_timeout,
        ..options.clone()
    };
    let url = options.server_url.as_deref().unwrap_or(&server);
    let reachable = sync::server_health(url, &check);
    shared.update(|s| {
        s.server_reachable = Some(reachable.is_ok());
        s.last_checked_at = Some(now());
    });
    if let Err(e) = reachable {
        return shared.failed(&e);
    }
    shared.update(|s| {
        s.phase = SyncPhase::Syncing;
        s.progress = Some(SyncProgress::default());
    });
    let result = sync::sync(&mut store, options, &mut |p: &SyncProgress| {
        let p = *p;
        shared.update(|s| s.progress = Some(p));
    });
    match result {
        Ok(report) => {
            shared.syncs_done.fetch_add(1, Ordering::SeqCst);
            let summary = summary(&report);
            shared.update(|s| {
                s.phase = SyncPhase::Idle;
                s.progress = None;
                s.server_reachable = Some(true);
                s.last_failure = None;
                s.last_summary = Some(summary);
            });
        }
        Err(SyncError::EraseOrdered) => {
            drop(store);
            if let Err(e) = tablet.erase() {
                return shared.failed(&SyncError::Store(e));
            }
            shared.failed(&SyncError::EraseOrdered);
            report_erase(shared, &db, options);
        }
        Err(e) => shared.failed(&e),
    }
}

fn summary(report: &SyncReport) -> SyncSummary {
    SyncSummary {
        pushed: report.progress.pushed,
        pulled: report.progress.pulled,
        rejected: report.rejected.len() as u64,
        conflicts: report.pulled.conflicts as u64,
        packs_installed: report.packs.installed.len() as u64,
        finished_at: report.finished_at.clone(),
    }
}
