//! Property: three devices edit offline (creating households, people, visits
//! and checklist runs, editing the same fields, with clocks jumping back to
//! 1970), then every replica - the devices themselves and fresh stores -
//! receives all changes in any order, with duplicates, in pages of any size.
//! All end with the same materialised tables (same state digest).

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use common::today;
use doorstep_core::change::Change;
use doorstep_core::entities::{Commune, Household, Patch, Person, StepStatus, Village};
use doorstep_core::ids::{CommuneId, HouseholdId, PersonId, VillageId};
use doorstep_core::phone::Phone;
use doorstep_core::text::{Notes, PersonName, PlaceName};
use doorstep_core::vocab::{BlockerReason, VisitOutcome};
use doorstep_device::queries::HouseholdFilter;
use doorstep_device::{CreateOptions, Store};
use proptest::prelude::*;
use tempfile::TempDir;

#[derive(Debug, Clone)]
enum Op {
    AddHousehold { d: usize },
    EditHousehold { d: usize, h: usize, field: u8, value: u8 },
    AddPerson { d: usize, h: usize },
    EditPerson { d: usize, p: usize, value: u8 },
    Visit { d: usize, h: usize, outcome: u8 },
    Checklist { d: usize, p: usize, steps: u8 },
    Exchange { from: usize, to: usize },
    Clock { d: usize, to_1970: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0..3usize;
    prop_oneof![
        2 => d.clone().prop_map(|d| Op::AddHousehold { d }),
        5 => (d.clone(), any::<usize>(), 0..4u8, any::<u8>()).prop_map(|(d, h, field, value)| Op::EditHousehold { d, h, field, value }),
        2 => (d.clone(), any::<usize>()).prop_map(|(d, h)| Op::AddPerson { d, h }),
        2 => (d.clone(), any::<usize>(), any::<u8>()).prop_map(|(d, p, value)| Op::EditPerson { d, p, value }),
        2 => (d.clone(), any::<usize>(), 0..5u8).prop_map(|(d, h, outcome)| Op::Visit { d, h, outcome }),
        2 => (d.clone(), any::<usize>(), 1..5u8).prop_map(|(d, p, steps)| Op::Checklist { d, p, steps }),
        3 => (d.clone(), 0..3usize).prop_map(|(from, to)| Op::Exchange { from, to }),
        1 => (d, any::<bool>()).prop_map(|(d, to_1970)| Op::Clock { d, to_1970 }),
    ]
}

struct Device {
    store: Store,
    wall: Arc<Mutex<DateTime<Utc>>>,
}

fn device(dir: &TempDir, name: &str) -> Device {
    let mut store = Store::create(&dir.path().join(name), CreateOptions::default()).expect("create");
    let wall = Arc::new(Mutex::new(Utc::now()));
    let w = wall.clone();
    store.set_wall_clock(Arc::new(move || *w.lock().expect("clock")));
    Device { store, wall }
}

fn households(store: &Store, village: VillageId) -> Vec<HouseholdId> {
    let rows = store
        .village_households(village, &HouseholdFilter::default())
        .expect("list");
    let mut ids: Vec<HouseholdId> = rows.iter().map(|r| r.id.parse().expect("id")).collect();
    ids.sort();
    ids
}

fn people(store: &Store, village: VillageId) -> Vec<PersonId> {
    let mut out = Vec::new();
    for h in households(store, village) {
        for p in store.household(h).expect("detail").people {
            out.push(p.id.parse().expect("id"));
        }
    }
    out.sort();
    out
}

fn run(ops: &[Op], dir: &TempDir) -> (Vec<Device>, Vec<Change>, VillageId) {
    let mut devices: Vec<Device> = (0..3).map(|i| device(dir, &format!("device-{i}.db"))).collect();
    // The places come from one device (in the field: from the server).
    let commune = Commune {
        id: CommuneId::new(),
        name: PlaceName::parse("Muong Lan").expect("name"),
        province: None,
    };
    let village = Village {
        id: VillageId::new(),
        commune_id: commune.id,
        name: PlaceName::parse("Tam Tu").expect("name"),
    };
    devices[0].store.insert(&commune).expect("commune");
    devices[0].store.insert(&village).expect("village");
    let places = devices[0].store.outbox_after(0, usize::MAX).expect("outbox");
    for d in &mut devices[1..] {
        d.store.apply_pulled(&places, None).expect("places");
    }
    for op in ops {
        match *op {
            Op::Clock { d, to_1970 } => {
                *devices[d].wall.lock().expect("clock") = if to_1970 {
                    Utc.timestamp_millis_opt(0).single().expect("epoch")
                } else {
                    Utc::now()
                };
            }
            Op::Exchange { from, to } => {
                if from != to {
                    let changes = devices[from].store.outbox_after(0, usize::MAX).expect("outbox");
                    devices[to].store.apply_pulled(&changes, None).expect("apply");
                }
            }
            Op::AddHousehold { d } => {
                let store = &mut devices[d].store;
                let h = common::new_household(village.id, "Lò Văn Hùng", store.now());
                store.insert(&h).expect("household");
            }
            Op::EditHousehold { d, h, field, value } => {
                let store = &mut devices[d].store;
                let ids = households(store, village.id);
                if ids.is_empty() {
                    continue;
                }
                let patch = match field {
                    0 => Patch::<Household>::new().notes(Some(Notes::parse(&format!("note {value}")).expect("note"))),
                    1 => Patch::<Household>::new().members_count(Some(value % 20 + 1)),
                    2 => Patch::<Household>::new().phone(Some(
                        Phone::parse(&format!("09123456{:02}", value % 100)).expect("phone"),
                    )),
                    _ => Patch::<Household>::new()
                        .head_name(PersonName::parse(&format!("Quàng Văn {value}x")).expect("name")),
                };
                store.update(ids[h % ids.len()].as_uuid(), patch).expect("edit");
            }
            Op::AddPerson { d, h } => {
                let store = &mut devices[d].store;
                let ids = households(store, village.id);
                if ids.is_empty() {
                    continue;
                }
                common::add_person(store, ids[h % ids.len()], "Lò Thị Xuân");
            }
            Op::EditPerson { d, p, value } => {
                let store = &mut devices[d].store;
                let ids = people(store, village.id);
                if ids.is_empty() {
                    continue;
                }
                let patch = Patch::<Person>::new().birth_year(Some(1950 + u16::from(value % 60)));
                store.update(ids[p % ids.len()].as_uuid(), patch).expect("edit person");
            }
            Op::Visit { d, h, outcome } => {
                let store = &mut devices[d].store;
                let ids = households(store, village.id);
                if ids.is_empty() {
                    continue;
                }
                common::record_visit(
                    store,
                    ids[h % ids.len()],
                    VisitOutcome::ALL[usize::from(outcome) % VisitOutcome::ALL.len()],
                );
            }
            Op::Checklist { d, p, steps } => {
                let store = &mut devices[d].store;
                let ids = people(store, village.id);
                if ids.is_empty() {
                    continue;
                }
                let person = ids[p % ids.len()];
                let household = store.household_of_person(person).expect("household");
                let visit = common::record_visit(store, household, VisitOutcome::Helped);
                let run = store.start_checklist(person, "vneid", Some(visit)).expect("start");
                for i in 0..steps {
                    let status = if i % 3 == 2 {
                        StepStatus::Blocked(BlockerReason::Other)
                    } else {
                        StepStatus::Done
                    };
                    if store.record_step(run.id, None, status, None).is_err() {
                        break;
                    }
                }
            }
        }
    }
    let mut all = Vec::new();
    for d in &devices {
        all.extend(d.store.outbox_after(0, usize::MAX).expect("outbox"));
    }
    (devices, all, village.id)
}

/// Shuffles with duplicates and cuts into pages, from proptest's numbers.
fn deliveries(all: &[Change], swaps: &[(usize, usize)], dups: &[usize], page: usize) -> Vec<Vec<Change>> {
    let mut list: Vec<Change> = all.to_vec();
    for d in dups {
        list.push(all[d % all.len()].clone());
    }
    let n = list.len();
    for (a, b) in swaps {
        list.swap(a % n, b % n);
    }
    list.chunks(page.max(1)).map(<[Change]>::to_vec).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_replica_converges_whatever_the_delivery(
        ops in prop::collection::vec(op(), 5..40),
        swaps in prop::collection::vec((any::<usize>(), any::<usize>()), 0..200),
        dups in prop::collection::vec(any::<usize>(), 0..30),
        page in 1..60usize,
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let (mut devices, all, _) = run(&ops, &dir);
        let mut digests = Vec::new();
        for (i, d) in devices.iter_mut().enumerate() {
            let rotated: Vec<(usize, usize)> = swaps.iter().map(|(a, b)| (a.wrapping_add(i), b.wrapping_mul(i + 1))).collect();
            for batch in deliveries(&all, &rotated, &dups, page + i) {
                d.store.apply_pulled(&batch, None).expect("apply");
            }
            digests.push(d.store.state_digest().expect("digest"));
        }
        for k in 0..2 {
            let mut observer = device(&dir, &format!("observer-{k}.db"));
            let reversed: Vec<(usize, usize)> = swaps.iter().rev().map(|(a, b)| (b.wrapping_add(k), *a)).collect();
            for batch in deliveries(&all, &reversed, &dups, page * (k + 2)) {
                observer.store.apply_pulled(&batch, None).expect("apply");
            }
            let status = observer.store.status().expect("status");
            prop_assert_eq!(status.waiting_changes, 0, "nothing left waiting once everything arrived");
            prop_assert_eq!(status.invalid_changes, 0);
            digests.push(observer.store.state_digest().expect("digest"));
        }
        for d in &digests[1..] {
            prop_assert_eq!(d, &digests[0]);
        }
    }
}

#[test]
fn the_same_field_changed_on_two_devices_converges_and_keeps_the_loser() {
    let dir = tempfile::tempdir().expect("dir");
    let ops = [
        Op::AddHousehold { d: 0 },
        Op::Exchange { from: 0, to: 1 },
        Op::EditHousehold {
            d: 0,
            h: 0,
            field: 0,
            value: 1,
        },
        Op::EditHousehold {
            d: 1,
            h: 0,
            field: 0,
            value: 2,
        },
    ];
    let (mut devices, all, village) = run(&ops, &dir);
    for d in &mut devices {
        d.store.apply_pulled(&all, None).expect("apply");
    }
    let digests: Vec<String> = devices
        .iter()
        .map(|d| d.store.state_digest().expect("digest"))
        .collect();
    assert!(digests.iter().all(|d| *d == digests[0]));
    for d in &devices {
        let conflicts = d.store.conflicts().expect("conflicts");
        assert_eq!(conflicts.len(), 1, "recorded for review on every device");
        assert_eq!(conflicts[0].field, "notes");
        let shown = d
            .store
            .household(households(&d.store, village)[0])
            .expect("detail")
            .notes;
        assert_ne!(
            Some(conflicts[0].losing.clone()),
            shown.map(serde_json::Value::String),
            "the loser is not shown"
        );
    }
    let _ = today();
}
