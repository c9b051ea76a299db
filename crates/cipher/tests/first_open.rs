//! The first keyed opens of a process, made at once from many threads
//! (the app opens its store and a practice database together; test
//! binaries run their tests in parallel), all succeed. SQLite marks itself
//! initialised before SQLCipher's part of the initialisation has run, so a
//! second thread could key a connection while SQLCipher was still
//! starting, and be told "An error occurred with PRAGMA key or rekey".
//! This is the only test in its binary, so its opens are the process's
//! first.

use std::sync::{Arc, Barrier};

use doorstep_cipher::{DbKey, open_keyed_connection};
use rusqlite::OpenFlags;

#[test]
fn the_first_keyed_opens_of_a_process_made_at_once_all_succeed() {
    let dir = tempfile::tempdir().expect("dir");
    let threads = 64;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let start = Arc::clone(&start);
            let path = dir.path().join(format!("t{i}.db"));
            std::thread::spawn(move || {
                let key = DbKey::generate().map_err(|e| e.to_string())?;
                start.wait();
                // Arrivals spread over the first milliseconds, so that some
                // come after SQLite's own initialisation and before
                // SQLCipher's has finished.
                std::thread::sleep(std::time::Duration::from_micros(25 * i as u64));
                let conn = open_keyed_connection(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                    &key,
                )
                .map_err(|e| format!("open {i}: {e}"))?;
                conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
                    .map_err(|e| format!("write {i}: {e}"))
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| match h.join() {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some("a thread panicked".to_owned()),
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}
