//! Shared pieces of the end-to-end tests: the real `doorstep-server` binary
//! on a loopback port, its admin commands, and tablets (real device stores
//! in temporary directories) that enrol and sync against it.
//!
//! Every process a test starts is killed when its handle drops.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    missing_debug_implementations,
    unreachable_pub
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use doorstep_device::Store;
use doorstep_device::sync::{SyncOptions, SyncReport};

pub mod app;
pub mod day;
pub mod pg;

pub use pg::{db_arg, on_postgres};

/// A workspace binary, built by `cargo test --workspace` next to the tests.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/test-xxxx -> target/debug/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// The server process.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its database file (on PostgreSQL, the path [`db_arg`] maps to a
    /// database).
    pub db: PathBuf,
}

impl Server {
    /// Starts `doorstep-server serve` on a free loopback port, on the
    /// database [`db_arg`] picks for `db`.
    pub fn start(db: &Path) -> Server {
        Server::start_on(db, "127.0.0.1:0")
    }

    /// Starts it on a given address (a restart on the same port).
    pub fn start_on(db: &Path, listen: &str) -> Server {
        Server::start_with(db, listen, &[])
    }

    /// Starts it with more `serve` arguments (`--packs DIR`).
    pub fn start_with(db: &Path, listen: &str, serve_args: &[&str]) -> Server {
        let mut child = Command::new(bin("doorstep-server"))
            .args(["--db", &db_arg(db), "serve", "--listen", listen])
            .args(serve_args)
            .env("DOORSTEP_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start doorstep-server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("server prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
            .to_owned();
        Server {
            child: Some(child),
            url,
            db: db.to_owned(),
        }
    }

    /// The `host:port` it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url.trim_start_matches("http://").parse().expect("socket address")
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `doorstep-server --db DB ARGS...` on the server's database, however
/// it ends: its exit code, stdout and stderr. No key file comes from the
/// environment (`DOORSTEP_SERVER_DB_KEY_FILE`); a test names its own.
pub fn server_output(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("doorstep-server"))
        .arg("--db")
        .arg(db_arg(db))
        .args(args)
        .env("DOORSTEP_LOG", "warn")
        .env_remove("DOORSTEP_SERVER_DB_KEY_FILE")
        .output()
        .expect("run doorstep-server");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs an admin command on the server's database and returns its stdout;
/// panics (with stderr) if it fails.
pub fn admin(db: &Path, args: &[&str]) -> String {
    let (status, out, err) = server_output(db, args);
    assert!(status == 0, "doorstep-server {args:?} failed: {err}");
    out
}

/// Every change each tablet made is on the server exactly once: as many
/// in its log as the tablet wrote, up to the tablet's last seq.
pub fn assert_each_change_once(db: &Path, tablets: &[Tablet]) {
    let on_server = server_log_counts(db);
    for t in tablets {
        let written = t.store.sync_position().unwrap().last_seq;
        let device = t.store.device_id().to_string();
        assert_eq!(
            on_server.get(&device).copied(),
            Some((written, written)),
            "device {device}: every change once, none missing"
        );
    }
}

/// A campaign on the server: two communes with villages, one volunteer each.
pub struct Campaign {
    /// (commune id, [village ids]).
    pub communes: Vec<(String, Vec<String>)>,
    /// A member of the first commune.
    pub member: String,
}

/// Creates the test campaign.
pub fn campaign(db: &Path) -> Campaign {
    let out = admin(
        db,
        &[
            "--json",
            "campaign",
            "create",
            "--name",
            "Go down every alley",
            "--starts-on",
            "2026-10-17",
            "--province",
            "Dien Bien",
            "--commune",
            "Muong Lan=Bun,Ba Nam,Khin",
            "--commune",
            "Chieng Sinh=Na Sai 1",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let communes = v["communes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_owned(),
                c[2].as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v[0].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let out = admin(
        db,
        &["--json", "member", "add", "--name", "Lò Văn Minh", "--village", "Bun"],
    );
    let member = serde_json::from_str::<serde_json::Value>(&out).unwrap()["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    Campaign { communes, member }
}

/// A one-time enrolment code for the commune.
pub fn code(db: &Path, member: &str, commune: &str) -> String {
    let out = admin(
        db,
        &["--json", "enrol-code", "new", "--member", member, "--commune", commune],
    );
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A tablet: a device store in its own directory.
pub struct Tablet {
    /// The store.
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Tablet {
    /// A new store, enrolled at `url` with `code`.
    pub fn enrol(url: &str, code: &str) -> Tablet {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tablet.db");
        let mut store = Store::create(&path, doorstep_device::CreateOptions::default()).unwrap();
        let options = quick();
        doorstep_device::sync::enroll(&mut store, url, code, Some("test tablet"), &options).expect("enrol");
        Tablet { store, _dir: dir }
    }

    /// A second tablet made by copying this one's files (database, WAL and
    /// key file), as a tablet image is cloned: same device id, same token.
    pub fn copy(&self) -> Tablet {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(self._dir.path()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if !name.to_string_lossy().ends_with("-shm") && entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
            }
        }
        let store = Store::open(&dir.path().join("tablet.db")).unwrap();
        Tablet { store, _dir: dir }
    }

    /// Syncs until done with quick retries.
    pub fn sync(&mut self, url: &str) -> SyncReport {
        self.try_sync(url, &quick()).expect("sync")
    }

    /// One sync attempt loop with given options (url overrides the stored one).
    pub fn try_sync(
        &mut self,
        url: &str,
        options: &SyncOptions,
    ) -> Result<SyncReport, doorstep_device::sync::SyncError> {
        let mut options = options.clone();
        options.server_url = Some(url.to_owned());
        doorstep_device::sync::sync(&mut self.store, &options, &mut |_| {})
    }
}

/// Sync options for tests: short backoff, patient enough for a loaded machine.
pub fn quick() -> SyncOptions {
    SyncOptions {
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        max_attempts: 50,
        ..SyncOptions::default()
    }
}

/// Field work a volunteer does at one house: a new household with two
/// people, a visit, and a VNeID checklist for one of them with a few steps
/// (one blocked). Returns the household id.
pub fn visit_new_household(store: &mut Store, village: &str, head: &str) -> doorstep_core::ids::HouseholdId {
    use doorstep_core::entities::{Household, Person, StepStatus, Visit};
    use doorstep_core::ids::{HouseholdId, PersonId, VillageId, VisitId};
    use doorstep_core::text::PersonName;
    use doorstep_core::vocab::{BlockerReason, PhoneKind, VisitOutcome};

    let household = Household {
        id: HouseholdId::new(),
        village_id: VillageId::from_uuid(village.parse().unwrap()),
        head_name: PersonName::parse(head).unwrap(),
        landmark: None,
        phone: None,
        members_count: Some(3),
        language: None,
        notes: None,
        location: None,
        created_at: store.now(),
    };
    store.insert(&household).unwrap();
    let mut people = Vec::new();
    for name in [head, "Lò Thị Xuân"] {
        let p = Person {
            id: PersonId::new(),
            household_id: household.id,
            name: PersonName::parse(name).unwrap(),
            birth_year: Some(1988),
            phone: None,
            phone_kind: Some(PhoneKind::Android),
            phone_in_own_name: Some(true),
            chip_id_card: Some(true),
            notes: None,
        };
        store.insert(&p).unwrap();
        people.push(p.id);
    }
    let visit = Visit {
        id: VisitId::new(),
        household_id: household.id,
        member_id: None,
        device_id: store.device_id(),
        started_at: store.now(),
        ended_at: None,
        outcome: VisitOutcome::Partial,
        follow_up_on: None,
        notes: None,
        referred_by: None,
    };
    store.insert(&visit).unwrap();
    let run = store.start_checklist(people[0], "vneid", Some(visit.id)).unwrap();
    store.record_step(run.id, None, StepStatus::Done, None).unwrap();
    store.record_step(run.id, None, StepStatus::Done, None).unwrap();
    store
        .record_step(run.id, None, StepStatus::Blocked(BlockerReason::NoSmsAccess), None)
        .unwrap();
    household.id
}

/// The households a store holds, by id.
pub fn household_ids(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for v in store.villages().unwrap() {
        let id = v.id.parse().unwrap();
        for h in store
            .village_households(id, &doorstep_device::queries::HouseholdFilter::default())
            .unwrap()
        {
            out.push(h.id.clone());
        }
    }
    out.sort();
    out
}

/// Per device on the server: (changes in the log, highest seq). Read
/// straight from the server's database (the SQLite file, or PostgreSQL).
pub fn server_log_counts(db: &Path) -> std::collections::HashMap<String, (u64, u64)> {
    const SQL: &str = "SELECT device_id, count(*), max(seq) FROM change_log GROUP BY device_id";
    if on_postgres() {
        return pg::query(
            db,
            "SELECT device_id, count(*)::text, max(seq)::text FROM change_log GROUP BY device_id",
        )
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].parse().unwrap(), r[2].parse().unwrap())))
        .collect();
    }
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn.prepare(SQL).unwrap();
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, (r.get::<_, u64>(1)?, r.get::<_, u64>(2)?)))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Rows in the server's change log.
pub fn server_log_total(db: &Path) -> u64 {
    server_rows(db, "change_log")
}

/// Rows of the server database, on either store: `from` is a table, with a
/// `WHERE` clause if wanted.
pub fn server_rows(db: &Path, from: &str) -> u64 {
    if on_postgres() {
        return pg::query(db, &format!("SELECT count(*)::text FROM {from}"))[0][0]
            .parse()
            .unwrap();
    }
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {from}"), [], |r| r.get(0))
        .unwrap()
}
