//! A change log put back with its tables kept (a provider's snapshot or
//! point-in-time restore, which `restored.rs` cannot see), told by a tablet
//! that was confirmed more than the log holds of it: a new epoch then
//! (`Store::rewound`, `doorstep_ingest::epoch::rewind`). Other server processes read
//! it when a tablet brings them a cursor of the new epoch
//! (`Store::reload_epochs`), and office writes read the office id in
//! their own transaction.

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use tokio_postgres::Transaction;

use super::{damaged, u64_of};
use crate::StoreError;
use doorstep_ingest::epoch::{Rewind, rewind};

/// The office's device id as the database names it now.
pub(super) async fn office_id(tx: &Transaction<'_>) -> Result<DeviceId, StoreError> {
    let id: String = tx
        .query_one("SELECT value FROM server_meta WHERE key = 'office_device'", &[])
        .await?
        .try_get(0)?;
    id.parse().map_err(|e| damaged("server_meta.office_device", e))
}

/// `Store::rewound` in `tx`, which holds the clock row (no push commits
/// meanwhile).
pub(super) async fn rewound(
    tx: &Transaction<'_>,
    device: DeviceId,
    acked_seq: u64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let dev = device.to_string();
    let Some(row) = tx
        .query_opt(
            "SELECT last_applied_seq, last_seen_at FROM device WHERE id = $1",
            &[&dev],
        )
        .await?
    else {
        return Ok(false);
    };
    let last_applied: i64 = row.try_get(0)?;
    let last_seen: Option<String> = row.try_get(1)?;
    if acked_seq <= u64_of(last_applied) {
        return Ok(false);
    }
    let base: i64 = tx
        .query_one(
            "SELECT coalesce((SELECT server_seq FROM change_log WHERE device_id = $1 AND seq = $2), 0)",
            &[&dev, &last_applied],
        )
        .await?
        .try_get(0)?;
    let current = tx
        .query_one(
            "SELECT e.id, e.started_at FROM epoch e JOIN server_meta m ON m.key = 'epoch' AND m.value = e.id",
            &[],
        )
        .await?;
    let (current, started_at): (String, String) = (current.try_get(0)?, current.try_get(1)?);
    let Rewind::Start { base_seq } = rewind(last_seen.as_deref(), &started_at, u64_of(base)) else {
        return Ok(false);
    };
    let epoch = super::restored::open_epoch(tx, &current, base_seq, now).await?;
    tracing::warn!(
        device = %device,
        old_epoch = %current,
        new_epoch = %epoch,
        base_seq,
        "a tablet was confirmed more than the change log holds: the log was put back; a new epoch starts"
    );
    Ok(true)
}
