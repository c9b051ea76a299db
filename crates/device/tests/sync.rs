//! The sync client over a real socket, against a scripted protocol peer:
//! batches within their byte budget, cuts and busy servers resumed without
//! losing or doubling a change, refusals named and not retried, a server
//! restored from a backup, packs with their ETag.
//!
//! The end-to-end tests against the real `doorstep-server` live in the
//! workspace's root `tests/`.

mod common;
#[path = "common/peer.rs"]
mod peer;

use std::time::Duration;

use common::*;
use doorstep_core::change::Change;
use doorstep_core::hlc::Hlc;
use doorstep_core::protocol::{ErrorCode, PackFile};
use doorstep_device::sync::{SyncError, SyncOptions, SyncProgress, SyncReport, enroll, sync};
use doorstep_device::{CreateOptions, Store};
use peer::{Fault, Peer, Protocol, Reply, protocol_peer};

/// Another tablet's work (the demo campaign and `households` more
/// households in Tam Tu), as the changes the peer serves by pull; the
/// village's id, and how many households it then has.
fn other_tablet(households: usize) -> (TempStore, Vec<Change>, String, usize) {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Tam Tu");
    for i in 0..households {
        add_household(&mut t.store, village, &format!("Lò Văn {i}"));
    }
    let changes = t.store.outbox_after(0, 100_000).expect("outbox");
    let count = households_in(&t.store, &village.to_string());
    (t, changes, village.to_string(), count)
}

fn households_in(store: &Store, village: &str) -> usize {
    store
        .village_households(village.parse().expect("id"), &Default::default())
        .expect("list")
        .len()
}

/// An enrolled tablet that has pulled the other tablet's commune.
fn enrolled(peer: &Peer) -> TempStore {
    let mut t = TempStore::new();
    let answer = enroll(
        &mut t.store,
        &peer.url,
        " CODE-1234 ",
        Some("tablet 3"),
        &SyncOptions::fast_retries(),
    )
    .expect("enrols");
    assert_eq!(t.store.device_id(), answer.device_id);
    t
}

fn write_households(store: &mut Store, village: &str, n: usize) {
    let village = village.parse().expect("village id");
    store
        .write(|w| {
            for i in 0..n {
                w.create(&new_household(village, &format!("Sùng A {i}"), w.now()))?;
            }
            Ok(())
        })
        .expect("households");
}

fn run(store: &mut Store, options: &SyncOptions) -> (Result<SyncReport, SyncError>, Vec<SyncProgress>) {
    let mut seen = Vec::new();
    let result = sync(store, options, &mut |p| seen.push(*p));
    (result, seen)
}

fn applied_seqs(protocol: &std::sync::Mutex<Protocol>) -> Vec<u64> {
    protocol.lock().expect("peer").applied.iter().map(|c| c.seq).collect()
}

#[test]
fn a_sync_pushes_everything_in_batches_within_the_budget_and_pulls_every_page() {
    let (_other, remote, village, expected) = other_tablet(150);
    let (peer, protocol) = protocol_peer(Protocol {
        remote: remote.clone(),
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    let options = SyncOptions {
        batch_bytes: 2 * 1024,
        pull_limit: 100,
        ..SyncOptions::fast_retries()
    };
    let (first, _) = run(&mut t.store, &options);
    let first = first.expect("first sync pulls the commune");
    assert_eq!(first.progress.pulled, remote.len() as u64);
    assert!(first.progress.round_trips >= 3, "{:?}", first.progress);
    assert_eq!(households_in(&t.store, &village), expected);

    write_households(&mut t.store, &village, 400);
    let (report, seen) = run(&mut t.store, &options);
    let report = report.expect("sync");
    let total = t.store.sync_position().expect("position").last_seq;
    assert_eq!(total, 400);
    assert_eq!(
        applied_seqs(&protocol),
        (1..=total).collect::<Vec<_>>(),
        "every change once, in order"
    );
    assert_eq!((report.progress.pushed, report.progress.to_push), (total, total));
    let requests = protocol.lock().expect("peer").seen.clone();
    let pushing: Vec<_> = requests
        .iter()
        .rev()
        .take(usize::try_from(report.progress.round_trips).expect("small"))
        .collect();
    for (bytes, pushes, _) in &pushing {
        assert!(
            *bytes <= 2 * 1024 || *pushes == 1,
            "{bytes} bytes with {pushes} changes"
        );
    }
    assert!(report.progress.round_trips > 3, "{:?}", report.progress);
    let sent: u64 = pushing.iter().map(|(b, _, _)| *b as u64).sum();
    assert_eq!(report.progress.bytes_sent, sent, "bytes counted as on the wire");
    assert!(
        seen.windows(2).all(|w| w[0].pushed <= w[1].pushed),
        "progress only grows"
    );
    let status = t.store.sync_status().expect("status");
    assert_eq!((status.pending, status.last_error.as_deref()), (0, None));
    assert!(status.last_sync_at.is_some());
}

#[test]
fn cuts_and_busy_answers_are_retried_and_every_change_arrives_once() {
    let (_other, remote, village, _) = other_tablet(0);
    let (peer, protocol) = protocol_peer(Protocol {
        remote,
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    // Six failures in a row: one attempt more than that is allowed.
    let options = SyncOptions {
        batch_bytes: 2 * 1024,
        max_attempts: 7,
        ..SyncOptions::fast_retries()
    };
    run(&mut t.store, &options).0.expect("pull the commune");
    write_households(&mut t.store, &village, 120);
    protocol.lock().expect("peer").faults.extend([
        Fault::CutAnswer(0),
        Fault::CutAnswer(15),
        Fault::Reply(Reply::text(503, "<html>Service Unavailable</html>")),
        Fault::CutAnswer(60),
        Fault::Reply(Reply::error(429, ErrorCode::TooManyRequests, "slow down").header("Retry-After", "0")),
        Fault::Reply(Reply::text(502, "Bad Gateway").cut(3)),
    ]);
    let (report, seen) = run(&mut t.store, &options);
    let report = report.expect("sync completes despite the faults");
    assert_eq!(applied_seqs(&protocol), (1..=120).collect::<Vec<_>>());
    assert_eq!(report.progress.retries, 6);
    assert!(seen.iter().any(|p| p.retries > 0));
    assert_eq!(t.store.sync_position().expect("position").acked_seq, 120);
}

#[test]
fn refusals_stop_at_once_with_what_to_do_and_are_remembered() {
    let cases = [
        (
            Reply::error(401, ErrorCode::Revoked, "token revoked"),
            "this tablet was removed by the team lead; ask for a new enrolment code",
        ),
        (
            Reply::error(426, ErrorCode::UpgradeRequired, "protocol 1 is no longer served"),
            "update the app",
        ),
        (Reply::error(403, ErrorCode::Forbidden, "another commune"), "HTTP 403"),
        (Reply::text(200, "<html>Log in to Wi-Fi</html>"), "log in first"),
    ];
    for (reply, words) in cases {
        let (peer, protocol) = protocol_peer(Protocol::default());
        let mut t = enrolled(&peer);
        protocol.lock().expect("peer").faults.push_back(Fault::Reply(reply));
        let err = run(&mut t.store, &SyncOptions::fast_retries()).0.expect_err("refused");
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(protocol.lock().expect("peer").seen.len(), 0, "not retried: {err}");
        let status = t.store.sync_status().expect("status");
        assert_eq!(status.last_error, Some(err.to_string()));
        assert!(!status.last_error.unwrap_or_default().contains(peer::TOKEN));
        // The next sync that works clears the error.
        run(&mut t.store, &SyncOptions::fast_retries()).0.expect("works again");
        assert_eq!(t.store.sync_status().expect("status").last_error, None);
    }
}

#[test]
fn a_server_restored_from_a_backup_gets_the_lost_changes_again() {
    let (_other, remote, village, _) = other_tablet(0);
    let (peer, protocol) = protocol_peer(Protocol {
        remote,
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    run(&mut t.store, &SyncOptions::fast_retries()).0.expect("pull");
    write_households(&mut t.store, &village, 10);
    run(&mut t.store, &SyncOptions::fast_retries()).0.expect("push 10");
    // The server loses seqs 3-10; the tablet writes 5 more.
    protocol.lock().expect("peer").faults.push_back(Fault::Restore(2));
    write_households(&mut t.store, &village, 5);
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("resends");
    assert_eq!(report.resent_from, Some(3));
    assert_eq!(applied_seqs(&protocol), (1..=15).collect::<Vec<_>>());
    assert_eq!(t.store.sync_status().expect("status").pending, 0);
}

#[test]
fn a_request_too_large_for_the_server_is_halved() {
    let (_other, remote, village, _) = other_tablet(0);
    let (peer, protocol) = protocol_peer(Protocol {
        remote,
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    run(&mut t.store, &SyncOptions::fast_retries()).0.expect("pull");
    write_households(&mut t.store, &village, 300);
    protocol.lock().expect("peer").max_body = Some(3000);
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert_eq!(applied_seqs(&protocol), (1..=300).collect::<Vec<_>>());
    assert_eq!(report.progress.retries, 0, "halving is not a retry");

    protocol.lock().expect("peer").max_body = Some(10);
    write_households(&mut t.store, &village, 1);
    let err = run(&mut t.store, &SyncOptions::fast_retries())
        .0
        .expect_err("one change too large");
    assert!(matches!(err, SyncError::Refused { status: 413, .. }), "{err}");
}

#[test]
fn rejected_and_restamped_pushes_come_back_to_the_tablet() {
    let (_other, remote, village, _) = other_tablet(0);
    let new_stamp = Hlc::new(1_795_000_000_000, 0);
    let (peer, protocol) = protocol_peer(Protocol {
        remote,
        reject: vec![(2, "head_name: not a name".to_owned())],
        restamp: vec![(3, new_stamp)],
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    run(&mut t.store, &SyncOptions::fast_retries()).0.expect("pull");
    // A clock far in the future: the server clamps seq 3.
    let future: chrono::DateTime<chrono::Utc> = "2030-01-01T00:00:00Z".parse().expect("time");
    t.store.set_wall_clock(std::sync::Arc::new(move || future));
    write_households(&mut t.store, &village, 4);
    // Cut the first answer: the repeated request must bring the same facts.
    protocol.lock().expect("peer").faults.push_back(Fault::CutAnswer(20));
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert_eq!(report.rejected, vec![(2, "head_name: not a name".to_owned())]);
    assert_eq!(report.restamped, 1);
    let rejected = t.store.rejected_changes().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!((rejected[0].seq, rejected[0].entity.as_str()), (2, "household"));
    assert_eq!(t.store.outbox_change(3).expect("read").expect("seq 3").hlc, new_stamp);
    assert_eq!(t.store.sync_status().expect("status").pending, 0);
}

#[test]
fn link_failures_are_named_and_retried_then_given_up() {
    // Nobody listens on this port any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let (peer, _protocol) = protocol_peer(Protocol::default());
    let mut t = enrolled(&peer);
    t.store.set_server_url(&closed).expect("enrolled");
    let options = SyncOptions {
        max_attempts: 3,
        ..SyncOptions::fast_retries()
    };
    let (err, seen) = run(&mut t.store, &options);
    let err = err.expect_err("nobody listens");
    assert!(matches!(err, SyncError::ServerUnreachable { .. }), "{err}");
    assert!(err.is_network() && err.is_transient());
    assert_eq!(seen.last().map(|p| p.retries), Some(2), "3 attempts = 2 retries");
    assert!(err.to_string().contains("the changes stay on this tablet"), "{err}");
}

#[test]
fn a_slow_server_times_out_and_a_failing_one_is_reported_with_its_status() {
    let slow = Peer::start(|_| {
        let mut r = Reply::text(200, "{}");
        r.delay = Some(Duration::from_millis(1500));
        r
    });
    let (peer, _protocol) = protocol_peer(Protocol::default());
    let mut t = enrolled(&peer);
    t.store.set_server_url(&slow.url).expect("enrolled");
    let options = SyncOptions {
        max_attempts: 1,
        request_timeout: Duration::from_millis(300),
        ..SyncOptions::fast_retries()
    };
    let err = run(&mut t.store, &options).0.expect_err("too slow");
    assert!(matches!(err, SyncError::Timeout { .. }), "{err}");

    let proxy = Peer::start(|_| Reply::text(502, "<html><body>502 Bad Gateway</body></html>"));
    // Through a proxy in front of the server (the override the e2e tests use).
    let options = SyncOptions {
        server_url: Some(proxy.url.clone()),
        max_attempts: 2,
        ..SyncOptions::fast_retries()
    };
    let err = run(&mut t.store, &options).0.expect_err("proxy page");
    assert_eq!(
        err.to_string(),
        "the server is failing or busy (HTTP 502: Bad Gateway: <html><body>502 Bad Gateway</body></html>): the changes stay on this tablet; try again later"
    );
}

#[test]
fn practice_and_unenrolled_stores_never_sync() {
    let dir = tempfile::tempdir().expect("dir");
    let mut practice = Store::create(
        &dir.path().join("p.db"),
        CreateOptions {
            practice: true,
            device_id: None,
        },
    )
    .expect("store");
    let err = run(&mut practice, &SyncOptions::fast_retries())
        .0
        .expect_err("practice");
    assert_eq!(
        err.to_string(),
        "practice databases never sync: this one is for training only"
    );
    let (peer, _protocol) = protocol_peer(Protocol::default());
    let err = enroll(&mut practice, &peer.url, "CODE", None, &SyncOptions::fast_retries()).expect_err("practice");
    assert!(err.to_string().contains("practice databases never sync"), "{err}");

    let mut fresh = TempStore::new();
    let err = run(&mut fresh.store, &SyncOptions::fast_retries())
        .0
        .expect_err("not enrolled");
    assert!(
        err.to_string().contains("doorstep enroll --server URL --code CODE"),
        "{err}"
    );
    assert!(!err.is_network());
}

#[test]
fn packs_arrive_with_their_etag_and_a_bad_one_is_refused() {
    let vneid = include_str!("../../../assets/packs/vneid.toml");
    let bundled = doorstep_core::pack::Pack::from_toml(vneid).expect("bundled").version;
    let next = bundled + 1;
    let newer = vneid.replacen(&format!("version = {bundled}"), &format!("version = {next}"), 1);
    assert_ne!(newer, vneid, "the bundled pack declares its version");
    let broken = "key = \"broken\"\nversion = 1\n";
    let (peer, protocol) = protocol_peer(Protocol {
        packs: Some((
            "\"packs-7\"".to_owned(),
            vec![
                PackFile {
                    key: "vneid".into(),
                    version: next,
                    toml: newer,
                },
                PackFile {
                    key: "broken".into(),
                    version: 1,
                    toml: broken.into(),
                },
            ],
        )),
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert_eq!(report.packs.installed, vec![format!("vneid v{next}")]);
    assert_eq!(report.packs.refused.len(), 1, "{:?}", report.packs.refused);
    assert!(
        report.packs.refused[0].starts_with("broken v1"),
        "{:?}",
        report.packs.refused
    );
    assert_eq!(t.store.latest_pack("vneid").expect("pack").version, next);

    // A pack was refused, so the list is asked for again in full (an
    // updated app could take it), and the good one is not installed twice.
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert!(
        !report.packs.not_modified && report.packs.installed.is_empty(),
        "{:?}",
        report.packs
    );
    let requests = protocol.lock().expect("peer").packs_requests.clone();
    assert_eq!(requests, vec![None, None]);

    // The server drops the bad pack: the list is taken whole, its ETag kept,
    // and the next sync asks conditionally and gets "not modified".
    {
        let mut peer = protocol.lock().expect("peer");
        if let Some((etag, files)) = peer.packs.as_mut() {
            *etag = "\"packs-8\"".to_owned();
            files.retain(|f| f.key == "vneid");
        }
    }
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert!(report.packs.refused.is_empty(), "{:?}", report.packs);
    let report = run(&mut t.store, &SyncOptions::fast_retries()).0.expect("sync");
    assert!(report.packs.not_modified, "{:?}", report.packs);
    let requests = protocol.lock().expect("peer").packs_requests.clone();
    assert_eq!(requests, vec![None, None, None, Some("\"packs-8\"".to_owned())]);
}

#[test]
fn a_server_without_resumable_uploads_gets_plain_syncs() {
    // The scripted peer knows only `POST /api/v1/sync` (404 elsewhere),
    // like a server from before resumable uploads.
    let (_other, remote, village, _) = other_tablet(0);
    let (peer, protocol) = protocol_peer(Protocol {
        remote,
        ..Protocol::default()
    });
    let mut t = enrolled(&peer);
    let (first, _) = run(&mut t.store, &SyncOptions::fast_retries());
    first.expect("first sync");
    write_households(&mut t.store, &village, 400);
    let (report, _) = run(&mut t.store, &SyncOptions::fast_retries());
    let report = report.expect("sync falls back to plain requests");
    assert!(report.progress.bytes_sent > 4 * 1024, "{:?}", report.progress);
    assert_eq!(
        applied_seqs(&protocol),
        (1..=400).collect::<Vec<_>>(),
        "every change once"
    );
}
