//! The tablet's database at rest: encrypted (SQLCipher), its key kept
//! apart, a plain file from an earlier version moved over losing nothing,
//! even when killed mid-way, and clear refusals for a wrong or missing key.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_core::entities::Person;
use doorstep_core::ids::PersonId;
use doorstep_core::phone::Phone;
use doorstep_core::text::PersonName;
use doorstep_core::vocab::{PhoneKind, VisitOutcome};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::key::{KeyChain, KeyFile, KeyHolder};
use doorstep_device::{CreateOptions, Store, StoreError};

const NAME: &str = "Quàng Thị Mỹ Duyên";
const HEAD: &str = "Lò Văn Khâm Xuyến";
const PHONE: &str = "0912 384 756";
const PHONE_STORED: &str = "0912384756";
const CHILD_ENV: &str = "DOORSTEP_MIGRATION_TEST_DB";

/// A demo day with known residents, on a store made by `make`.
fn demo_day(path: &Path, make: fn(&Path, CreateOptions) -> doorstep_device::Result<Store>) -> Store {
    let mut store = make(path, CreateOptions::default()).expect("create");
    load_demo(
        &mut store,
        DemoOptions {
            history: true,
            today: common::today(),
        },
    )
    .expect("demo");
    let village = common::village(&store, "Tam Tu");
    let household = common::add_household(&mut store, village, HEAD);
    let person = Person {
        id: PersonId::new(),
        household_id: household,
        name: PersonName::parse(NAME).expect("name"),
        birth_year: Some(1987),
        phone: Some(Phone::parse(PHONE).expect("phone")),
        phone_kind: Some(PhoneKind::Android),
        phone_in_own_name: Some(true),
        chip_id_card: Some(true),
        notes: None,
    };
    store.insert(&person).expect("person");
    common::record_visit(&mut store, household, VisitOutcome::Helped);
    store
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// How many of the known names and phones appear in the files beside `db`.
fn personal_data_found(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let file = entry.expect("entry").path();
        let bytes = std::fs::read(&file).expect("read");
        for needle in [NAME, HEAD, PHONE_STORED] {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(format!("{needle} in {}", file.display()));
            }
        }
    }
    found
}

#[test]
fn the_raw_bytes_hold_no_names_or_phones_unless_the_file_is_plain() {
    // Encrypted: the database, its WAL (the store is still open, so the day
    // is partly in the WAL), a practice database and the key file beside.
    let dir = tempfile::tempdir().expect("dir");
    let field = demo_day(&dir.path().join("field.db"), Store::create);
    let practice = demo_day(&dir.path().join("practice.db"), Store::create);
    assert!(
        with_suffix(field.path(), "-wal").exists(),
        "the WAL is there to be read"
    );
    assert_eq!(personal_data_found(dir.path()), Vec::<String>::new());
    drop((field, practice));
    assert_eq!(personal_data_found(dir.path()), Vec::<String>::new());

    // The same day in a plain file shows them: the check can fail.
    let plain_dir = tempfile::tempdir().expect("dir");
    let plain = demo_day(&plain_dir.path().join("field.db"), Store::create_plain);
    drop(plain);
    let found = personal_data_found(plain_dir.path());
    assert!(found.len() >= 3, "a plain file shows names and phones: {found:?}");
}

#[test]
fn a_plain_database_is_encrypted_on_open_losing_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("field.db");
    let plain = demo_day(&path, Store::create_plain);
    let digest = plain.state_digest().expect("digest");
    let outbox = plain.outbox_after(0, usize::MAX).expect("outbox");
    let position = plain.sync_position().expect("position");
    drop(plain);
    assert!(std::fs::read(&path).expect("read").starts_with(b"SQLite format 3\0"));

    let store = Store::open(&path).expect("opens and encrypts");
    assert_eq!(store.key().map(|k| k.holder()), Some(KeyHolder::KeyFile));
    assert!(!std::fs::read(&path).expect("read").starts_with(b"SQLite format 3"));
    assert_eq!(store.state_digest().expect("digest"), digest);
    assert_eq!(store.outbox_after(0, usize::MAX).expect("outbox"), outbox);
    assert_eq!(store.sync_position().expect("position"), position);
    assert_eq!(store.integrity_problems().expect("check"), Vec::<String>::new());
    drop(store);
    assert_eq!(personal_data_found(dir.path()), Vec::<String>::new());
    // And it opens again as an encrypted store.
    Store::open(&path).expect("reopens");
    // Sealed with HMAC-SHA256 pages (see `doorstep_cipher::cipher_settings`): the same
    // key with SQLCipher's default SHA512 MAC does not read it.
    let raw = doorstep_device::key::open_raw(&path).expect("raw");
    let mac: String = raw
        .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
        .expect("mac");
    assert_eq!(mac, "HMAC_SHA256");
    drop(raw);
    let hex = std::fs::read_to_string(with_suffix(&path, ".key")).expect("key file");
    let default_mac = rusqlite::Connection::open(&path).expect("open");
    default_mac
        .execute_batch(&format!("PRAGMA key = \"x'{}'\"", hex.trim()))
        .expect("key");
    assert!(
        default_mac
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
}

#[test]
fn a_wrong_or_missing_key_is_refused_and_the_file_left_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("field.db");
    drop(demo_day(&path, Store::create));
    let before = std::fs::read(&path).expect("read");

    // Another key (a key file made for another database).
    let other = dir.path().join("other.db");
    drop(Store::create(&other, CreateOptions::default()).expect("other"));
    let wrong = KeyChain::only(Box::new(KeyFile::named(&with_suffix(&other, ".key"))));
    let err = Store::open_keyed(&path, &wrong).expect_err("wrong key");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("wrong key") && text.contains("other.db.key"), "{text}");

    // No key at all: the key file was deleted, or the file copied alone.
    let copied = dir.path().join("copied.db");
    std::fs::copy(&path, &copied).expect("copy");
    let err = Store::open(&copied).expect_err("no key");
    assert!(matches!(err, StoreError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("no key for it was found"), "{err}");
    assert!(err.to_string().contains("copied.db.key"), "{err}");

    // A key file that is not a key.
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "not a key").expect("write");
    let err = Store::open_keyed(&path, &KeyChain::only(Box::new(KeyFile::named(&bad)))).expect_err("bad key file");
    assert!(matches!(err, StoreError::Key(_)), "{err}");
    assert!(err.to_string().contains("bad.key is not a Doorstep key"), "{err}");

    // Never the key itself in what is shown.
    let key_text = std::fs::read_to_string(with_suffix(&path, ".key")).expect("key");
    let store = Store::open(&path).expect("right key");
    let shown = format!("{store:?} {:?}", store.key());
    assert!(!shown.contains(key_text.trim()), "{shown}");
    drop(store);
    assert_eq!(std::fs::read(&path).expect("read").len(), before.len());
}

/// The child: opens (and so encrypts) the plain store, then waits.
#[test]
#[ignore = "run by migration_survives_thirty_kills as its child process"]
fn migration_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let _store = Store::open(Path::new(&path)).expect("open");
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn migration_survives_thirty_kills() {
    let dir = tempfile::tempdir().expect("dir");
    let template = dir.path().join("template.db");
    let plain = demo_day(&template, Store::create_plain);
    let digest = plain.state_digest().expect("digest");
    let outbox = plain.outbox_after(0, usize::MAX).expect("outbox");
    drop(plain);
    // How long one migration takes here, to spread the kills over it.
    let probe = dir.path().join("probe.db");
    std::fs::copy(&template, &probe).expect("copy");
    let started = Instant::now();
    drop(Store::open(&probe).expect("probe"));
    let took = started.elapsed().as_millis().max(20) as u64;

    let exe = std::env::current_exe().expect("test binary");
    let mut seed: u64 = 0x00c1_f3e2;
    let (mut still_plain, mut encrypted) = (0, 0);
    for round in 1..=30 {
        let path = dir.path().join(format!("round-{round}.db"));
        std::fs::copy(&template, &path).expect("copy");
        let mut child = Command::new(&exe)
            .args([
                "migration_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The child's own start-up (a test binary) comes first: from a
        // few ms in to well past the end of the migration.
        let delay = 5 + (seed >> 33) % (took * 3 + 60);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        if std::fs::read(&path).expect("read").starts_with(b"SQLite format 3\0") {
            still_plain += 1;
        } else {
            encrypted += 1;
        }
        let store = Store::open(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            store.integrity_problems().expect("check"),
            Vec::<String>::new(),
            "round {round}"
        );
        assert_eq!(store.state_digest().expect("digest"), digest, "round {round}");
        assert_eq!(
            store.outbox_after(0, usize::MAX).expect("outbox"),
            outbox,
            "round {round}"
        );
        assert!(
            !with_suffix(&path, ".encrypting").exists(),
            "round {round}: leftover removed"
        );
    }
    eprintln!("kills: {still_plain} left the plain file, {encrypted} the encrypted one");
    assert_eq!(still_plain + encrypted, 30);
}
