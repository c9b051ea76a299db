//! Benchmarks of the device store on a real file (WAL, synchronous=FULL):
//! recording a visit, recording a step event, listing a village's
//! households with progress on a store with 10,000 households and 200,000
//! step events, and applying a pulled page of 500 changes.
//!
//! Run: `cargo bench -p doorstep-device --bench store`. The large store is
//! built once and kept under `target/bench-fixtures/` (rebuilt when missing).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use doorstep_core::change::Change;
use doorstep_core::entities::{ChecklistRun, Household, Person, StepEvent, StepStatus, Visit};
use doorstep_core::ids::{ChecklistRunId, HouseholdId, PersonId, StepEventId, VillageId, VisitId};
use doorstep_core::text::{Key, PersonName};
use doorstep_core::vocab::{BlockerReason, PhoneKind, VisitOutcome};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::queries::HouseholdFilter;
use doorstep_device::{CreateOptions, SCHEMA_VERSION, Store};

const HOUSEHOLDS: usize = 10_000;
const STEP_EVENTS: usize = 200_000;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-fixtures");
    std::fs::create_dir_all(&dir).expect("fixture dir");
    dir
}

/// A short hash of the migration files, so a changed schema rebuilds the
/// fixture instead of benchmarking a stale one.
fn schema_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("migrations")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        hash.update(std::fs::read(&f).expect("migration file"));
    }
    hash.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn household(village: VillageId, n: usize) -> Household {
    Household {
        id: HouseholdId::new(),
        village_id: village,
        head_name: PersonName::parse(&format!("Lò Văn {n}b")).expect("name"),
        landmark: None,
        phone: None,
        members_count: Some(4),
        language: None,
        notes: None,
        location: None,
        created_at: Utc::now(),
    }
}

/// The store benchmarked: plain SQLite as before, or SQLCipher as on every
/// tablet now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Plain,
    Encrypted,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Encrypted => "encrypted",
        }
    }

    /// Opens a copy as its variant: the plain copy stays plain.
    fn open(self, path: &Path) -> Store {
        match self {
            Variant::Plain => Store::open_plain(path).expect("open plain"),
            Variant::Encrypted => Store::open(path).expect("open encrypted"),
        }
    }
}

/// The encrypted fixture: the plain one, copied and opened, which encrypts
/// it in place with a key file beside it (the migration every tablet runs).
fn large_encrypted_store(plain: &Path) -> PathBuf {
    // Named after the page settings too: a change of them builds anew.
    let settings: String = doorstep_cipher::cipher_settings(None)
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        .to_string();
    let path = fixtures().join(format!(
        "large-v{SCHEMA_VERSION}-{}-encrypted-{settings}.db",
        schema_fingerprint()
    ));
    if path.exists() && key_of(&path).exists() {
        return path;
    }
    let building = fixtures().join("large-encrypting.db");
    for f in doorstep_device::encrypt::database_files(&building) {
        let _ = std::fs::remove_file(f);
    }
    std::fs::copy(plain, &building).expect("copy plain fixture");
    drop(Store::open(&building).expect("encrypt"));
    std::fs::rename(key_of(&building), key_of(&path)).expect("keep key");
    std::fs::rename(&building, &path).expect("keep fixture");
    path
}

fn key_of(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", db.display()))
}

/// A plain store with the demo campaign topped up to 10,000 households,
/// each with a person, and visits with vneid runs until there are 200,000
/// step events.
fn large_store() -> PathBuf {
    let path = fixtures().join(format!("large-v{SCHEMA_VERSION}-{}-plain.db", schema_fingerprint()));
    if path.exists() {
        return path;
    }
    let building = fixtures().join("large-building.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    let mut store = Store::create_plain(&building, CreateOptions::default()).expect("create");
    load_demo(
        &mut store,
        DemoOptions {
            history: false,
            today: Utc::now().date_naive(),
        },
    )
    .expect("demo");
    let villages: Vec<VillageId> = store
        .villages()
        .expect("villages")
        .iter()
        .map(|v| v.id.parse().expect("id"))
        .collect();
    let pack = store.latest_pack("vneid").expect("vneid pack");
    let steps: Vec<String> = pack.steps.iter().map(|s| s.id.clone()).collect();
    let existing = store.status().expect("status").households as usize;
    let mut events = 0;
    let mut n = 0;
    while n + existing < HOUSEHOLDS || events < STEP_EVENTS {
        store
            .write(|w| {
                for _ in 0..500 {
                    let village = villages[n % villages.len()];
                    let h = household(village, n);
                    w.create(&h)?;
                    let p = Person {
                        id: PersonId::new(),
                        household_id: h.id,
                        name: PersonName::parse("Lò Thị Xuân").expect("name"),
                        birth_year: Some(1990),
                        phone: None,
                        phone_kind: Some(PhoneKind::Android),
                        phone_in_own_name: Some(true),
                        chip_id_card: Some(n % 5 != 0),
                        notes: None,
                    };
                    w.create(&p)?;
                    n += 1;
                    if events >= STEP_EVENTS {
                        continue;
                    }
                    let v = Visit {
                        id: VisitId::new(),
                        household_id: h.id,
                        member_id: None,
                        device_id: w.device_id(),
                        started_at: w.now(),
                        ended_at: None,
                        outcome: VisitOutcome::Helped,
                        follow_up_on: None,
                        notes: None,
                        referred_by: None,
                    };
                    w.create(&v)?;
                    // Two runs per household, so 10,000 households carry the events.
                    for _ in 0..2 {
                        let run = ChecklistRun {
                            id: ChecklistRunId::new(),
                            visit_id: v.id,
                            person_id: p.id,
                            household_id: h.id,
                            pack_key: Key::parse(&pack.key).expect("key"),
                            pack_version: pack.version,
                            started_at: w.now(),
                        };
                        w.create(&run)?;
                        for (i, step) in steps.iter().enumerate() {
                            let status = if n % 5 == 0 && i == 2 {
                                StepStatus::Blocked(BlockerReason::NoChipIdCard)
                            } else {
                                StepStatus::Done
                            };
                            let e = StepEvent {
                                id: StepEventId::new(),
                                run_id: run.id,
                                step_id: Key::parse(step).expect("key"),
                                status,
                                at: w.now(),
                                note: None,
                            };
                            w.create(&e)?;
                            events += 1;
                            if matches!(status, StepStatus::Blocked(_)) {
                                break;
                            }
                        }
                    }
                }
                Ok(())
            })
            .expect("batch");
    }
    drop(store);
    std::fs::rename(&building, &path).expect("keep fixture");
    path
}

/// 500 changes made on another device: households, people, visits, runs,
/// step events and edits, as a pulled page would carry them.
fn page_of_500(base: &Path) -> Vec<Change> {
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("other.db");
    copy_db(base, &copy);
    let mut other = Store::open_plain(&copy).expect("open copy");
    let village = other
        .find_village("Tam Tu", None)
        .expect("village")
        .id
        .parse()
        .expect("id");
    let start = other.sync_position().expect("position").last_seq;
    let mut made = 0;
    let mut n = 0;
    while made < 500 {
        let h = household(village, 900_000 + n);
        other.insert(&h).expect("household");
        let p = other.write(|w| {
            let p = Person {
                id: PersonId::new(),
                household_id: h.id,
                name: PersonName::parse("Giàng Thị Mỷ").expect("name"),
                birth_year: None,
                phone: None,
                phone_kind: Some(PhoneKind::Android),
                phone_in_own_name: None,
                chip_id_card: Some(true),
                notes: None,
            };
            w.create(&p)?;
            Ok(p.id)
        });
        let p = p.expect("person");
        let v = Visit {
            id: VisitId::new(),
            household_id: h.id,
            member_id: None,
            device_id: other.device_id(),
            started_at: other.now(),
            ended_at: None,
            outcome: VisitOutcome::Helped,
            follow_up_on: None,
            notes: None,
            referred_by: None,
        };
        other.insert(&v).expect("visit");
        let run = other.start_checklist(p, "vneid", Some(v.id)).expect("run");
        for _ in 0..5 {
            other.record_step(run.id, None, StepStatus::Done, None).expect("step");
        }
        let patch = doorstep_core::entities::Patch::<Household>::new().members_count(Some(5));
        other.update(h.id.as_uuid(), patch).expect("edit");
        made += 10;
        n += 1;
    }
    // Pulled changes come from another device id: rewrite the origin, as
    // the copy shares the base store's device id.
    let mut page = other.outbox_after(start, 500).expect("outbox");
    let foreign = doorstep_core::ids::DeviceId::new();
    for c in &mut page {
        c.device = foreign;
    }
    page
}

fn visit(store: &Store, household: HouseholdId) -> Visit {
    Visit {
        id: VisitId::new(),
        household_id: household,
        member_id: None,
        device_id: store.device_id(),
        started_at: Utc::now(),
        ended_at: None,
        outcome: VisitOutcome::Partial,
        follow_up_on: None,
        notes: None,
        referred_by: None,
    }
}

fn start_at_next_door(store: &mut Store, doors: &[(HouseholdId, PersonId)], next: &mut usize) -> ChecklistRunId {
    *next = (*next + 1) % doors.len();
    let (household, person) = doors[*next];
    let v = visit(store, household);
    store.insert(&v).expect("visit");
    store.start_checklist(person, "vneid", Some(v.id)).expect("run").id
}

fn copy_db(from: &Path, to: &Path) {
    // The fixture is closed (checkpointed); the main file is the database,
    // and an encrypted one's key file goes with it.
    std::fs::copy(from, to).expect("copy fixture");
    if key_of(from).exists() {
        std::fs::copy(key_of(from), key_of(to)).expect("copy key");
    }
}

fn benches(c: &mut Criterion) {
    let plain = large_store();
    let encrypted = large_encrypted_store(&plain);
    let page = page_of_500(&plain);
    assert_eq!(page.len(), 500);
    // Plain first, then encrypted, in one run: compare the two as ratios.
    for (variant, base) in [(Variant::Plain, &plain), (Variant::Encrypted, &encrypted)] {
        bench_variant(c, variant, base, &page);
    }
}

fn bench_variant(c: &mut Criterion, variant: Variant, base: &Path, page: &[Change]) {
    let dir = tempfile::tempdir().expect("dir");
    let work = dir.path().join("work.db");
    copy_db(base, &work);
    let mut store = variant.open(&work);
    let villages = store.villages().expect("villages");
    let biggest = villages.iter().max_by_key(|v| v.households).expect("a village");
    let village: VillageId = biggest.id.parse().expect("id");
    let rows = store
        .village_households(village, &HouseholdFilter::default())
        .expect("list");
    // Visits and runs rotate over the village's households, as a volunteer
    // walks from house to house: no household collects thousands of visits.
    let mut doors: Vec<(HouseholdId, PersonId)> = Vec::new();
    for row in &rows {
        let household: HouseholdId = row.id.parse().expect("id");
        if let Some(p) = store.household(household).expect("detail").people.first() {
            doors.push((household, p.id.parse().expect("id")));
        }
    }
    let mut next_door = 0usize;

    let mut group = c.benchmark_group(format!("device_store_{}", variant.name()));
    group.measurement_time(Duration::from_secs(8));
    // Start-up, store side: find the key, open, check the schema, and list
    // the villages (what the first screen asks for).
    group.bench_function("open_and_list_villages", |b| {
        b.iter(|| {
            let s = variant.open(&work);
            s.villages().expect("villages").len()
        });
    });
    // The floor under every write: one row inserted and committed with the
    // same pragmas (WAL, synchronous=FULL), so the write path's own cost
    // reads as a ratio to it.
    let bare = rusqlite::Connection::open(dir.path().join("bare.db")).expect("bare db");
    if variant == Variant::Encrypted {
        // The key comes first, before anything reads the file.
        bare.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
            "ab".repeat(32)
        ))
        .expect("bare key");
    }
    bare.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL);",
    )
    .expect("bare schema");
    group.bench_function("baseline_sqlite_insert_commit", |b| {
        b.iter(|| {
            bare.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                (uuid::Uuid::now_v7().to_string(), "x".repeat(400)),
            )
            .expect("insert");
        });
    });
    group.bench_function(
        format!("village_list_{}_households_of_{HOUSEHOLDS}", biggest.households),
        |b| {
            b.iter(|| {
                store
                    .village_households(village, &HouseholdFilter::default())
                    .expect("list")
            });
        },
    );
    group.bench_function("record_visit", |b| {
        b.iter(|| {
            next_door = (next_door + 1) % doors.len();
            let v = visit(&store, doors[next_door].0);
            store.insert(&v).expect("visit");
        });
    });
    // As in the field: step after step through a run; when a run is
    // finished the volunteer moves to the next house, records the visit and
    // starts the next run - that work is measured too, once every few steps.
    let mut run = start_at_next_door(&mut store, &doors, &mut next_door);
    group.bench_function("record_step_event", |b| {
        b.iter(|| {
            if store.record_step(run, None, StepStatus::Done, None).is_err() {
                run = start_at_next_door(&mut store, &doors, &mut next_door);
                store.record_step(run, None, StepStatus::Done, None).expect("step");
            }
        });
    });
    drop(store);

    group.sample_size(20);
    group.bench_function("apply_pulled_page_of_500", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().expect("dir");
                let p = d.path().join("apply.db");
                copy_db(base, &p);
                let s = variant.open(&p);
                (d, s)
            },
            |(d, mut s)| {
                let report = s.apply_pulled(page, Some("cursor")).expect("apply");
                assert_eq!(report.merged, 500);
                (d, s)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
