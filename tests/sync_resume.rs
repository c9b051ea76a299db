//! Resumable pushes (issue 15 item 5): a push cut mid-body costs only the
//! bytes that did not arrive, every change still arrives exactly once, and
//! the server refuses resumes it must not take, each with a clear answer.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use doorstep_core::protocol::{
    PROTOCOL_VERSION, SCHEMA_VERSION, SyncRequest, SyncResponse, WireChanges, paths, upload,
};
use doorstep_e2e::day::record_day;
use doorstep_e2e::{Server, Tablet, assert_each_change_once, campaign, code, quick};
use doorstep_netsim::{Proxy, Toxics};
use sha2::{Digest, Sha256};

/// Pushes a day through a link that cuts the push twice inside its body;
/// returns the bytes the push sent up and the connections cut.
fn cut_push(tablet: &mut Tablet, server: &Server, resume: bool) -> (u64, u64) {
    let toxics = Toxics {
        latency: Duration::from_millis(2),
        cut_up_at: vec![9_000, 21_000],
        ..Toxics::default()
    };
    let proxy = Proxy::start(server.addr(), toxics, 5).unwrap();
    let mut options = quick();
    options.fetch_packs = false;
    options.resume_uploads = resume;
    let report = tablet.try_sync(&format!("http://{}", proxy.addr()), &options).unwrap();
    let stats = proxy.stats();
    assert!(report.progress.retries >= 2, "{report:?}");
    (stats.up_bytes, stats.connections_cut)
}

#[test]
fn a_push_cut_mid_body_resumes_and_sends_less_than_whole_resends() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let villages: Vec<_> = villages.iter().map(|v| v.parse().unwrap()).collect();
    let mut resuming = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut resending = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut reader = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    for t in [&mut resuming, &mut resending, &mut reader] {
        t.sync(&server.url);
    }
    record_day(&mut resuming.store, &villages, 50);
    record_day(&mut resending.store, &villages, 50);

    let (resumed_up, resumed_cuts) = cut_push(&mut resuming, &server, true);
    let (resent_up, resent_cuts) = cut_push(&mut resending, &server, false);
    assert_eq!((resumed_cuts, resent_cuts), (2, 2), "both pushes were cut twice");
    // Resending whole costs the cut bytes again (9 + 12 KB); resuming costs
    // two probes and two requests' headers.
    assert!(
        resumed_up + 15_000 < resent_up,
        "resumed {resumed_up} bytes up, resent whole {resent_up}"
    );

    assert_each_change_once(&db, &[resuming, resending]);
    reader.sync(&server.url);
    let on_reader = reader.store.sync_position().unwrap();
    assert!(on_reader.pull_cursor.is_some());
}

/// Enrols a device over HTTP; returns its token and id.
fn enrol(url: &str, code: &str) -> (String, String) {
    let answer: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{url}{}", paths::ENROLL))
        .json(&serde_json::json!({"protocol": 1, "schema_version": 1, "code": code}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    (
        answer["token"].as_str().unwrap().to_owned(),
        answer["device_id"].as_str().unwrap().to_owned(),
    )
}

/// A gzipped pull-only sync request of `device`, padded with a long
/// cursor-free body so it has bytes to cut; and its key.
fn request(device: &str) -> (Vec<u8>, String) {
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        schema_version: SCHEMA_VERSION,
        device_id: device.parse().unwrap(),
        acked_seq: 0,
        pushes: WireChanges::default(),
        pull_cursor: None,
        pull_limit: 10,
        signature: None,
        carried: Vec::new(),
    };
    let json = serde_json::to_vec(&request).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    enc.write_all(&json).unwrap();
    let body = enc.finish().unwrap();
    let key = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    (body, key)
}

/// Sends the headers of a piece of `length` bytes at `offset` and only
/// `piece`, then closes the connection: a cut mid-body.
fn cut_piece(server: &Server, token: &str, key: &str, length: usize, offset: usize, piece: &[u8]) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n{}: {key}\r\n{}: {length}\r\n{}: {offset}\r\nContent-Length: {}\r\n\r\n",
        paths::SYNC_UPLOAD,
        upload::KEY,
        upload::LENGTH,
        upload::OFFSET,
        length - offset
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(piece).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(stream);
    std::thread::sleep(Duration::from_millis(200));
}

fn piece(
    server: &Server,
    token: &str,
    key: &str,
    length: usize,
    offset: usize,
    bytes: &[u8],
) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}{}", server.url, paths::SYNC_UPLOAD))
        .bearer_auth(token)
        .header(upload::KEY, key)
        .header(upload::LENGTH, length)
        .header(upload::OFFSET, offset)
        .body(bytes.to_vec())
        .send()
        .unwrap()
}

fn probe(server: &Server, token: &str, key: &str) -> u64 {
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}{}", server.url, paths::SYNC_UPLOAD))
        .bearer_auth(token)
        .header(upload::KEY, key)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 204);
    answer.headers()[upload::OFFSET].to_str().unwrap().parse().unwrap()
}

fn refusal(answer: reqwest::blocking::Response) -> (u16, Option<u64>, String) {
    let status = answer.status().as_u16();
    let offset = answer
        .headers()
        .get(upload::OFFSET)
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let mut text = String::new();
    answer.take(10_000).read_to_string(&mut text).unwrap();
    (status, offset, text)
}

#[test]
fn the_server_refuses_resumes_it_must_not_take() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, _) = &c.communes[0];
    let (token, device) = enrol(&server.url, &code(&db, &c.member, commune));
    let (other_token, _) = enrol(&server.url, &code(&db, &c.member, commune));
    let (body, key) = request(&device);
    let half = body.len() / 2;

    cut_piece(&server, &token, &key, body.len(), 0, &body[..half]);
    assert_eq!(
        probe(&server, &token, &key),
        half as u64,
        "the cut piece's bytes are kept"
    );

    // Another device's upload: not there for it.
    assert_eq!(probe(&server, &other_token, &key), 0);
    let (status, offset, text) = refusal(piece(&server, &other_token, &key, body.len(), half, &body[half..]));
    assert_eq!((status, offset), (409, Some(0)), "{text}");
    assert!(text.contains("holds no bytes of this upload for this tablet"), "{text}");

    // A wrong offset names the right one.
    let (status, offset, text) = refusal(piece(&server, &token, &key, body.len(), half - 1, &body[half - 1..]));
    assert_eq!((status, offset), (409, Some(half as u64)), "{text}");
    assert!(text.contains(&format!("send from offset {half}")), "{text}");

    // An oversized declared length.
    let (status, _, text) = refusal(piece(&server, &token, &key, 3 << 20, half, b"x"));
    assert_eq!(status, 413, "{text}");

    // The rest completes it: the answer of an ordinary sync.
    let answer = piece(&server, &token, &key, body.len(), half, &body[half..]);
    assert_eq!(answer.status(), 200);
    let answer: SyncResponse = answer.json().unwrap();
    assert_eq!(answer.last_applied_seq, 0);
    // The answer was lost: an empty last piece gives it again.
    let again = piece(&server, &token, &key, body.len(), body.len(), &[]);
    assert_eq!(again.status(), 200);

    // A body that is not what its key names is dropped.
    let mut forged = body.clone();
    let last = forged.len() - 9;
    forged[last] ^= 0xff;
    let forged_key: String = Sha256::digest(b"something else")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (status, _, text) = refusal(piece(&server, &token, &forged_key, forged.len(), 0, &forged));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("SHA-256 is not its key"), "{text}");
    assert_eq!(probe(&server, &token, &forged_key), 0, "dropped");

    // A key that is not one.
    let (status, _, text) = refusal(piece(&server, &token, "abc", 3, 0, b"abc"));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("64 hex digits"), "{text}");
}
