//! A change log put back without `doorstep-server restore` (a file copied
//! over the database with the server stopped), told by a tablet that was
//! confirmed more than the log holds of it: a new epoch then
//! (`Store::rewound`, `doorstep_ingest::epoch::rewind`).

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{damaged, u64_of};
use crate::StoreError;
use doorstep_ingest::epoch::{Rewind, rewind};

/// The office's device id as the database names it now.
pub(super) fn office_id(conn: &Connection) -> Result<DeviceId, StoreError> {
    let id: String = conn.query_row("SELECT value FROM server_meta WHERE key = 'office_device'", [], |r| {
        r.get(0)
    })?;
    id.parse().map_err(|e| damaged("server_meta.office_device", e))
}

/// `Store::rewound` on the writer connection.
pub(super) fn rewound(
    conn: &mut Connection,
    device: DeviceId,
    acked_seq: u64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let dev = device.to_string();
    let Some((last_applied, last_seen)): Option<(i64, Option<String>)> = tx
        .query_row(
            "SELECT last_applied_seq, last_seen_at FROM device WHERE id = ?1",
            [&dev],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    else {
        return Ok(false);
    };
    if acked_seq <= u64_of(last_applied) {
        return Ok(false);
    }
    let base: i64 = tx.query_row(
        "SELECT coalesce((SELECT server_seq FROM change_log WHERE device_id = ?1 AND seq = ?2), 0)",
        (&dev, last_applied),
        |r| r.get(0),
    )?;
    let (current, started_at): (String, String) = tx.query_row(
        "SELECT e.id, e.started_at FROM epoch e JOIN server_meta m ON m.key = 'epoch' AND m.value = e.id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Rewind::Start { base_seq } = rewind(last_seen.as_deref(), &started_at, u64_of(base)) else {
        return Ok(false);
    };
    let epoch = super::backup::open_epoch(&tx, &current, base_seq, now)?;
    tx.commit()?;
    tracing::warn!(
        device = %device,
        old_epoch = %current,
        new_epoch = %epoch,
        base_seq,
        "a tablet was confirmed more than the change log holds: the log was put back; a new epoch starts"
    );
    Ok(true)
}
