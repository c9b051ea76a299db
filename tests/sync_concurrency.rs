//! Sync under concurrency, on whichever store the harness picks (SQLite,
//! or PostgreSQL with `DOORSTEP_TEST_POSTGRES`):
//!
//! - tablets push concurrently while raw pullers page through the commune's
//!   changes at the same time: every puller ends with every change exactly
//!   once (a pull must never skip a change that commits late, nor repeat
//!   one);
//! - two `doorstep-server` processes on one database, tablets syncing to
//!   either at random: they converge exactly as with one server, and the
//!   server holds each accepted change once;
//! - three processes starting at once on a new database: one migrates and
//!   makes the server's identity, the others wait and find it done.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use doorstep_core::entities::{Household, Patch};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::phone::Phone;
use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION, SyncRequest, SyncResponse, WireChanges};
use doorstep_e2e::{
    Server, Tablet, campaign, code, household_ids, on_postgres, quick, server_log_counts, server_log_total,
    visit_new_household,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Which store the run is on, for the timing line.
fn store_name() -> &'static str {
    if on_postgres() { "PostgreSQL" } else { "SQLite" }
}

/// An enrolled device that only pulls, over raw HTTP: unlike a device
/// store it shows every change id it is sent, repeats included.
struct Puller {
    http: reqwest::blocking::Client,
    url: String,
    token: String,
    device: DeviceId,
    cursor: Option<String>,
    /// Every change received, in order, repeats kept.
    received: Vec<ChangeId>,
    pages: usize,
}

impl Puller {
    fn enrol(url: &str, code: &str) -> Puller {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let r: Value = http
            .post(format!("{url}/api/v1/enroll"))
            .json(&json!({"protocol": PROTOCOL_VERSION, "schema_version": SCHEMA_VERSION, "code": code}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(r["token"].is_string(), "enrolment failed: {r}");
        Puller {
            http,
            url: url.to_owned(),
            token: r["token"].as_str().unwrap().to_owned(),
            device: r["device_id"].as_str().unwrap().parse().unwrap(),
            cursor: None,
            received: Vec::new(),
            pages: 0,
        }
    }

    /// Pulls one page of at most `limit` changes after the cursor; true
    /// when more wait. A failed request (a loaded machine) is tried again
    /// with the same cursor, as a tablet would.
    fn pull_page(&mut self, limit: u32) -> bool {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            schema_version: SCHEMA_VERSION,
            device_id: self.device,
            acked_seq: 0,
            pushes: WireChanges::default(),
            pull_cursor: self.cursor.clone(),
            pull_limit: limit,
            signature: None,
            carried: Vec::new(),
        };
        let mut last_error = String::new();
        for _ in 0..50 {
            let sent = self
                .http
                .post(format!("{}/api/v1/sync", self.url))
                .bearer_auth(&self.token)
                .json(&request)
                .send();
            match sent {
                Ok(r) if r.status().is_success() => {
                    let page: SyncResponse = r.json().unwrap();
                    self.received
                        .extend(page.changes.decode().unwrap().into_iter().map(|c| c.id));
                    self.cursor = Some(page.next_cursor);
                    self.pages += 1;
                    return page.has_more;
                }
                Ok(r) => last_error = format!("{}: {}", r.status(), r.text().unwrap_or_default()),
                Err(e) => last_error = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pull kept failing: {last_error}");
    }

    /// Pulls until the server says nothing more waits.
    fn drain(&mut self, limit: u32) {
        while self.pull_page(limit) {}
    }

    /// Asserts the puller received exactly `expected`, each once.
    fn assert_received_exactly(&self, who: &str, expected: &BTreeSet<ChangeId>) {
        let mut seen: HashMap<ChangeId, usize> = HashMap::new();
        for id in &self.received {
            *seen.entry(*id).or_default() += 1;
        }
        let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            repeated.is_empty(),
            "{who}: {} changes received more than once, e.g. {:?}",
            repeated.len(),
            &repeated[..repeated.len().min(5)]
        );
        let got: BTreeSet<ChangeId> = seen.into_keys().collect();
        let missing: Vec<_> = expected.difference(&got).collect();
        assert!(
            missing.is_empty(),
            "{who}: {} of {} changes never pulled, e.g. {:?}",
            missing.len(),
            expected.len(),
            &missing[..missing.len().min(5)]
        );
        let extra: Vec<_> = got.difference(expected).collect();
        assert!(extra.is_empty(), "{who}: changes nobody wrote: {extra:?}");
    }
}

/// Every change id a tablet wrote: `(device, 1..=last_seq)`.
fn written_ids(t: &Tablet) -> Vec<ChangeId> {
    let last = t.store.sync_position().unwrap().last_seq;
    (1..=last)
        .map(|seq| ChangeId::derive(t.store.device_id(), seq))
        .collect()
}

const PUSHERS: usize = 6;
const PULLERS: usize = 3;
const ROUNDS: usize = 8;
const HOUSES_PER_ROUND: usize = 4;

#[test]
fn concurrent_pushers_and_pullers_miss_and_repeat_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let mut tablets: Vec<Tablet> = (0..PUSHERS)
        .map(|_| Tablet::enrol(&server.url, &code(&db, &c.member, commune)))
        .collect();
    for t in &mut tablets {
        t.sync(&server.url); // the villages arrive
    }
    let pullers: Vec<Puller> = (0..PULLERS)
        .map(|_| Puller::enrol(&server.url, &code(&db, &c.member, commune)))
        .collect();

    // Pushers: rounds of field work, each pushed in small batches (many
    // transactions), all tablets at once.
    let start = Arc::new(Barrier::new(PUSHERS + PULLERS));
    let pushing_done = Arc::new(AtomicBool::new(false));
    let pushers: Vec<_> = tablets
        .into_iter()
        .enumerate()
        .map(|(n, mut t)| {
            let (url, start) = (server.url.clone(), Arc::clone(&start));
            let village = villages[n % villages.len()].clone();
            std::thread::spawn(move || {
                let mut options = quick();
                options.batch_bytes = 2 * 1024;
                start.wait();
                for round in 0..ROUNDS {
                    for house in 0..HOUSES_PER_ROUND {
                        visit_new_household(&mut t.store, &village, &format!("Lò Văn {n} {round} {house}"));
                    }
                    t.try_sync(&url, &options).expect("push");
                }
                t
            })
        })
        .collect();
    // Pullers: page through the log at the same time, small pages of
    // varying size, until the pushers are done.
    let pulling: Vec<_> = pullers
        .into_iter()
        .enumerate()
        .map(|(n, mut p)| {
            let (start, done) = (Arc::clone(&start), Arc::clone(&pushing_done));
            std::thread::spawn(move || {
                let limits = [3, 7, 16, 40];
                start.wait();
                let mut i = n;
                while !done.load(Ordering::Relaxed) {
                    if !p.pull_page(limits[i % limits.len()]) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    i += 1;
                }
                p
            })
        })
        .collect();
    let tablets: Vec<Tablet> = pushers.into_iter().map(|h| h.join().unwrap()).collect();
    pushing_done.store(true, Ordering::Relaxed);
    let mut pullers: Vec<Puller> = pulling.into_iter().map(|h| h.join().unwrap()).collect();
    for p in &mut pullers {
        p.drain(25);
    }

    // Everything the tablets wrote is on the server, once.
    let on_server = server_log_counts(&db);
    let mut pushed = BTreeSet::new();
    for t in &tablets {
        let written = written_ids(t);
        assert!(
            written.len() >= ROUNDS * HOUSES_PER_ROUND * 5,
            "the tablet worked: {}",
            written.len()
        );
        let n = written.len() as u64;
        assert_eq!(
            on_server.get(&t.store.device_id().to_string()).copied(),
            Some((n, n)),
            "device {}",
            t.store.device_id()
        );
        pushed.extend(written);
    }
    // The reference: one puller from scratch, with nobody writing.
    let mut reference = Puller::enrol(&server.url, &code(&db, &c.member, commune));
    reference.drain(1000);
    let expected: BTreeSet<ChangeId> = reference.received.iter().copied().collect();
    assert_eq!(expected.len(), reference.received.len(), "a quiet pull repeats nothing");
    let not_pulled: Vec<_> = pushed.difference(&expected).collect();
    assert!(not_pulled.is_empty(), "pushed but not served: {not_pulled:?}");

    let pages: Vec<usize> = pullers.iter().map(|p| p.pages).collect();
    for (n, p) in pullers.iter().enumerate() {
        p.assert_received_exactly(&format!("puller {n}"), &expected);
    }
    eprintln!(
        "{}: {} changes pushed by {PUSHERS} tablets, pulled by {PULLERS} pullers in {pages:?} pages, in {:.1?}",
        store_name(),
        pushed.len(),
        started.elapsed()
    );
}

/// Two servers on one database; tablets sync to either at random.
#[test]
fn two_servers_on_one_database_converge() {
    const TABLETS: usize = 4;
    const ROUNDS: usize = 10;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let one = Server::start(&db);
    let two = Server::start(&db);
    let urls = [one.url.clone(), two.url.clone()];
    let (commune, villages) = &c.communes[0];
    let mut tablets: Vec<Tablet> = (0..TABLETS)
        .map(|n| Tablet::enrol(&urls[n % 2], &code(&db, &c.member, commune)))
        .collect();
    for (n, t) in tablets.iter_mut().enumerate() {
        t.sync(&urls[(n + 1) % 2]); // enrolled on one, first sync on the other
    }
    // A household every tablet knows, for the concurrent edits.
    let shared = visit_new_household(&mut tablets[0].store, &villages[0], "Lò Văn Pắn");
    for (n, t) in tablets.iter_mut().enumerate() {
        t.sync(&urls[n % 2]);
    }
    assert_eq!(household_ids(&tablets[3].store), vec![shared.to_string()]);
    let before = server_log_total(&db);
    let office: u64 = before
        - server_log_counts(&db)
            .iter()
            .filter(|(device, _)| tablets.iter().any(|t| t.store.device_id().to_string() == **device))
            .map(|(_, (n, _))| n)
            .sum::<u64>();

    // Rounds: every tablet at once records a house, edits the shared
    // household's phone (the same field, from the same base), and syncs
    // to a server drawn at random.
    let used: Arc<[std::sync::atomic::AtomicUsize; 2]> = Arc::new(Default::default());
    let workers: Vec<_> = tablets
        .into_iter()
        .enumerate()
        .map(|(n, mut t)| {
            let (urls, used) = (urls.clone(), Arc::clone(&used));
            let village = villages[n % villages.len()].clone();
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(20_261_128 + n as u64);
                let mut options = quick();
                options.batch_bytes = 2 * 1024;
                for round in 0..ROUNDS {
                    visit_new_household(&mut t.store, &village, &format!("Quàng Văn {n} {round}"));
                    let phone = Phone::parse(&format!("09{:08}", rng.next_u32() % 100_000_000)).unwrap();
                    t.store
                        .update::<Household>(shared.as_uuid(), Patch::<Household>::new().phone(Some(phone)))
                        .unwrap();
                    let s = (rng.next_u32() % 2) as usize;
                    used[s].fetch_add(1, Ordering::Relaxed);
                    t.try_sync(&urls[s], &options).expect("sync");
                }
                t
            })
        })
        .collect();
    let mut tablets: Vec<Tablet> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let used: Vec<usize> = used.iter().map(|u| u.load(Ordering::Relaxed)).collect();
    assert!(used.iter().all(|&u| u > 0), "both servers were used: {used:?}");
    // Final syncs, alternating servers, twice round.
    for round in 0..2 {
        for (n, t) in tablets.iter_mut().enumerate() {
            t.sync(&urls[(n + round) % 2]);
        }
    }

    // The server holds each change once; nothing else was added.
    let on_server = server_log_counts(&db);
    let mut accepted = 0;
    for t in &tablets {
        let written = t.store.sync_position().unwrap().last_seq;
        let device = t.store.device_id().to_string();
        assert_eq!(
            on_server.get(&device).copied(),
            Some((written, written)),
            "device {device}"
        );
        assert_eq!(t.store.sync_position().unwrap().acked_seq, written, "device {device}");
        accepted += written;
    }
    assert_eq!(
        server_log_total(&db),
        office + accepted,
        "office changes plus the tablets'"
    );

    // Converged: the same state, the same households, the same conflicts.
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(digests.iter().all(|d| d == &digests[0]), "tablets differ: {digests:?}");
    let households = household_ids(&tablets[0].store);
    assert_eq!(households.len(), 1 + TABLETS * ROUNDS);
    let conflicts = |t: &Tablet| -> BTreeSet<(String, String)> {
        t.store
            .conflicts()
            .unwrap()
            .into_iter()
            .map(|c| (c.entity_id, c.field))
            .collect()
    };
    let first = conflicts(&tablets[0]);
    assert!(
        first.contains(&(shared.to_string(), "phone".to_owned())),
        "the concurrent phone edits are kept for review: {first:?}"
    );
    for t in &tablets[1..] {
        assert_eq!(conflicts(t), first, "every tablet shows the same fields in conflict");
    }
    eprintln!(
        "{}: {TABLETS} tablets, {ROUNDS} rounds, syncs per server {used:?}, {accepted} changes, in {:.1?}",
        store_name(),
        started.elapsed()
    );
}

#[test]
fn servers_starting_together_on_a_new_database_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let barrier = Arc::new(Barrier::new(3));
    let starters: Vec<_> = (0..3)
        .map(|_| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                Server::start(&db)
            })
        })
        .collect();
    let servers: Vec<Server> = starters.into_iter().map(|t| t.join().unwrap()).collect();
    let count = |from: &str| doorstep_e2e::server_rows(&db, from);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/crates/store/migrations/sqlite"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(
        count("doorstep_schema_history"),
        u64::try_from(migrations).unwrap(),
        "each migration recorded once"
    );
    assert_eq!(count("device WHERE commune_id IS NULL"), 1, "one office identity");
    // All three serve the same server: one campaign made through any of
    // them is seen by the others' tablets.
    let c = campaign(&db);
    let mut tablets: Vec<Tablet> = servers
        .iter()
        .map(|s| Tablet::enrol(&s.url, &code(&db, &c.member, &c.communes[0].0)))
        .collect();
    for (t, s) in tablets.iter_mut().zip(&servers) {
        t.sync(&s.url);
    }
    let digests: BTreeSet<_> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert_eq!(digests.len(), 1, "every tablet sees the same campaign");
}
