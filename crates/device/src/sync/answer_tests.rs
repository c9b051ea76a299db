//! Applying hand-made sync answers to real store files: what one answer
//! changes, that it changes it in one piece, that twice is once, and how a
//! tablet whose clock ran ahead adopts the server's stamps.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite, Version};
use doorstep_core::entities::{Commune, Household, Patch, Person, StepStatus, Visit};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::{ChangeId, CommuneId, DeviceId, HouseholdId, PersonId, VillageId, VisitId};
use doorstep_core::protocol::{Rejected, Restamp, SyncResponse, WireChanges};
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use doorstep_core::text::{Landmark, PersonName, PlaceName};
use doorstep_core::vocab::VisitOutcome;
use tempfile::TempDir;

use super::super::error::SyncError;
use crate::store::{CreateOptions, Store};

/// The server's clock in these tests.
fn server_now() -> DateTime<Utc> {
    "2026-11-27T08:30:00Z".parse().expect("time")
}

fn at(t: DateTime<Utc>) -> Arc<dyn Fn() -> DateTime<Utc> + Send + Sync> {
    Arc::new(move || t)
}

fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::create(&dir.path().join("d.db"), CreateOptions::default()).expect("store");
    (dir, store)
}

/// A commune, a village and a household (outbox seqs 1, 2, 3).
fn household(store: &mut Store) -> HouseholdId {
    let commune = Commune {
        id: CommuneId::new(),
        name: PlaceName::parse("Mường Lạn").expect("name"),
        province: None,
    };
    let village = doorstep_core::entities::Village {
        id: VillageId::new(),
        commune_id: commune.id,
        name: PlaceName::parse("Tam Tu").expect("name"),
    };
    let household = Household {
        id: HouseholdId::new(),
        village_id: village.id,
        head_name: PersonName::parse("Lò Văn Pắn").expect("name"),
        landmark: None,
        phone: None,
        members_count: None,
        language: None,
        notes: None,
        location: None,
        created_at: store.now(),
    };
    store.insert(&commune).expect("commune");
    store.insert(&village).expect("village");
    store.insert(&household).expect("household");
    household.id
}

fn other_device() -> DeviceId {
    DeviceId::from_parts(1, [9; 10])
}

/// Another tablet's edit of one household field.
fn remote_edit(
    household: HouseholdId,
    seq: u64,
    hlc: Hlc,
    field: &str,
    value: FieldValue,
    base: Option<Version>,
) -> Change {
    Change {
        id: ChangeId::derive(other_device(), seq),
        device: other_device(),
        seq,
        hlc,
        entity: EntityKind::Household,
        entity_id: household.as_uuid(),
        op: ChangeOp::Update,
        fields: vec![FieldWrite {
            field: field.to_owned(),
            value,
            base,
            resolves: Vec::new(),
        }],
    }
}

fn answer(last_applied_seq: u64, pulled: &[Change], cursor: &str) -> SyncResponse {
    SyncResponse {
        last_applied_seq,
        rejected: Vec::new(),
        restamped: Vec::new(),
        changes: WireChanges::encode(pulled),
        next_cursor: cursor.to_owned(),
        has_more: false,
        server_time: format_timestamp(server_now()),
        epoch: None,
        backed_up_seq: None,
        carried: Vec::new(),
    }
}

fn version_of(store: &Store, household: HouseholdId, field: &str) -> Version {
    let (hlc, device): (i64, String) = store
        .conn
        .query_row(
            "SELECT hlc, device_id FROM field_clock WHERE entity = 'household' AND entity_id = ?1 AND field = ?2",
            (household.to_string(), field),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("field clock");
    Version {
        hlc: Hlc::from_u64(u64::try_from(hlc).expect("positive")),
        device: device.parse().expect("device"),
    }
}

fn hlc_last(store: &Store) -> Hlc {
    let raw: i64 = store
        .conn
        .query_row("SELECT hlc_last FROM device_state WHERE id = 1", [], |r| r.get(0))
        .expect("hlc");
    Hlc::from_u64(u64::try_from(raw).expect("positive"))
}

#[test]
fn one_answer_acks_records_rejections_merges_the_page_and_moves_the_cursor_and_twice_is_once() {
    let (_dir, mut store) = fresh();
    let h = household(&mut store);
    let base = version_of(&store, h, "members_count");
    let edit = remote_edit(
        h,
        1,
        Hlc::new(4_000_000_000_000, 0),
        "members_count",
        FieldValue::Int(5),
        Some(base),
    );
    let mut a = answer(3, &[edit], "page-1");
    a.rejected = vec![Rejected {
        seq: 2,
        reason: "village name: too long".to_owned(),
    }];

    let effect = store.apply_sync_answer(0, &a, server_now()).expect("applies");
    assert_eq!(effect.acked_seq, 3);
    assert_eq!(effect.rejected, vec![(2, "village name: too long".to_owned())]);
    assert_eq!((effect.pulled.merged, effect.pulled.conflicts), (1, 0));
    let position = store.sync_position().expect("position");
    assert_eq!(
        (position.acked_seq, position.pull_cursor.as_deref()),
        (3, Some("page-1"))
    );
    assert_eq!(store.household(h).expect("household").members_count, Some(5));
    let status = store.sync_status().expect("status");
    assert_eq!(status.pending, 0);
    assert_eq!(status.rejected.len(), 1);
    assert_eq!(
        (status.rejected[0].seq, status.rejected[0].entity.as_str()),
        (2, "village")
    );

    // The same answer again (the first was applied, then the app died
    // before it knew): nothing new, nothing different.
    let digest = store.state_digest().expect("digest");
    let again = store.apply_sync_answer(0, &a, server_now()).expect("applies again");
    assert!(again.rejected.is_empty());
    assert_eq!((again.pulled.merged, again.pulled.duplicates), (0, 1));
    assert_eq!(again.acked_seq, 3);
    assert_eq!(store.state_digest().expect("digest"), digest);
    assert_eq!(store.rejected_changes().expect("rejected").len(), 1);
}

#[test]
fn an_answer_that_does_not_fit_changes_nothing() {
    let (_dir, mut store) = fresh();
    household(&mut store);
    let before = store.sync_position().expect("position");

    let mut broken_page = answer(3, &[], "page-1");
    broken_page.changes.changes.push(doorstep_core::protocol::WireChange {
        id: None,
        device: 4,
        seq: 1,
        hlc: Hlc::new(1, 0),
        entity: EntityKind::Household,
        entity_id: None,
        create: false,
        fields: Vec::new(),
    });
    broken_page.rejected = vec![Rejected {
        seq: 1,
        reason: "x".to_owned(),
    }];
    let err = store
        .apply_sync_answer(0, &broken_page, server_now())
        .expect_err("bad page");
    assert!(matches!(err, SyncError::BadAnswer { .. }), "{err}");

    let mut bad_time = answer(3, &[], "page-1");
    bad_time.server_time = "yesterday".to_owned();
    let err = store
        .apply_sync_answer(0, &bad_time, server_now())
        .expect_err("bad time");
    assert!(err.to_string().contains("server_time"), "{err}");

    let err = store
        .apply_sync_answer(0, &answer(7, &[], "page-1"), server_now())
        .expect_err("server ahead of the outbox");
    assert!(
        matches!(
            err,
            SyncError::Diverged {
                server_seq: 7,
                device_seq: 3
            }
        ),
        "{err}"
    );

    assert_eq!(store.sync_position().expect("position"), before);
    assert!(store.rejected_changes().expect("rejected").is_empty());
}

#[test]
fn a_server_restored_from_a_backup_makes_the_device_resend() {
    let (_dir, mut store) = fresh();
    household(&mut store);
    store
        .apply_sync_answer(0, &answer(3, &[], "c"), server_now())
        .expect("acked");
    // The server now says it has only seq 1: it lost 2 and 3.
    let effect = store
        .apply_sync_answer(3, &answer(1, &[], "c"), server_now())
        .expect("applies");
    assert!(effect.rewound);
    assert_eq!(store.sync_position().expect("position").acked_seq, 1);
    assert_eq!(store.outbox_after(1, 10).expect("outbox").len(), 2, "resent from seq 2");
    // An ordinary answer never moves the ack back.
    let effect = store
        .apply_sync_answer(1, &answer(3, &[], "c"), server_now())
        .expect("applies");
    assert_eq!(effect.acked_seq, 3);
    let effect = store
        .apply_sync_answer(1, &answer(2, &[], "c"), server_now())
        .expect("applies");
    assert_eq!((effect.acked_seq, effect.rewound), (3, false));
}

#[test]
fn a_tablet_whose_clock_says_2000_shows_corrected_dates_after_a_sync() {
    let (_dir, mut store) = fresh();
    let year_2000: DateTime<Utc> = "2000-01-01T00:00:00Z".parse().expect("time");
    store.set_wall_clock(at(year_2000));
    let h = household(&mut store);
    // Written in order anyway: the HLC only moves forward.
    let stamps: Vec<Hlc> = store
        .outbox_after(0, 10)
        .expect("outbox")
        .iter()
        .map(|c| c.hlc)
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");

    // The answer arrives 2 s after the server stamped it (local reading).
    let received = year_2000 + TimeDelta::seconds(2);
    store.set_wall_clock(at(received));
    let effect = store
        .apply_sync_answer(0, &answer(3, &[], "c"), received)
        .expect("applies");
    let expected = (server_now() - received).num_milliseconds();
    assert_eq!(effect.clock_offset_ms, expected);
    assert_eq!(store.now(), server_now(), "wall clock + offset = the server's time");
    assert_eq!(store.today(), server_now().with_timezone(&chrono::Local).date_naive());
    assert_eq!(store.sync_status().expect("status").clock_offset_ms, expected);

    // A visit recorded now is dated and stamped with the corrected time.
    let visit = Visit {
        id: VisitId::new(),
        household_id: h,
        member_id: None,
        device_id: store.device_id(),
        started_at: store.now(),
        ended_at: None,
        outcome: VisitOutcome::Helped,
        follow_up_on: None,
        notes: None,
        referred_by: None,
    };
    let change = store.insert(&visit).expect("visit");
    assert_eq!(change.hlc.millis(), doorstep_core::hlc::wall_millis(server_now()));
    let shown = &store.household(h).expect("household").visits[0];
    assert_eq!(shown.started_at, "2026-11-27T08:30:00.000Z");

    // The offset survives a restart.
    let path = store.path().to_owned();
    drop(store);
    let mut store = Store::open(&path).expect("reopen");
    store.set_wall_clock(at(received));
    assert_eq!(store.now(), server_now());
}

/// A tablet whose clock ran two days ahead: the server clamps its stamps.
/// Afterwards its store must equal a replica's that only ever saw the new
/// stamps, and its clock must stop stamping in the future.
#[test]
fn restamped_changes_are_adopted_and_the_store_matches_every_other_replica() {
    let (_dir, mut store) = fresh();
    let ahead = server_now() + TimeDelta::days(2);
    store.set_wall_clock(at(ahead));
    let h = household(&mut store); // seqs 1-3
    let landmark = |s: &str| Some(Landmark::parse(s).expect("landmark"));
    store
        .update::<Household>(h.as_uuid(), Patch::new().landmark(landmark("near the school")))
        .expect("edit"); // seq 4
    let person = Person {
        id: PersonId::new(),
        household_id: h,
        name: PersonName::parse("Lò Thị Xuân").expect("name"),
        birth_year: Some(1990),
        phone: None,
        phone_kind: None,
        phone_in_own_name: None,
        chip_id_card: Some(true),
        notes: None,
    };
    store.insert(&person).expect("person"); // seq 5
    let visit = Visit {
        id: VisitId::new(),
        household_id: h,
        member_id: None,
        device_id: store.device_id(),
        started_at: store.now(),
        ended_at: None,
        outcome: VisitOutcome::Partial,
        follow_up_on: None,
        notes: None,
        referred_by: None,
    };
    store.insert(&visit).expect("visit"); // seq 6
    let run = store.start_checklist(person.id, "vneid", Some(visit.id)).expect("run"); // seq 7
    store.record_step(run.id, None, StepStatus::Done, None).expect("step"); // seq 8

    // The server clamps every stamp to its own clock. The first batch
    // (seqs 1-3) is answered first.
    let ours = store.outbox_after(0, 100).expect("outbox");
    assert_eq!(ours.len(), 8);
    let server_ms = doorstep_core::hlc::wall_millis(server_now());
    let restamped: Vec<Restamp> = ours
        .iter()
        .enumerate()
        .map(|(i, c)| Restamp {
            seq: c.seq,
            was: c.hlc,
            hlc: Hlc::new(server_ms + 1000, u16::try_from(i).expect("small")),
        })
        .collect();
    let mut first = answer(3, &[], "p0");
    first.restamped = restamped[..3].to_vec();
    store.apply_sync_answer(0, &first, ahead).expect("first batch");
    assert!(
        hlc_last(&store).millis() > server_ms + 86_400_000,
        "changes wait: the clock stays ahead"
    );

    // Another tablet, which received the household with its new stamp,
    // changed the landmark with a clock a minute ahead of the server (the
    // server accepted that stamp). This tablet's own edit, still stamped two
    // days ahead, wins for now.
    let base = store.outbox_change(3).expect("read").expect("seq 3").version();
    assert_eq!(base.hlc, restamped[2].hlc);
    let theirs_hlc = Hlc::new(server_ms + 60_000, 0);
    let theirs = remote_edit(
        h,
        1,
        theirs_hlc,
        "landmark",
        FieldValue::from("by the bridge"),
        Some(base),
    );
    store
        .apply_sync_answer(3, &answer(3, std::slice::from_ref(&theirs), "p1"), ahead)
        .expect("a page");
    assert_eq!(
        store.household(h).expect("household").landmark.as_deref(),
        Some("near the school")
    );

    // The second batch (seqs 4-8) is clamped too.
    let mut a = answer(8, &[], "p1");
    a.restamped = restamped.clone();
    a.server_time = format_timestamp(server_now() + TimeDelta::seconds(5));
    let received = ahead + TimeDelta::seconds(5);
    store.set_wall_clock(at(received));
    let effect = store.apply_sync_answer(3, &a, received).expect("applies");
    assert_eq!(effect.restamped, 5, "seqs 1-3 were adopted already");

    // The outbox now says what every replica holds.
    let rewritten = store.outbox_after(0, 100).expect("outbox");
    for (change, r) in rewritten.iter().zip(&restamped) {
        assert_eq!(change.hlc, r.hlc, "seq {}", change.seq);
    }
    let seq4_base = rewritten[3].fields[0].base.expect("landmark edit has a base");
    assert_eq!(
        seq4_base.hlc, restamped[2].hlc,
        "a later change's base follows the restamp"
    );
    assert_eq!(version_of(&store, h, "head_name").hlc, restamped[2].hlc);

    // With the new stamps the other tablet's landmark is newer: it wins, ours
    // is the conflict - as on the server and every other tablet.
    let detail = store.household(h).expect("household");
    assert_eq!(detail.landmark.as_deref(), Some("by the bridge"));
    let conflicts = store.conflicts().expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].losing, serde_json::json!("near the school"));
    assert_eq!(conflicts[0].losing_device, store.device_id().to_string());
    let step_hlc: i64 = store
        .conn
        .query_row("SELECT hlc FROM step_event", [], |r| r.get(0))
        .expect("step");
    assert_eq!(u64::try_from(step_hlc).ok(), Some(restamped[7].hlc.as_u64()));
    assert_eq!(detail.runs.len(), 1);

    // A replica that received the changes only with their new stamps, in
    // another order, holds exactly the same state.
    let (_dir2, mut replica) = fresh();
    let mut delivery = vec![theirs.clone()];
    delivery.extend(rewritten.iter().rev().cloned());
    replica.apply_pulled(&delivery, None).expect("replica");
    let parked: i64 = replica
        .conn
        .query_row("SELECT count(*) FROM parked_change", [], |r| r.get(0))
        .expect("parked");
    assert_eq!(parked, 0);
    assert_eq!(
        replica.state_digest().expect("digest"),
        store.state_digest().expect("digest")
    );

    // Everything is acked, so the clock comes back from two days ahead to
    // the newest stamp held (the other tablet's), and new writes follow it.
    assert_eq!(hlc_last(&store), theirs_hlc);
    let next = store
        .update::<Household>(h.as_uuid(), Patch::new().members_count(Some(4)))
        .expect("edit");
    assert!(
        next.hlc > theirs_hlc && next.hlc.millis() < server_ms + 120_000,
        "{:?}",
        next.hlc
    );

    // The same answer once more changes nothing.
    let digest = store.state_digest().expect("digest");
    let again = store.apply_sync_answer(3, &a, received).expect("again");
    assert_eq!(again.restamped, 0);
    assert_eq!(store.state_digest().expect("digest"), digest);
}

#[test]
fn the_clock_is_not_brought_back_while_changes_wait() {
    let (_dir, mut store) = fresh();
    let ahead = server_now() + TimeDelta::days(2);
    store.set_wall_clock(at(ahead));
    household(&mut store);
    let before = hlc_last(&store);
    // Only seq 1 was applied (and restamped); 2 and 3 still wait.
    let first = store.outbox_change(1).expect("read").expect("seq 1");
    let mut a = answer(1, &[], "c");
    a.restamped = vec![Restamp {
        seq: 1,
        was: first.hlc,
        hlc: Hlc::new(doorstep_core::hlc::wall_millis(server_now()), 0),
    }];
    store.apply_sync_answer(0, &a, ahead).expect("applies");
    assert_eq!(
        hlc_last(&store),
        before,
        "unacked changes keep their stamps, so the clock stays"
    );
}
