//! The pack versions this server has handed out: recording new and
//! reworded versions, and reading them all back.

use chrono::{DateTime, Utc};
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::format_timestamp;
use tokio_postgres::Transaction;

use super::{damaged, sync};
use crate::StoreError;
use doorstep_ingest::pack_catalog::{self, Record};

/// Records the packs this server serves (`Store::record_packs`): all
/// versions after, or why the catalogue refused them.
pub(super) async fn record_packs(
    client: &mut deadpool_postgres::Object,
    packs: Vec<PackFile>,
    now: DateTime<Utc>,
) -> Result<Result<Vec<PackFile>, String>, StoreError> {
    let tx = client.transaction().await?;
    // Two instances starting together record the same versions in turn.
    sync::lock_clock(&tx).await?;
    let now = format_timestamp(now);
    let records = match pack_catalog::record(&pack_versions(&tx).await?, &packs) {
        Ok(records) => records,
        // Dropping the transaction records nothing.
        Err(refused) => return Ok(Err(refused)),
    };
    for record in records {
        match record {
            Record::New(pack) => {
                tx.execute(
                    "INSERT INTO pack_version (key, version, toml, first_served_at) VALUES ($1, $2, $3, $4)",
                    &[&pack.key, &i64::from(pack.version), &pack.toml, &now],
                )
                .await?
            }
            Record::Reworded(pack) => {
                tx.execute(
                    "UPDATE pack_version SET toml = $3 WHERE key = $1 AND version = $2",
                    &[&pack.key, &i64::from(pack.version), &pack.toml],
                )
                .await?
            }
        };
    }
    let all = pack_versions(&tx).await?;
    tx.commit().await?;
    Ok(Ok(all))
}

/// Every pack version ever handed out, by key and version.
async fn pack_versions(tx: &Transaction<'_>) -> Result<Vec<PackFile>, StoreError> {
    let mut all = Vec::new();
    for r in tx
        .query(
            "SELECT key, version, toml FROM pack_version ORDER BY key COLLATE \"C\", version",
            &[],
        )
        .await?
    {
        let version: i64 = r.try_get(1)?;
        all.push(PackFile {
            key: r.try_get(0)?,
            version: u32::try_from(version).map_err(|e| damaged("pack_version.version", e))?,
            toml: r.try_get(2)?,
        });
    }
    Ok(all)
}
