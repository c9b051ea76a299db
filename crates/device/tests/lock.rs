//! The app lock's PINs in the tablet's store: hashed, five free tries,
//! then waits of 30 s doubling, one count for the volunteer's and the
//! lead's PIN, measured on a test clock (no sleeping).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use doorstep_device::lock::{Pin, PinCheck, PinRole};
use doorstep_device::{CreateOptions, Store};

struct Clock(Arc<Mutex<DateTime<Utc>>>);

impl Clock {
    fn on(store: &mut Store) -> Clock {
        let now = Arc::new(Mutex::new(Utc::now()));
        let read = Arc::clone(&now);
        store.set_wall_clock(Arc::new(move || *read.lock().expect("clock")));
        Clock(now)
    }

    fn pass(&self, seconds: i64) {
        *self.0.lock().expect("clock") += TimeDelta::seconds(seconds);
    }
}

fn pin(s: &str) -> Pin {
    Pin::parse(s).expect("a pin")
}

#[test]
fn five_wrong_pins_cost_a_wait_that_doubles_and_a_right_one_clears_it() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::create(&dir.path().join("t.db"), CreateOptions::default()).expect("create");
    let clock = Clock::on(&mut store);
    assert_eq!(
        store.check_pin(PinRole::Volunteer, &pin("1234")).expect("check"),
        PinCheck::NotSet
    );
    store.set_pin(PinRole::Volunteer, &pin("4821")).expect("set");
    store.set_pin(PinRole::Lead, &pin("9090")).expect("set lead");
    let status = store.pin_status().expect("status");
    assert!(status.pin_set && status.lead_pin_set);

    for left in (0..5).rev() {
        let wait = if left == 0 { 30 } else { 0 };
        assert_eq!(
            store.check_pin(PinRole::Volunteer, &pin("0000")).expect("check"),
            PinCheck::Wrong {
                tries_left: left,
                wait_seconds: wait
            }
        );
    }
    // During the wait nothing is checked, not even the right PIN, nor the
    // lead's: one count for both.
    assert_eq!(
        store.check_pin(PinRole::Volunteer, &pin("4821")).expect("check"),
        PinCheck::Wait { seconds: 30 }
    );
    clock.pass(10);
    assert_eq!(
        store.check_pin(PinRole::Lead, &pin("9090")).expect("check"),
        PinCheck::Wait { seconds: 20 }
    );
    assert_eq!(store.pin_status().expect("status").wait_seconds, 20);
    clock.pass(20);
    // The sixth wrong PIN doubles the wait, a wrong lead PIN counts too.
    assert_eq!(
        store.check_pin(PinRole::Lead, &pin("1111")).expect("check"),
        PinCheck::Wrong {
            tries_left: 0,
            wait_seconds: 60
        }
    );
    clock.pass(60);
    assert_eq!(
        store.check_pin(PinRole::Volunteer, &pin("4821")).expect("check"),
        PinCheck::Right
    );
    let status = store.pin_status().expect("status");
    assert_eq!(
        (status.failures, status.wait_seconds),
        (0, 0),
        "a right PIN clears the count"
    );
}

#[test]
fn a_lead_reset_replaces_the_pin_and_pins_survive_a_reopen_hashed() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.db");
    let mut store = Store::create(&path, CreateOptions::default()).expect("create");
    store.set_pin(PinRole::Volunteer, &pin("4821")).expect("set");
    store.set_pin(PinRole::Lead, &pin("909090")).expect("set lead");
    assert!(store.pin_is(PinRole::Lead, &pin("909090")).expect("is"));
    assert!(!store.pin_is(PinRole::Volunteer, &pin("909090")).expect("is"));
    assert_eq!(
        store.check_pin(PinRole::Lead, &pin("909090")).expect("check"),
        PinCheck::Right
    );
    store.set_pin(PinRole::Volunteer, &pin("5566")).expect("reset");
    drop(store);
    let mut store = Store::open(&path).expect("reopen");
    assert!(matches!(
        store.check_pin(PinRole::Volunteer, &pin("4821")).expect("check"),
        PinCheck::Wrong { .. }
    ));
    assert_eq!(
        store.check_pin(PinRole::Volunteer, &pin("5566")).expect("check"),
        PinCheck::Right
    );
    // Stored as argon2id hashes, never the digits.
    let conn = doorstep_device::key::open_raw(&path).expect("raw");
    let (volunteer, lead): (String, String) = conn
        .query_row(
            "SELECT pin_hash, lead_pin_hash FROM device_lock WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert!(
        volunteer.starts_with("$argon2id$") && lead.starts_with("$argon2id$"),
        "{volunteer}"
    );
    assert!(!volunteer.contains("5566") && !lead.contains("909090"));
}
