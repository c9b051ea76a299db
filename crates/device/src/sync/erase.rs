//! Erasing a tablet a team lead revoked with "erase", and telling the
//! server it was done.
//!
//! The order matters: first what the volunteer is told (how many changes
//! never reached the office) and what the server needs to hear (address,
//! device, the revoked token) are read out and kept in a small notice
//! beside the database (`<db>.erased.json`, no personal data: the token
//! is revoked and opens nothing); then the database, its WAL, journal and
//! key are deleted; then the server is told. A cut anywhere is finished at
//! the next start: a notice with the database still there erases it again.

use std::path::{Path, PathBuf};

use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{ErasedReport, PROTOCOL_VERSION};
use doorstep_core::schema::format_timestamp;
use serde::{Deserialize, Serialize};

use super::SyncOptions;
use super::error::SyncError;
use super::http::{Http, HttpFailure};
use crate::error::{Result, StoreError};
use crate::key::KeyChain;
use crate::store::Store;

/// What is left of an erased tablet: enough to tell the volunteer and the
/// server. The token is hidden in `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EraseNotice {
    /// The server that asked.
    pub server_url: String,
    /// The tablet's (revoked) device id.
    pub device_id: DeviceId,
    /// The revoked token: it only lets the tablet report the erase.
    token: String,
    /// Changes that never reached the server and are lost.
    pub unsent_changes: u64,
    /// When the tablet erased (its corrected clock).
    pub erased_at: String,
    /// The server has heard of it.
    pub reported: bool,
}

impl std::fmt::Debug for EraseNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EraseNotice")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("unsent_changes", &self.unsent_changes)
            .field("erased_at", &self.erased_at)
            .field("reported", &self.reported)
            .finish_non_exhaustive()
    }
}

/// Where the notice of `db`'s erase is kept.
pub fn notice_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".erased.json");
    PathBuf::from(name)
}

/// The notice of an erase, if `db` was erased.
pub fn read_notice(db: &Path) -> Result<Option<EraseNotice>> {
    let path = notice_path(db);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Stored(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Stored(format!("reading {}: {e}", path.display()))),
    }
}

fn write_notice(db: &Path, notice: &EraseNotice) -> Result<()> {
    let path = notice_path(db);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |e: std::io::Error| StoreError::Stored(format!("writing {}: {e}", path.display()));
    let bytes = serde_json::to_vec_pretty(notice).map_err(|e| StoreError::Stored(e.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    crate::key::sync_parent(&path).map_err(io)
}

/// Forgets the notice (the volunteer has read it and the server has heard).
pub fn dismiss_notice(db: &Path) -> Result<()> {
    match std::fs::remove_file(notice_path(db)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Stored(format!("removing the erase notice: {e}"))),
    }
}

/// Deletes a database's files and its key. Used for the field store and,
/// on a tablet, for the practice store beside it.
pub fn delete_database(db: &Path, keys: &KeyChain) -> Result<()> {
    for file in crate::encrypt::database_files(db) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Stored(format!("erasing {}: {e}", file.display()))),
        }
    }
    keys.erase()?;
    crate::key::sync_parent(db).map_err(|e| StoreError::Stored(format!("erasing {}: {e}", db.display())))
}

/// Erases the store a server ordered erased: keeps the notice, closes and
/// deletes the database and its key. Returns the notice, to show the
/// volunteer and to report with [`report_erase`].
pub fn erase_store(store: Store, keys: &KeyChain) -> Result<EraseNotice> {
    let db = store.path().to_owned();
    let credentials = store.credentials()?;
    let status = store.sync_status()?;
    let notice = EraseNotice {
        server_url: credentials.as_ref().map(|c| c.server_url.clone()).unwrap_or_default(),
        device_id: store.device_id(),
        token: credentials.map(|c| c.token).unwrap_or_default(),
        unsent_changes: status.pending,
        erased_at: format_timestamp(store.now()),
        reported: false,
    };
    write_notice(&db, &notice)?;
    drop(store);
    delete_database(&db, keys)?;
    tracing::warn!(device = %notice.device_id, unsent = notice.unsent_changes, "tablet erased as the server asked");
    Ok(notice)
}

/// Finishes an erase that was cut short: a notice beside a database that
/// is still there. Returns whether it erased.
pub fn finish_interrupted_erase(db: &Path, keys: &KeyChain) -> Result<bool> {
    if read_notice(db)?.is_some() && crate::encrypt::database_files(db).iter().any(|f| f.exists()) {
        delete_database(db, keys)?;
        return Ok(true);
    }
    Ok(false)
}

/// Tells the server the tablet erased (`POST /api/v1/erased`) and marks
/// the notice reported. A blocking call, like [`super::sync`].
pub fn report_erase(db: &Path, options: &SyncOptions) -> Result<EraseNotice, SyncError> {
    let mut notice = read_notice(db)?.ok_or(SyncError::NotEnrolled)?;
    if notice.reported {
        return Ok(notice);
    }
    let http = Http::new(
        &notice.server_url,
        Some(notice.token.clone()),
        options.connect_timeout,
        options.request_timeout,
    )?;
    let report = ErasedReport {
        protocol: PROTOCOL_VERSION,
        device_id: notice.device_id,
        unsent_changes: notice.unsent_changes,
        erased_at: notice.erased_at.clone(),
    };
    match http.erased(&report) {
        Ok(()) => {}
        Err(HttpFailure::Link(e)) => return Err(e),
        Err(HttpFailure::Status(answer)) => return Err(answer.to_error()),
    }
    notice.reported = true;
    write_notice(db, &notice)?;
    Ok(notice)
}
