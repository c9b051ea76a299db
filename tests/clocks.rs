//! Tablets with wrong clocks against the real server: one two days ahead,
//! one reset to 2000-01-01. Their changes keep their order, the server
//! replaces the stamps that are too far ahead, every replica ends the same,
//! and after a sync the tablets date new records correctly.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use doorstep_core::entities::{Household, Patch};
use doorstep_core::phone::Phone;
use doorstep_e2e::{Server, Tablet, campaign, code, visit_new_household};

fn clock(at: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> doorstep_device::WallClock {
    Arc::new(at)
}

fn phone(store: &doorstep_device::Store, household: doorstep_core::ids::HouseholdId) -> Option<String> {
    store.household(household).unwrap().phone
}

#[test]
fn wrong_tablet_clocks_keep_order_and_are_corrected_by_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let mut ahead = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut reset = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let mut right = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    for t in [&mut ahead, &mut reset, &mut right] {
        t.sync(&server.url);
    }

    // Two days ahead: a household and an edit, offline.
    ahead.store.set_wall_clock(clock(|| Utc::now() + Duration::days(2)));
    let h = visit_new_household(&mut ahead.store, &villages[0], "Lò Văn Pắn");
    ahead
        .store
        .update::<Household>(
            h.as_uuid(),
            Patch::<Household>::new().phone(Some(Phone::parse("0912345678").unwrap())),
        )
        .unwrap();
    let report = ahead.sync(&server.url);
    assert!(
        report.restamped > 0,
        "the server replaced the future stamps: {report:?}"
    );

    // A tablet with the right clock edits the same field afterwards: its
    // edit is the newer one and wins everywhere, with no conflict, although
    // the first tablet's clock said two days later.
    right.sync(&server.url);
    right
        .store
        .update::<Household>(
            h.as_uuid(),
            Patch::<Household>::new().phone(Some(Phone::parse("0987654321").unwrap())),
        )
        .unwrap();
    right.sync(&server.url);

    // Reset to 2000: its writes still sort after everything it has seen.
    reset
        .store
        .set_wall_clock(clock(|| Utc.with_ymd_and_hms(2000, 1, 1, 8, 0, 0).unwrap()));
    reset.sync(&server.url);
    assert_eq!(phone(&reset.store, h).as_deref(), Some("0987654321"));
    reset
        .store
        .update::<Household>(
            h.as_uuid(),
            Patch::<Household>::new().phone(Some(Phone::parse("0333444555").unwrap())),
        )
        .unwrap();
    reset.sync(&server.url);
    ahead.sync(&server.url);
    right.sync(&server.url);

    for t in [&ahead, &reset, &right] {
        assert_eq!(
            phone(&t.store, h).as_deref(),
            Some("0333444555"),
            "the last edit wins on every tablet"
        );
        assert!(
            t.store.conflicts().unwrap().is_empty(),
            "edits made on top of each other are no conflict"
        );
    }
    let digests: Vec<String> = [&ahead, &reset, &right]
        .iter()
        .map(|t| t.store.state_digest().unwrap())
        .collect();
    assert!(digests.iter().all(|d| d == &digests[0]), "replicas differ");

    // After a sync both wrong clocks are corrected for what comes next.
    for t in [&ahead, &reset] {
        let shown = t.store.now();
        assert!(
            (shown - Utc::now()).num_minutes().abs() < 5,
            "corrected time {shown} is today's (wall clock says {})",
            t.store.now() - Duration::milliseconds(t.store.clock_offset_ms())
        );
        assert_eq!(t.store.today(), right.store.today());
    }
}
