//! Backups and restore of the office's SQLite database, through the real
//! server binary: a backup taken while tablets push is whole and
//! consistent; scheduled backups keep the newest N; a restore refuses a
//! running server and every bad file (truncated, foreign, newer schema,
//! damaged, empty, missing, another office's key) with its reason and the
//! database untouched; an accepted restore keeps the database it replaced,
//! starts a new epoch, and the server serves from it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use doorstep_e2e::{
    Server, Tablet, campaign, code, on_postgres, server_log_counts, server_output, visit_new_household,
};

fn fingerprint(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

fn epoch_of(db: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("SELECT value FROM server_meta WHERE key = 'epoch'", [], |r| r.get(0))
        .unwrap()
}

fn refused(db: &Path, file: &Path, expect: &str) {
    let before = fingerprint(db);
    let (status, _, err) = server_output(db, &["restore", file.to_str().unwrap()]);
    assert_eq!(status, 2, "restore of {} was not refused: {err}", file.display());
    assert!(
        err.contains(expect),
        "refusal of {} does not say {expect:?}: {err}",
        file.display()
    );
    assert!(
        fingerprint(db) == before,
        "a refused restore changed the database ({})",
        file.display()
    );
}

#[test]
fn backups_while_serving_and_restores_that_check_first() {
    if on_postgres() {
        eprintln!("backup_restore: SQLite only (PostgreSQL: pg_dump, docs/postgres.md)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let scheduled = dir.path().join("backups");
    let c = campaign(&db);
    let village = c.communes[0].1[0].clone();
    let mut server = Server::start_with(
        &db,
        "127.0.0.1:0",
        &[
            "--backup-dir",
            scheduled.to_str().unwrap(),
            "--backup-every",
            "300ms",
            "--keep",
            "2",
        ],
    );

    let mut tablets: Vec<Tablet> = (0..2)
        .map(|_| {
            let mut t = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
            t.sync(&server.url);
            t
        })
        .collect();
    for (i, t) in tablets.iter_mut().enumerate() {
        visit_new_household(&mut t.store, &village, &format!("Lò Văn Một {i}"));
        t.sync(&server.url);
    }

    // A backup taken while a tablet pushes is one whole, consistent copy.
    let manual = dir.path().join("office-manual.db");
    let url = server.url.clone();
    let pusher = std::thread::spawn({
        let mut t = tablets.pop().unwrap();
        let village = village.clone();
        move || {
            for n in 0..5 {
                visit_new_household(&mut t.store, &village, &format!("Quàng Thị Hai {n}"));
                t.sync(&url);
            }
            t
        }
    });
    let (status, out, err) = server_output(&db, &["backup", "--out", manual.to_str().unwrap()]);
    tablets.push(pusher.join().unwrap());
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("plain") && out.contains("changes up to"), "{out}");
    let (status, out, err) = server_output(&db, &["restore", "--check", manual.to_str().unwrap()]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("is a whole backup"), "{out}");
    assert!(!Path::new(&format!("{}.partial", manual.display())).exists());
    let (status, _, err) = server_output(&db, &["backup", "--out", manual.to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(err.contains("already exists"), "{err}");

    // The schedule: a backup at start-up and every 300 ms, the newest 2 kept.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 4 && Instant::now() < deadline {
        for entry in std::fs::read_dir(&scheduled).into_iter().flatten().flatten() {
            seen.insert(entry.file_name());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen.len() >= 4, "scheduled backups taken: {seen:?}");
    std::thread::sleep(Duration::from_millis(100));
    let kept: Vec<_> = std::fs::read_dir(&scheduled)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".db"))
        .collect();
    assert!(kept.len() <= 2 && !kept.is_empty(), "kept {kept:?}");

    // While the server runs, a restore is refused (a bad file still named).
    refused(&db, &manual, "is serving");

    // Bad files, each with its reason.
    let bytes = std::fs::read(&manual).unwrap();
    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2 + 100]).unwrap();
    refused(&db, &truncated, "cut short");
    let half = dir.path().join("half.db");
    std::fs::write(&half, &bytes[..bytes.len() / 2 / 4096 * 4096]).unwrap();
    let (status, _, err) = server_output(&db, &["restore", "--check", half.to_str().unwrap()]);
    assert_eq!(status, 2, "a backup cut at a page boundary is refused: {err}");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    refused(&db, &empty, "is empty");
    refused(&db, &dir.path().join("missing.db"), "does not exist");
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    refused(&db, &foreign, "not a Doorstep server backup");
    let newer = dir.path().join("newer.db");
    std::fs::copy(&manual, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "INSERT INTO doorstep_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01', '0')",
        )
        .unwrap();
    refused(&db, &newer, "newer doorstep-server");
    let damaged = dir.path().join("damaged.db");
    let mut broken = bytes.clone();
    // Every page's b-tree header but the first page's, as a bad disk would.
    for page in broken.chunks_mut(4096).skip(1) {
        for b in &mut page[..8] {
            *b ^= 0x5a;
        }
    }
    std::fs::write(&damaged, &broken).unwrap();
    let (status, _, err) = server_output(&db, &["restore", "--check", damaged.to_str().unwrap()]);
    assert_eq!(status, 2, "a damaged backup is refused: {err}");
    assert!(err.contains("damaged"), "{err}");
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, format!("{}\n", "cd".repeat(32))).unwrap();
    let (status, _, err) = server_output(
        &db,
        &[
            "--db-key-file",
            other_key.to_str().unwrap(),
            "restore",
            "--check",
            manual.to_str().unwrap(),
        ],
    );
    assert_eq!(status, 2);
    assert!(err.contains("plain backup"), "{err}");

    // Stopped, the restore goes through: the old database kept, a new epoch.
    let before_epoch = epoch_of(&db);
    let on_server_before = server_log_counts(&db);
    server.kill();
    let (status, out, err) = server_output(&db, &["restore", manual.to_str().unwrap()]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("new epoch") && out.contains("before-restore"), "{out}");
    let new_epoch = epoch_of(&db);
    assert_ne!(new_epoch, before_epoch, "a restore starts a new epoch");
    let kept_aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("office.db.before-restore-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept_aside.len(), 1, "the replaced database is kept");
    assert_eq!(
        server_log_counts(&kept_aside[0].path()),
        on_server_before,
        "the database put aside is the one that was serving"
    );

    // The restored database serves: a tablet enrols and syncs.
    let server = Server::start(&db);
    let mut late = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
    late.sync(&server.url);
    visit_new_household(&mut late.store, &village, "Lường Văn Ba");
    let report = late.sync(&server.url);
    assert!(report.progress.pushed > 0);
}
