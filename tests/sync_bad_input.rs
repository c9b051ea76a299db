//! Bad requests against the real server: each gets the right status and a
//! message naming what is wrong, and none of them writes anything.

#![allow(clippy::unwrap_used)]

use std::io::Write;

use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION, WireChanges};
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_e2e::{Server, Tablet, admin, campaign, code, server_log_total};
use serde_json::{Value, json};

struct Client {
    http: reqwest::blocking::Client,
    url: String,
}

impl Client {
    fn enroll(&self, code: &str) -> (String, String) {
        let r: Value = self
            .http
            .post(format!("{}/api/v1/enroll", self.url))
            .json(&json!({"protocol": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION, "code": code}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(r["token"].is_string(), "enrolment failed: {r}");
        (
            r["token"].as_str().unwrap().to_owned(),
            r["device_id"].as_str().unwrap().to_owned(),
        )
    }

    fn sync_raw(&self, token: Option<&str>, body: Vec<u8>, gzip: bool) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/v1/sync", self.url))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let body = if gzip {
            req = req.header("content-encoding", "gzip");
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&body).unwrap();
            enc.finish().unwrap()
        } else {
            body
        };
        let resp = req.body(body).send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn sync(&self, token: &str, body: &Value) -> (u16, Value) {
        self.sync_raw(Some(token), serde_json::to_vec(body).unwrap(), true)
    }
}

/// Posts a body by hand and reads the status, ignoring a refused write: a
/// server may answer 413 and close before the body is sent.
fn raw_post(addr: std::net::SocketAddr, token: &str, body: &[u8], chunked: bool) -> u16 {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    for piece in body.chunks(64 * 1024) {
        let ok = if chunked {
            s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .and_then(|()| s.write_all(piece))
                .and_then(|()| s.write_all(b"\r\n"))
        } else {
            s.write_all(piece)
        };
        if ok.is_err() {
            break;
        }
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&answer).into_owned();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {line:?}"))
}

fn request(device: &str, changes: &[Change]) -> Value {
    json!({
        "protocol": PROTOCOL_VERSION,
        "schema_version": SCHEMA_VERSION,
        "device_id": device,
        "pushes": WireChanges::encode(changes),
        "pull_limit": 0,
    })
}

fn household(device: &str, seq: u64, village: &str, head: &str) -> Change {
    let device: DeviceId = device.parse().unwrap();
    let fields = [
        ("village_id", FieldValue::from(village)),
        ("head_name", FieldValue::from(head)),
        ("created_at", FieldValue::from("2026-11-27T08:00:00.000Z")),
    ];
    Change {
        id: ChangeId::derive(device, seq),
        device,
        seq,
        hlc: Hlc::new(doorstep_core::hlc::wall_millis(chrono::Utc::now()), 0),
        entity: EntityKind::Household,
        entity_id: uuid::Uuid::now_v7(),
        op: ChangeOp::Create,
        fields: fields
            .into_iter()
            .map(|(f, v)| FieldWrite {
                field: f.into(),
                value: v,
                base: None,
                resolves: Vec::new(),
            })
            .collect(),
    }
}

#[test]
fn bad_requests_are_named_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let client = Client {
        http: reqwest::blocking::Client::new(),
        url: server.url.clone(),
    };
    let (commune_a, villages_a) = &c.communes[0];
    let (commune_b, villages_b) = &c.communes[1];
    let (token, device) = client.enroll(&code(&db, &c.member, commune_a));
    let (_, other_device) = client.enroll(&code(&db, &c.member, commune_b));
    let before = server_log_total(&db);
    let good = household(&device, 1, &villages_a[0], "Lò Văn Pắn");

    // Tokens.
    let (s, b) = client.sync_raw(None, serde_json::to_vec(&request(&device, &[])).unwrap(), false);
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")), "{b}");
    let (s, b) = client.sync("dst1_0000", &request(&device, std::slice::from_ref(&good)));
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")), "{b}");

    // Another commune's village, or another device's id: 403.
    let foreign = household(&device, 1, &villages_b[0], "Cà Văn Chiến");
    let (s, b) = client.sync(
        &token,
        &request(&device, &[good.clone(), household(&device, 2, &villages_b[0], "x")]),
    );
    assert_eq!(s, 403, "{b}");
    let (s, b) = client.sync(&token, &request(&device, &[foreign]));
    assert_eq!(s, 403, "{b}");
    assert!(b["message"].as_str().unwrap().contains("another commune"), "{b}");
    let (s, b) = client.sync(&token, &request(&other_device, &[]));
    assert_eq!(s, 403, "{b}");
    let impostor = household(&other_device, 1, &villages_a[0], "x");
    let (s, b) = client.sync(&token, &request(&device, &[impostor]));
    assert_eq!(s, 403, "{b}");

    // Malformed JSON and wrong types: 400 naming the field.
    let (s, b) = client.sync_raw(Some(&token), b"{\"protocol\": 1, ".to_vec(), true);
    assert_eq!((s, b["error"].as_str()), (400, Some("bad_request")), "{b}");
    let mut wrong = request(&device, std::slice::from_ref(&good));
    wrong["pushes"]["c"][0]["s"] = json!("one");
    let (s, b) = client.sync(&token, &wrong);
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["field"].as_str(), Some("pushes.c[0].s"), "{b}");
    let mut wrong = request(&device, &[]);
    wrong["pull_limit"] = json!(-1);
    let (s, b) = client.sync(&token, &wrong);
    assert_eq!((s, b["field"].as_str()), (400, Some("pull_limit")), "{b}");
    let (s, b) = client.sync_raw(Some(&token), b"not gzip at all".to_vec(), false);
    assert_eq!(s, 400, "{b}");

    // Over the limit: 413, whether the length is announced or streamed.
    let huge = vec![b' '; 3 * 1024 * 1024];
    assert_eq!(raw_post(server.addr(), &token, &huge, false), 413);
    assert_eq!(raw_post(server.addr(), &token, &huge, true), 413);

    // A seq gap names the expected seq.
    let (s, b) = client.sync(&token, &request(&device, &[household(&device, 5, &villages_a[0], "x")]));
    assert_eq!((s, b["expected_seq"].as_u64()), (409, Some(1)), "{b}");

    // Protocol versions: an old app is told to update.
    let mut old = request(&device, &[]);
    old["protocol"] = json!(0);
    let (s, b) = client.sync(&token, &old);
    assert_eq!((s, b["error"].as_str()), (426, Some("upgrade_required")), "{b}");
    assert!(b["message"].as_str().unwrap().contains("update the app"));
    let mut newer = request(&device, &[]);
    newer["protocol"] = json!(99);
    let (s, b) = client.sync(&token, &newer);
    assert_eq!((s, b["error"].as_str()), (400, Some("unsupported_protocol")), "{b}");

    assert_eq!(server_log_total(&db), before, "no bad request wrote anything");

    // A revoked token: 401 "revoked".
    admin(&db, &["device", "revoke", &other_device]);
    let (s, b) = client.sync(&token, &request(&device, &[]));
    assert_eq!(s, 200, "{b}");
    let (other_token, other) = client.enroll(&code(&db, &c.member, commune_b));
    admin(&db, &["device", "revoke", &other]);
    let (s, b) = client.sync(&other_token, &request(&other, &[]));
    assert_eq!((s, b["error"].as_str()), (401, Some("revoked")), "{b}");

    // An invalid change is rejected with a reason and the queue moves on.
    let mut invalid = household(&device, 1, &villages_a[0], "Lò Văn Pắn");
    invalid.fields[1].value = FieldValue::Int(5);
    let second = household(&device, 2, &villages_a[0], "Quàng Văn Ơn");
    let (s, b) = client.sync(&token, &request(&device, &[invalid, second]));
    assert_eq!((s, b["last_applied_seq"].as_u64()), (200, Some(2)), "{b}");
    assert_eq!(b["rejected"][0]["seq"].as_u64(), Some(1), "{b}");
    assert!(
        b["rejected"][0]["reason"].as_str().unwrap().contains("head_name"),
        "{b}"
    );
    assert_eq!(server_log_total(&db), before + 1);
    // Asking again (answer lost on the way) repeats the facts.
    let mut again = request(&device, &[]);
    again["acked_seq"] = json!(0);
    let (_, b) = client.sync(&token, &again);
    assert_eq!(b["rejected"][0]["seq"].as_u64(), Some(1), "{b}");
}

#[test]
fn sql_looking_and_very_long_text_travels_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let mut a = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut b = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    a.sync(&server.url);
    let sneaky = "Robert'); DROP TABLE change_log; --";
    let long_note: String = "Nhà sàn mái xanh, đi qua cầu treo; ".repeat(50);
    let h = doorstep_e2e::visit_new_household(&mut a.store, &villages[0], sneaky);
    a.store
        .update::<doorstep_core::entities::Household>(
            h.as_uuid(),
            doorstep_core::entities::Patch::<doorstep_core::entities::Household>::new()
                .notes(Some(doorstep_core::text::Notes::parse(long_note.trim()).unwrap())),
        )
        .unwrap();
    a.sync(&server.url);
    b.sync(&server.url);
    let detail = b.store.household(h).unwrap();
    assert_eq!(detail.head_name, sneaky);
    assert_eq!(detail.notes.as_deref(), Some(long_note.trim()));
    assert!(server_log_total(&db) > 0, "the log table is still there");
}
