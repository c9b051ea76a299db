//! Crash safety: a child process writes in a loop and is killed with SIGKILL
//! at random moments, 50 times. After each kill the database must pass
//! SQLite's integrity check, the outbox must be gap-free, and every entity
//! row must have its outbox record and every outbox record its row: replaying
//! the outbox into a fresh store gives exactly the same state.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use doorstep_core::entities::{Household, StepStatus};
use doorstep_core::ids::HouseholdId;
use doorstep_core::schema::EntityKind;
use doorstep_core::text::Notes;
use doorstep_core::vocab::VisitOutcome;
use doorstep_device::queries::HouseholdFilter;
use doorstep_device::{CreateOptions, Store};

const CHILD_ENV: &str = "DOORSTEP_CRASH_TEST_DB";

/// The child: writes forever, in single writes and in batches, until killed.
#[test]
#[ignore = "run by crash_test_kills_a_writer_fifty_times as its child process"]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(Path::new(&path)).expect("open");
    let village = common::village(&store, "Tam Tu");
    let mut n: u64 = 0;
    loop {
        n += 1;
        let h = common::add_household(&mut store, village, &format!("Lò Văn {n}a"));
        let p = common::add_person(&mut store, h, "Lò Thị Xuân");
        common::record_visit(&mut store, h, VisitOutcome::Helped);
        if let Ok(run) = store.start_checklist(p, "vneid", None) {
            for _ in 0..3 {
                let _ = store.record_step(run.id, None, StepStatus::Done, Some(Notes::parse("ok").expect("note")));
            }
        }
        // A batch: ten households in one transaction, like an import.
        store
            .write(|w| {
                for i in 0..10 {
                    let mut h = common::new_household(village, &format!("Giàng A {n}b{i}"), w.now());
                    h.members_count = Some(3);
                    w.create(&h)?;
                }
                Ok(())
            })
            .expect("batch");
        let rows = store
            .village_households(village, &HouseholdFilter::default())
            .expect("list");
        if let Some(first) = rows.first() {
            let id: HouseholdId = first.id.parse().expect("id");
            let patch = doorstep_core::entities::Patch::<Household>::new()
                .members_count(Some(u8::try_from(n % 50 + 1).expect("small")));
            store.update(id.as_uuid(), patch).expect("edit");
        }
    }
}

fn check_invariants(path: &Path, dir: &Path, round: usize) -> u64 {
    let store = Store::open(path).expect("reopens after a kill");
    assert_eq!(
        store.integrity_problems().expect("check runs"),
        Vec::<String>::new(),
        "round {round}"
    );
    let outbox = store.outbox_after(0, usize::MAX).expect("outbox");
    let seqs: Vec<u64> = outbox.iter().map(|c| c.seq).collect();
    assert_eq!(
        seqs,
        (1..=outbox.len() as u64).collect::<Vec<_>>(),
        "round {round}: gap-free"
    );
    let position = store.sync_position().expect("position");
    assert_eq!(
        position.last_seq,
        outbox.len() as u64,
        "round {round}: next seq follows the last record"
    );
    let conn = doorstep_device::key::open_raw(path).expect("open");
    for kind in EntityKind::ALL {
        let orphans: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM {t} WHERE id NOT IN (SELECT entity_id FROM outbox WHERE entity = ?1)",
                    t = kind.table()
                ),
                [kind.as_str()],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(orphans, 0, "round {round}: {kind} rows without an outbox record");
        let ghosts: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM outbox WHERE entity = ?1 AND entity_id NOT IN (SELECT id FROM {})",
                    kind.table()
                ),
                [kind.as_str()],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(ghosts, 0, "round {round}: {kind} outbox records without a row");
    }
    // Replaying the outbox elsewhere gives exactly this state.
    let replay_path = dir.join(format!("replay-{round}.db"));
    let mut replay = Store::create(&replay_path, CreateOptions::default()).expect("replay store");
    replay.apply_pulled(&outbox, None).expect("replay");
    assert_eq!(
        replay.state_digest().expect("digest"),
        store.state_digest().expect("digest"),
        "round {round}"
    );
    outbox.len() as u64
}

#[test]
fn crash_test_kills_a_writer_fifty_times() {
    let t = common::TempStore::with_demo();
    let path = t.path();
    drop(t.store);
    let exe = std::env::current_exe().expect("test binary");
    // A fixed sequence of kill delays (LCG), so a failure can be replayed.
    let mut seed: u64 = 0x5eed_d00d;
    let mut grown = 0;
    let mut last = check_invariants(&path, t.dir.path(), 0);
    for round in 1..=50 {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = 40 + (seed >> 33) % 260;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let now = check_invariants(&path, t.dir.path(), round);
        if now > last {
            grown += 1;
        }
        last = now;
    }
    assert!(grown >= 25, "the child made progress in only {grown} of 50 rounds");
}
