//! Changes from a copied tablet, set aside (migration 0007): written in
//! the refused push's transaction, shown on the dashboard's tablets page.

use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use tokio_postgres::Transaction;

use super::i64_of;
use crate::StoreError;
use crate::quarantine::digest;

/// Keeps `changes` (a copy's batch) aside; one already kept is kept once.
pub(super) async fn keep(
    tx: &Transaction<'_>,
    device: DeviceId,
    changes: &[Change],
    now: &str,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare(
            "INSERT INTO quarantine (device_id, seq, digest, body, received_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let dev = device.to_string();
    for change in changes {
        let body = serde_json::to_string(change).map_err(|e| StoreError::Task(e.to_string()))?;
        tx.execute(&stmt, &[&dev, &i64_of(change.seq), &digest(&body), &body, &now])
            .await?;
    }
    Ok(())
}
