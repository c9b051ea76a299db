//! `POST /api/v1/erased` and the erase order, against the real server:
//! a tablet revoked with "erase" is told so at its next contact (and only
//! until it reports), its report is recorded once, and every bad report -
//! no token, another device's id, no erase asked, a malformed body or time
//! - is refused with a message naming what is wrong, recording nothing.

#![allow(clippy::unwrap_used)]

use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION};
use doorstep_e2e::{Server, admin, campaign, code};
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
        (
            r["token"].as_str().unwrap().to_owned(),
            r["device_id"].as_str().unwrap().to_owned(),
        )
    }

    fn post(&self, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn erased(&self, token: Option<&str>, report: &Value) -> (u16, Value) {
        self.post("/api/v1/erased", token, &serde_json::to_vec(report).unwrap())
    }

    /// An empty sync round: what the server says to this token.
    fn sync(&self, token: &str, device: &str) -> (u16, Value) {
        let body = json!({
            "protocol": PROTOCOL_VERSION,
            "schema_version": SCHEMA_VERSION,
            "device_id": device,
            "pull_limit": 0,
        });
        self.post("/api/v1/sync", Some(token), &serde_json::to_vec(&body).unwrap())
    }
}

fn report(device: &str, unsent: u64) -> Value {
    json!({
        "protocol": PROTOCOL_VERSION,
        "device_id": device,
        "unsent_changes": unsent,
        "erased_at": doorstep_core::schema::format_timestamp(chrono::Utc::now()),
    })
}

fn device_row(db: &std::path::Path, device: &str) -> Value {
    let list: Value = serde_json::from_str(&admin(db, &["--json", "device", "list"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device)
        .cloned()
        .unwrap()
}

#[test]
fn an_erase_is_ordered_once_reported_once_and_bad_reports_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let client = Client {
        http: reqwest::blocking::Client::new(),
        url: server.url.clone(),
    };
    let commune = &c.communes[0].0;
    let (lost, lost_id) = client.enroll(&code(&db, &c.member, commune));
    let (kept, kept_id) = client.enroll(&code(&db, &c.member, commune));

    // Before any revoke: a report is refused, the tablet syncs.
    let (status, body) = client.erased(Some(&lost), &report(&lost_id, 0));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("no erase was asked"),
        "{body}"
    );
    assert_eq!(client.sync(&lost, &lost_id).0, 200);

    admin(&db, &["device", "revoke", &lost_id, "--wipe"]);
    admin(&db, &["device", "revoke", &kept_id]);

    // The erase order rides on the `revoked` answer; a plain revoke has none.
    let (status, body) = client.sync(&lost, &lost_id);
    assert_eq!((status, body["error"].as_str()), (401, Some("revoked")), "{body}");
    assert_eq!(body["erase"], true, "{body}");
    let (status, body) = client.sync(&kept, &kept_id);
    assert_eq!((status, body["error"].as_str()), (401, Some("revoked")), "{body}");
    assert!(body.get("erase").is_none(), "a plain revoke keeps the data: {body}");
    let listed = admin(&db, &["device", "list"]);
    assert!(
        listed.contains("ERASE ASKED") && listed.contains("not yet done"),
        "{listed}"
    );

    // Bad reports, each named, none recorded.
    let (status, body) = client.erased(None, &report(&lost_id, 3));
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Authorization"), "{body}");
    let (status, body) = client.erased(Some("not-a-token"), &report(&lost_id, 3));
    assert_eq!(status, 401, "{body}");
    let (status, body) = client.erased(Some(&kept), &report(&lost_id, 3));
    assert_eq!(status, 403, "another device's erase: {body}");
    let (status, body) = client.erased(Some(&kept), &report(&kept_id, 3));
    assert_eq!(status, 409, "no erase asked for a plain revoke: {body}");
    let (status, body) = client.post("/api/v1/erased", Some(&lost), b"{not json");
    assert_eq!((status, body["field"].as_str()), (400, Some("body")), "{body}");
    let mut bad_time = report(&lost_id, 3);
    bad_time["erased_at"] = json!("yesterday");
    let (status, body) = client.erased(Some(&lost), &bad_time);
    assert_eq!((status, body["field"].as_str()), (400, Some("erased_at")), "{body}");
    let mut negative = report(&lost_id, 3);
    negative["unsent_changes"] = json!(-1);
    let (status, body) = client.erased(Some(&lost), &negative);
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("unsent_changes")),
        "{body}"
    );
    let mut old = report(&lost_id, 3);
    old["protocol"] = json!(0);
    assert_eq!(client.erased(Some(&lost), &old).0, 426);
    let row = device_row(&db, &lost_id);
    assert!(row["erased_at"].is_null() && row["erased_unsent"].is_null(), "{row}");

    // The good report: recorded; a repeat is harmless and changes nothing.
    let (status, body) = client.erased(Some(&lost), &report(&lost_id, 3));
    assert_eq!(status, 204, "{body}");
    let first = device_row(&db, &lost_id);
    assert!(first["erased_at"].is_string(), "{first}");
    assert_eq!(first["erased_unsent"], 3);
    assert_eq!(client.erased(Some(&lost), &report(&lost_id, 9)).0, 204);
    assert_eq!(device_row(&db, &lost_id), first, "the first report is kept");
    let listed = admin(&db, &["device", "list"]);
    assert!(
        listed.contains("ERASED") && listed.contains("3 unsent changes lost"),
        "{listed}"
    );

    // Once it reported, the tablet is only told it is revoked.
    let (status, body) = client.sync(&lost, &lost_id);
    assert_eq!((status, body["error"].as_str()), (401, Some("revoked")), "{body}");
    assert!(body.get("erase").is_none(), "{body}");
    // And the erase endpoint is no way around a revoke: sync stays shut.
    assert_eq!(client.sync(&kept, &kept_id).0, 401);
}
