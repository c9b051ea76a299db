//! Applying pulled pages: one bad record never blocks the ones behind it.

mod common;

use common::*;
use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_core::vocab::VisitOutcome;

fn foreign_change(entity: EntityKind, id: uuid::Uuid, op: ChangeOp, seq: u64, fields: &[(&str, FieldValue)]) -> Change {
    Change {
        id: ChangeId::new(),
        device: DeviceId::from_parts(1, [7; 10]),
        seq,
        hlc: Hlc::new(4_000_000_000_000, u16::try_from(seq).expect("small")),
        entity,
        entity_id: id,
        op,
        fields: fields
            .iter()
            .map(|(f, v)| FieldWrite {
                field: (*f).to_owned(),
                value: v.clone(),
                base: None,
                resolves: vec![],
            })
            .collect(),
    }
}

#[test]
fn an_invalid_record_is_kept_aside_and_the_page_goes_on() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Tam Tu");
    let h = add_household(&mut t.store, village, "Lò Văn Hùng");
    let bad = foreign_change(
        EntityKind::Household,
        h.as_uuid(),
        ChangeOp::Update,
        1,
        &[("deleted", FieldValue::Null)],
    );
    let upper = foreign_change(
        EntityKind::Household,
        h.as_uuid(),
        ChangeOp::Update,
        2,
        &[("village_id", FieldValue::from(village.to_string().to_uppercase()))],
    );
    let good = foreign_change(
        EntityKind::Household,
        h.as_uuid(),
        ChangeOp::Update,
        3,
        &[("members_count", FieldValue::Int(6))],
    );
    let report = t
        .store
        .apply_pulled(&[bad, upper, good], Some("page-1"))
        .expect("the page applies");
    assert_eq!((report.invalid, report.merged), (2, 1), "{report:?}");
    assert_eq!(
        t.store.sync_position().expect("position").pull_cursor.as_deref(),
        Some("page-1")
    );
    assert_eq!(t.store.household(h).expect("detail").members_count, Some(6));
    let status = t.store.status().expect("status");
    assert_eq!((status.invalid_changes, status.waiting_changes), (2, 0));
}

#[test]
fn a_page_pulled_twice_merges_once() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Khin");
    let h = add_household(&mut t.store, village, "Sùng A Tủa");
    let visit = foreign_change(
        EntityKind::Visit,
        uuid::Uuid::now_v7(),
        ChangeOp::Create,
        1,
        &[
            ("household_id", FieldValue::from(h.to_string())),
            (
                "device_id",
                FieldValue::from(DeviceId::from_parts(1, [7; 10]).to_string()),
            ),
            ("started_at", FieldValue::from("2026-11-27T02:00:00.000Z")),
            ("outcome", FieldValue::from(VisitOutcome::Helped.as_str())),
        ],
    );
    let page = vec![visit];
    let first = t.store.apply_pulled(&page, Some("1")).expect("first");
    let digest = t.store.state_digest().expect("digest");
    let again = t.store.apply_pulled(&page, Some("1")).expect("again");
    assert_eq!((first.merged, again.merged, again.duplicates), (1, 0, 1));
    assert_eq!(t.store.state_digest().expect("digest"), digest);
    assert_eq!(t.store.household(h).expect("detail").visits.len(), 1);
}
