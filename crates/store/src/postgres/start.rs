//! What opening the database does under the start lock: a foreign or
//! newer database refused, the migrations, the report tables built, a
//! restored dump's new epoch, the office's identity (its device id and
//! token key) and the epochs.

use chrono::Utc;
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{MIGRATIONS, damaged, report, restored, sync};
use crate::auth::TokenKey;
use crate::{StoreError, schema};
use doorstep_ingest::epoch::{Epoch, Epochs};

/// Under the start lock: refuse a foreign or newer database, migrate, build
/// the report tables, and read or make the identity.
pub(super) async fn start(
    client: &mut deadpool_postgres::Object,
    place: &str,
) -> Result<(TokenKey, DeviceId, Epochs), StoreError> {
    let ours: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&schema::HISTORY])
        .await?
        .get(0);
    if !ours {
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )
            .await?
            .get(0);
        if tables > 0 {
            return Err(StoreError::Refused(format!(
                "the PostgreSQL database {place} already holds {tables} tables and is not a Doorstep server database; give an empty database"
            )));
        }
    }
    let runner = schema::runner(MIGRATIONS)?;
    if ours {
        let applied = runner
            .get_applied_migrations_async(&mut ***client)
            .await
            .map_err(schema::migration_error)?;
        schema::refuse_newer(&applied, MIGRATIONS.len(), &format!("the PostgreSQL database {place}"))?;
    }
    let report = runner
        .run_async(&mut ***client)
        .await
        .map_err(schema::migration_error)?;
    schema::log_applied(&report);
    let tx = client.transaction().await?;
    // Instances already serving may be pushing: a rebuild of the report
    // tables waits for the clock row like any other writer.
    let clock = sync::lock_clock(&tx).await?;
    if report::build_if_missing(&tx).await? {
        tracing::info!("report tables built from the change log");
    }
    if let Some((old, new)) = restored::start_epoch_if_restored(&tx, clock.last_seq).await? {
        tracing::warn!(
            old_epoch = %old,
            new_epoch = %new,
            base_seq = clock.last_seq,
            "the database was loaded from a dump since the last start (its change log table is new): a new epoch starts; tablets resend what it lacks and pull again from seq {}",
            clock.last_seq
        );
    }
    let identity = identity(&tx).await?;
    let epochs = load_epochs(&tx).await?;
    tx.commit().await?;
    Ok((identity.0, identity.1, epochs))
}

/// The database's epochs (`doorstep_ingest::epoch`), making the first on first start.
pub(super) async fn load_epochs(tx: &Transaction<'_>) -> Result<Epochs, StoreError> {
    let current: Option<String> = tx
        .query_opt("SELECT value FROM server_meta WHERE key = 'epoch'", &[])
        .await?
        .map(|r| r.get(0));
    let current = match current {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7().hyphenated().to_string();
            tx.execute(
                "INSERT INTO epoch (id, parent, base_seq, started_at) VALUES ($1, NULL, 0, $2)",
                &[&id, &format_timestamp(Utc::now())],
            )
            .await?;
            tx.execute("INSERT INTO server_meta (key, value) VALUES ('epoch', $1)", &[&id])
                .await?;
            id
        }
    };
    let all = tx
        .query(
            "SELECT id, parent, base_seq, started_at FROM epoch ORDER BY started_at, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| Epoch {
            id: r.get(0),
            parent: r.get(1),
            base_seq: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
            started_at: r.get(3),
        })
        .collect::<Vec<_>>();
    if !all.iter().any(|e| e.id == current) {
        return Err(damaged("server_meta.epoch", "names no epoch in the epoch table"));
    }
    Ok(Epochs::new(current, all))
}

/// Reads (or on first start makes) the office's device id and token key.
async fn identity(tx: &Transaction<'_>) -> Result<(TokenKey, DeviceId), StoreError> {
    async fn get(tx: &Transaction<'_>, key: &str) -> Result<Option<String>, StoreError> {
        Ok(tx
            .query_opt("SELECT value FROM server_meta WHERE key = $1", &[&key])
            .await?
            .map(|r| r.get(0)))
    }
    let key = match get(tx, "token_key").await? {
        Some(hex) => TokenKey::from_hex(&hex).ok_or_else(|| damaged("server_meta.token_key", "not 64 hex digits"))?,
        None => {
            let key = TokenKey::generate().map_err(|e| StoreError::Task(e.to_string()))?;
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('token_key', $1)",
                &[&key.to_hex()],
            )
            .await?;
            key
        }
    };
    let office = match get(tx, "office_device").await? {
        Some(id) => id.parse().map_err(|e| damaged("server_meta.office_device", e))?,
        None => {
            let id = DeviceId::new();
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('office_device', $1)",
                &[&id.to_string()],
            )
            .await?;
            tx.execute(
                "INSERT INTO device (id, label, enrolled_at) VALUES ($1, 'office', $2)",
                &[&id.to_string(), &format_timestamp(Utc::now())],
            )
            .await?;
            id
        }
    };
    Ok((key, office))
}
