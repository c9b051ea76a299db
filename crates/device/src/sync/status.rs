//! What the device knows about its server: enrolment, the last sync and its
//! error, changes waiting, and the pushes the server refused.

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::Result;
use crate::store::Store;

/// The sync section of the device's status (`doorstep status`, the app's
/// sync screen). Holds no secret: the token never leaves the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// Whether the device has a server and a token.
    pub enrolled: bool,
    /// The server's address.
    pub server_url: Option<String>,
    /// The commune the device syncs.
    pub commune_id: Option<String>,
    /// Its name, as the server gave it at enrolment.
    pub commune_name: Option<String>,
    /// The member the device belongs to.
    pub member_id: Option<String>,
    /// When the last sync finished.
    pub last_sync_at: Option<String>,
    /// Why the last sync failed (none after a success).
    pub last_error: Option<String>,
    /// Changes written here and not yet confirmed by the server.
    pub pending: u64,
    /// Server clock minus this device's clock at the last sync, in ms.
    pub clock_offset_ms: i64,
    /// Changes the server refused for good, to correct.
    pub rejected: Vec<RejectedChange>,
    /// The server has said its newest backup holds this tablet's changes
    /// up to here; none while it has no backup of them (then the tablet
    /// keeps every change it ever made).
    pub backed_up_seq: Option<u64>,
    /// Changes the server confirmed that this tablet still keeps because no
    /// backup at the office holds them yet.
    pub awaiting_backup: u64,
}

/// A pushed change the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RejectedChange {
    /// Its outbox seq.
    pub seq: u64,
    /// The entity kind it changed.
    pub entity: String,
    /// The entity it changed.
    pub entity_id: String,
    /// The server's reason, naming the field.
    pub reason: String,
    /// When the server's refusal arrived.
    pub rejected_at: String,
}

/// Where and as whom the device syncs.
#[derive(Clone)]
pub(crate) struct Credentials {
    /// The server's address (stored form).
    pub server_url: String,
    /// The bearer token.
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server_url", &self.server_url)
            .field("token", &"<hidden>")
            .finish()
    }
}

impl Store {
    /// The sync section of the status.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let mut status = self.conn.query_row(
            "SELECT token IS NOT NULL, server_url, commune_id, commune_name, member_id, last_sync_at,
                    last_sync_error, max(next_seq - 1 - acked_seq, 0), clock_offset_ms, backed_up_seq,
                    (SELECT count(*) FROM outbox
                     WHERE seq > max(device_state.pruned_seq, coalesce(device_state.backed_up_seq, 0))
                       AND seq <= device_state.acked_seq)
             FROM device_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncStatus {
                    enrolled: r.get(0)?,
                    server_url: r.get(1)?,
                    commune_id: r.get(2)?,
                    commune_name: r.get(3)?,
                    member_id: r.get(4)?,
                    last_sync_at: r.get(5)?,
                    last_error: r.get(6)?,
                    pending: r.get(7)?,
                    clock_offset_ms: r.get(8)?,
                    rejected: Vec::new(),
                    backed_up_seq: r.get(9)?,
                    awaiting_backup: r.get(10)?,
                })
            },
        )?;
        status.rejected = self.rejected_changes()?;
        Ok(status)
    }

    /// Pushes the server refused, oldest first.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.seq, o.entity, o.entity_id, r.reason, r.rejected_at
             FROM push_rejected r LEFT JOIN outbox o ON o.seq = r.seq ORDER BY r.seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RejectedChange {
                seq: r.get(0)?,
                entity: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                entity_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                reason: r.get(3)?,
                rejected_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The server and token, if the device is enrolled.
    pub(crate) fn credentials(&self) -> Result<Option<Credentials>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row("SELECT server_url, token FROM device_state WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(match row {
            Some((Some(server_url), Some(token))) => Some(Credentials { server_url, token }),
            _ => None,
        })
    }

    /// Remembers why the last sync failed, for the status screen.
    pub(crate) fn record_sync_error(&mut self, message: &str) -> Result<()> {
        self.conn
            .execute("UPDATE device_state SET last_sync_error = ?1 WHERE id = 1", [message])?;
        Ok(())
    }

    /// The ETag of the installed pack list.
    pub(crate) fn packs_etag(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT packs_etag FROM device_state WHERE id = 1", [], |r| r.get(0))?)
    }

    /// Stores the ETag of the installed pack list.
    pub(crate) fn set_packs_etag(&mut self, etag: Option<&str>) -> Result<()> {
        self.conn
            .execute("UPDATE device_state SET packs_etag = ?1 WHERE id = 1", [etag])?;
        Ok(())
    }
}
