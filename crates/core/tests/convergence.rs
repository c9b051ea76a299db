//! Property: whatever order changes from three devices arrive in, with
//! duplicates, every replica ends in the same state (winners and conflicts).

use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::hlc::{Hlc, HlcClock};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::replica::Replica;
use doorstep_core::schema::{EntityKind, FieldValue};
use proptest::prelude::*;
use uuid::Uuid;

/// One thing a device does in the simulation.
#[derive(Debug, Clone)]
enum Step {
    /// Device `d` creates household number `h` (if it is not there yet).
    Create { d: usize, h: usize },
    /// Device `d` edits field `f` of household `h` to value `v`.
    Edit { d: usize, h: usize, f: usize, v: u8 },
    /// Device `to` receives everything device `from` has written so far.
    Exchange { from: usize, to: usize },
    /// Device `d`'s wall clock jumps to `ms` (back to 1970, or ahead).
    ClockJump { d: usize, ms: u64 },
}

const EDITABLE: [&str; 3] = ["notes", "members_count", "landmark"];
const HOUSEHOLDS: usize = 3;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..3usize, 0..HOUSEHOLDS).prop_map(|(d, h)| Step::Create { d, h }),
        4 => (0..3usize, 0..HOUSEHOLDS, 0..EDITABLE.len(), 1..20u8).prop_map(|(d, h, f, v)| Step::Edit { d, h, f, v }),
        2 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Exchange { from, to }),
        1 => (0..3usize, prop_oneof![Just(0u64), 1_700_000_000_000..1_800_000_000_000u64]).prop_map(|(d, ms)| Step::ClockJump { d, ms }),
    ]
}

struct Device {
    id: DeviceId,
    clock: HlcClock,
    wall: u64,
    replica: Replica,
    log: Vec<Change>,
}

fn household_id(h: usize) -> Uuid {
    Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 + h as u128)
}

fn value(f: usize, v: u8) -> FieldValue {
    match EDITABLE[f] {
        "members_count" => FieldValue::Int(i64::from(v)),
        _ => FieldValue::Text(format!("value {v}")),
    }
}

/// Runs the simulation; returns every change any device wrote.
fn simulate(steps: &[Step]) -> Vec<Change> {
    let mut devices: Vec<Device> = (0..3u8)
        .map(|i| Device {
            id: DeviceId::from_parts(0, [i + 1; 10]),
            clock: HlcClock::resume(Hlc::ZERO),
            wall: 1_795_000_000_000,
            replica: Replica::new(),
            log: Vec::new(),
        })
        .collect();
    for step in steps {
        match *step {
            Step::ClockJump { d, ms } => devices[d].wall = ms,
            Step::Exchange { from, to } => {
                let changes = devices[from].log.clone();
                let dev = &mut devices[to];
                for c in &changes {
                    dev.clock.observe_trusted(c.hlc);
                    dev.replica.apply(c);
                }
            }
            Step::Create { d, h } => {
                let dev = &mut devices[d];
                let key = (EntityKind::Household, household_id(h));
                if dev.replica.entity(&key).is_some_and(|e| e.exists) {
                    continue;
                }
                let fields = [
                    ("village_id", FieldValue::from("01930000-0000-7000-8000-000000000001")),
                    ("head_name", FieldValue::from(format!("Head {h}"))),
                    ("created_at", FieldValue::from("2026-11-27T08:30:00.000Z")),
                ];
                write(dev, h, ChangeOp::Create, &fields);
            }
            Step::Edit { d, h, f, v } => {
                let dev = &mut devices[d];
                let key = (EntityKind::Household, household_id(h));
                if !dev.replica.entity(&key).is_some_and(|e| e.exists) {
                    continue;
                }
                write(dev, h, ChangeOp::Update, &[(EDITABLE[f], value(f, v))]);
            }
        }
    }
    devices.into_iter().flat_map(|d| d.log).collect()
}

fn write(dev: &mut Device, h: usize, op: ChangeOp, fields: &[(&str, FieldValue)]) {
    let key = (EntityKind::Household, household_id(h));
    let hlc = dev.clock.tick(dev.wall);
    let entity = dev.replica.entity(&key);
    let writes = fields
        .iter()
        .map(|(name, value)| FieldWrite {
            field: (*name).to_owned(),
            value: value.clone(),
            base: entity
                .and_then(|e| e.fields.get(*name))
                .and_then(|f| f.winner.as_ref())
                .map(|w| w.version),
            resolves: vec![],
        })
        .collect();
    let change = Change {
        id: change_id(dev, hlc),
        device: dev.id,
        seq: dev.log.len() as u64 + 1,
        hlc,
        entity: EntityKind::Household,
        entity_id: household_id(h),
        op,
        fields: writes,
    };
    change.validate().expect("simulated changes are valid");
    dev.replica.apply(&change);
    dev.log.push(change);
}

/// A delivery: every change at least once, some twice, in a shuffled order.
fn delivery(changes: Vec<Change>, order: &[usize], dups: &[usize]) -> Vec<Change> {
    let mut out: Vec<Change> = changes.clone();
    for d in dups {
        if !changes.is_empty() {
            out.push(changes[d % changes.len()].clone());
        }
    }
    let n = out.len();
    for (i, j) in order.iter().enumerate() {
        if n > 1 {
            out.swap(i % n, j % n);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_order_with_duplicates_converges(
        steps in prop::collection::vec(step(), 1..60),
        orders in prop::collection::vec(prop::collection::vec(any::<usize>(), 0..120), 3),
        dups in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let changes = simulate(&steps);
        let mut snapshots = Vec::new();
        for order in &orders {
            let mut replica = Replica::new();
            for c in delivery(changes.clone(), order, &dups) {
                replica.apply(&c);
            }
            prop_assert_eq!(replica.waiting(), 0);
            snapshots.push(replica.snapshot());
        }
        prop_assert_eq!(&snapshots[0], &snapshots[1]);
        prop_assert_eq!(&snapshots[1], &snapshots[2]);
    }
}

#[test]
fn concurrent_edits_are_kept_as_a_conflict() {
    let steps = [
        Step::Create { d: 0, h: 0 },
        Step::Exchange { from: 0, to: 1 },
        Step::Edit { d: 0, h: 0, f: 0, v: 1 },
        Step::Edit { d: 1, h: 0, f: 0, v: 2 },
    ];
    let mut replica = Replica::new();
    for c in simulate(&steps) {
        replica.apply(&c);
    }
    let snapshot = replica.snapshot();
    let (_, fields) = &snapshot[&(EntityKind::Household, household_id(0))];
    let (winner, losers) = &fields["notes"];
    assert!(winner.is_some());
    assert_eq!(losers.len(), 1, "the losing edit is kept for review");
}

fn change_id(dev: &Device, hlc: Hlc) -> ChangeId {
    let mut random = [0u8; 10];
    random[0] = dev.id.as_uuid().as_bytes()[6];
    random[1] = dev.id.as_uuid().as_bytes()[15];
    random[2..].copy_from_slice(&(dev.log.len() as u64).to_be_bytes());
    ChangeId::from_parts(hlc.millis(), random)
}
