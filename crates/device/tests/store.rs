//! The device store: opening, guarding the file, the write path and outbox.

mod common;

use common::*;
use doorstep_core::entities::{Household, Patch, StepStatus};
use doorstep_core::phone::Phone;
use doorstep_core::schema::EntityKind;
use doorstep_core::text::Notes;
use doorstep_core::vocab::{BlockerReason, VisitOutcome};
use doorstep_device::{CreateOptions, Store, StoreError};

#[test]
fn every_field_of_the_core_schema_has_its_column() {
    let t = TempStore::new();
    let conn = doorstep_device::key::open_raw(&t.path()).expect("open");
    for kind in EntityKind::ALL {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({})", kind.table()))
            .expect("table info");
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(1))
            .expect("rows")
            .map(|c| c.expect("col"))
            .collect();
        for field in kind.fields() {
            assert!(
                columns.iter().any(|c| c == field.name),
                "{kind}.{} has no column",
                field.name
            );
        }
    }
}

#[test]
fn writes_append_gap_free_seqs_to_the_outbox() {
    let mut t = TempStore::with_demo();
    let before = t.store.status().expect("status");
    let village = village(&t.store, "Tam Tu");
    let h = add_household(&mut t.store, village, "Lò Văn Hùng");
    let p = add_person(&mut t.store, h, "Lò Thị Xuân");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let after = t.store.status().expect("status");
    assert_eq!(after.outbox_total, before.outbox_total + 3);
    let changes = t.store.outbox_after(0, usize::MAX).expect("outbox");
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=after.outbox_total).collect::<Vec<_>>(), "gap-free from 1");
    let last = changes.last().expect("a change");
    assert_eq!(last.entity, EntityKind::Visit);
    assert!(changes.windows(2).all(|w| w[0].hlc < w[1].hlc), "stamps increase");
    let _ = p;
}

#[test]
fn a_failed_write_leaves_no_trace() {
    let mut t = TempStore::with_demo();
    let before = t.store.state_digest().expect("digest");
    let status = t.store.status().expect("status");
    let village = village(&t.store, "Khin");
    let err = t
        .store
        .write(|w| {
            let h = new_household(village, "Giàng A Páo", w.now());
            w.create(&h)?;
            // Second write fails: the first must be rolled back with it.
            w.update::<Household>(uuid::Uuid::now_v7(), Patch::<Household>::new().notes(None))
        })
        .expect_err("unknown household");
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                kind: EntityKind::Household,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(t.store.state_digest().expect("digest"), before);
    assert_eq!(t.store.status().expect("status").outbox_total, status.outbox_total);
    let next = add_household(&mut t.store, village, "Sùng Thị Mỷ");
    let seqs: Vec<u64> = t
        .store
        .outbox_after(status.outbox_total, 10)
        .expect("outbox")
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(seqs, vec![status.outbox_total + 1], "no gap after a rolled-back write");
    let _ = next;
}

#[test]
fn an_edit_carries_the_version_it_replaced() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Bun");
    let h = add_household(&mut t.store, village, "Cà Văn Ơn");
    let first = t
        .store
        .update::<Household>(
            h.as_uuid(),
            Patch::<Household>::new().phone(Some(Phone::parse("0912345678").expect("phone"))),
        )
        .expect("edit");
    assert!(
        first.fields[0].base.is_some(),
        "replaces the empty phone written at creation"
    );
    let second = t
        .store
        .update::<Household>(h.as_uuid(), Patch::<Household>::new().phone(None))
        .expect("edit");
    assert_eq!(second.fields[0].base, Some(first.version()));
    assert_eq!(t.store.household(h).expect("detail").phone, None);
}

#[test]
fn checklist_runs_keep_progress_and_resume() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Tam Tu");
    let h = add_household(&mut t.store, village, "Lò Văn Hùng");
    let p = add_person(&mut t.store, h, "Lò Thị Xuân");
    let no_visit = t.store.start_checklist(p, "vneid", None).expect_err("no visit yet");
    assert!(no_visit.to_string().contains("no visit today"), "{no_visit}");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let run = t.store.start_checklist(p, "vneid", None).expect("start");
    let pack = t.store.latest_pack("vneid").expect("pack");
    let first = pack.steps[0].id.clone();
    t.store
        .record_step(run.id, None, StepStatus::Done, None)
        .expect("step 1");
    let view = t.store.run_view(run.id, "en").expect("view");
    assert_eq!(view.run.steps_done, 1);
    assert_eq!(view.steps[0].outcome.as_deref(), Some("done"));
    assert_eq!(
        view.run.current_step.as_deref(),
        Some(pack.steps[1].id.as_str()),
        "resumes at step 2"
    );
    let bad = t
        .store
        .record_step(run.id, Some("no-such-step"), StepStatus::Done, None)
        .expect_err("unknown step");
    assert!(bad.to_string().contains("no step \"no-such-step\""), "{bad}");
    let blocked = t
        .store
        .record_step(
            run.id,
            None,
            StepStatus::Blocked(BlockerReason::Other),
            Some(Notes::parse("son brings the card").expect("note")),
        )
        .expect("blocked");
    let view = t.store.run_view(run.id, "vi").expect("view");
    assert_eq!(view.run.status, "blocked");
    assert_eq!(view.steps[1].blocker.as_deref(), Some("other"));
    for _ in 1..pack.steps.len() {
        t.store.record_step(run.id, None, StepStatus::Done, None).expect("next");
    }
    let view = t.store.run_view(run.id, "vi").expect("view");
    assert_eq!(view.run.status, "completed", "{view:?}");
    assert!(
        t.store.record_step(run.id, None, StepStatus::Done, None).is_err(),
        "nothing left to do"
    );
    t.store
        .record_step(run.id, Some(&first), StepStatus::Skipped, None)
        .expect("redo a named step");
    let _ = blocked;
}

#[test]
fn refuses_a_file_that_is_not_a_doorstep_database_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not sqlite, just a text file that is long enough to look like a header....",
    )
    .expect("write");
    let before = std::fs::read(&garbage).expect("read");
    let err = Store::open(&garbage).expect_err("garbage");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("garbage.db"), "{err}");
    assert_eq!(std::fs::read(&garbage).expect("read"), before, "unchanged");

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .expect("open")
        .execute_batch("CREATE TABLE t(x)")
        .expect("table");
    let err = Store::open(&foreign).expect_err("foreign");
    assert!(matches!(err, StoreError::NotDoorstep { .. }), "{err}");
    // Another app's database that happens to use user_version 1 is refused
    // too, before anything (WAL mode, a migration) touches it.
    let other_app = dir.path().join("other-app.db");
    rusqlite::Connection::open(&other_app)
        .expect("open")
        .execute_batch("CREATE TABLE notes(x); PRAGMA user_version = 1;")
        .expect("other app");
    let before = std::fs::read(&other_app).expect("read");
    let err = Store::open(&other_app).expect_err("other app");
    assert!(matches!(err, StoreError::NotDoorstep { .. }), "{err}");
    assert_eq!(
        std::fs::read(&other_app).expect("read"),
        before,
        "byte for byte unchanged"
    );

    let missing = dir.path().join("missing.db");
    assert!(matches!(Store::open(&missing), Err(StoreError::NoDatabase { .. })));
    assert!(!missing.exists(), "opening does not create");
}

#[test]
fn refuses_a_database_from_a_newer_app() {
    let t = TempStore::new();
    let path = t.path();
    drop(t.store);
    doorstep_device::key::open_raw(&path)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("bump");
    let err = Store::open(&path).expect_err("newer");
    assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("update the app"), "{err}");
}

#[test]
fn a_damaged_file_gives_a_clear_error() {
    let t = TempStore::with_demo();
    let path = t.path();
    drop(t.store);
    // Checkpoint the WAL into the main file, then overwrite pages in the middle.
    doorstep_device::key::open_raw(&path)
        .expect("open")
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len();
    for b in &mut bytes[4096..len - 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).expect("write");
    let result = Store::open(&path).and_then(|s| s.status().map(|_| s));
    match result {
        Err(e) => assert!(
            e.to_string().contains("restore it from a backup") || e.to_string().contains("database"),
            "{e}"
        ),
        Ok(s) => assert!(
            !s.integrity_problems().expect("check runs").is_empty(),
            "damage must be detected"
        ),
    }
}

#[test]
fn creating_over_an_existing_database_is_refused() {
    let t = TempStore::new();
    let err = Store::create(&t.path(), CreateOptions::default()).expect_err("exists");
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
}

#[test]
fn a_practice_store_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::create(
        &dir.path().join("p.db"),
        CreateOptions {
            practice: true,
            ..Default::default()
        },
    )
    .expect("create");
    assert!(store.is_practice());
    drop(store);
    assert!(
        Store::open(&dir.path().join("p.db"))
            .expect("open")
            .status()
            .expect("status")
            .practice
    );
}

#[test]
fn derived_household_columns_match_a_fresh_count() {
    let mut t = TempStore::new();
    doorstep_device::demo::load_demo(
        &mut t.store,
        doorstep_device::demo::DemoOptions {
            history: true,
            today: today(),
        },
    )
    .expect("demo");
    let village = village(&t.store, "Hui Long");
    let h = add_household(&mut t.store, village, "Vàng A Sử");
    let p = add_person(&mut t.store, h, "Vàng Thị Dợ");
    record_visit(&mut t.store, h, VisitOutcome::NobodyHome);
    let v = record_visit(&mut t.store, h, VisitOutcome::Helped);
    let run = t.store.start_checklist(p, "vneid", Some(v)).expect("run");
    t.store
        .record_step(run.id, None, StepStatus::Blocked(BlockerReason::NoSignal), None)
        .expect("step");
    // Deleting a visit and a person must update the counts too.
    t.store
        .update::<doorstep_core::entities::Visit>(v.as_uuid(), Patch::new().deleted(true))
        .expect("delete visit");
    t.store
        .update::<doorstep_core::entities::Person>(p.as_uuid(), Patch::new().deleted(true))
        .expect("delete person");
    let conn = doorstep_device::key::open_raw(&t.path()).expect("open");
    // A run counts while its person and its visit are not deleted either.
    const LIVE: &str = "AND r.person_id IN (SELECT id FROM person WHERE deleted = 0)
                        AND r.visit_id IN (SELECT id FROM visit WHERE deleted = 0)";
    let mut stmt = conn
        .prepare(&format!(
            "SELECT h.id,
                (SELECT count(*) FROM person p WHERE p.household_id = h.id AND p.deleted = 0),
                (SELECT v.outcome FROM visit v WHERE v.household_id = h.id AND v.deleted = 0
                 ORDER BY v.started_at DESC, v.id DESC LIMIT 1),
                (SELECT count(*) FROM checklist_run r WHERE r.household_id = h.id AND r.deleted = 0 {LIVE}),
                (SELECT count(*) FROM checklist_run r
                 WHERE r.household_id = h.id AND r.deleted = 0 AND r.status = 'blocked' {LIVE})
             FROM household h WHERE h.village_id = ?1 AND h.deleted = 0"
        ))
        .expect("prepare");
    let fresh: std::collections::BTreeMap<String, (u32, Option<String>, u32, u32)> = stmt
        .query_map([village.to_string()], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    let listed = t.store.village_households(village, &Default::default()).expect("list");
    assert_eq!(listed.len(), fresh.len());
    for row in listed {
        let expected = &fresh[&row.id];
        assert_eq!(
            (row.people, row.last_outcome.clone(), row.runs, row.runs_blocked),
            expected.clone(),
            "{}",
            row.id
        );
    }
    let ours = t.store.household(h).expect("detail");
    assert_eq!(ours.visits.len(), 1, "the deleted visit is gone from the history shown");
    assert_eq!(
        ours.status,
        doorstep_device::queries::HouseholdStatus::FollowUpDue,
        "nobody was home"
    );
}

#[test]
fn a_clock_reset_to_1970_still_orders_writes_after_a_restart() {
    use chrono::TimeZone;
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Ba Nam");
    let before = add_household(&mut t.store, village, "Lò Văn Trước");
    let last_good = t
        .store
        .outbox_after(0, usize::MAX)
        .expect("outbox")
        .last()
        .expect("a change")
        .hlc;
    let path = t.path();
    drop(t.store);
    // The battery died: the clock now reads 1 January 1970.
    let mut store = doorstep_device::Store::open(&path).expect("reopen");
    let epoch = chrono::Utc.timestamp_millis_opt(0).single().expect("epoch");
    store.set_wall_clock(std::sync::Arc::new(move || epoch));
    let after = add_household(&mut store, village, "Lò Văn Sau");
    let change = store
        .outbox_after(0, usize::MAX)
        .expect("outbox")
        .pop()
        .expect("a change");
    assert!(
        change.hlc > last_good,
        "{:?} must sort after {:?}",
        change.hlc,
        last_good
    );
    assert_eq!(
        change.hlc.millis(),
        last_good.millis(),
        "the clock holds the last good time and counts on"
    );
    let edit = store
        .update::<Household>(before.as_uuid(), Patch::<Household>::new().members_count(Some(3)))
        .expect("edit");
    assert!(edit.hlc > change.hlc);
    let _ = after;
}
