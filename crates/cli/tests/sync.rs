//! `doorstep enroll`, `sync` and the sync lines of `status`, end to end:
//! the real binary against a minimal answering peer on loopback (the real
//! server is exercised by the workspace's root `tests/`). Exit codes: 3 for
//! the network, 2 for refusals.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

const TOKEN: &str = "cli-test-token-b41c";

/// A peer that enrols anyone and confirms an empty sync. Answers plain
/// JSON (the client must take gzip or not) and closes each connection.
struct Peer {
    url: String,
}

impl Peer {
    fn start() -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let (status, answer) = if first.starts_with("POST /api/v1/enroll") {
                    (
                        200,
                        format!(
                            r#"{{"device_id":"0190f5c2-7d3a-7b1e-9a40-2f6c8d1e3b57","token":"{TOKEN}","commune_id":"0190f5c2-7d3a-7b1e-9a40-2f6c8d1e3b58","commune_name":"Mường Lạn","member_id":"0190f5c2-7d3a-7b1e-9a40-2f6c8d1e3b59","server_time":"2026-11-27T08:30:00.000Z"}}"#
                        ),
                    )
                } else if first.starts_with("POST /api/v1/sync") {
                    (
                        200,
                        r#"{"last_applied_seq":0,"changes":{},"next_cursor":"0","has_more":false,"server_time":"2026-11-27T08:30:00.000Z"}"#
                            .to_owned(),
                    )
                } else if first.starts_with("GET /api/v1/packs") {
                    (200, r#"{"packs":[]}"#.to_owned())
                } else {
                    (404, "not found".to_owned())
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Peer { url }
    }
}

struct Cli {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("d.db");
        Cli { _dir: dir, db }
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env_remove("DOORSTEP_DB")
            .env_remove("DOORSTEP_NOW")
            .output()
            .expect("runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(TOKEN), "{args:?} printed the token: {all}");
        out
    }

    /// Runs, expects `code`, returns (stdout, stderr).
    fn expect(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stdout}{stderr}");
        (stdout, stderr)
    }
}

/// A port nobody listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("addr"))
}

#[test]
fn enrol_sync_and_status_show_the_server_and_never_the_token() {
    let peer = Peer::start();
    let cli = Cli::new();
    let (out, _) = cli.expect(
        &[
            "enroll", "--server", &peer.url, "--code", "K7Q-4M2", "--label", "tablet 3",
        ],
        0,
    );
    assert!(
        out.contains("as device 0190f5c2-7d3a-7b1e-9a40-2f6c8d1e3b57 for commune Mường Lạn"),
        "{out}"
    );
    let (out, err) = cli.expect(&["sync"], 0);
    assert!(
        out.contains(&format!("Synced with {} (commune Mường Lạn)", peer.url)),
        "{out}"
    );
    assert!(out.contains("Pushed 0 changes, pulled 0"), "{out}");
    assert!(err.contains("pushed 0/0 changes, pulled 0"), "{err}");
    let (out, _) = cli.expect(&["status"], 0);
    assert!(
        out.contains(&format!("Server: {}, commune Mường Lạn", peer.url)),
        "{out}"
    );
    assert!(!out.contains("Last sync: never"), "{out}");
    let (json, _) = cli.expect(&["status", "--json"], 0);
    let status: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(status["sync"]["enrolled"], true);
    assert_eq!(status["sync"]["pending"], 0);
    let (json, _) = cli.expect(&["sync", "--json"], 0);
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(report["progress"]["round_trips"], 1);

    // A second enrolment of the same database is refused.
    let (_, err) = cli.expect(&["enroll", "--server", &peer.url, "--code", "X"], 2);
    assert!(err.contains("already enrolled"), "{err}");
}

#[test]
fn failures_exit_3_for_the_network_and_2_for_refusals() {
    // Nothing to enrol with: no database is left behind.
    let cli = Cli::new();
    let (_, err) = cli.expect(&["enroll", "--server", &closed_port(), "--code", "K7Q"], 3);
    assert!(err.contains("cannot reach the server"), "{err}");
    assert!(!cli.db.exists(), "a failed enrolment leaves no database");
    let (_, err) = cli.expect(&["enroll", "--server", "doorstep.example.org", "--code", "K7Q"], 2);
    assert!(err.contains("is not a server address"), "{err}");
    assert!(!cli.db.exists());

    let fresh = Cli::new();
    fresh.expect(&["init"], 0);
    let (_, err) = fresh.expect(&["sync"], 2);
    assert!(err.contains("doorstep enroll --server URL --code CODE"), "{err}");
    let (out, _) = fresh.expect(&["status"], 0);
    assert!(out.contains("Sync: not enrolled"), "{out}");

    let practice = Cli::new();
    practice.expect(&["init", "--practice"], 0);
    let (_, err) = practice.expect(&["sync"], 2);
    assert!(err.contains("practice databases never sync"), "{err}");

    // Enrolled, then the server goes away: 3, and status says why.
    let peer = Peer::start();
    let gone = Cli::new();
    gone.expect(&["enroll", "--server", &peer.url, "--code", "K7Q"], 0);
    point_at(&gone.db, &closed_port());
    let (_, err) = gone.expect(&["sync", "--max-attempts", "2", "--backoff-ms", "1"], 3);
    assert!(err.contains("connection trouble, trying again (retry 1)"), "{err}");
    assert!(err.contains("the changes stay on this tablet"), "{err}");
    let (out, _) = gone.expect(&["status"], 0);
    assert!(out.contains("Last sync failed: cannot reach the server"), "{out}");
}

/// Points an enrolled database at another address, as an operator with the
/// SQLite shell would (the CLI has no command for it: moving to another
/// server means enrolling again).
fn point_at(db: &std::path::Path, url: &str) {
    let conn = doorstep_device::key::open_raw(db).expect("open");
    let n = conn
        .execute("UPDATE device_state SET server_url = ?1 WHERE id = 1", [url])
        .expect("update");
    assert_eq!(n, 1);
}
