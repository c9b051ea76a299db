//! Backups of the SQLite office database, and restoring one.
//!
//! A backup is `VACUUM INTO` on a read-only connection: one read
//! transaction, so the copy is the database as of one commit while pushes
//! go on (WAL lets the writer commit meanwhile); compact; and, for an
//! encrypted office, encrypted under the same key. It is written to
//! `<out>.partial`, checked (`quick_check`, the application id), fsynced
//! and only then renamed to `<out>`: a backup file that exists is whole.
//!
//! Once the file is in place, what it holds of each tablet (its last
//! applied seq in the copy) is recorded in the live database
//! (`device.backed_up_seq`, the `backup` table): the answer to a sync
//! tells the tablet, which may then drop those changes from its outbox.
//!
//! Restoring checks the backup first (whole, ours, not from a newer
//! server, readable with the office's key, `integrity_check`), then puts
//! the current database aside (`<db>.before-restore-<time>`, with its WAL)
//! and the backup in its place by rename, and starts a new **epoch**: the
//! restored history is not the one tablets last saw, and the epoch id in
//! `server_meta` says so. A refused backup changes nothing.

use std::path::{Path, PathBuf};

use chrono::Utc;
use doorstep_cipher::{DbKey, FileKind};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{APPLICATION_ID, MIGRATIONS, cipher};
use crate::{BackupTaken, StoreError, schema};

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    /// The backup restored.
    pub from: PathBuf,
    /// Where the database it replaced was put (none if there was none).
    pub replaced_kept_at: Option<PathBuf>,
    /// The backup's epoch, and the new one the restored database starts.
    pub old_epoch: String,
    /// The new epoch.
    pub new_epoch: String,
    /// The newest change the backup holds.
    pub server_seq: u64,
}

fn refused(detail: String) -> StoreError {
    StoreError::Refused(detail)
}

/// Copies the database open on `conn` (a reader) to `out` (module docs).
pub(super) fn take(conn: &Connection, out: &Path, key: Option<&DbKey>) -> Result<BackupTaken, StoreError> {
    if out.exists() {
        return Err(refused(format!("{} already exists; give another --out", out.display())));
    }
    let partial = doorstep_cipher::with_suffix(out, ".partial");
    remove_if_there(&partial)?;
    let taken_at = Utc::now();
    let (epoch, server_seq) = epoch_and_seq(conn)?;
    let target = partial.to_string_lossy().into_owned();
    if key.is_some() {
        // VACUUM INTO keys its copy with the main database's key but
        // SQLCipher's default page settings: make those ours (a process-wide
        // default; every Doorstep database is sealed this way).
        conn.execute_batch(doorstep_cipher::cipher_default_settings())?;
    }
    if let Err(e) = conn.execute("VACUUM INTO ?1", [&target]) {
        let _ = std::fs::remove_file(&partial);
        return Err(refused(format!("the backup to {} failed: {e}", out.display())));
    }
    let checked = check_file(&partial, key).and_then(|_| {
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| refused(format!("writing {}: {e}", partial.display())))
    });
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, out)
        .and_then(|()| doorstep_cipher::sync_parent(out))
        .map_err(|e| refused(format!("writing {}: {e}", out.display())))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(BackupTaken {
        path: out.to_owned(),
        bytes,
        taken_at,
        epoch,
        server_seq,
        encrypted: key.is_some(),
    })
}

/// What the backup at `file` holds of each tablet: (device id, its last
/// applied seq in the copy).
pub(super) fn coverage(file: &Path, key: Option<&DbKey>) -> Result<Vec<(String, i64)>, StoreError> {
    let uri = format!("file:{}?immutable=1", cipher::uri_path(file));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&uri, flags)
        .map_err(|e| refused(format!("cannot open the backup {}: {e}", file.display())))?;
    cipher::apply(&conn, key)?;
    let mut stmt = conn.prepare("SELECT id, last_applied_seq FROM device WHERE commune_id IS NOT NULL")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records the backup `taken` and what it holds of each tablet
/// ([`coverage`]) in the live database, in one transaction.
pub(super) fn record(conn: &mut Connection, taken: &BackupTaken, held: &[(String, i64)]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT OR REPLACE INTO backup (taken_at, file, bytes, server_seq, epoch) VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            doorstep_core::schema::format_timestamp(taken.taken_at),
            taken.path.to_string_lossy(),
            i64::try_from(taken.bytes).unwrap_or(i64::MAX),
            i64::try_from(taken.server_seq).unwrap_or(i64::MAX),
            &taken.epoch,
        ),
    )?;
    {
        let mut stmt = tx.prepare("UPDATE device SET backed_up_seq = ?2 WHERE id = ?1")?;
        for (device, seq) in held {
            stmt.execute((device, seq))?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The epoch and the newest server seq of an open database.
fn epoch_and_seq(conn: &Connection) -> Result<(String, u64), StoreError> {
    let epoch: Option<String> = conn
        .query_row("SELECT value FROM server_meta WHERE key = 'epoch'", [], |r| r.get(0))
        .optional()?;
    let seq: i64 = conn.query_row("SELECT coalesce(max(server_seq), 0) FROM change_log", [], |r| r.get(0))?;
    Ok((epoch.unwrap_or_default(), u64::try_from(seq).unwrap_or(0)))
}

/// Checks that `file` is a whole Doorstep server database this server can
/// restore, readable with `key`; its epoch and newest seq.
pub(super) fn check_file(file: &Path, key: Option<&DbKey>) -> Result<(String, u64), StoreError> {
    let name = file.display();
    let kind = match std::fs::metadata(file) {
        Ok(m) if m.is_file() => {
            doorstep_cipher::file_kind(file).map_err(|e| refused(format!("cannot read {name}: {e}")))?
        }
        Ok(_) => return Err(refused(format!("{name} is not a file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(refused(format!("{name} does not exist"))),
        Err(e) => return Err(refused(format!("cannot read {name}: {e}"))),
    };
    match (kind, key) {
        (FileKind::Empty, _) => return Err(refused(format!("{name} is empty: not a backup"))),
        (FileKind::NotSqlite, _) => {
            return Err(refused(format!(
                "{name} is not a backup: it is not a SQLite file, or it was cut short"
            )));
        }
        (FileKind::Encrypted, None) => {
            return Err(refused(format!(
                "{name} is encrypted (or is not a SQLite file); give the office's key with --db-key-file"
            )));
        }
        (FileKind::Plain, Some(_)) => {
            return Err(refused(format!(
                "{name} is a plain backup but this office's database is encrypted; restore it without --db-key-file, or take an encrypted backup"
            )));
        }
        (FileKind::Plain, None) => plain_whole(file)?,
        _ => {}
    }
    let uri = format!("file:{}?immutable=1", cipher::uri_path(file));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&uri, flags).map_err(|e| refused(format!("cannot open {name}: {e}")))?;
    cipher::apply(&conn, key)?;
    let unreadable = |e: rusqlite::Error| match (key, e.sqlite_error_code()) {
        (Some(_), Some(rusqlite::ErrorCode::NotADatabase)) => refused(format!(
            "{name} cannot be read with this office's key: it is another office's backup, or damaged"
        )),
        _ => refused(format!("{name} is damaged, cut short, or not a backup ({e})")),
    };
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(unreadable)?;
    if app != APPLICATION_ID {
        return Err(refused(format!(
            "{name} is not a Doorstep server backup (another program's SQLite file)"
        )));
    }
    let newest: Option<i64> = conn
        .query_row(&format!("SELECT max(version) FROM {}", schema::HISTORY), [], |r| {
            r.get(0)
        })
        .map_err(|e| {
            refused(format!(
                "{name} is not a whole Doorstep server backup (no schema history: {e})"
            ))
        })?;
    let known = MIGRATIONS.len();
    if let Some(v) = newest
        && usize::try_from(v).unwrap_or(usize::MAX) > known
    {
        return Err(refused(format!(
            "{name} was written by a newer doorstep-server (schema {v}, this one knows {known}); restore it with that version"
        )));
    }
    let problems: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA integrity_check(5)").map_err(unreadable)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(unreadable)?;
        rows.collect::<Result<_, _>>().map_err(unreadable)?
    };
    if problems != ["ok"] {
        return Err(refused(format!("{name} is damaged: {}", problems.join("; "))));
    }
    epoch_and_seq(&conn).map_err(|e| refused(format!("{name} is not a whole Doorstep server backup ({e})")))
}

/// Puts the checked backup `from` in the place of the database at `db`
/// (module docs); where the database it replaced was put. The caller holds
/// the serving lock: no server has `db` open.
pub(super) fn put_in_place(db: &Path, from: &Path, key: Option<&DbKey>) -> Result<Option<PathBuf>, StoreError> {
    let io = |what: &str, e: std::io::Error| refused(format!("restoring {}: {what}: {e}", db.display()));
    let incoming = doorstep_cipher::with_suffix(db, ".restoring");
    remove_if_there(&incoming)?;
    std::fs::copy(from, &incoming).map_err(|e| io("copying the backup", e))?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("writing the copy", e))?;
    // The copy must still be the backup that was checked.
    if let Err(e) = check_file(&incoming, key) {
        let _ = std::fs::remove_file(&incoming);
        return Err(e);
    }
    let replaced_kept_at = if db.exists() {
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = doorstep_cipher::with_suffix(db, &format!(".before-restore-{stamp}"));
        for suffix in ["-wal", "-shm", "-journal"] {
            let from = doorstep_cipher::with_suffix(db, suffix);
            if from.exists() {
                std::fs::rename(&from, doorstep_cipher::with_suffix(&aside, suffix))
                    .map_err(|e| io("putting the old database aside", e))?;
            }
        }
        std::fs::rename(db, &aside).map_err(|e| io("putting the old database aside", e))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, db)
        .and_then(|()| doorstep_cipher::sync_parent(db))
        .map_err(|e| io("putting the backup in place", e))?;
    Ok(replaced_kept_at)
}

/// Starts a new epoch in the restored database, opened and migrated:
/// its log is the backup's epoch's up to `base_seq`. The office gets a new
/// device id too, so the office changes written from now on never reuse a
/// `(device, seq)` the tablets saw in the lost history.
pub(super) fn start_epoch(conn: &mut Connection, base_seq: u64) -> Result<(String, String), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let old: String = tx.query_row("SELECT value FROM server_meta WHERE key = 'epoch'", [], |r| r.get(0))?;
    let epoch = open_epoch(&tx, &old, base_seq, Utc::now())?;
    tx.commit()?;
    Ok((old, epoch))
}

/// In `tx`: a new epoch after `parent` whose log is the parent's up to
/// `base_seq`, made current, and a new office device id made the office's
/// (so office changes from now on never reuse a `(device, seq)` of the
/// parent's history); the new epoch's id.
pub(super) fn open_epoch(
    tx: &rusqlite::Transaction<'_>,
    parent: &str,
    base_seq: u64,
    now: chrono::DateTime<Utc>,
) -> rusqlite::Result<String> {
    let epoch = uuid::Uuid::now_v7().hyphenated().to_string();
    let now = doorstep_core::schema::format_timestamp(now);
    tx.execute(
        "INSERT INTO epoch (id, parent, base_seq, started_at) VALUES (?1, ?2, ?3, ?4)",
        (&epoch, parent, i64::try_from(base_seq).unwrap_or(i64::MAX), &now),
    )?;
    let office = doorstep_core::ids::DeviceId::new().to_string();
    tx.execute(
        "INSERT INTO device (id, label, enrolled_at) VALUES (?1, 'office', ?2)",
        (&office, &now),
    )?;
    for (k, v) in [("epoch", epoch.as_str()), ("office_device", office.as_str())] {
        tx.execute("UPDATE server_meta SET value = ?2 WHERE key = ?1", (k, v))?;
    }
    Ok(epoch)
}

/// A plain SQLite file as long as its header says: page size times page
/// count (the header's count is valid when its "version valid for" matches
/// the change counter, as in every file SQLite 3.7 or newer wrote).
fn plain_whole(file: &Path) -> Result<(), StoreError> {
    let name = file.display();
    let mut head = [0u8; 100];
    let read = std::fs::File::open(file).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut head)?;
        f.metadata().map(|m| m.len())
    });
    let len = match read {
        Ok(len) => len,
        Err(_) => {
            return Err(refused(format!(
                "{name} is not a backup: it was cut short within its header"
            )));
        }
    };
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let be32 = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    if be32(92) == be32(24) {
        let expected = page_size * u64::from(be32(28));
        if len < expected {
            return Err(refused(format!(
                "{name} is not a whole backup: it was cut short ({len} of {expected} bytes)"
            )));
        }
    }
    Ok(())
}

fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(refused(format!("removing {}: {e}", path.display()))),
    }
}
