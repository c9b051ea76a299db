//! Watching the server (issue 15): `GET /metrics` behind
//! `--metrics-token`, read back with a Prometheus text-format parser after
//! a real tablet's sync, and `--log-format json` lines that name each
//! request's id and device but never its token, bodies or names.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION};
use doorstep_e2e::{Server, Tablet, bin, campaign, code, db_arg, visit_new_household};
use prometheus_parse::{Scrape, Value};
use serde_json::json;

const TOKEN: &str = "scrape-token-0123456789abcdef";
const HEAD: &str = "Lò Văn Tiến";

fn scrape(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::blocking::Client::new().get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

/// The value of the sample named `metric` whose labels include `labels`.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(_) | Value::Summary(_) => f64::NAN,
        })
}

#[test]
fn metrics_count_a_tablets_sync_and_answer_only_to_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start_with(&db, "127.0.0.1:0", &["--metrics-token", TOKEN]);
    let mut tablet = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
    // The first sync brings the commune's villages; the field work after
    // it is pushed by the second.
    let first = tablet.sync(&server.url).progress;
    let village = &c.communes[0].1[0];
    visit_new_household(&mut tablet.store, village, HEAD);
    visit_new_household(&mut tablet.store, village, "Quàng Thị Hoa");
    let second = tablet.sync(&server.url).progress;
    let pushed = first.pushed + second.pushed;
    assert!(second.pushed >= 10, "two households' field work: {second:?}");
    let sent = first.bytes_sent + second.bytes_sent;
    let pulled = first.pulled + second.pulled;
    let rounds = first.round_trips + second.round_trips;

    let (status, text) = scrape(&server.url, Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    let m = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(
        value(&m, "doorstep_push_changes_total", &[]),
        Some(pushed as f64),
        "{text}"
    );
    assert_eq!(
        value(&m, "doorstep_push_bytes_total", &[]),
        Some(sent as f64),
        "bytes on the wire, as the tablet counted them: {text}"
    );
    assert!(value(&m, "doorstep_pull_bytes_total", &[]).unwrap() > 0.0, "{text}");
    assert_eq!(
        value(&m, "doorstep_pull_changes_total", &[]),
        Some(pulled as f64),
        "{text}"
    );
    let syncs = value(
        &m,
        "doorstep_http_requests_total",
        &[("endpoint", "/api/v1/sync"), ("status", "200")],
    )
    .unwrap();
    assert!(syncs >= 1.0 && syncs == f64::from(rounds), "{text}");
    assert_eq!(
        value(
            &m,
            "doorstep_http_requests_total",
            &[("endpoint", "/api/v1/enroll"), ("status", "200")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(&m, "doorstep_ingest_seconds_count", &[]).unwrap() >= 1.0,
        "{text}"
    );
    let ingest = m
        .samples
        .iter()
        .find(|s| s.metric == "doorstep_ingest_seconds")
        .expect("the ingest histogram");
    assert!(matches!(&ingest.value, Value::Histogram(b) if !b.is_empty()), "{text}");
    assert_eq!(
        value(&m, "doorstep_devices_seen", &[("within", "1h")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&m, "doorstep_devices_enrolled", &[]), Some(1.0), "{text}");
    assert_eq!(
        value(&m, "doorstep_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&m, "doorstep_backup_age_seconds", &[]),
        None,
        "no backup yet: {text}"
    );
    let out = dir.path().join("backup.db");
    doorstep_e2e::admin(&db, &["backup", "--out", out.to_str().unwrap()]);
    let (_, after) = scrape(&server.url, Some(TOKEN));
    let m = Scrape::parse(after.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let age = value(&m, "doorstep_backup_age_seconds", &[]).expect("the backup's age");
    assert!((0.0..120.0).contains(&age), "{after}");
    let device = tablet.store.device_id().to_string();
    for secret in [device.as_str(), HEAD, TOKEN] {
        assert!(!text.contains(secret), "{secret:?} is in the metrics: {text}");
    }

    // Wrong or missing token: 401 with a sentence, no metrics.
    for token in [Some("scrape-token-0123456789abcdeX"), Some(""), None] {
        let (status, body) = scrape(&server.url, token);
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(body.contains("Authorization: Bearer"), "{body}");
        assert!(!body.contains("doorstep_"), "{body}");
    }
    // The refusals are counted too, under the template.
    let (_, text) = scrape(&server.url, Some(TOKEN));
    let m = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(
        value(
            &m,
            "doorstep_http_requests_total",
            &[("endpoint", "/metrics"), ("status", "401")]
        ),
        Some(3.0),
        "{text}"
    );
}

#[test]
fn without_the_flag_there_is_no_metrics_route() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    campaign(&db);
    let server = Server::start(&db);
    assert_eq!(scrape(&server.url, Some(TOKEN)).0, 404);
    assert_eq!(scrape(&server.url, None).0, 404);
}

#[test]
fn a_short_metrics_token_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let (status, _, err) = doorstep_e2e::server_output(&db, &["serve", "--metrics-token", "short"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("at least 16 characters"), "{err}");
}

/// `doorstep-server serve --log-format json`, its standard error in a file.
struct JsonServer {
    child: Child,
    url: String,
}

impl JsonServer {
    fn start(db: &Path, log: &Path) -> JsonServer {
        let mut child = Command::new(bin("doorstep-server"))
            .args([
                "--db",
                &db_arg(db),
                "--log-format",
                "json",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .env("DOORSTEP_LOG", "doorstep_server=info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap().to_owned();
        JsonServer { child, url }
    }
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn json_logs_name_the_request_and_device_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let log = dir.path().join("server.log");
    let c = campaign(&db);
    let server = JsonServer::start(&db, &log);
    let http = reqwest::blocking::Client::new();
    let enrolled: serde_json::Value = http
        .post(format!("{}/api/v1/enroll", server.url))
        .json(&json!({
            "protocol": PROTOCOL_VERSION,
            "schema_version": SCHEMA_VERSION,
            "code": code(&db, &c.member, &c.communes[0].0),
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = enrolled["token"].as_str().unwrap().to_owned();
    let device = enrolled["device_id"].as_str().unwrap().to_owned();
    // A sync round carrying its own request id: kept, and sent back.
    let resp = http
        .post(format!("{}/api/v1/sync", server.url))
        .bearer_auth(&token)
        .header("x-request-id", "field-test-42")
        .json(&json!({
            "protocol": PROTOCOL_VERSION,
            "schema_version": SCHEMA_VERSION,
            "device_id": device,
            "pull_limit": 100,
        }))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-request-id"], "field-test-42");
    // One without: the server makes one up and sends it back.
    let resp = http.get(format!("{}/healthz", server.url)).send().unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let sync = lines
        .iter()
        .find(|l| l["fields"]["message"] == "sync")
        .unwrap_or_else(|| panic!("no sync line in {text}"));
    assert_eq!(sync["span"]["request_id"], "field-test-42", "{sync}");
    assert_eq!(sync["span"]["device"], device.as_str(), "{sync}");
    assert_eq!(sync["span"]["path"], "/api/v1/sync", "{sync}");
    assert!(!text.contains(&token), "the device token is logged: {text}");
    assert!(!text.contains("Lò Văn Minh"), "a member's name is logged: {text}");
}
