//! Helpers shared by the device store's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use doorstep_core::entities::{Household, Person, Visit};
use doorstep_core::ids::{HouseholdId, PersonId, VillageId, VisitId};
use doorstep_core::text::PersonName;
use doorstep_core::vocab::{PhoneKind, VisitOutcome};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::{CreateOptions, Store};
use tempfile::TempDir;

/// A fresh store in a temporary directory (a real file, WAL and all).
#[derive(Debug)]
pub struct TempStore {
    pub dir: TempDir,
    pub store: Store,
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::create(&dir.path().join("device.db"), CreateOptions::default()).expect("create store");
        TempStore { dir, store }
    }

    pub fn with_demo() -> TempStore {
        let mut t = TempStore::new();
        load_demo(
            &mut t.store,
            DemoOptions {
                history: false,
                today: today(),
            },
        )
        .expect("demo loads");
        t
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("device.db")
    }
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub fn village(store: &Store, name: &str) -> VillageId {
    store.find_village(name, None).expect("village").id.parse().expect("id")
}

/// A household with only the required fields, created at `created_at`.
pub fn new_household(village: VillageId, head: &str, created_at: chrono::DateTime<Utc>) -> Household {
    Household {
        id: HouseholdId::new(),
        village_id: village,
        head_name: PersonName::parse(head).expect("name"),
        landmark: None,
        phone: None,
        members_count: None,
        language: None,
        notes: None,
        location: None,
        created_at,
    }
}

pub fn add_household(store: &mut Store, village: VillageId, head: &str) -> HouseholdId {
    let h = new_household(village, head, store.now());
    store.insert(&h).expect("household");
    h.id
}

pub fn add_person(store: &mut Store, household: HouseholdId, name: &str) -> PersonId {
    let p = Person {
        id: PersonId::new(),
        household_id: household,
        name: PersonName::parse(name).expect("name"),
        birth_year: Some(1990),
        phone: None,
        phone_kind: Some(PhoneKind::Android),
        phone_in_own_name: Some(true),
        chip_id_card: Some(true),
        notes: None,
    };
    store.insert(&p).expect("person");
    p.id
}

pub fn record_visit(store: &mut Store, household: HouseholdId, outcome: VisitOutcome) -> VisitId {
    let v = Visit {
        id: VisitId::new(),
        household_id: household,
        member_id: None,
        device_id: store.device_id(),
        started_at: store.now(),
        ended_at: None,
        outcome,
        follow_up_on: None,
        notes: None,
        referred_by: None,
    };
    store.insert(&v).expect("visit");
    v.id
}
