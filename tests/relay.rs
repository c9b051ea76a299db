//! Work that travels between tablets with no internet (issue 17), against
//! the real server binary on loopback and real tablet stores:
//!
//! - a village day: A and B share at noon over the LAN endpoint, B and C
//!   in the afternoon, only C reaches the office; A is then lost. All A
//!   did before noon is on the server exactly once, and the tablets left
//!   hold the same state;
//! - a malicious relay: a flipped byte, a batch invented for another
//!   tablet, a replay, a revoked tablet's batch and another commune's are
//!   each refused with their reason, and nothing of them reaches the log;
//! - protocol 1: a tablet that never sends a key or a signature still
//!   syncs against this server, then upgrades by registering its key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doorstep_core::ids::VillageId;
use doorstep_core::protocol::{
    CarriedOutcome, EnrollResponse, PROTOCOL_VERSION, RelayOutcome, SCHEMA_VERSION, SyncRequest, SyncResponse,
    WireChanges,
};
use doorstep_core::schema::FieldValue;
use doorstep_core::sign::{SignedBatch, SigningKey};
use doorstep_device::Store;
use doorstep_device::share::{Listener, Reuse, exchange};
use doorstep_e2e::day::day_changes;
use doorstep_e2e::{Server, admin, campaign, code, quick, server_log_counts, visit_new_household};
use serde_json::{Value, json};

/// A tablet whose files live in its own folder (so it can be lost).
struct Tab {
    store: Store,
    dir: tempfile::TempDir,
}

fn enrol(url: &str, code: &str) -> Tab {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("t.db"), doorstep_device::CreateOptions::default()).unwrap();
    doorstep_device::sync::enroll(&mut store, url, code, Some("tablet"), &quick()).expect("enrol");
    let mut tab = Tab { store, dir };
    sync(&mut tab.store, url);
    tab
}

fn sync(store: &mut Store, url: &str) -> doorstep_device::sync::SyncReport {
    let mut options = quick();
    options.server_url = Some(url.to_owned());
    doorstep_device::sync::sync(store, &options, &mut |_| {}).expect("sync")
}

/// `listener` shows its code; `caller` scans it and exchanges.
fn share(caller: &mut Store, listener: Store) -> (Store, doorstep_device::share::ExchangeReport) {
    let shared = Arc::new(Mutex::new(listener));
    let l = Listener::start("127.0.0.1:0".parse().unwrap(), None, Reuse::Once, shared.clone()).unwrap();
    let pairing = l.pairing();
    let report = exchange(caller, &pairing, Duration::from_secs(30)).expect("exchange");
    assert_eq!(l.exchanges(), 1);
    // The code was one-time: a second scan of it is refused.
    let again = exchange(caller, &pairing, Duration::from_secs(30));
    assert!(again.is_err(), "a spent code is refused");
    l.stop();
    let store = Arc::try_unwrap(shared).ok().unwrap().into_inner().unwrap();
    (store, report)
}

fn villages(db: &Path) -> (String, String, Vec<String>) {
    let c = campaign(db);
    let (commune, villages) = c.communes[0].clone();
    (c.member, commune, villages)
}

#[test]
fn a_village_day_reaches_the_office_through_other_tablets_and_survives_a_lost_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let (member, commune, villages) = villages(&db);
    let server = Server::start(&db);
    let url = server.url.clone();
    let mut a = enrol(&url, &code(&db, &member, &commune));
    let mut b = enrol(&url, &code(&db, &member, &commune));
    let mut c = enrol(&url, &code(&db, &member, &commune));

    // Morning, offline: each visits houses.
    for i in 0..3 {
        visit_new_household(&mut a.store, &villages[0], &format!("Lò Văn A{i}"));
    }
    for i in 0..2 {
        visit_new_household(&mut b.store, &villages[1], &format!("Quàng Thị B{i}"));
    }
    visit_new_household(&mut c.store, &villages[2], "Lường Văn C");
    let a_written = a.store.sync_position().unwrap().last_seq;
    assert_eq!(a.store.carry_status().unwrap().only_here, a_written);

    // Noon: A scans B's code.
    let (b_store, noon) = share(&mut a.store, b.store);
    b.store = b_store;
    assert_eq!(noon.received.kept, 1, "A keeps B's batch");
    let a_status = a.store.carry_status().unwrap();
    assert_eq!(
        (a_status.only_here, a_status.handed_on),
        (0, a_written),
        "A's morning is on B too"
    );
    assert_eq!(b.store.carry_status().unwrap().carried_origins, 1);

    // Afternoon: B scans C's code; C now carries A's and B's work.
    let (c_store, afternoon) = share(&mut b.store, c.store);
    c.store = c_store;
    assert!(afternoon.sent_batches >= 2, "B hands on its own and A's");
    assert_eq!(c.store.carry_status().unwrap().carried_origins, 2);

    // A is lost in a stream: its files are gone.
    let a_id = a.store.device_id().to_string();
    let b_id = b.store.device_id().to_string();
    drop(a.store);
    drop(a.dir);

    // Only C reaches the office.
    sync(&mut c.store, &url);
    let counts = server_log_counts(&db);
    assert_eq!(
        counts.get(&a_id).copied(),
        Some((a_written, a_written)),
        "all A did, once"
    );
    let b_written = b.store.sync_position().unwrap().last_seq;
    assert_eq!(
        counts.get(&b_id).copied(),
        Some((b_written, b_written)),
        "B's too, before B syncs"
    );
    assert_eq!(c.store.carry_status().unwrap().carried_changes, 0, "delivered, dropped");

    // Everyone left syncs: B's own push of what C delivered is a resend.
    sync(&mut b.store, &url);
    sync(&mut c.store, &url);
    sync(&mut b.store, &url);
    assert_eq!(server_log_counts(&db).get(&b_id).copied(), Some((b_written, b_written)));
    assert_eq!(b.store.state_digest().unwrap(), c.store.state_digest().unwrap());
    assert_eq!(b.store.carry_status().unwrap().only_here, 0);

    // The office sees who carried A's work.
    let listed = admin(&db, &["--json", "device", "list"]);
    assert!(listed.contains(&a_id));
}

/// A raw client for the sync endpoint, as a malicious relay would be.
struct Raw {
    http: reqwest::blocking::Client,
    url: String,
    token: String,
    device: String,
}

impl Raw {
    fn enrol(url: &str, code: &str) -> (Raw, EnrollResponse) {
        let http = reqwest::blocking::Client::new();
        let answer: EnrollResponse = http
            .post(format!("{url}/api/v1/enroll"))
            .json(&json!({"protocol": 1, "schema_version": SCHEMA_VERSION, "code": code}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let raw = Raw {
            http,
            url: url.to_owned(),
            token: answer.token.clone(),
            device: answer.device_id.to_string(),
        };
        (raw, answer)
    }

    fn post(&self, request: &SyncRequest) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/sync", self.url))
            .bearer_auth(&self.token)
            .json(request)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    fn carry(&self, batches: Vec<SignedBatch>) -> Vec<CarriedOutcome> {
        let (status, body) = self.post(&SyncRequest {
            carried: batches,
            ..request(&self.device, 2)
        });
        assert_eq!(status, 200, "{body}");
        serde_json::from_value::<SyncResponse>(body).unwrap().carried
    }
}

fn request(device: &str, protocol: u32) -> SyncRequest {
    SyncRequest {
        protocol,
        schema_version: SCHEMA_VERSION,
        device_id: device.parse().unwrap(),
        acked_seq: 0,
        pushes: WireChanges::default(),
        pull_cursor: None,
        pull_limit: 0,
        signature: None,
        carried: Vec::new(),
    }
}

fn outcomes(answers: &[CarriedOutcome]) -> Vec<RelayOutcome> {
    answers.iter().map(|o| o.outcome).collect()
}

#[test]
fn a_relay_cannot_alter_invent_replay_or_carry_for_the_revoked_or_another_commune() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let (commune, villages) = c.communes[0].clone();
    let (other_commune, other_villages) = c.communes[1].clone();
    let server = Server::start(&db);
    let url = server.url.clone();
    let mut a = enrol(&url, &code(&db, &c.member, &commune));
    let mut e = enrol(&url, &code(&db, &c.member, &commune));
    let mut d = enrol(&url, &code(&db, &c.member, &other_commune));
    let (relay, _) = Raw::enrol(&url, &code(&db, &c.member, &commune));

    visit_new_household(&mut a.store, &villages[0], "Lò Văn Thành");
    visit_new_household(&mut e.store, &villages[1], "Quàng Văn Én");
    visit_new_household(&mut d.store, &other_villages[0], "Cầm Thị Đào");
    let genuine = a.store.own_batches().unwrap().remove(0);
    let revoked = e.store.own_batches().unwrap().remove(0);
    let foreign = d.store.own_batches().unwrap().remove(0);
    admin(&db, &["device", "revoke", &e.store.device_id().to_string()]);

    // A flipped byte in a value, and a batch the relay made up for A.
    let mut flipped = genuine.clone();
    flipped.changes.changes[0].fields[0].value = FieldValue::Text("Lò Văn Thanh".to_owned());
    let mine = SigningKey::from_seed([42; 32]);
    let invented = SignedBatch::sign(
        &mine,
        a.store.device_id(),
        &a.store.outbox_after(0, 100).unwrap(),
        genuine.cert,
    );
    let answers = relay.carry(vec![flipped, invented, revoked, foreign]);
    assert_eq!(
        outcomes(&answers),
        vec![
            RelayOutcome::BadSignature,
            RelayOutcome::BadSignature,
            RelayOutcome::Revoked,
            RelayOutcome::OtherCommune
        ]
    );
    assert!(
        answers
            .iter()
            .all(|o| o.reason.as_deref().is_some_and(|r| !r.is_empty()))
    );
    let counts = server_log_counts(&db);
    for who in [&a, &e, &d] {
        assert_eq!(counts.get(&who.store.device_id().to_string()), None, "nothing applied");
    }

    // The genuine batch goes through once; sent again it is a replay.
    let first = relay.carry(vec![genuine.clone()]);
    assert_eq!(outcomes(&first), vec![RelayOutcome::Delivered]);
    let written = a.store.sync_position().unwrap().last_seq;
    assert_eq!(first[0].last_applied_seq, written);
    assert_eq!(outcomes(&relay.carry(vec![genuine])), vec![RelayOutcome::Replayed]);
    let a_id = a.store.device_id().to_string();
    assert_eq!(server_log_counts(&db).get(&a_id).copied(), Some((written, written)));

    // A tablet checks what it is offered before it carries it: another
    // commune's batch is not kept.
    sync(&mut a.store, &url);
    let dd = d.store.own_batches().unwrap();
    let report = a.store.carry(&dd, d.store.device_id()).unwrap();
    assert_eq!(
        (report.kept, report.refused.len()),
        (0, 1),
        "another commune's batch is not carried"
    );

    // What the office counted: the dashboard's tablets page reads this.
    let rows = doorstep_e2e::server_rows(&db, "relay");
    assert!(rows >= 4, "{rows} relay rows");
}

#[test]
fn a_protocol_1_tablet_still_syncs_then_upgrades_to_signed_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let (commune, villages) = c.communes[0].clone();
    let server = Server::start(&db);
    let url = server.url.clone();

    // An old app: no key at enrolment, protocol 1, unsigned pushes.
    let (old, answer) = Raw::enrol(&url, &code(&db, &c.member, &commune));
    assert!(answer.cert.is_none(), "no key was sent, no certificate comes back");
    let village = VillageId::from_uuid(villages[0].parse().unwrap());
    let day = day_changes(answer.device_id, 1, &[village], 2, chrono::Utc::now());
    let (status, body) = old.post(&SyncRequest {
        pushes: WireChanges::encode(&day),
        ..request(&old.device, 1)
    });
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["last_applied_seq"].as_u64(), Some(day.len() as u64));

    // Another old store is updated: its next sync registers a key, and
    // its pushes are signed from then on.
    let (updated, answer) = Raw::enrol(&url, &code(&db, &c.member, &commune));
    let tdir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&tdir.path().join("t.db"), doorstep_device::CreateOptions::default()).unwrap();
    store.enroll(&url, &answer).unwrap();
    sync(&mut store, &url);
    assert!(store.device_cert().unwrap().is_some(), "the key is registered");
    visit_new_household(&mut store, &villages[0], "Lò Văn Mới");
    sync(&mut store, &url);
    let total = store.sync_position().unwrap().last_seq;
    let id = store.device_id().to_string();
    assert_eq!(server_log_counts(&db).get(&id).copied(), Some((total, total)));

    // Now an unsigned push of that tablet is refused, naming why.
    visit_new_household(&mut store, &villages[0], "Lò Văn Sau");
    let (status, body) = updated.post(&SyncRequest {
        acked_seq: total,
        pushes: WireChanges::encode(&store.outbox_after(total, 1000).unwrap()),
        ..request(&updated.device, PROTOCOL_VERSION)
    });
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "bad_signature");
    assert_eq!(server_log_counts(&db).get(&id).copied(), Some((total, total)));
}
