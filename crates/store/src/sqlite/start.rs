//! What opening the database reads or makes besides the schema: an old
//! `user_version` schema adopted by refinery, the office's identity (its
//! device id and token key) and the epochs.

use chrono::Utc;
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use super::{MIGRATIONS, damaged, u64_of};
use crate::auth::TokenKey;
use crate::{StoreError, schema};
use doorstep_ingest::epoch::{Epoch, Epochs};

/// Servers before refinery kept the schema version in `user_version`
/// (rusqlite_migration): record those migrations as applied, with the
/// checksums refinery gives the same files, so refinery carries on from
/// there. Done once; the history table then exists. True if it exists.
pub(super) fn adopt_user_version(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_history: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [schema::HISTORY],
        |r| r.get(0),
    )?;
    if has_history {
        return Ok(true);
    }
    if version <= 0 {
        return Ok(false);
    }
    let known = usize::try_from(version).unwrap_or(usize::MAX);
    if known > MIGRATIONS.len() {
        return Err(StoreError::Refused(format!(
            "this database was written by a newer doorstep-server (schema {version}, this one knows {}); update the server",
            MIGRATIONS.len()
        )));
    }
    let applied_on = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(&format!(
        "CREATE TABLE {h} (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));",
        h = schema::HISTORY
    ))?;
    for (n, (name, sql)) in MIGRATIONS.iter().take(known).enumerate() {
        let m = refinery_core::Migration::unapplied(name, sql).map_err(schema::migration_error)?;
        tx.execute(
            &format!(
                "INSERT INTO {} (version, name, applied_on, checksum) VALUES (?1, ?2, ?3, ?4)",
                schema::HISTORY
            ),
            (n + 1, m.name(), &applied_on, m.checksum().to_string()),
        )?;
    }
    tx.execute_batch("PRAGMA user_version = 0")?;
    tx.commit()?;
    Ok(true)
}

/// Reads (or on first start makes) the office's device id and token key.
pub(super) fn identity(conn: &mut Connection) -> Result<(TokenKey, DeviceId), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let get = |key: &str| -> rusqlite::Result<Option<String>> {
        tx.query_row("SELECT value FROM server_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    let key = match get("token_key")? {
        Some(hex) => TokenKey::from_hex(&hex).ok_or_else(|| damaged("server_meta.token_key", "not 64 hex digits"))?,
        None => {
            let key = TokenKey::generate().map_err(|e| StoreError::Task(e.to_string()))?;
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('token_key', ?1)",
                [key.to_hex()],
            )?;
            key
        }
    };
    let office = match get("office_device")? {
        Some(id) => id.parse().map_err(|e| damaged("server_meta.office_device", e))?,
        None => {
            let id = DeviceId::new();
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('office_device', ?1)",
                [id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO device (id, label, enrolled_at) VALUES (?1, 'office', ?2)",
                (id.to_string(), format_timestamp(Utc::now())),
            )?;
            id
        }
    };
    tx.commit()?;
    Ok((key, office))
}

/// The database's epochs (`doorstep_ingest::epoch`), making the first on first start.
pub(super) fn load_epochs(conn: &mut Connection) -> Result<Epochs, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<String> = tx
        .query_row("SELECT value FROM server_meta WHERE key = 'epoch'", [], |r| r.get(0))
        .optional()?;
    let current = match current {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7().hyphenated().to_string();
            tx.execute(
                "INSERT INTO epoch (id, parent, base_seq, started_at) VALUES (?1, NULL, 0, ?2)",
                (&id, format_timestamp(Utc::now())),
            )?;
            tx.execute("INSERT INTO server_meta (key, value) VALUES ('epoch', ?1)", [&id])?;
            id
        }
    };
    let all = {
        let mut stmt = tx.prepare("SELECT id, parent, base_seq, started_at FROM epoch ORDER BY started_at, id")?;
        stmt.query_map([], |r| {
            Ok(Epoch {
                id: r.get(0)?,
                parent: r.get(1)?,
                base_seq: u64_of(r.get(2)?),
                started_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    if !all.iter().any(|e| e.id == current) {
        return Err(damaged("server_meta.epoch", "names no epoch in the epoch table"));
    }
    tx.commit()?;
    Ok(Epochs::new(current, all))
}
