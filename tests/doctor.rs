//! Issue 15: `doorstep-server doctor`, the real binary on real files - a
//! healthy office with a fresh backup, an office without a backup, and a
//! database file damaged in the middle.

#![allow(clippy::unwrap_used)]

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use doorstep_e2e::{Server, campaign, server_output};

/// The lines `doctor` printed, by check name: (outcome, line).
fn lines(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .map(|l| {
            let mut words = l.split_whitespace();
            let outcome = words.next().unwrap_or_default().to_owned();
            let name = words.next().unwrap_or_default().to_owned();
            (outcome, name, l.to_owned())
        })
        .collect()
}

fn doctor(db: &Path, backups: &Path) -> (i32, Vec<(String, String, String)>, String) {
    let (code, out, err) = server_output(db, &["doctor", "--backup-dir", backups.to_str().unwrap()]);
    assert!(!err.contains("panicked"), "{err}");
    (code, lines(&out), err)
}

/// Moves the WAL into the database file, so the file holds every page.
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

#[test]
fn a_healthy_office_with_a_fresh_backup_is_all_ok() {
    if doorstep_e2e::on_postgres() {
        eprintln!("skipped on PostgreSQL: this checks the SQLite file's disk lines, backup folder or damaged pages");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let backups = dir.path().join("backups");
    campaign(&db);
    // The server takes its first scheduled backup at start-up.
    let server = Server::start_with(&db, "127.0.0.1:0", &["--backup-dir", backups.to_str().unwrap()]);
    let started = Instant::now();
    while doorstep_server::backups::scheduled_in(&backups).unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no backup taken at start-up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, checks, err) = doctor(&db, &backups);
    drop(server);
    assert_eq!(code, 0, "{checks:?} {err}");
    let names: Vec<&str> = checks.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        names,
        ["database", "schema", "disk", "disk", "backup", "clock"],
        "{checks:?}"
    );
    for (outcome, name, line) in &checks {
        // The test machine's own disk may be fuller than 10%: not this
        // test's business, as long as it does not fail.
        if name == "disk" {
            assert_ne!(outcome, "FAIL", "{line}");
        } else {
            assert_eq!(outcome, "OK", "{line}");
        }
    }
}

#[test]
fn without_a_folder_the_backups_the_database_recorded_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    campaign(&db);
    let backup_line = || {
        let (code, out, err) = server_output(&db, &["doctor"]);
        assert!(!err.contains("panicked"), "{err}");
        let checks = lines(&out);
        (code, checks.into_iter().find(|c| c.1 == "backup").unwrap())
    };
    let (code, none) = backup_line();
    assert_eq!((code, none.0.as_str()), (2, "FAIL"), "{}", none.2);
    assert!(none.2.contains("no backup recorded in the database"), "{}", none.2);
    let out = dir.path().join("by-hand.db");
    doorstep_e2e::admin(&db, &["backup", "--out", out.to_str().unwrap()]);
    let (_, taken) = backup_line();
    assert_eq!(taken.0, "OK", "{}", taken.2);
    assert!(taken.2.contains("by-hand.db"), "{}", taken.2);
}

#[test]
fn no_backup_says_so_and_what_to_do() {
    if doorstep_e2e::on_postgres() {
        eprintln!("skipped on PostgreSQL: this checks the SQLite file's disk lines, backup folder or damaged pages");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    campaign(&db);
    let (code, checks, _) = doctor(&db, &backups);
    assert_eq!(code, 2, "a missing backup fails: {checks:?}");
    let backup = checks.iter().find(|c| c.1 == "backup").unwrap();
    assert_eq!(backup.0, "FAIL");
    assert!(
        backup.2.contains("no backup in")
            && backup.2.contains("tablets keep every change until one is made")
            && backup.2.contains("doorstep-server backup --out FILE")
            && backup.2.contains("--backup-dir DIR"),
        "{}",
        backup.2
    );
    let database = checks.iter().find(|c| c.1 == "database").unwrap();
    assert_eq!(database.0, "OK", "{}", database.2);
}

#[test]
fn a_damaged_database_fails_with_a_sentence_and_no_panic() {
    if doorstep_e2e::on_postgres() {
        eprintln!("skipped on PostgreSQL: this checks the SQLite file's disk lines, backup folder or damaged pages");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let backups = dir.path().join("backups");
    campaign(&db);
    checkpoint(&db);
    let len = std::fs::metadata(&db).unwrap().len();
    let page = 4096;
    assert!(len >= 16 * page, "a database of {len} bytes has no middle to damage");
    // Pages in the middle (never the first, which says what the file is).
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.seek(SeekFrom::Start((len / page / 3) * page)).unwrap();
    file.write_all(&vec![0xa5; usize::try_from(len / 3).unwrap()]).unwrap();
    file.sync_all().unwrap();
    drop(file);

    let (code, checks, err) = doctor(&db, &backups);
    assert_eq!(code, 2, "{checks:?} {err}");
    let database = checks.iter().find(|c| c.1 == "database").unwrap();
    assert_eq!(database.0, "FAIL", "{}", database.2);
    assert!(
        database.2.contains("damaged") && database.2.contains("doorstep-server restore FILE"),
        "{}",
        database.2
    );
}
