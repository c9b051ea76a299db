//! The rewind drill: the office's change log is put back to an earlier
//! copy *without* anything of ours seeing it - a file copied over the
//! SQLite database with the server stopped, or on PostgreSQL a provider's
//! snapshot restore, which keeps the tables (here: every table emptied
//! and the rows of a dump put back). The first tablet that the server had
//! confirmed more than the log now holds tells it (`Store::rewound`): a
//! new epoch starts, and everything recovers by protocol as after a
//! restore. At the end every change is on the server once and all
//! tablets' digests are equal.

#![allow(clippy::unwrap_used)]

use doorstep_e2e::{
    Server, Tablet, admin, assert_each_change_once, campaign, code, on_postgres, pg, server_rows, visit_new_household,
};

fn round(tablets: &mut [Tablet], url: &str, village: &str, n: usize) {
    for (i, t) in tablets.iter_mut().enumerate() {
        visit_new_household(&mut t.store, village, &format!("Quàng Văn {i} lượt {n}"));
        t.sync(url);
    }
}

#[test]
fn a_log_put_back_behind_the_servers_back_is_told_by_the_tablets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let copy = dir.path().join("copy-after-round-2.db");
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
    for n in 1..=4 {
        round(&mut tablets, &server.url, &village, n);
        if n == 2 {
            if on_postgres() {
                pg::dump(&db, &copy);
            } else {
                admin(&db, &["backup", "--out", copy.to_str().unwrap()]);
            }
        }
    }
    for t in &mut tablets {
        t.sync(&server.url);
    }
    server.kill();
    if on_postgres() {
        pg::put_back_rows(&db, &copy);
    } else {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("office.db{suffix}")));
        }
        std::fs::copy(&copy, &db).unwrap();
    }
    let server = Server::start(&db);
    assert_eq!(server_rows(&db, "epoch"), 1, "nothing saw the rewind at start");
    // The tablets work on; the first sync of one the server had confirmed
    // more than the log holds tells the rewind.
    for n in 5..=6 {
        round(&mut tablets, &server.url, &village, n);
    }
    assert_eq!(
        server_rows(&db, "epoch"),
        2,
        "the first tablet told the rewind: one new epoch"
    );
    // The office writes after it: under a new office id, so never a
    // (device, seq) the tablets saw in the lost part of the log.
    admin(
        &db,
        &[
            "member",
            "add",
            "--name",
            "Cà Thị Lả",
            "--unit",
            "youth_union",
            "--village",
            &village,
        ],
    );
    for _ in 0..2 {
        for t in &mut tablets {
            t.sync(&server.url);
        }
    }
    assert_eq!(
        server_rows(&db, "epoch"),
        2,
        "the other tablets' word is the same rewind"
    );
    assert_each_change_once(&db, &tablets);
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(
        digests.iter().all(|d| d == &digests[0]),
        "tablets differ after the rewind"
    );
    let households: Vec<usize> = tablets
        .iter()
        .map(|t| doorstep_e2e::household_ids(&t.store).len())
        .collect();
    assert!(
        households.iter().all(|&n| n == households[0] && n >= 18),
        "households per tablet: {households:?}"
    );
}
