//! Which database the tests give `doorstep-server --db`: the SQLite file
//! the test names, or, when `DOORSTEP_TEST_POSTGRES` holds a PostgreSQL
//! URL (`.ci/postgres` sets it), a fresh database of that cluster made for
//! that file's path. One rule for every harness: the server crate's tests
//! include this file with `#[path]`, so it needs nothing but `tokio` and
//! `tokio-postgres`.
//!
//! The databases are not dropped: each test's path is new (a temporary
//! directory), and the cluster `.ci/postgres` starts is thrown away whole.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

/// The variable that selects PostgreSQL: a URL of a cluster the tests may
/// create databases in, e.g. `postgres://doorstep@127.0.0.1:5433/postgres`.
pub const ENV: &str = "DOORSTEP_TEST_POSTGRES";

/// The cluster's URL, when the tests run on PostgreSQL.
pub fn cluster() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())
}

/// True when the tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    cluster().is_some()
}

/// What `--db` gets for the server database `db`: the path as it is, or
/// the URL of this path's own PostgreSQL database, created (empty) the
/// first time this process asks for it.
pub fn db_arg(db: &Path) -> String {
    match cluster() {
        None => db.to_str().expect("a UTF-8 database path").to_owned(),
        Some(cluster) => {
            let name = database_name(db);
            static CREATED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
            let mut created = CREATED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if created.get_or_insert_with(HashSet::new).insert(name.clone()) {
                block_on(async {
                    let client = connect(&cluster).await;
                    // A left-over database of the same name (a path used
                    // again) would not be fresh: replace it.
                    client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .unwrap_or_else(|e| panic!("drop database {name}: {e}"));
                    client
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .await
                        .unwrap_or_else(|e| panic!("create database {name} on {cluster}: {e}"));
                });
            }
            with_database(&cluster, &name)
        }
    }
}

/// `doorstep_t_` and a stable hash (FNV-1a) of the path: the same path
/// names the same database in every process.
fn database_name(db: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in db.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("doorstep_t_{hash:016x}")
}

/// The cluster URL with its database replaced by `name`.
fn with_database(cluster: &str, name: &str) -> String {
    let (base, query) = match cluster.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (cluster, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Runs SQL statements on the server database of `db` (PostgreSQL only):
/// what a test would otherwise do to the SQLite file.
pub fn execute(db: &Path, sql: &str) {
    let url = db_arg(db);
    block_on(async {
        connect(&url)
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// The rows of a query on the server database of `db` (PostgreSQL only),
/// every column read as text (cast in the SQL: `count(*)::text`).
pub fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let url = db_arg(db);
    block_on(async {
        let rows = connect(&url)
            .await
            .query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .map(|row| (0..row.len()).map(|i| row.get::<_, String>(i)).collect())
            .collect()
    })
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url} ({ENV}): {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A small runtime of its own, on a thread of its own so that async tests
/// (already inside a runtime) can call this too.
fn block_on<T: Send>(work: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(work)
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`) of the newest
/// installed version, as `.ci/postgres` finds `initdb`; from `PATH` if
/// none is installed under /usr/lib/postgresql.
fn tool(name: &str) -> std::path::PathBuf {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.into_iter()
        .rev()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| name.into())
}

/// What an office does for a backup of a PostgreSQL server database:
/// `pg_dump --format=custom` of the database of `db` into `file`.
pub fn dump(db: &Path, file: &Path) {
    let out = std::process::Command::new(tool("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(file)
        .arg(db_arg(db))
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a provider's snapshot restore does: the rows of `file` (a
/// [`dump`]) put back into the tables as they are, which keep their
/// identity (every table emptied, then `pg_restore --data-only`).
pub fn put_back_rows(db: &Path, file: &Path) {
    let tables = query(
        db,
        "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables WHERE schemaname = current_schema()",
    );
    execute(db, &format!("TRUNCATE {} CASCADE", tables[0][0]));
    let out = std::process::Command::new(tool("pg_restore"))
        .args([
            "--data-only",
            "--disable-triggers",
            "--no-owner",
            "--single-transaction",
            "--dbname",
        ])
        .arg(db_arg(db))
        .arg(file)
        .output()
        .expect("run pg_restore");
    assert!(
        out.status.success(),
        "pg_restore --data-only: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// And its restore, with the servers stopped: `pg_restore --clean` of
/// `file` into the database of `db`, in one transaction.
pub fn restore(db: &Path, file: &Path) {
    let out = std::process::Command::new(tool("pg_restore"))
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
        ])
        .arg(db_arg(db))
        .arg(file)
        .output()
        .expect("run pg_restore");
    assert!(
        out.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
