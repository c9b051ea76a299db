//! A volunteer's day, the unit of the sync benchmarks: per household, three
//! people, one visit, a VNeID checklist for each person with ten step
//! events (one step blocked, then done on a second try). 50 households make
//! 50 visits, 150 runs and 1,500 step events (plus the 50 households and
//! 150 people themselves): 1,900 changes.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::entities::{ChecklistRun, Entity, Household, Person, StepEvent, StepStatus, Visit};
use doorstep_core::hlc::{Hlc, HlcClock, wall_millis};
use doorstep_core::ids::{ChangeId, ChecklistRunId, DeviceId, HouseholdId, PersonId, StepEventId, VillageId, VisitId};
use doorstep_core::phone::Phone;
use doorstep_core::text::{Key, Landmark, PersonName};
use doorstep_core::vocab::{BlockerReason, PhoneKind, VisitOutcome};
use doorstep_device::Store;

/// The ten step events of one run: (step, blocked?).
const STEPS: [(&str, bool); 10] = [
    ("install", false),
    ("prepare", false),
    ("register", true),
    ("register", false),
    ("level2", false),
    ("activate", false),
    ("passcode", false),
    ("sign_in", false),
    ("check_id_card", false),
    ("stay_safe", false),
];

const GIVEN: [&str; 6] = ["Văn Pắn", "Thị Xuân", "Văn Minh", "Thị Ơn", "A Sử", "Thị Bua"];
const FAMILY: [&str; 6] = ["Lò", "Quàng", "Tòng", "Cà", "Giàng", "Mè"];

fn name(n: usize) -> PersonName {
    PersonName::parse(&format!("{} {}", FAMILY[n % 6], GIVEN[(n / 6) % 6])).expect("valid name")
}

fn phone(n: usize) -> Phone {
    Phone::parse(&format!("09{:08}", (n * 7_919_993) % 100_000_000)).expect("valid phone")
}

fn status(blocked: bool) -> StepStatus {
    if blocked {
        StepStatus::Blocked(BlockerReason::NoSmsAccess)
    } else {
        StepStatus::Done
    }
}

/// One record of the day.
#[derive(Debug, Clone)]
pub enum DayRecord {
    /// A household found.
    Household(Household),
    /// Its visit.
    Visit(Visit),
    /// A person in it.
    Person(Person),
    /// A checklist started for the person.
    Run(ChecklistRun),
    /// A step of it.
    Step(StepEvent),
}

impl DayRecord {
    fn kind_id_fields(
        &self,
    ) -> (
        doorstep_core::schema::EntityKind,
        uuid::Uuid,
        doorstep_core::entities::Fields,
    ) {
        fn of<E: Entity>(
            e: &E,
        ) -> (
            doorstep_core::schema::EntityKind,
            uuid::Uuid,
            doorstep_core::entities::Fields,
        ) {
            (E::KIND, e.entity_id(), e.fields())
        }
        match self {
            DayRecord::Household(e) => of(e),
            DayRecord::Visit(e) => of(e),
            DayRecord::Person(e) => of(e),
            DayRecord::Run(e) => of(e),
            DayRecord::Step(e) => of(e),
        }
    }
}

/// The day's records, in the order a volunteer makes them. `step_id` gives
/// each step event its id (a device makes it the creating change's id).
pub fn day(device: DeviceId, villages: &[VillageId], households: usize, start: DateTime<Utc>) -> Vec<DayRecord> {
    let mut out = Vec::new();
    let mut at = start;
    for h in 0..households {
        let household = Household {
            id: HouseholdId::new(),
            village_id: villages[h % villages.len()],
            head_name: name(h * 3),
            landmark: Some(Landmark::parse("gần nhà văn hoá bản").expect("landmark")),
            phone: Some(phone(h)),
            members_count: Some(4),
            language: None,
            notes: None,
            location: None,
            created_at: at,
        };
        let visit = Visit {
            id: VisitId::new(),
            household_id: household.id,
            member_id: None,
            device_id: device,
            started_at: at,
            ended_at: None,
            outcome: VisitOutcome::Helped,
            follow_up_on: None,
            notes: None,
            referred_by: None,
        };
        let (hid, vid) = (household.id, visit.id);
        out.push(DayRecord::Household(household));
        out.push(DayRecord::Visit(visit));
        for p in 0..3 {
            let person = Person {
                id: PersonId::new(),
                household_id: hid,
                name: name(h * 3 + p),
                birth_year: Some(1960 + ((h * 3 + p) % 50) as u16),
                phone: Some(phone(h * 3 + p + 1)),
                phone_kind: Some(PhoneKind::Android),
                phone_in_own_name: Some(true),
                chip_id_card: Some(true),
                notes: None,
            };
            let run = ChecklistRun {
                id: ChecklistRunId::new(),
                visit_id: vid,
                person_id: person.id,
                household_id: hid,
                pack_key: Key::parse("vneid").expect("key"),
                pack_version: 1,
                started_at: at,
            };
            let rid = run.id;
            out.push(DayRecord::Person(person));
            out.push(DayRecord::Run(run));
            for (step, blocked) in STEPS {
                at += Duration::seconds(40);
                out.push(DayRecord::Step(StepEvent {
                    id: StepEventId::new(),
                    run_id: rid,
                    step_id: Key::parse(step).expect("key"),
                    status: status(blocked),
                    at,
                    note: None,
                }));
            }
        }
    }
    out
}

/// The day as change records of `device` from `first_seq` on, as its
/// outbox would hold them (for load generators that bypass a device store).
pub fn day_changes(
    device: DeviceId,
    first_seq: u64,
    villages: &[VillageId],
    households: usize,
    start: DateTime<Utc>,
) -> Vec<Change> {
    let mut clock = HlcClock::resume(Hlc::ZERO);
    day(device, villages, households, start)
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let seq = first_seq + i as u64;
            let id = ChangeId::derive(device, seq);
            let (kind, mut entity_id, fields) = record.kind_id_fields();
            if matches!(record, DayRecord::Step(_)) {
                // A step event's id is the id of the change that creates it.
                entity_id = id.as_uuid();
            }
            Change {
                id,
                device,
                seq,
                hlc: clock.tick(wall_millis(start) + i as u64),
                entity: kind,
                entity_id,
                op: ChangeOp::Create,
                fields: fields
                    .into_iter()
                    .map(|(f, v)| FieldWrite {
                        field: f.to_owned(),
                        value: v,
                        base: None,
                        resolves: Vec::new(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Records the day on a real device store through its public API, as the
/// app does. Returns the number of changes written.
pub fn record_day(store: &mut Store, villages: &[VillageId], households: usize) -> u64 {
    let before = store.sync_position().expect("position").last_seq;
    let start = store.now();
    let mut runs = std::collections::HashMap::new();
    for record in day(store.device_id(), villages, households, start) {
        match record {
            DayRecord::Household(e) => drop(store.insert(&e).expect("household")),
            DayRecord::Visit(e) => drop(store.insert(&e).expect("visit")),
            DayRecord::Person(e) => drop(store.insert(&e).expect("person")),
            DayRecord::Run(e) => {
                let run = store
                    .start_checklist(e.person_id, "vneid", Some(e.visit_id))
                    .expect("checklist");
                runs.insert(e.id, run.id);
            }
            DayRecord::Step(e) => {
                store
                    .record_step(runs[&e.run_id], Some(e.step_id.as_str()), e.status, None)
                    .expect("step");
            }
        }
    }
    store.sync_position().expect("position").last_seq - before
}
