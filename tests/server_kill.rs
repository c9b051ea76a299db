//! The server killed with SIGKILL while tablets sync, and restarted on the
//! same port: nothing the server acknowledged is lost, nothing is applied
//! twice, and the tablets converge.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doorstep_e2e::{Server, Tablet, assert_each_change_once, campaign, code, quick, visit_new_household};

#[test]
fn nothing_is_lost_or_doubled_when_the_server_is_killed_mid_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Arc::new(Mutex::new(Server::start(&db)));
    let url = server.lock().unwrap().url.clone();
    let listen = server.lock().unwrap().addr().to_string();
    let (commune, villages) = &c.communes[0];
    let mut tablets: Vec<Tablet> = (0..3)
        .map(|_| Tablet::enrol(&url, &code(&db, &c.member, commune)))
        .collect();
    for t in &mut tablets {
        t.sync(&url); // the villages arrive
    }

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = tablets
        .into_iter()
        .enumerate()
        .map(|(n, mut t)| {
            let (stop, url, village) = (Arc::clone(&stop), url.clone(), villages[n].clone());
            std::thread::spawn(move || {
                let mut options = quick();
                options.max_attempts = 2;
                options.batch_bytes = 2 * 1024;
                let mut round = 0;
                while !stop.load(Ordering::Relaxed) {
                    visit_new_household(&mut t.store, &village, &format!("Tòng Văn {n} {round}"));
                    let _ = t.try_sync(&url, &options);
                    round += 1;
                }
                t
            })
        })
        .collect();

    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(400));
        let mut s = server.lock().unwrap();
        s.kill();
        *s = Server::start_on(&db, &listen);
    }
    stop.store(true, Ordering::Relaxed);
    let mut tablets: Vec<Tablet> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    for _ in 0..2 {
        for t in &mut tablets {
            t.sync(&url);
        }
    }
    for t in &tablets {
        let written = t.store.sync_position().unwrap().last_seq;
        assert!(written > 30, "the tablet kept working: {written}");
    }
    assert_each_change_once(&db, &tablets);
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(digests.iter().all(|d| d == &digests[0]), "tablets differ");
}
