//! Issue 15: the office computer's disk fills up during a push. The push
//! is refused with 507 and a sentence, nothing of it is kept, pulls still
//! answer, and once space is freed the tablet's next sync delivers every
//! change exactly once.
//!
//! The server's SQLite database (and its WAL) lives on a small tmpfs
//! mounted for the test, filled with a filler file. Mounting needs root
//! (CI runs as root); elsewhere the test says why and skips.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use doorstep_device::sync::SyncError;
use doorstep_e2e::{
    Server, Tablet, assert_each_change_once, campaign, code, household_ids, quick, server_log_total,
    visit_new_household,
};

/// A tmpfs mounted on a temporary folder, unmounted when dropped (declare
/// it before the server, so the server stops first).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (as `mount -o size=`), or says why not.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a process of a failed test): detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Writes `path` until the filesystem refuses: no byte left.
fn fill(path: &Path) -> PathBuf {
    let mut file = std::fs::File::create(path).unwrap();
    for chunk in [1 << 16, 4096, 512, 1] {
        let bytes = vec![0x5a_u8; chunk];
        loop {
            match file.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    let _ = file.sync_all();
    path.to_owned()
}

/// Moves the server's WAL into the database file and empties it, so the
/// next write must grow the WAL (a WAL reused from the start would take a
/// small write without asking the filesystem for space).
fn empty_wal(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint ran");
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_full_disk_refuses_the_push_whole_keeps_pulls_answering_and_takes_it_later() {
    if doorstep_e2e::on_postgres() {
        eprintln!(
            "skipped on PostgreSQL: this fills the filesystem of the office's SQLite file (PostgreSQL's own disk is the provider's; its 53100 maps to the same 507)"
        );
        return;
    }
    let disk = match Tmpfs::mount("16m") {
        Ok(d) => d,
        Err(why) if !running_as_root() => {
            eprintln!("skipped: a tmpfs cannot be mounted without root ({why})");
            return;
        }
        Err(why) => panic!("running as root, but mount -t tmpfs failed: {why}"),
    };
    let db = disk.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let mut pusher = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut puller = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    pusher.sync(&server.url);
    puller.sync(&server.url);
    // Work the puller has not seen yet, on the server before the disk fills.
    visit_new_household(&mut pusher.store, &villages[0], "Lò Văn Khoa");
    pusher.sync(&server.url);
    // Then a day's work that arrives when the disk is full.
    for head in ["Quàng Văn Sơn", "Lường Thị Hoa", "Cà Văn Tấn"] {
        visit_new_household(&mut pusher.store, &villages[0], head);
    }
    empty_wal(&db);
    let filler = fill(&disk.path().join("filler"));
    let before = server_log_total(&db);

    let mut once = quick();
    once.max_attempts = 1;
    let refused = pusher.try_sync(&server.url, &once).unwrap_err();
    match &refused {
        SyncError::ServerDiskFull { status, message } => {
            assert_eq!(*status, 507);
            assert!(
                message.contains("the office computer's disk is full")
                    && message.contains("the tablet keeps its changes and will try again"),
                "{message}"
            );
        }
        other => panic!("expected the server's disk-full answer, got {other:?}: {other}"),
    }
    assert!(refused.is_transient(), "a full disk is retried later");
    assert_eq!(server_log_total(&db), before, "nothing of the refused push is kept");
    assert_eq!(integrity(&db), "ok");

    // A tablet with nothing to send still gets what is on the server.
    puller
        .try_sync(&server.url, &once)
        .expect("a pull answers on a full disk");
    assert_eq!(household_ids(&puller.store).len(), 1, "the earlier household arrived");
    assert_eq!(server_log_total(&db), before);

    std::fs::remove_file(&filler).unwrap();
    pusher.sync(&server.url);
    assert_each_change_once(&db, &[pusher]);
    assert_eq!(integrity(&db), "ok");
    puller.sync(&server.url);
    assert_eq!(household_ids(&puller.store).len(), 4, "every household once");
    drop(server);
}
