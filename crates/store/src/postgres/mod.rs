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
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::EntityKind;
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use uuid::Uuid;

use super::{
    DeviceRecord, EnrollError, Enrolled, EraseAck, KeyRegistered, NewCode, OfficeError, Page, PendingCode, Pushed,
    RelayRecord, Store, StoreError, Via,
};
use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::OfficeWrite;
use doorstep_ingest::epoch::Epochs;
use doorstep_ingest::{Known, Refusal};

mod accounts;
mod backup;
mod devices;
mod health;
mod packs;
mod quarantine;
mod relay;
mod report;
mod restored;
mod rewind;
mod start;
mod sync;

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
    StoreError::Pool(crate::with_causes(&e))
}

/// The schema, in order; the same numbered files as SQLite's
/// (`migrations/sqlite`), in PostgreSQL's dialect, applied by refinery.
/// Released migrations are never edited.
const MIGRATIONS: &[(&str, &str)] = crate::schema::POSTGRES;

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
                crate::with_causes(&e)
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
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Pool(format!(
                "cannot connect to PostgreSQL at {place}: {}",
                crate::with_causes(&e)
            ))
        })?;
        client.execute("SELECT pg_advisory_lock($1)", &[&START_LOCK]).await?;
        let started = start::start(&mut client, &place).await;
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
    /// A push of the device's own or a carried batch: a writer's turn
    /// when there is something to write, a plain connection for a pull.
    async fn push_via(
        &self,
        device: DeviceId,
        via: Via,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        let (_turn, mut client) = if changes.is_empty() {
            (None, self.client().await?)
        } else {
            let (turn, client) = self.writer().await?;
            (Some(turn), client)
        };
        sync::push(&mut client, device, via, changes, now).await
    }

    async fn writer(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, deadpool_postgres::Object), StoreError> {
        let turn = self
            .writers
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok((turn, self.client().await?))
    }
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
        let epochs = start::load_epochs(&tx).await?;
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
            let _clock = sync::lock_clock(&tx).await?;
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
        devices::enroll(&mut client, code_hash, token_hash, label, now).await
    }

    async fn device_by_token(&self, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        devices::device_by_token(&client, token_hash).await
    }

    async fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        self.push_via(device, Via::Own { acked_seq }, changes, now).await
    }

    async fn push_carried(
        &self,
        origin: DeviceId,
        carrier: DeviceId,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        self.push_via(origin, Via::Carried { carrier }, changes, now).await
    }

    async fn record_relay(
        &self,
        carrier: DeviceId,
        origin: DeviceId,
        outcome: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        relay::count(
            &**client,
            carrier,
            origin,
            &outcome,
            &doorstep_core::schema::format_timestamp(now),
        )
        .await
    }

    async fn relays(&self) -> Result<Vec<RelayRecord>, StoreError> {
        let client = self.client().await?;
        relay::relays(&**client).await
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
        sync::pull_page(&mut client, scope, device, after, limit, max_bytes).await
    }

    async fn office_write(&self, writes: Vec<OfficeWrite>, now: DateTime<Utc>) -> Result<Vec<Change>, OfficeError> {
        let (_turn, mut client) = self.writer().await?;
        sync::office_write(&mut client, writes, now).await
    }

    async fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        devices::add_enrol_code(&client, code, now).await
    }

    async fn pending_codes(&self, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
        let client = self.client().await?;
        devices::pending_codes(&client, now).await
    }

    async fn cancel_code(&self, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        devices::cancel_code(&client, code_hash, now).await
    }

    async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        devices::device(&client, id).await
    }

    async fn register_key(&self, device: DeviceId, public_key: String) -> Result<KeyRegistered, StoreError> {
        let mut client = self.client().await?;
        devices::register_key(&mut client, device, &public_key).await
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        let client = self.client().await?;
        devices::devices(&client).await
    }

    async fn revoke(&self, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        devices::revoke(&client, device, erase, now).await
    }

    async fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EraseAck, StoreError> {
        let client = self.client().await?;
        devices::record_erased(&client, device, unsent, reported_at, now).await
    }

    async fn entities(&self, kind: EntityKind) -> Result<Vec<(Uuid, Known)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, scope, state FROM entity WHERE kind = $1 ORDER BY id COLLATE \"C\"",
                &[&kind.as_str()],
            )
            .await?;
        rows.iter().map(sync::known_row).collect()
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
        packs::record_packs(&mut client, packs, now).await
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
