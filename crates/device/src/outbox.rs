//! Reading the outbox for a push, and recording what the server confirmed.

use doorstep_core::change::Change;
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::store::Store;

/// Where the device stands with its server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncPosition {
    /// Highest seq written.
    pub last_seq: u64,
    /// Highest seq the server has confirmed.
    pub acked_seq: u64,
    /// The server's position after the last pulled page.
    pub pull_cursor: Option<String>,
    /// When the last sync finished.
    pub last_sync_at: Option<String>,
    /// Confirmed and backed-up changes up to here are no longer in the
    /// outbox.
    pub pruned_seq: u64,
}

impl Store {
    /// Up to `limit` changes with seq above `after`, in seq order.
    pub fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<Change>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let bodies = stmt.query_map((after, i64::try_from(limit).unwrap_or(i64::MAX)), |r| {
            r.get::<_, String>(0)
        })?;
        bodies
            .map(|b| {
                let b = b?;
                serde_json::from_str(&b).map_err(|e| StoreError::Stored(format!("outbox record: {e}")))
            })
            .collect()
    }

    /// The change with this seq, if any.
    pub fn outbox_change(&self, seq: u64) -> Result<Option<Change>> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM outbox WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Stored(format!("outbox record: {e}"))))
            .transpose()
    }

    /// Records that the server has applied every change up to `seq`.
    /// Never moves backwards.
    pub fn ack_pushed(&mut self, seq: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE device_state SET acked_seq = max(acked_seq, ?1) WHERE id = 1",
            [seq],
        )?;
        Ok(())
    }

    /// Records the end of a successful sync.
    pub fn mark_synced(&mut self) -> Result<()> {
        let now = doorstep_core::schema::format_timestamp(self.now());
        self.conn
            .execute("UPDATE device_state SET last_sync_at = ?1 WHERE id = 1", [now])?;
        Ok(())
    }

    /// Outbox and pull positions.
    pub fn sync_position(&self) -> Result<SyncPosition> {
        Ok(self.conn.query_row(
            "SELECT next_seq - 1, acked_seq, pull_cursor, last_sync_at, pruned_seq FROM device_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncPosition {
                    last_seq: r.get(0)?,
                    acked_seq: r.get(1)?,
                    pull_cursor: r.get(2)?,
                    last_sync_at: r.get(3)?,
                    pruned_seq: r.get(4)?,
                })
            },
        )?)
    }
}
