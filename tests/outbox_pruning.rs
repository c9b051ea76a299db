//! The bounded outbox: a tablet drops a change once the server confirmed
//! it *and* the server's newest backup holds it (the sync answer's
//! `backed_up_seq`). Without backups nothing is dropped and the status
//! says so; a month of work with daily backups keeps the outbox to about
//! a day; and a restore of the newest backup after pruning still loses
//! nothing. Restoring an older backup than the tablets pruned to is named,
//! not silently lost.
//!
//! Runs on SQLite, and on PostgreSQL when `DOORSTEP_TEST_PG` names the CI
//! cluster (`doorstep-server backup` runs `pg_dump` there, and the office
//! restores with `pg_restore`). `DOORSTEP_PRUNE_DAYS` sets the month's
//! length (default 10 in CI; the month of docs/benchmarks.md is 30).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use doorstep_core::ids::VillageId;
use doorstep_device::sync::SyncError;
use doorstep_e2e::day::record_day;
use doorstep_e2e::{
    Server, Tablet, admin, assert_each_change_once, campaign, code, on_postgres, pg, visit_new_household,
};

/// `doorstep-server backup --out` while the server runs.
fn backup(db: &Path, dir: &Path, n: usize) -> PathBuf {
    let file = dir.join(format!("backup-{n}.db"));
    admin(db, &["backup", "--out", file.to_str().unwrap()]);
    file
}

/// Puts a backup back with the server stopped, as an office does.
fn restore(db: &Path, file: &Path) {
    if on_postgres() {
        pg::restore(db, file);
    } else {
        admin(db, &["restore", file.to_str().unwrap()]);
    }
}

fn outbox(t: &Tablet) -> u64 {
    t.store.status().unwrap().outbox_total
}

fn villages(ids: &[String]) -> Vec<VillageId> {
    ids.iter().map(|v| v.parse().unwrap()).collect()
}

#[test]
fn without_a_backup_the_tablet_keeps_every_change_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let mut t = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
    t.sync(&server.url);
    let written = record_day(&mut t.store, &villages(&c.communes[0].1), 5);
    t.sync(&server.url);
    t.sync(&server.url);

    let status = t.store.sync_status().unwrap();
    assert_eq!(status.pending, 0, "everything was confirmed");
    assert_eq!(status.backed_up_seq, None, "the server has no backup");
    assert_eq!(
        status.awaiting_backup, written,
        "every confirmed change waits for a backup"
    );
    assert_eq!(outbox(&t), written, "nothing is dropped without a backup");
}

#[test]
fn a_month_with_daily_backups_keeps_the_outbox_to_about_a_day() {
    let days: usize = std::env::var("DOORSTEP_PRUNE_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let c = campaign(&db);
    let server = Server::start(&db);
    let mut t = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
    t.sync(&server.url);
    let villages = villages(&c.communes[0].1);
    let mut written = 0;
    let mut most_kept = 0;
    for day in 1..=days {
        let today = record_day(&mut t.store, &villages, 50);
        written += today;
        // The answer says what last night's backup holds: everything up to
        // yesterday is dropped, today's work stays until tonight's backup.
        t.sync(&server.url);
        let kept = outbox(&t);
        if day > 1 {
            assert!(kept <= today, "day {day}: {kept} changes kept, today made {today}");
        }
        most_kept = most_kept.max(kept);
        backup(&db, &backups, day);
    }
    t.sync(&server.url);
    let status = t.store.sync_status().unwrap();
    assert_eq!(
        status.awaiting_backup, 0,
        "the last backup holds everything: {status:?}"
    );
    assert_eq!(outbox(&t), 0, "every change is confirmed and backed up");
    assert_each_change_once(&db, std::slice::from_ref(&t));
    let [db, wal] = ["", "-wal"].map(|s| {
        let mut p = t.store.path().as_os_str().to_owned();
        p.push(s);
        std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0)
    });
    eprintln!(
        "{days} days, {written} changes: tablet database {db:.1} MB + WAL {wal:.1} MB, at most {most_kept} changes in the outbox"
    );
}

fn round(tablets: &mut [Tablet], url: &str, village: &str, n: usize) {
    for (i, t) in tablets.iter_mut().enumerate() {
        for h in 0..3 {
            visit_new_household(&mut t.store, village, &format!("Lò Văn {i} nhà {h} vòng {n}"));
        }
        t.sync(url);
    }
}

#[test]
fn a_restore_of_the_newest_backup_after_pruning_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let village = c.communes[0].1[0].clone();
    let mut server = Server::start(&db);
    let mut tablets: Vec<Tablet> = (0..3)
        .map(|_| {
            let mut t = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
            t.sync(&server.url);
            t
        })
        .collect();
    let mut newest = PathBuf::new();
    for n in 1..=4 {
        round(&mut tablets, &server.url, &village, n);
        newest = backup(&db, dir.path(), n);
    }
    // Round 5 is synced after the newest backup: the tablets drop what it
    // holds and keep round 5, which the restored server will lack.
    round(&mut tablets, &server.url, &village, 5);
    for t in &mut tablets {
        t.sync(&server.url);
        let position = t.store.sync_position().unwrap();
        assert!(
            outbox(t) < position.last_seq,
            "the tablet pruned ({} of {} kept)",
            outbox(t),
            position.last_seq
        );
    }

    server.kill();
    restore(&db, &newest);
    let server = Server::start(&db);
    for n in 6..=7 {
        round(&mut tablets, &server.url, &village, n);
    }
    for t in &mut tablets {
        t.sync(&server.url);
    }
    for t in &mut tablets {
        t.sync(&server.url);
    }
    assert_each_change_once(&db, &tablets);
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(digests.iter().all(|d| d == &digests[0]), "tablets differ: {digests:?}");
}

#[test]
fn restoring_an_older_backup_than_the_tablets_pruned_to_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let village = c.communes[0].1[0].clone();
    let mut server = Server::start(&db);
    let mut tablets = vec![Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0))];
    tablets[0].sync(&server.url);
    round(&mut tablets, &server.url, &village, 1);
    let older = backup(&db, dir.path(), 1);
    round(&mut tablets, &server.url, &village, 2);
    backup(&db, dir.path(), 2);
    // This sync learns that the second backup holds round 2: dropped.
    tablets[0].sync(&server.url);
    let before = tablets[0].store.status().unwrap();
    assert_eq!(before.outbox_total, 0, "rounds 1 and 2 are backed up and dropped");

    server.kill();
    restore(&db, &older);
    let server = Server::start(&db);
    let failed = tablets[0].try_sync(&server.url, &doorstep_e2e::quick());
    match failed {
        Err(e @ SyncError::OfficeLost { .. }) => {
            let said = e.to_string();
            assert!(said.contains("older backup"), "{said}");
            assert!(said.contains("restore its newest backup"), "{said}");
        }
        other => panic!("expected the office-lost answer, got {other:?}"),
    }
    let after = tablets[0].store.status().unwrap();
    assert_eq!(after.acked_seq, before.acked_seq, "the tablet changed nothing");
    assert_eq!(after.outbox_total, before.outbox_total);
}
