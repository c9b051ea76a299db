//! An encrypted office database (`--db-key-file`), through the real server
//! binary: a plain office file from before is encrypted in place on the
//! first start with a key file, keeps every tablet's work and token, and
//! afterwards no resident's name is in any of its files; without the key,
//! with another key, or with a key file that is not a key, the server
//! refuses with a sentence naming which (exit 2) and the file is untouched.

#![allow(clippy::unwrap_used)]

use doorstep_e2e::{Server, Tablet, admin, campaign, code, on_postgres, server_output, visit_new_household};
use std::path::{Path, PathBuf};

const FIRST: &str = "Quàng Văn Thưởng";
const SECOND: &str = "Lò Văn Pọm";

/// Each file of the database (name, length, digest), for "untouched".
fn fingerprint(db: &Path) -> Vec<(PathBuf, usize, String)> {
    use sha2::Digest;
    files_of(db)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().ends_with("-shm"))
        .map(|(p, b)| {
            let digest: String = sha2::Sha256::digest(&b).iter().map(|x| format!("{x:02x}")).collect();
            (p, b.len(), digest)
        })
        .collect()
}

/// The bytes of the database and everything SQLite keeps beside it.
fn files_of(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm", "-journal", ".encrypting"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

fn holds(db: &Path, text: &str) -> bool {
    files_of(db)
        .iter()
        .any(|(_, bytes)| bytes.windows(text.len()).any(|w| w == text.as_bytes()))
}

/// `doorstep-server --db DB [--db-key-file KEY] device list`: exit code,
/// stdout, stderr.
fn device_list(db: &Path, key: Option<&Path>) -> (i32, String, String) {
    match key {
        Some(k) => server_output(db, &["--db-key-file", k.to_str().unwrap(), "device", "list"]),
        None => server_output(db, &["device", "list"]),
    }
}

#[test]
fn a_plain_office_database_is_encrypted_in_place_and_reads_only_with_its_key() {
    if on_postgres() {
        eprintln!("office_encryption: SQLite only (PostgreSQL encrypts at rest on its own)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let key = dir.path().join("office.key");

    // An office from before: a plain file with a tablet's work in it.
    let c = campaign(&db);
    let enrol_code = code(&db, &c.member, &c.communes[0].0);
    let village = c.communes[0].1[0].clone();
    let mut tablet = {
        let server = Server::start(&db);
        let mut tablet = Tablet::enrol(&server.url, &enrol_code);
        tablet.sync(&server.url);
        visit_new_household(&mut tablet.store, &village, FIRST);
        tablet.sync(&server.url);
        tablet
    };
    assert!(
        holds(&db, FIRST),
        "the plain office file holds the name (so this test can fail)"
    );

    // The first start with a key file encrypts it in place and makes the key.
    let server = Server::start_with(&db, "127.0.0.1:0", &["--db-key-file", key.to_str().unwrap()]);
    assert!(key.exists(), "the key file is made");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The tablet's token, cursor and history carry over: it syncs on.
    visit_new_household(&mut tablet.store, &village, SECOND);
    let report = tablet.sync(&server.url);
    assert!(report.progress.pushed > 0, "the new visit went up");
    drop(server);

    for name in [FIRST, SECOND] {
        assert!(
            !holds(&db, name),
            "{name} readable in the encrypted office database's files"
        );
    }
    let key_text = std::fs::read_to_string(&key).unwrap();
    let (status, listed, _) = device_list(&db, Some(&key));
    assert_eq!(status, 0);
    assert!(
        listed.contains("test tablet"),
        "the enrolled tablet is still there: {listed}"
    );

    // Refusals, each naming what is wrong, each leaving the file as it was.
    let before = fingerprint(&db);
    let (status, _, err) = device_list(&db, None);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("is encrypted") && err.contains("--db-key-file"), "{err}");

    let other = dir.path().join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    let (status, _, err) = device_list(&db, Some(&other));
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("another key"), "{err}");
    assert!(!err.contains(&"ab".repeat(32)), "the key is never shown: {err}");

    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "hunter2\n").unwrap();
    let (status, _, err) = device_list(&db, Some(&junk));
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("not a Doorstep key") && !err.contains("hunter2"), "{err}");

    let missing = dir.path().join("missing.key");
    let (status, _, err) = device_list(&db, Some(&missing));
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists(), "no key is made for an encrypted database");

    assert_eq!(fingerprint(&db), before, "a refused start changed the office database");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), key_text);

    // A foreign plain file is refused before any key is made for it.
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let foreign_key = dir.path().join("foreign.key");
    let (status, _, err) = device_list(&foreign, Some(&foreign_key));
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("not a Doorstep server database"), "{err}");
    assert!(!foreign_key.exists());

    // A backup of the encrypted office is encrypted under the same key.
    let backup = dir.path().join("office-backup.db");
    let out = admin_keyed(&db, &key, &["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.contains("encrypted"), "{out}");
    for name in [FIRST, SECOND] {
        assert!(!holds(&backup, name), "{name} readable in the encrypted backup");
    }
    let out = admin_keyed(&db, &key, &["restore", "--check", backup.to_str().unwrap()]);
    assert!(out.contains("is a whole backup"), "{out}");
    let (status, _, err) = server_output(
        &db,
        &[
            "--db-key-file",
            other.to_str().unwrap(),
            "restore",
            "--check",
            backup.to_str().unwrap(),
        ],
    );
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("another office's backup"), "{err}");

    // The admin commands work on the encrypted file as on a plain one.
    let out = admin_keyed(
        &db,
        &key,
        &[
            "--json",
            "enrol-code",
            "new",
            "--member",
            &c.member,
            "--commune",
            &c.communes[0].0,
        ],
    );
    assert!(out.contains("code"), "{out}");
}

fn admin_keyed(db: &Path, key: &Path, args: &[&str]) -> String {
    let mut all = vec!["--db-key-file", key.to_str().unwrap()];
    all.extend_from_slice(args);
    admin(db, &all)
}
