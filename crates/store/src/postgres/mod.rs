//! The PostgreSQL store: for a province or a country, and for several
//! `doorstep-server` processes behind a load balancer (they keep no state
//! outside the database).
//!
//! Chosen by a `postgres://` `--db` or `DATABASE_URL`. An async pool
//! (deadpool-postgres over tokio-postgres); every method is one
//! transaction at PostgreSQL's default READ COMMITTED.
//!
//! **Writers of the change log are serialised.** A push or office write
//! first locks the single `sync_clock` row (`SELECT ... FOR UPDATE`) and
//! holds it until it commits: under it the transaction loads and merges
//! entity states, takes the next `server_seq` numbers from the row, and
//! advances the server's hybrid logical clock. So `server_seq` order is
//! commit order: a puller that sees number N has already seen every number
//! below it, and an incremental pull can never skip a change that commits
//! late with a lower number (docs/postgres.md). It is the same one-writer
//! discipline SQLite has, now across processes; reads (pulls, the
//! dashboard, exports) never wait for it.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use doorstep_core::change::Change;
use doorstep_core::hlc::{Hlc, HlcClock, wall_millis};
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{PackFile, Rejected, Restamp};
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use tokio_postgres::config::SslMode;
use tokio_postgres::{IsolationLevel, NoTls, Row, Transaction};
use uuid::Uuid;

use super::{
    DeviceRecord, EnrollError, Enrolled, EraseAck, NewCode, OfficeError, Page, PendingCode, Pushed, Store, StoreError,
    schema,
};
use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::entity_state;
use doorstep_ingest::epoch::{Epoch, Epochs};
use doorstep_ingest::pack_catalog::{self, Record};
use doorstep_ingest::{self as ingest, Known, Loaded, Plan, Pusher, Refusal};
use doorstep_ingest::{OfficeDraft, OfficeWrite};

mod accounts;
mod backup;
mod health;
mod quarantine;
mod report;
mod restored;
mod rewind;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Writers queue for the clock row holding a pooled connection each;
    /// they may hold at most this many, so pulls, sign-in and the
    /// dashboard always find one.
    writers: std::sync::Arc<tokio::sync::Semaphore>,
    key: TokenKey,
    /// As last read: office writes read the database's own in their
    /// transaction (`rewind::office_id`).
    office: std::sync::Arc<std::sync::RwLock<DeviceId>>,
    epochs: std::sync::Arc<std::sync::RwLock<Epochs>>,
    /// The `--db` URL, for `pg_dump` (it may hold a password: never
    /// logged or shown).
    url: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("office", &self.office_device())
            .finish_non_exhaustive()
    }
}

pub(super) fn text_id(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(super) fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn damaged(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("{what}: {e}"))
}

pub(super) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Pool(with_causes(&e))
}

/// An error with its causes ("error connecting to server: Connection
/// refused"; "db error: ERROR: permission denied for table device"), since
/// the pool's and the driver's own messages name only the outermost.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The schema, in order; the same numbered files as SQLite's
/// (`migrations/sqlite`), in PostgreSQL's dialect, applied by refinery.
/// Released migrations are never edited.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "V1__initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        "V2__pack_version",
        include_str!("../../migrations/postgres/0002_pack_version.sql"),
    ),
    ("V3__report", include_str!("../../migrations/postgres/0003_report.sql")),
    (
        "V4__dashboard",
        include_str!("../../migrations/postgres/0004_dashboard.sql"),
    ),
    (
        "V5__device_erase",
        include_str!("../../migrations/postgres/0005_device_erase.sql"),
    ),
    ("V6__epoch", include_str!("../../migrations/postgres/0006_epoch.sql")),
    (
        "V7__quarantine",
        include_str!("../../migrations/postgres/0007_quarantine.sql"),
    ),
    ("V8__backup", include_str!("../../migrations/postgres/0008_backup.sql")),
];

/// Held (as a session advisory lock) while one process migrates, builds
/// the report tables and makes the office identity: instances starting
/// together take turns. "DSRV" as a number.
const START_LOCK: i64 = 0x4453_5256;

/// Connections per server process. A province's PostgreSQL allows 100 by
/// default; several instances share it.
const POOL_SIZE: usize = 16;

/// Connections writers may hold at once (the rest are for reads).
const WRITERS: usize = POOL_SIZE - 4;

/// TLS for `sslmode=require`: the server's certificate must chain to a
/// public root (webpki-roots, as browsers trust) or to the CA certificates
/// in the PEM file named by `PGSSLROOTCERT` (libpq's variable: a managed
/// service's own CA), and name the host of the URL. Stricter than libpq's
/// `require`, which does not verify: it is libpq's `verify-full`.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os("PGSSLROOTCERT") {
        let shown = std::path::Path::new(&path).display().to_string();
        let refused = |why: String| StoreError::Refused(format!("PGSSLROOTCERT {shown}: {why}"));
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(&path).map_err(|e| refused(e.to_string()))? {
            let cert = cert.map_err(|e| refused(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| refused(format!("not a CA certificate ({e})")))?;
            added += 1;
        }
        if added == 0 {
            return Err(refused("holds no PEM certificate".into()));
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Task(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Where a URL points, without its password, for messages and logs.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{db}")
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:pass@host:port/db`),
    /// applies the migrations this build knows and makes the office's
    /// identity on first start. A database holding other tables, or one
    /// migrated by a newer server, is refused untouched.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Refused(format!(
                "--db is not a usable PostgreSQL URL ({}); expected postgres://user:password@host:port/database",
                with_causes(&e)
            ))
        })?;
        if config.get_application_name().is_none() {
            // Names the server's connections in pg_stat_activity.
            config.application_name("doorstep-server");
        }
        let place = describe(&config);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == SslMode::Require {
            Manager::from_config(config, tls()?, manager_config)
        } else {
            Manager::from_config(config, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            // Pushes queue for the clock row holding a connection each; a
            // request may wait as long as the API's own timeout allows.
            .wait_timeout(Some(Duration::from_secs(120)))
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(format!("cannot connect to PostgreSQL at {place}: {}", with_causes(&e))))?;
        client.execute("SELECT pg_advisory_lock($1)", &[&START_LOCK]).await?;
        let started = start(&mut client, &place).await;
        // Released on every path; a crash releases it with the connection.
        // It is a session lock: behind a pooler in transaction mode the
        // unlock could reach another backend, which says false.
        let unlocked: bool = client
            .query_one("SELECT pg_advisory_unlock($1)", &[&START_LOCK])
            .await?
            .try_get(0)?;
        let (key, office, epochs) = started?;
        if !unlocked {
            return Err(StoreError::Refused(format!(
                "the start-up lock on {place} was not released by the session that took it; \
                 connect doorstep-server directly or through a pooler in session mode, not transaction mode"
            )));
        }
        Ok(PgStore {
            pool,
            writers: std::sync::Arc::new(tokio::sync::Semaphore::new(WRITERS)),
            key,
            office: std::sync::Arc::new(std::sync::RwLock::new(office)),
            epochs: std::sync::Arc::new(std::sync::RwLock::new(epochs)),
            url: url.to_owned(),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// A connection for a writer of the change log, and its turn among
    /// the writers (held until both are dropped).
    async fn writer(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, deadpool_postgres::Object), StoreError> {
        let turn = self
            .writers
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok((turn, self.client().await?))
    }
}

/// Under the start lock: refuse a foreign or newer database, migrate, build
/// the report tables, and read or make the identity.
async fn start(
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
    let clock = lock_clock(&tx).await?;
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
async fn load_epochs(tx: &Transaction<'_>) -> Result<Epochs, StoreError> {
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

/// The change log's write lock (module docs): the last server_seq handed
/// out and the server's clock, locked until the transaction ends.
struct Clock {
    last_seq: u64,
    hlc: HlcClock,
}

async fn lock_clock(tx: &Transaction<'_>) -> Result<Clock, StoreError> {
    let row = tx
        .query_one(
            "SELECT last_server_seq, hlc_last FROM sync_clock WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    Ok(Clock {
        last_seq: u64_of(row.get(0)),
        hlc: HlcClock::resume(Hlc::from_u64(u64_of(row.get(1)))),
    })
}

async fn save_clock(tx: &Transaction<'_>, clock: &Clock) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sync_clock SET last_server_seq = $1, hlc_last = $2 WHERE id = 1",
        &[&i64_of(clock.last_seq), &i64_of(clock.hlc.last().as_u64())],
    )
    .await?;
    Ok(())
}

fn known_row(row: &Row) -> Result<(Uuid, Known), StoreError> {
    let id: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let scope: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let id = Uuid::parse_str(&id).map_err(|e| damaged("entity.id", e))?;
    let kind = kind.parse::<EntityKind>().map_err(|e| damaged("entity.kind", e))?;
    let state = entity_state::from_json(&state).map_err(|e| damaged(&format!("entity {id}"), e))?;
    Ok((id, Known { kind, scope, state }))
}

/// Loads the entities and restamps a batch needs: one statement each.
async fn load(
    tx: &Transaction<'_>,
    pusher: &Pusher,
    needs: &ingest::Needs,
    has_restamps: bool,
) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    let ids: Vec<String> = needs.entities.iter().map(|id| text_id(*id)).collect();
    if !ids.is_empty() {
        for row in tx
            .query("SELECT id, kind, scope, state FROM entity WHERE id = ANY($1)", &[&ids])
            .await?
        {
            let (id, known) = known_row(&row)?;
            loaded.entities.insert(id, known);
        }
    }
    if has_restamps && !needs.own_bases.is_empty() {
        let bases: Vec<i64> = needs.own_bases.iter().map(|h| i64_of(h.as_u64())).collect();
        for row in tx
            .query(
                "SELECT was, hlc FROM restamp WHERE device_id = $1 AND was = ANY($2)",
                &[&pusher.device.to_string(), &bases],
            )
            .await?
        {
            let was: i64 = row.try_get(0)?;
            let hlc: i64 = row.try_get(1)?;
            loaded
                .restamps
                .insert(Hlc::from_u64(u64_of(was)), Hlc::from_u64(u64_of(hlc)));
        }
    }
    if !needs.logged_seqs.is_empty() {
        let seqs: Vec<i64> = needs.logged_seqs.iter().map(|s| i64_of(*s)).collect();
        for row in tx
            .query(
                "SELECT seq, body FROM change_log WHERE device_id = $1 AND seq = ANY($2)",
                &[&pusher.device.to_string(), &seqs],
            )
            .await?
        {
            let seq: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            let change: Change =
                serde_json::from_str(&body).map_err(|e| damaged(&format!("change_log body of seq {seq}"), e))?;
            loaded.logged.insert(u64_of(seq), change);
        }
    }
    Ok(loaded)
}

/// Writes a plan: log entries (numbered from the locked clock), entity
/// states, rejections, restamps, the device's position and the report rows.
async fn write_plan(
    tx: &Transaction<'_>,
    device: DeviceId,
    plan: &Plan,
    clock: &mut Clock,
    now: &str,
) -> Result<(), StoreError> {
    let dev = device.to_string();
    if !plan.accepted.is_empty() {
        let n = plan.accepted.len();
        let mut server_seq = Vec::with_capacity(n);
        let mut change_id = Vec::with_capacity(n);
        let mut seq = Vec::with_capacity(n);
        let mut scope = Vec::with_capacity(n);
        let mut entity = Vec::with_capacity(n);
        let mut entity_id = Vec::with_capacity(n);
        let mut body = Vec::with_capacity(n);
        for a in &plan.accepted {
            clock.last_seq += 1;
            server_seq.push(i64_of(clock.last_seq));
            change_id.push(a.change.id.to_string());
            seq.push(i64_of(a.change.seq));
            scope.push(a.scope.clone());
            entity.push(a.change.entity.as_str().to_owned());
            entity_id.push(text_id(a.change.entity_id));
            body.push(serde_json::to_string(&a.change).map_err(|e| StoreError::Task(e.to_string()))?);
        }
        tx.execute(
            "INSERT INTO change_log (server_seq, change_id, device_id, seq, scope, entity, entity_id, body, received_at)
             SELECT s, c, $3, q, sc, e, ei, b, $9
             FROM unnest($1::bigint[], $2::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
                  AS t(s, c, q, sc, e, ei, b)",
            &[&server_seq, &change_id, &dev, &seq, &scope, &entity, &entity_id, &body, &now],
        )
        .await?;
    }
    if !plan.entities.is_empty() {
        let mut ids = Vec::new();
        let mut kinds = Vec::new();
        let mut scopes = Vec::new();
        let mut states = Vec::new();
        for (id, known) in &plan.entities {
            ids.push(text_id(*id));
            kinds.push(known.kind.as_str().to_owned());
            scopes.push(known.scope.clone());
            states.push(entity_state::to_json(&known.state));
        }
        tx.execute(
            "INSERT INTO entity (id, kind, scope, state)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, state = excluded.state",
            &[&ids, &kinds, &scopes, &states],
        )
        .await?;
    }
    for r in &plan.rejected {
        tx.execute(
            "INSERT INTO rejected (device_id, seq, reason, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, seq) DO UPDATE SET reason = excluded.reason, at = excluded.at",
            &[&dev, &i64_of(r.seq), &r.reason, &now],
        )
        .await?;
    }
    for r in &plan.restamped {
        tx.execute(
            "INSERT INTO restamp (device_id, seq, was, hlc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, seq) DO UPDATE SET was = excluded.was, hlc = excluded.hlc",
            &[&dev, &i64_of(r.seq), &i64_of(r.was.as_u64()), &i64_of(r.hlc.as_u64())],
        )
        .await?;
    }
    tx.execute(
        "UPDATE device SET last_applied_seq = $1, last_seen_at = $2, restamps = restamps + $3 WHERE id = $4",
        &[
            &i64_of(plan.last_applied),
            &now,
            &i64_of(plan.restamped.len() as u64),
            &dev,
        ],
    )
    .await?;
    report::project(tx, plan).await
}

struct DeviceRow {
    last_applied: u64,
    commune: Option<String>,
    restamps: i64,
}

async fn device_row(tx: &Transaction<'_>, device: DeviceId) -> Result<Option<DeviceRow>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT last_applied_seq, commune_id, restamps FROM device WHERE id = $1",
            &[&device.to_string()],
        )
        .await?;
    row.map(|r| {
        Ok(DeviceRow {
            last_applied: u64_of(r.try_get(0)?),
            commune: r.try_get(1)?,
            restamps: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Everything that happened to the device's seqs above `acked`.
async fn outcomes_since(
    tx: &Transaction<'_>,
    device: DeviceId,
    acked: u64,
    with_restamps: bool,
) -> Result<(Vec<Rejected>, Vec<Restamp>), StoreError> {
    let dev = device.to_string();
    let mut rejected = Vec::new();
    for r in tx
        .query(
            "SELECT seq, reason FROM rejected WHERE device_id = $1 AND seq > $2 ORDER BY seq",
            &[&dev, &i64_of(acked)],
        )
        .await?
    {
        rejected.push(Rejected {
            seq: u64_of(r.try_get(0)?),
            reason: r.try_get(1)?,
        });
    }
    let mut restamped = Vec::new();
    if with_restamps {
        for r in tx
            .query(
                "SELECT seq, was, hlc FROM restamp WHERE device_id = $1 AND seq > $2 ORDER BY seq",
                &[&dev, &i64_of(acked)],
            )
            .await?
        {
            restamped.push(Restamp {
                seq: u64_of(r.try_get(0)?),
                was: Hlc::from_u64(u64_of(r.try_get(1)?)),
                hlc: Hlc::from_u64(u64_of(r.try_get(2)?)),
            });
        }
    }
    Ok((rejected, restamped))
}

/// A row of [`DEVICE_COLUMNS`] then [`COPY_COLUMNS`].
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

fn listed_device(r: &Row) -> Result<DeviceRecord, StoreError> {
    let mut d = device_record(r)?;
    d.copied_kept = u64_of(r.try_get(12)?);
    d.copied_at = r.try_get(13)?;
    Ok(d)
}

const DEVICE_COLUMNS: &str = "id, label, member_id, commune_id, enrolled_at, last_seen_at, last_applied_seq, \
     revoked_at, erase_requested_at, erased_at, erased_unsent, backed_up_seq";

/// The tablets page's columns after [`DEVICE_COLUMNS`]: a copy seen (read
/// by [`listed_device`]; not on the token lookup every request makes).
const COPY_COLUMNS: &str = "(SELECT count(*) FROM quarantine q WHERE q.device_id = device.id), \
     (SELECT min(received_at) FROM quarantine q WHERE q.device_id = device.id)";

fn device_record(r: &Row) -> Result<DeviceRecord, StoreError> {
    let id: String = r.try_get(0)?;
    let member: Option<String> = r.try_get(2)?;
    Ok(DeviceRecord {
        id: id.parse().map_err(|e| damaged("device.id", e))?,
        label: r.try_get(1)?,
        member_id: member.and_then(|m| Uuid::parse_str(&m).ok()),
        commune_id: r.try_get(3)?,
        enrolled_at: r.try_get(4)?,
        last_seen_at: r.try_get(5)?,
        last_applied_seq: u64_of(r.try_get(6)?),
        revoked_at: r.try_get(7)?,
        erase_requested_at: r.try_get(8)?,
        erased_at: r.try_get(9)?,
        erased_unsent: r.try_get::<_, Option<i64>>(10)?.map(u64_of),
        backed_up_seq: r.try_get::<_, Option<i64>>(11)?.map(u64_of),
        copied_kept: 0,
        copied_at: None,
    })
}

impl Store for PgStore {
    fn token_key(&self) -> &TokenKey {
        &self.key
    }

    fn epochs(&self) -> Epochs {
        self.epochs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn office_device(&self) -> DeviceId {
        *self.office.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn newest_backup(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        let at: Option<String> = client
            .query_one("SELECT max(taken_at) FROM backup", &[])
            .await?
            .try_get(0)?;
        at.map(|t| doorstep_core::schema::parse_timestamp(&t).map_err(|e| damaged("backup.taken_at", e)))
            .transpose()
    }

    async fn reload_epochs(&self) -> Result<Epochs, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let epochs = load_epochs(&tx).await?;
        let office = rewind::office_id(&tx).await?;
        tx.commit().await?;
        *self.epochs.write().unwrap_or_else(std::sync::PoisonError::into_inner) = epochs.clone();
        *self.office.write().unwrap_or_else(std::sync::PoisonError::into_inner) = office;
        Ok(epochs)
    }

    async fn rewound(&self, device: DeviceId, acked_seq: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let started = {
            let (_turn, mut client) = self.writer().await?;
            let tx = client.transaction().await?;
            let _clock = lock_clock(&tx).await?;
            let started = rewind::rewound(&tx, device, acked_seq, now).await?;
            tx.commit().await?;
            started
        };
        if started {
            self.reload_epochs().await?;
        }
        Ok(started)
    }

    async fn enroll(
        &self,
        code_hash: String,
        token_hash: String,
        label: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Enrolled, EnrollError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let now_text = format_timestamp(now);
        let device = DeviceId::new();
        // The row lock makes a code single-use even when two tablets send
        // it to two servers at once: the second finds it used.
        let code = tx
            .query_opt(
                "UPDATE enrol_code SET used_at = $1, device_id = $2
                 WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1
                 RETURNING member_id, commune_id",
                &[&now_text, &device.to_string(), &code_hash],
            )
            .await
            .map_err(StoreError::from)?;
        let Some(code) = code else {
            return Err(EnrollError::BadCode);
        };
        let member: String = code.try_get(0).map_err(StoreError::from)?;
        let commune: String = code.try_get(1).map_err(StoreError::from)?;
        tx.execute(
            "INSERT INTO device (id, label, member_id, commune_id, token_hash, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&device.to_string(), &label, &member, &commune, &token_hash, &now_text],
        )
        .await
        .map_err(StoreError::from)?;
        let state: Option<String> = tx
            .query_opt("SELECT state FROM entity WHERE id = $1", &[&commune])
            .await
            .map_err(StoreError::from)?
            .map(|r| r.get(0));
        let commune_name = state
            .and_then(|s| entity_state::from_json(&s).ok())
            .and_then(|s| match s.value("name") {
                Some(FieldValue::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default();
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Enrolled {
            device_id: device,
            member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
            commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
            commune_name,
        })
    }

    async fn device_by_token(&self, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = $1"),
                &[&token_hash],
            )
            .await?;
        row.as_ref().map(device_record).transpose()
    }

    async fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        let (_turn, mut client) = if changes.is_empty() {
            (None, self.client().await?)
        } else {
            let (turn, client) = self.writer().await?;
            (Some(turn), client)
        };
        let tx = client.transaction().await?;
        let now_text = format_timestamp(now);
        let pull_only = changes.is_empty();
        let accepted = if pull_only {
            0
        } else {
            let mut clock = lock_clock(&tx).await?;
            let Some(row) = device_row(&tx, device).await? else {
                return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
            };
            let pusher = Pusher {
                device,
                scope: row.commune.clone(),
                last_applied: row.last_applied,
            };
            let needs = ingest::needs(&pusher, &changes);
            let loaded = load(&tx, &pusher, &needs, row.restamps > 0).await?;
            let plan = match ingest::plan(&pusher, changes, loaded, &mut clock.hlc, wall_millis(now)) {
                Ok(plan) => plan,
                Err(refusal) => {
                    if let Refusal::Copied { changes, .. } = &refusal {
                        quarantine::keep(&tx, device, changes, &now_text).await?;
                        tx.commit().await?;
                    }
                    return Ok(Err(refusal));
                }
            };
            write_plan(&tx, device, &plan, &mut clock, &now_text).await?;
            save_clock(&tx, &clock).await?;
            plan.accepted.len()
        };
        let Some(row) = device_row(&tx, device).await? else {
            return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
        };
        let (rejected, restamped) = outcomes_since(&tx, device, acked_seq, row.restamps > 0).await?;
        tx.commit().await?;
        if pull_only {
            // Bookkeeping a full disk may refuse without failing the pull
            // the tablet came for.
            let touched = client
                .execute(
                    "UPDATE device SET last_seen_at = $1 WHERE id = $2",
                    &[&now_text, &device.to_string()],
                )
                .await;
            match touched.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::DiskFull(detail)) => {
                    tracing::warn!(%device, %detail, "the disk is full: this tablet's last sync time is not recorded");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Ok(Pushed {
            last_applied_seq: row.last_applied,
            rejected,
            restamped,
            accepted,
        }))
    }

    async fn pull(
        &self,
        scope: String,
        device: DeviceId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        let mut client = self.client().await?;
        // One snapshot for the log's end and the rows.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let high = u64_of(
            tx.query_one("SELECT last_server_seq FROM sync_clock WHERE id = 1", &[])
                .await?
                .try_get(0)?,
        );
        // A cursor beyond the log's end comes from before a restore from
        // backup: start again (the device drops what it already has).
        let after = if after > high { 0 } else { after };
        let dev = device.to_string();
        let stmt = tx
            .prepare(
                "SELECT server_seq, body FROM change_log
                 WHERE scope = $1 AND server_seq > $2 AND device_id <> $3
                 ORDER BY server_seq LIMIT $4",
            )
            .await?;
        // Two index range scans (the commune, then campaign-wide records),
        // merged here: cost follows the page, not the history.
        let mut rows: Vec<(i64, String)> = Vec::new();
        let mut full = false;
        for s in [scope.as_str(), ingest::CAMPAIGN_WIDE] {
            let got = tx
                .query(&stmt, &[&s, &i64_of(after), &dev, &i64_of(limit as u64 + 1)])
                .await?;
            full |= got.len() > limit;
            for r in got {
                rows.push((r.try_get(0)?, r.try_get(1)?));
            }
        }
        tx.commit().await?;
        super::page_of(rows, after, high, full, limit, max_bytes)
    }

    async fn office_write(&self, writes: Vec<OfficeWrite>, now: DateTime<Utc>) -> Result<Vec<Change>, OfficeError> {
        let (_turn, mut client) = self.writer().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let mut clock = lock_clock(&tx).await?;
        let office = rewind::office_id(&tx).await?;
        let row = device_row(&tx, office)
            .await?
            .ok_or_else(|| damaged("device", "the office device is missing"))?;
        let draft = OfficeDraft::new(office, row.last_applied, writes);
        let preload = load(&tx, &draft.pusher, &draft.preload(), false).await?;
        let wall = wall_millis(now);
        let stamped = draft.stamp(&preload, &mut clock.hlc, wall);
        let loaded = load(&tx, &stamped.pusher, &stamped.needs, false).await?;
        let plan = stamped
            .plan(loaded, &mut clock.hlc, wall)
            .map_err(OfficeError::Invalid)?;
        write_plan(&tx, office, &plan, &mut clock, &format_timestamp(now)).await?;
        save_clock(&tx, &clock).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(plan.accepted.into_iter().map(|a| a.change).collect())
    }

    async fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO enrol_code (code_hash, member_id, commune_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &code.code_hash,
                    &text_id(code.member_id),
                    &text_id(code.commune_id),
                    &format_timestamp(now),
                    &format_timestamp(code.expires_at),
                ],
            )
            .await?;
        Ok(())
    }

    async fn pending_codes(&self, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT code_hash, member_id, commune_id, created_at, expires_at FROM enrol_code
                 WHERE used_at IS NULL AND expires_at > $1 ORDER BY created_at COLLATE \"C\", code_hash COLLATE \"C\"",
                &[&format_timestamp(now)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let member: String = r.try_get(1)?;
            let commune: String = r.try_get(2)?;
            out.push(PendingCode {
                code_hash: r.try_get(0)?,
                member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
                commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
                created_at: r.try_get(3)?,
                expires_at: r.try_get(4)?,
            });
        }
        Ok(out)
    }

    async fn cancel_code(&self, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let now = format_timestamp(now);
        let changed = client
            .execute(
                "UPDATE enrol_code SET expires_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
                &[&now, &code_hash],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {DEVICE_COLUMNS}, {COPY_COLUMNS} FROM device WHERE commune_id IS NOT NULL ORDER BY enrolled_at COLLATE \"C\", id COLLATE \"C\""
                ),
                &[],
            )
            .await?;
        rows.iter().map(listed_device).collect()
    }

    async fn revoke(&self, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE device SET revoked_at = coalesce(revoked_at, $1),
                     erase_requested_at = CASE WHEN $3 THEN coalesce(erase_requested_at, $1)
                                               ELSE erase_requested_at END
                 WHERE id = $2 AND commune_id IS NOT NULL",
                &[&format_timestamp(now), &device.to_string(), &erase],
            )
            .await?;
        Ok(n > 0)
    }

    async fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EraseAck, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT erase_requested_at, erased_at FROM device WHERE id = $1 AND commune_id IS NOT NULL",
                &[&device.to_string()],
            )
            .await?;
        let Some(row) = row else {
            return Ok(EraseAck::NoDevice);
        };
        let asked: Option<String> = row.try_get(0)?;
        let erased: Option<String> = row.try_get(1)?;
        let Some(asked) = asked else {
            return Ok(EraseAck::NotRequested);
        };
        if erased.is_some() {
            return Ok(EraseAck::AlreadyRecorded);
        }
        // Two reports at once: the condition lets only the first one write.
        let n = client
            .execute(
                "UPDATE device SET erased_at = $1, erased_unsent = $2 WHERE id = $3 AND erased_at IS NULL",
                &[
                    &super::erased_time(reported_at, &asked, now),
                    &i64_of(unsent),
                    &device.to_string(),
                ],
            )
            .await?;
        Ok(if n > 0 {
            EraseAck::Recorded
        } else {
            EraseAck::AlreadyRecorded
        })
    }

    async fn entities(&self, kind: EntityKind) -> Result<Vec<(Uuid, Known)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, scope, state FROM entity WHERE kind = $1 ORDER BY id COLLATE \"C\"",
                &[&kind.as_str()],
            )
            .await?;
        rows.iter().map(known_row).collect()
    }

    async fn change_count(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        Ok(u64_of(
            client
                .query_one("SELECT count(*) FROM change_log", &[])
                .await?
                .try_get(0)?,
        ))
    }

    async fn record_packs(
        &self,
        packs: Vec<PackFile>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<PackFile>, String>, StoreError> {
        let (_turn, mut client) = self.writer().await?;
        let tx = client.transaction().await?;
        // Two instances starting together record the same versions in turn.
        lock_clock(&tx).await?;
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

    async fn overview(&self, filter: Filter) -> Result<Overview, StoreError> {
        let client = self.client().await?;
        report::overview(&client, &filter).await
    }

    async fn walking_list(&self, filter: Filter) -> Result<Vec<WalkStop>, StoreError> {
        let client = self.client().await?;
        report::walking_list(&client, &filter).await
    }

    async fn conflicts(&self, filter: Filter) -> Result<Vec<ConflictRow>, StoreError> {
        let client = self.client().await?;
        report::conflicts(&client, &filter).await
    }

    async fn entity(&self, id: Uuid) -> Result<Option<Known>, StoreError> {
        let client = self.client().await?;
        Ok(report::entity(&client, &text_id(id))
            .await?
            .map(|(kind, scope, state)| Known { kind, scope, state }))
    }

    async fn peer_spread(&self, filter: Filter) -> Result<PeerSpread, StoreError> {
        let client = self.client().await?;
        report::peer_spread(&client, &filter).await
    }

    async fn visit_rows(&self, filter: Filter) -> Result<Vec<VisitRow>, StoreError> {
        let client = self.client().await?;
        report::visit_rows(&client, &filter).await
    }

    async fn run_rows(&self, filter: Filter) -> Result<Vec<RunRow>, StoreError> {
        let client = self.client().await?;
        report::run_rows(&client, &filter).await
    }
}
