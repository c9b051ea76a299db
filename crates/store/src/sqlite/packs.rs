//! The pack versions this server has handed out: recording new and
//! reworded versions, and reading them all back.

use chrono::{DateTime, Utc};
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::format_timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::StoreError;
use doorstep_ingest::pack_catalog::{self, Record};

/// Records the packs this server serves (`Store::record_packs`): all
/// versions after, or why the catalogue refused them.
pub(super) fn record_packs(
    conn: &mut Connection,
    packs: Vec<PackFile>,
    now: DateTime<Utc>,
) -> Result<Result<Vec<PackFile>, String>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = format_timestamp(now);
    let records = match pack_catalog::record(&pack_versions(&tx)?, &packs) {
        Ok(records) => records,
        // Dropping the transaction records nothing.
        Err(refused) => return Ok(Err(refused)),
    };
    for record in records {
        match record {
            Record::New(pack) => tx.execute(
                "INSERT INTO pack_version (key, version, toml, first_served_at) VALUES (?1, ?2, ?3, ?4)",
                (&pack.key, pack.version, &pack.toml, &now),
            )?,
            Record::Reworded(pack) => tx.execute(
                "UPDATE pack_version SET toml = ?3 WHERE key = ?1 AND version = ?2",
                (&pack.key, pack.version, &pack.toml),
            )?,
        };
    }
    let all = pack_versions(&tx)?;
    tx.commit()?;
    Ok(Ok(all))
}

/// Every pack version ever handed out, by key and version.
fn pack_versions(tx: &Transaction<'_>) -> Result<Vec<PackFile>, StoreError> {
    let all = tx
        .prepare("SELECT key, version, toml FROM pack_version ORDER BY key, version")?
        .query_map([], |r| {
            Ok(PackFile {
                key: r.get(0)?,
                version: r.get(1)?,
                toml: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(all)
}
