//! Reading a PostgreSQL office database for `doorstep-server doctor`: a
//! simple query answers, the schema history, the clock. PostgreSQL checks
//! its own pages; a damaged one shows as the query's error.

use doorstep_core::hlc::Hlc;

use super::{MIGRATIONS, PgStore};
use crate::StoreError;
use crate::health::DatabaseHealth;
use crate::schema;

impl PgStore {
    /// The database's health (see `store::health`), read in one snapshot.
    pub async fn health(&self) -> Result<DatabaseHealth, StoreError> {
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        let newest: Option<i32> = tx
            .query_one(&format!("SELECT max(version) FROM {}", schema::HISTORY), &[])
            .await?
            .get(0);
        let clock: i64 = tx
            .query_one("SELECT hlc_last FROM sync_clock WHERE id = 1", &[])
            .await?
            .get(0);
        let changes: i64 = tx.query_one("SELECT count(*) FROM change_log", &[]).await?.get(0);
        let recorded_backup = tx
            .query_opt("SELECT file, taken_at FROM backup ORDER BY taken_at DESC LIMIT 1", &[])
            .await?
            .map(|r| (r.get(0), r.get(1)));
        tx.commit().await?;
        let stamp = Hlc::from_u64(u64::try_from(clock).unwrap_or(0));
        Ok(DatabaseHealth {
            problems: Vec::new(),
            checked_with: "a query",
            schema: newest.map(i64::from),
            known_schema: MIGRATIONS.len(),
            newest_stamp: (stamp != Hlc::ZERO).then_some(stamp),
            changes: u64::try_from(changes).unwrap_or(0),
            recorded_backup,
        })
    }
}
