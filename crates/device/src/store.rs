//! Opening, creating and guarding the device's SQLite file.
//!
//! One file holds everything a tablet knows. It is opened in WAL mode with
//! foreign keys on and `synchronous = FULL`: a visit recorded in a doorway
//! survives the battery dying a second later. Migrations are embedded and
//! forward-only; a file from a newer app is refused rather than misread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use rusqlite_migration::{M, Migrations};

use crate::error::{Result, StoreError};
use crate::key::{DbKey, KeyChain, KeyHolder, KeyStore};
use crate::packs::PackCache;

/// The embedded migrations, in order. Never edit a released one.
const MIGRATION_LIST: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_initial.sql")),
    M::up(include_str!("../migrations/0002_sync.sql")),
    M::up(include_str!("../migrations/0003_lock.sql")),
    M::up(include_str!("../migrations/0004_copied.sql")),
    M::up(include_str!("../migrations/0005_pruned.sql")),
    M::up(include_str!("../migrations/0006_signed.sql")),
];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_LIST);

/// The newest database schema this build knows.
pub const SCHEMA_VERSION: usize = MIGRATION_LIST.len();

/// Where the store reads the time. Tests and the CLI's `--now` replace it
/// to play a tablet whose clock is wrong. The store adds the offset to the
/// server's clock measured at the last sync (see [`Store::now`]).
pub type WallClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How to create a new store.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// A trainee's practice store: same data model, never syncs.
    pub practice: bool,
    /// Use this device id instead of a new one (tests, demo fixtures).
    pub device_id: Option<DeviceId>,
}

/// The device's store: one SQLite file.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    device_id: DeviceId,
    practice: bool,
    pub(crate) wall: WallClock,
    /// Server clock minus wall clock, from the last sync (0 before one).
    clock_offset_ms: i64,
    pub(crate) packs: PackCache,
    /// The key the file was opened with (none: a plain file, benchmarks only).
    key: Option<StoreKey>,
}

/// The key a store was opened with and who holds it: enough to open the
/// same file again (the app's sync worker, a reopen after a sync) without
/// asking the key store each time. Hidden in `Debug`.
#[derive(Debug, Clone)]
pub struct StoreKey {
    key: DbKey,
    holder: KeyHolder,
    location: String,
}

impl StoreKey {
    /// Who holds the key.
    pub fn holder(&self) -> KeyHolder {
        self.holder
    }

    /// Where, in words ("key file /data/field.db.key").
    pub fn location(&self) -> &str {
        &self.location
    }

    fn found(key: DbKey, store: &dyn KeyStore) -> StoreKey {
        StoreKey {
            key,
            holder: store.holder(),
            location: store.location(),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("device_id", &self.device_id)
            .field("practice", &self.practice)
            .field("clock_offset_ms", &self.clock_offset_ms)
            .field("key_holder", &self.key.as_ref().map(|k| k.holder))
            .finish_non_exhaustive()
    }
}

fn system_clock() -> WallClock {
    Arc::new(Utc::now)
}

impl Store {
    /// Creates a new store at `path`, encrypted under a new key kept in a
    /// key file beside it (`<db>.key`); refuses if a database is already
    /// there. The bundled checklist packs are installed.
    pub fn create(path: &Path, options: CreateOptions) -> Result<Store> {
        Store::create_keyed(path, options, &KeyChain::key_file_beside(path))
    }

    /// Creates a new encrypted store whose key is kept by `keys` (a key left
    /// there by an earlier database of the same name is used again).
    pub fn create_keyed(path: &Path, options: CreateOptions, keys: &KeyChain) -> Result<Store> {
        refuse_existing(path)?;
        let (key, made) = match keys.find().map_err(StoreError::Key)? {
            Some((key, store)) => (StoreKey::found(key, store), false),
            None => {
                let (key, store) = keys.create().map_err(StoreError::Key)?;
                (StoreKey::found(key, store), true)
            }
        };
        let result = Self::create_inner(path, options, Some(key));
        if result.is_err() && made {
            let _ = keys.erase();
        }
        result
    }

    /// A plain, unencrypted store, as versions before SQLCipher wrote them:
    /// for the benchmarks (plain against encrypted) and the migration tests
    /// only. Opening it again with [`Store::open`] encrypts it.
    #[doc(hidden)]
    pub fn create_plain(path: &Path, options: CreateOptions) -> Result<Store> {
        refuse_existing(path)?;
        Self::create_inner(path, options, None)
    }

    /// Opens a plain store as it is, without encrypting it: for the
    /// benchmarks' plain side only.
    #[doc(hidden)]
    pub fn open_plain(path: &Path) -> Result<Store> {
        let conn = open_plain_checked(path)?;
        Store::finish_open(conn, path, None)
    }

    fn create_inner(path: &Path, options: CreateOptions, key: Option<StoreKey>) -> Result<Store> {
        let result = Self::create_file(path, options, key);
        if result.is_err() {
            // Leave nothing half-made behind; the error says what happened.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        result
    }

    fn create_file(path: &Path, options: CreateOptions, key: Option<StoreKey>) -> Result<Store> {
        let mut conn = Connection::open(path).map_err(|e| StoreError::from_sqlite_at(e, path))?;
        if let Some(k) = &key {
            apply_key(&conn, &k.key, path)?;
        }
        configure(&conn, path)?;
        MIGRATIONS.to_latest(&mut conn).map_err(|e| migration_error(e, path))?;
        let device_id = options.device_id.unwrap_or_default();
        let wall = system_clock();
        conn.execute(
            "INSERT INTO device_state (id, device_id, practice, created_at) VALUES (1, ?1, ?2, ?3)",
            (device_id.to_string(), options.practice, format_timestamp(wall())),
        )?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            device_id,
            practice: options.practice,
            wall,
            clock_offset_ms: 0,
            packs: PackCache::default(),
            key,
        };
        for pack in crate::packs::bundled()? {
            store.install_pack(&pack)?;
        }
        Ok(store)
    }

    /// Opens an existing store whose key is in the key file beside it,
    /// upgrading an older schema and encrypting a plain file from an earlier
    /// version (see [`Store::open_keyed`]).
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_keyed(path, &KeyChain::key_file_beside(path))
    }

    /// Opens an existing store with the key `keys` hold. A missing file, a
    /// damaged one, a foreign SQLite file, one from a newer app, a file
    /// with no key or with another key is refused with a message that says
    /// which, and left untouched. A plain file from before encryption is
    /// encrypted in place first ([`crate::encrypt`]): a new key is kept,
    /// the file is exported encrypted beside it, made durable, and renamed
    /// over the old one, so a kill at any moment leaves one whole file.
    pub fn open_keyed(path: &Path, keys: &KeyChain) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::NoDatabase { path: path.to_owned() });
        }
        crate::encrypt::clear_leftovers(path)?;
        match crate::encrypt::file_kind(path)? {
            FileKind::Plain => {
                let conn = open_plain_checked(path)?;
                let key = match keys.find().map_err(StoreError::Key)? {
                    // A migration that was cut after keeping its key.
                    Some((key, store)) => StoreKey::found(key, store),
                    None => {
                        let (key, store) = keys.create().map_err(StoreError::Key)?;
                        StoreKey::found(key, store)
                    }
                };
                crate::encrypt::encrypt_in_place(conn, path, &key.key)?;
                Store::open_with(path, &key)
            }
            FileKind::Encrypted => {
                let key = match keys.find().map_err(StoreError::Key)? {
                    Some((key, store)) => StoreKey::found(key, store),
                    None => {
                        return Err(StoreError::NoKey {
                            path: path.to_owned(),
                            looked_in: keys.locations(),
                        });
                    }
                };
                Store::open_with(path, &key)
            }
            FileKind::Empty => Err(StoreError::NotDoorstep { path: path.to_owned() }),
            FileKind::NotSqlite => Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: "it is not an SQLite file".to_owned(),
            }),
        }
    }

    /// Opens an encrypted store with a key already fetched ([`Store::key`]).
    pub fn open_with(path: &Path, key: &StoreKey) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::NoDatabase { path: path.to_owned() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_sqlite_at(e, path))?;
        apply_key(&conn, &key.key, path)?;
        if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
            return Err(match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => StoreError::WrongKey {
                    path: path.to_owned(),
                    location: key.location.clone(),
                },
                _ => StoreError::from_sqlite_at(e, path),
            });
        }
        Store::finish_open(conn, path, Some(key.clone()))
    }

    fn finish_open(mut conn: Connection, path: &Path, key: Option<StoreKey>) -> Result<Store> {
        check_ours(&conn, path)?;
        configure(&conn, path)?;
        MIGRATIONS.to_latest(&mut conn).map_err(|e| migration_error(e, path))?;
        let identity: Option<(String, bool, i64)> = conn
            .query_row(
                "SELECT device_id, practice, clock_offset_ms FROM device_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) => StoreError::from_sqlite_at(e, path),
                other => StoreError::Sqlite(other),
            })?;
        let Some((device_id, practice, clock_offset_ms)) = identity else {
            return Err(StoreError::NotDoorstep { path: path.to_owned() });
        };
        let device_id = device_id
            .parse()
            .map_err(|e| StoreError::Stored(format!("device id: {e}")))?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            device_id,
            practice,
            wall: system_clock(),
            clock_offset_ms,
            packs: PackCache::default(),
            key,
        })
    }

    /// Opens the store at `path` (key file beside it), creating it if there is none.
    pub fn open_or_create(path: &Path, options: CreateOptions) -> Result<Store> {
        Store::open_or_create_keyed(path, options, &KeyChain::key_file_beside(path))
    }

    /// Opens the store at `path` with `keys`, creating it if there is none.
    pub fn open_or_create_keyed(path: &Path, options: CreateOptions, keys: &KeyChain) -> Result<Store> {
        if path.exists() {
            Store::open_keyed(path, keys)
        } else {
            Store::create_keyed(path, options, keys)
        }
    }

    /// The key this store was opened with, to open the same file again
    /// (`None` for a plain benchmark store).
    pub fn key(&self) -> Option<&StoreKey> {
        self.key.as_ref()
    }

    /// Opens this store's file again on a new connection, with the same key.
    pub fn reopen(&self) -> Result<Store> {
        match &self.key {
            Some(key) => Store::open_with(&self.path, key),
            None => {
                let conn = open_plain_checked(&self.path)?;
                Store::finish_open(conn, &self.path, None)
            }
        }
    }

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// Whether this is a trainee's practice store (never syncs).
    pub fn is_practice(&self) -> bool {
        self.practice
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the id the server assigned at enrolment (the store row is
    /// updated by the caller, in its transaction).
    pub(crate) fn set_device_id(&mut self, device_id: DeviceId) {
        self.device_id = device_id;
    }

    /// Replaces the wall clock (tests; the CLI's `--now`). The measured
    /// offset to the server's clock still applies on top of it.
    pub fn set_wall_clock(&mut self, wall: WallClock) {
        self.wall = wall;
    }

    /// The time: the wall clock corrected by the offset to the server's
    /// clock measured at the last sync. A tablet whose battery died and
    /// whose clock reads 2000-01-01 shows and records the right dates again
    /// after one sync. (Ordering never depends on this: the HLC only moves
    /// forward whatever the time reads.)
    pub fn now(&self) -> DateTime<Utc> {
        let wall = self.wall_now();
        chrono::TimeDelta::try_milliseconds(self.clock_offset_ms)
            .and_then(|offset| wall.checked_add_signed(offset))
            .unwrap_or(wall)
    }

    /// The wall clock's own reading, without the correction.
    pub(crate) fn wall_now(&self) -> DateTime<Utc> {
        (self.wall)()
    }

    /// Server clock minus wall clock, in milliseconds, as measured at the
    /// last sync (0 before the first).
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Takes a newly measured (and already stored) clock offset.
    pub(crate) fn set_clock_offset_ms(&mut self, offset_ms: i64) {
        self.clock_offset_ms = offset_ms;
    }

    /// Today's date where the device is (its local time zone): a visit at
    /// 06:30 in Dien Bien (23:30 UTC the day before) belongs to today.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&chrono::Local).date_naive()
    }

    /// The UTC stored-form bounds `[start, end)` of a local day, for
    /// comparing with stored timestamps.
    pub(crate) fn local_day_bounds(&self, day: chrono::NaiveDate) -> (String, String) {
        use chrono::TimeZone;
        let start_of = |d: chrono::NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            let local = chrono::Local.from_local_datetime(&midnight).earliest();
            doorstep_core::schema::format_timestamp(local.map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)))
        };
        (start_of(day), start_of(day.succ_opt().unwrap_or(day)))
    }

    /// Runs SQLite's full integrity check; returns the problems it lists.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let line = row?;
            if line != "ok" {
                out.push(line);
            }
        }
        let mut fk = self.conn.prepare("PRAGMA foreign_key_check")?;
        let rows = fk.query_map([], |r| {
            Ok(format!(
                "{} row {} breaks a reference to {}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?
            ))
        })?;
        for row in rows {
            out.push(row?);
        }
        Ok(out)
    }
}

pub(crate) use doorstep_cipher::FileKind;

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() && std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(true) {
        return Err(StoreError::AlreadyExists { path: path.to_owned() });
    }
    Ok(())
}

/// Keys a new connection; the very first statement on it.
pub(crate) fn apply_key(conn: &Connection, key: &DbKey, path: &Path) -> Result<()> {
    key.apply(conn).map_err(|e| StoreError::from_sqlite_at(e, path))
}

/// Opens a plain file and checks, before anything touches it, that it is a
/// Doorstep database this app can read.
fn open_plain_checked(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_sqlite_at(e, path))?;
    check_ours(&conn, path)?;
    Ok(conn)
}

/// Refuses a file that is not a Doorstep database or is from a newer app.
/// Look before touching: switching to WAL or migrating would change the
/// file, and a file we refuse must be left exactly as it was.
fn check_ours(conn: &Connection, path: &Path) -> Result<()> {
    let found: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::from_sqlite_at(e, path))?;
    if found == 0 {
        return Err(StoreError::NotDoorstep { path: path.to_owned() });
    }
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let ours: bool = conn
        .query_row(
            "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'table' AND name = 'device_state'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| StoreError::from_sqlite_at(e, path))?;
    if !ours {
        return Err(StoreError::NotDoorstep { path: path.to_owned() });
    }
    Ok(())
}

/// SQLite's page cache per connection, in KiB (negative: a size, not pages).
const PAGE_CACHE_KIB: i64 = -65_536;

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    let err = |e| StoreError::from_sqlite_at(e, path);
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Stored(format!(
            "could not switch {} to WAL mode (got {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    // A tablet's storage is small: after a checkpoint the WAL file is cut
    // back to this size instead of staying as large as its busiest moment
    // (a sync's pulled pages).
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
    // A page that misses SQLite's cache costs a decryption (AES-256 and an
    // HMAC-SHA512 check, ~10 µs) where a plain file costs a memcpy from the
    // OS cache; 2 MiB (the default) holds too little of a commune's
    // database for the village list and the write path to stay in it. The
    // cache fills only as pages are read, and is the same for plain files.
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB).map_err(err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

fn migration_error(e: rusqlite_migration::Error, path: &Path) -> StoreError {
    match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => StoreError::from_sqlite_at(err, path),
        other => StoreError::Stored(format!("migrating {}: {other}", path.display())),
    }
}
