//! The restore drill: three tablets work and sync for five rounds; the
//! office restores a backup taken after round two; the tablets keep working
//! and syncing. At the end every change made on any tablet is on the
//! server exactly once, the office's own writes after the restore reach
//! every tablet, and all tablets' digests are equal.
//!
//! On PostgreSQL the office backs up with `pg_dump` and restores with
//! `pg_restore`; the server sees at its next start that the tables were
//! made anew and starts the epoch itself.
//!
//! What makes it hold: tablets resend what the restored server lacks (the
//! seq-gap answer names the first seq it needs), and a pull cursor carries
//! its epoch, so a tablet that had pulled past what the backup held pulls
//! again from there (`doorstep_ingest::epoch`).

#![allow(clippy::unwrap_used)]

use doorstep_e2e::{
    Server, Tablet, admin, assert_each_change_once, campaign, code, on_postgres, pg, visit_new_household,
};

fn round(tablets: &mut [Tablet], url: &str, village: &str, n: usize) {
    for (i, t) in tablets.iter_mut().enumerate() {
        visit_new_household(&mut t.store, village, &format!("Lò Văn {i} vòng {n}"));
        t.sync(url);
    }
}

#[test]
fn after_a_restore_nothing_is_lost_nothing_doubled_and_all_converge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let backup = dir.path().join("after-round-2.db");
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

    for n in 1..=5 {
        round(&mut tablets, &server.url, &village, n);
        if n == 2 {
            if on_postgres() {
                pg::dump(&db, &backup);
            } else {
                admin(&db, &["backup", "--out", backup.to_str().unwrap()]);
            }
        }
    }
    // Every tablet has pulled the others' rounds 3-5: past what the backup holds.
    for t in &mut tablets {
        t.sync(&server.url);
    }

    server.kill();
    let server = if on_postgres() {
        // pg_restore makes the tables anew; the server notices at start.
        pg::restore(&db, &backup);
        let server = Server::start(&db);
        let epochs = pg::query(&db, "SELECT count(*)::text FROM epoch");
        assert_eq!(epochs[0][0], "2", "a start after pg_restore begins a new epoch");
        server
    } else {
        let said = admin(&db, &["restore", backup.to_str().unwrap()]);
        assert!(said.contains("new epoch"), "{said}");
        Server::start(&db)
    };
    // The office writes after the restore: its changes get a new device id,
    // never a (device, seq) the tablets saw before.
    admin(
        &db,
        &[
            "member",
            "add",
            "--name",
            "Lường Thị Sau",
            "--unit",
            "youth_union",
            "--village",
            &village,
        ],
    );

    for n in 6..=7 {
        round(&mut tablets, &server.url, &village, n);
    }
    for _ in 0..2 {
        for t in &mut tablets {
            t.sync(&server.url);
        }
    }

    assert_each_change_once(&db, &tablets);
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(
        digests.iter().all(|d| d == &digests[0]),
        "tablets differ after the restore"
    );
    let people: Vec<usize> = tablets
        .iter()
        .map(|t| doorstep_e2e::household_ids(&t.store).len())
        .collect();
    assert!(
        people.iter().all(|&n| n == people[0] && n >= 21),
        "households per tablet: {people:?}"
    );
}
