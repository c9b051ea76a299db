//! Telling, at start, that the PostgreSQL database was loaded from a dump,
//! and starting a new epoch then (`doorstep_ingest::epoch`).
//!
//! An office restores PostgreSQL with `pg_restore`, not with
//! `doorstep-server restore`, so nothing of ours runs at the moment of the
//! restore. What gives it away is that `pg_restore` makes the tables anew:
//! the change log's table has another object id than the one recorded at
//! the last start. Its rows are the dump's, and tablets may have pulled,
//! or pushed, past them; so the log is treated as a history of its own,
//! from the restored clock on, exactly as after a SQLite restore.
//!
//! A move to another cluster by dump and restore (an upgrade) starts an
//! epoch too, harmlessly: no tablet holds a cursor past its base, so none
//! pulls again. Restore with every server stopped (docs/postgres.md): a
//! server running through a restore keeps serving its old epoch until it
//! restarts.

use chrono::Utc;
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::StoreError;

/// The `server_meta` key of the change log table's object id.
const TABLE_ID: &str = "change_log_table";

/// Under the start lock, with the clock row locked at `last_seq`: if the
/// change log's table is not the one recorded at the last start, starts a
/// new epoch whose log is the restored one up to `last_seq`, with a new
/// office device id, and returns the old and new epoch ids.
pub(super) async fn start_epoch_if_restored(
    tx: &Transaction<'_>,
    last_seq: u64,
) -> Result<Option<(String, String)>, StoreError> {
    let table: i64 = tx
        .query_one("SELECT 'change_log'::regclass::oid::bigint", &[])
        .await?
        .get(0);
    let table = table.to_string();
    let recorded: Option<String> = tx
        .query_opt("SELECT value FROM server_meta WHERE key = $1", &[&TABLE_ID])
        .await?
        .map(|r| r.get(0));
    let current: Option<String> = tx
        .query_opt("SELECT value FROM server_meta WHERE key = 'epoch'", &[])
        .await?
        .map(|r| r.get(0));
    let restored = match (&recorded, &current) {
        (Some(recorded), Some(_)) => recorded != &table,
        // First start, or the first since epochs: nothing to compare with.
        _ => false,
    };
    tx.execute(
        "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&TABLE_ID, &table],
    )
    .await?;
    let (true, Some(old)) = (restored, current) else {
        return Ok(None);
    };
    let epoch = open_epoch(tx, &old, last_seq, Utc::now()).await?;
    Ok(Some((old, epoch)))
}

/// In `tx`: a new epoch after `parent` whose log is the parent's up to
/// `base_seq`, made current, and a new office device id made the office's;
/// the new epoch's id.
pub(super) async fn open_epoch(
    tx: &Transaction<'_>,
    parent: &str,
    base_seq: u64,
    now: chrono::DateTime<Utc>,
) -> Result<String, StoreError> {
    let epoch = Uuid::now_v7().hyphenated().to_string();
    let now = format_timestamp(now);
    tx.execute(
        "INSERT INTO epoch (id, parent, base_seq, started_at) VALUES ($1, $2, $3, $4)",
        &[&epoch, &parent, &i64::try_from(base_seq).unwrap_or(i64::MAX), &now],
    )
    .await?;
    // The restored office seq counter would hand out change ids tablets
    // already hold under the old office id.
    let office = DeviceId::new().to_string();
    tx.execute(
        "INSERT INTO device (id, label, enrolled_at) VALUES ($1, 'office', $2)",
        &[&office, &now],
    )
    .await?;
    for (key, value) in [("epoch", epoch.as_str()), ("office_device", office.as_str())] {
        tx.execute("UPDATE server_meta SET value = $2 WHERE key = $1", &[&key, &value])
            .await?;
    }
    Ok(epoch)
}
