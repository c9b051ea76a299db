//! A lost tablet gives away nothing, through the app's own commands and the
//! real server on loopback:
//! - the data folder's raw bytes (databases, WAL, journals, practice
//!   database, key files) hold no resident's name or phone;
//! - an enrolled tablet needs a PIN; locked, it answers no data command;
//!   wrong PINs cost a wait; a team lead resets the PIN with theirs; a
//!   restart comes up locked; practice mode needs no PIN;
//! - "revoke and erase" on the server deletes the tablet's data at its
//!   next contact and the server records the acknowledgement; a plain
//!   revoke keeps the data and only stops sync.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_app_api::App;
use doorstep_app_api::app::AppOptions;
use doorstep_app_api::args::*;
use doorstep_app_api::sync_worker::{SyncWorker, WorkerOptions};
use doorstep_device::key::KeyPolicy;
use doorstep_e2e::{Server, Tablet, admin, campaign, code, quick, visit_new_household};

const HEAD: &str = "Quàng Văn Khâm Xuyến";
const NAME: &str = "Lò Thị Mỹ Duyên";
const PHONE: &str = "0912384756";

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_app(dir: &Path) -> App {
    let mut options = AppOptions::new(dir);
    options.sync = quick();
    options.sync.max_attempts = 2;
    options.keys = KeyPolicy::KeyFileOnly;
    options.worker = WorkerOptions {
        interval: Duration::from_secs(3600),
        check_timeout: Duration::from_secs(2),
        enabled: true,
    };
    let events: Arc<Mutex<Vec<SyncWorker>>> = Arc::default();
    App::open(options, Box::new(move |w| events.lock().unwrap().push(w.clone()))).unwrap()
}

fn pin(p: &str) -> PinText {
    PinText(p.into())
}

/// Every file under `dir` (the data folder: databases, WAL, journals,
/// practice database, key files, settings).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Which of `needles` occur anywhere in the raw bytes of the files under `dir`.
fn found_in(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for needle in needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(format!("{needle:?} in {}", file.display()));
            }
        }
    }
    found
}

/// A server with the test campaign, and a household with known residents
/// registered by another tablet of the commune.
struct Office {
    dir: tempfile::TempDir,
    db: PathBuf,
    server: Server,
    member: String,
    household: String,
}

fn office() -> Office {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let mut other = Tablet::enrol(&server.url, &code(&db, &c.member, "Muong Lan"));
    other.sync(&server.url);
    let household = visit_new_household(&mut other.store, &c.communes[0].1[0], HEAD);
    other.sync(&server.url);
    Office {
        dir,
        db,
        server,
        member: c.member,
        household: household.to_string(),
    }
}

/// The app enrolled with the office, its PIN set, synced.
fn enrolled_app(office: &Office, data: &Path, lead_pin: Option<&str>) -> App {
    let app = open_app(data);
    let state = app
        .enrol(EnrolArgs {
            server_url: office.server.url.clone(),
            code: code(&office.db, &office.member, "Muong Lan"),
        })
        .unwrap();
    assert!(state.lock.pin_required, "a PIN right after enrolment");
    app.pin_setup(PinSetupArgs {
        pin: pin("4821"),
        lead_pin: lead_pin.map(pin),
    })
    .unwrap();
    wait_for("the first sync", || {
        app.sync_screen(NoArgs {}).unwrap().worker.last_summary.is_some()
    });
    app
}

#[test]
fn the_data_folder_holds_no_name_or_phone_in_its_raw_bytes() {
    let office = office();
    let data = office.dir.path().join("tablet");
    let app = enrolled_app(&office, &data, None);
    // The volunteer adds a resident with a phone, visits, and practises.
    app.person_save(PersonInput {
        id: None,
        household_id: office.household.clone(),
        name: NAME.into(),
        birth_year: Some(1979),
        phone: Some(PHONE.into()),
        phone_kind: Some("android".into()),
        phone_in_own_name: Some(true),
        chip_id_card: Some(true),
        notes: None,
    })
    .unwrap();
    app.visit_record(VisitInput {
        household_id: office.household.clone(),
        outcome: "helped".into(),
        notes: Some(format!("{NAME} gọi {PHONE}")),
        follow_up_on: None,
        referred_by: None,
    })
    .unwrap();
    let detail = app
        .household(IdArgs {
            id: office.household.clone(),
        })
        .unwrap();
    assert!(detail.people.iter().any(|p| p.name == NAME) && detail.people.iter().any(|p| p.name == HEAD));
    app.practice_set(PracticeArgs { on: true }).unwrap();
    let village = app.villages(NoArgs {}).unwrap().remove(0);
    let practice_head = app
        .households(HouseholdListArgs {
            village_id: village.id,
            status: None,
            search: None,
        })
        .unwrap()
        .remove(0)
        .head_name;
    app.practice_set(PracticeArgs { on: false }).unwrap();
    let key_holder = app.app_state(NoArgs {}).unwrap().key_holder;
    assert_eq!(key_holder, Some(doorstep_device::key::KeyHolder::KeyFile));

    // While the app runs (WAL and all) and after it stopped.
    let needles = [HEAD, NAME, PHONE, practice_head.as_str()];
    assert_eq!(found_in(&data, &needles), Vec::<String>::new(), "while running");
    app.shutdown();
    drop(app);
    assert!(data.join("practice.db").exists() && data.join("field.db.key").exists());
    assert_eq!(found_in(&data, &needles), Vec::<String>::new(), "after stopping");

    // The same search over a plain copy finds them: the test can fail.
    let plain = office.dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let conn = doorstep_device::key::open_raw(&data.join("field.db")).unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [plain.join("field.db").to_str().unwrap()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    conn.execute("DETACH DATABASE plain", []).unwrap();
    let seen = found_in(&plain, &[HEAD, NAME, PHONE]);
    assert_eq!(seen.len(), 3, "a plain copy gives them away: {seen:?}");
}

#[test]
fn a_locked_app_answers_nothing_until_the_pin_or_a_lead_opens_it() {
    let office = office();
    let data = office.dir.path().join("tablet");
    let app = enrolled_app(&office, &data, Some("909090"));
    assert!(!app.villages(NoArgs {}).unwrap().is_empty());
    let state = app.app_state(NoArgs {}).unwrap();
    assert!(state.lock.pin_set && state.lock.lead_pin_set && !state.lock.locked);

    // Locked (idle or the background): no command reads the field data,
    // and the state shows no name.
    assert!(app.lock_now(NoArgs {}).unwrap().locked);
    for err in [
        app.villages(NoArgs {}).unwrap_err(),
        app.household(IdArgs {
            id: office.household.clone(),
        })
        .unwrap_err(),
        app.sync_screen(NoArgs {}).unwrap_err(),
    ] {
        assert_eq!(err.kind, "locked", "{err:?}");
    }
    let state = app.app_state(NoArgs {}).unwrap();
    assert!(state.lock.locked && state.member_name.is_none());

    // A malformed PIN costs nothing; four wrong ones leave one try; the
    // fifth costs 30 s, and then not even the lead's PIN is checked.
    assert_eq!(app.unlock(PinArgs { pin: pin("12") }).unwrap_err().kind, "bad_pin");
    for left in (1..5).rev() {
        let err = app.unlock(PinArgs { pin: pin("0000") }).unwrap_err();
        assert_eq!(err.kind, "wrong_pin");
        assert!(err.message.contains(&format!("{left} tries left")), "{}", err.message);
        assert!(!err.message.contains("0000"), "the PIN is never repeated");
    }
    let err = app.unlock(PinArgs { pin: pin("0000") }).unwrap_err();
    assert_eq!(err.kind, "pin_wait", "{err:?}");
    let lock = app.lock_state(NoArgs {}).unwrap();
    assert_eq!(lock.failures, 5);
    assert!((29..=30).contains(&lock.wait_seconds), "{lock:?}");
    let during = app
        .pin_reset_by_lead(LeadResetArgs {
            lead_pin: pin("909090"),
            new_pin: pin("2468"),
        })
        .unwrap_err();
    assert_eq!(during.kind, "pin_wait");
    assert!(app.villages(NoArgs {}).is_err(), "still locked");

    // Practice needs no PIN, and ending it shows the lock again.
    app.practice_set(PracticeArgs { on: true }).unwrap();
    assert!(!app.app_state(NoArgs {}).unwrap().lock.locked);
    assert!(!app.villages(NoArgs {}).unwrap().is_empty(), "practice villages");
    let state = app.practice_set(PracticeArgs { on: false }).unwrap();
    assert!(state.lock.locked);

    // A restart waits out nothing and comes up locked. The wait is kept
    // in the encrypted database; here the lead comes back after it.
    app.shutdown();
    drop(app);
    let app = open_app(&data);
    assert!(
        app.app_state(NoArgs {}).unwrap().lock.locked,
        "a restart comes up locked"
    );
    assert!(
        app.lock_state(NoArgs {}).unwrap().wait_seconds > 0,
        "the wait survives a restart"
    );
    app.shutdown();
    drop(app);
    // Moving the wait into the past stands for 30 s passing (no sleeping).
    let conn = doorstep_device::key::open_raw(&data.join("field.db")).unwrap();
    conn.execute(
        "UPDATE device_lock SET wait_until = '2000-01-01T00:00:00.000Z' WHERE id = 1",
        [],
    )
    .unwrap();
    drop(conn);
    let app = open_app(&data);
    let lock = app
        .pin_reset_by_lead(LeadResetArgs {
            lead_pin: pin("909090"),
            new_pin: pin("2468"),
        })
        .unwrap();
    assert!(!lock.locked && lock.failures == 0);
    assert!(!app.villages(NoArgs {}).unwrap().is_empty(), "open again");
    app.lock_now(NoArgs {}).unwrap();
    assert_eq!(app.unlock(PinArgs { pin: pin("4821") }).unwrap_err().kind, "wrong_pin");
    assert!(
        !app.unlock(PinArgs { pin: pin("2468") }).unwrap().locked,
        "the new PIN opens it"
    );

    // Changing PINs needs the current one; the two roles' PINs differ.
    let wrong = app
        .pin_change(PinChangeArgs {
            current: pin("1111"),
            new_pin: pin("1357"),
        })
        .unwrap_err();
    assert_eq!(wrong.kind, "wrong_pin");
    let same = app
        .pin_change(PinChangeArgs {
            current: pin("2468"),
            new_pin: pin("909090"),
        })
        .unwrap_err();
    assert_eq!(same.kind, "bad_pin");
    app.pin_change(PinChangeArgs {
        current: pin("2468"),
        new_pin: pin("1357"),
    })
    .unwrap();
    let no_current = app
        .lead_pin_save(LeadPinArgs {
            current_lead_pin: None,
            new_lead_pin: pin("808080"),
        })
        .unwrap_err();
    assert_eq!(no_current.kind, "wrong_pin");
    app.lead_pin_save(LeadPinArgs {
        current_lead_pin: Some(pin("909090")),
        new_lead_pin: pin("808080"),
    })
    .unwrap();
    let again = app
        .pin_setup(PinSetupArgs {
            pin: pin("9999"),
            lead_pin: None,
        })
        .unwrap_err();
    assert_eq!(again.kind, "rule", "a set PIN is not replaced by a first set-up");
    app.shutdown();
}

fn device_row(db: &Path, device: &str) -> serde_json::Value {
    let out = admin(db, &["--json", "device", "list"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = v
        .as_array()
        .cloned()
        .or_else(|| v["devices"].as_array().cloned())
        .unwrap();
    list.into_iter().find(|d| d["id"] == device).unwrap()
}

#[test]
fn revoke_and_erase_deletes_the_tablet_data_and_the_server_hears_it() {
    let office = office();
    let data = office.dir.path().join("tablet");
    let app = enrolled_app(&office, &data, None);
    app.practice_set(PracticeArgs { on: true }).unwrap();
    app.practice_set(PracticeArgs { on: false }).unwrap();
    // Work that never reaches the server: the server is asked to erase
    // first, so the next contact erases.
    for outcome in ["helped", "revisit"] {
        app.visit_record(VisitInput {
            household_id: office.household.clone(),
            outcome: outcome.into(),
            notes: None,
            follow_up_on: None,
            referred_by: None,
        })
        .unwrap();
    }
    let pending = app.sync_screen(NoArgs {}).unwrap().pending;
    assert!(pending >= 2, "{pending}");
    let device = app.app_state(NoArgs {}).unwrap().device_id;
    admin(&office.db, &["device", "revoke", &device, "--wipe"]);
    app.sync_now(NoArgs {}).unwrap();
    // The notice is written first (an erase cut short is finished at the
    // next start), then the files go: wait for both.
    wait_for("the erase", || {
        app.app_state(NoArgs {}).unwrap().erased.is_some() && !data.join("practice.db.key").exists()
    });
    let state = app.app_state(NoArgs {}).unwrap();
    let notice = state.erased.clone().unwrap();
    assert_eq!(notice.unsent_changes, pending, "the volunteer is told what was lost");
    assert!(!state.enrolled && state.member_name.is_none());
    for gone in [
        "field.db",
        "field.db-wal",
        "field.db-journal",
        "field.db.key",
        "practice.db",
        "practice.db.key",
    ] {
        assert!(!data.join(gone).exists(), "{gone} is erased: {:?}", files(&data));
    }
    let err = app.villages(NoArgs {}).unwrap_err();
    assert_eq!(err.kind, "erased");
    wait_for("the server to hear of the erase", || {
        device_row(&office.db, &device)["erased_at"].is_string()
    });
    let row = device_row(&office.db, &device);
    assert_eq!(row["erased_unsent"], serde_json::json!(pending), "{row}");

    // A restart still shows the notice; reading it leaves a new, empty tablet.
    app.shutdown();
    drop(app);
    let app = open_app(&data);
    assert!(app.app_state(NoArgs {}).unwrap().erased.is_some());
    let state = app.erased_dismiss(NoArgs {}).unwrap();
    assert!(state.erased.is_none() && !state.enrolled && !state.lock.pin_required);
    assert_ne!(state.device_id, device, "a new tablet identity");
    assert!(app.villages(NoArgs {}).unwrap().is_empty());
    app.shutdown();
}

#[test]
fn a_plain_revoke_keeps_the_data_and_stops_sync() {
    let office = office();
    let data = office.dir.path().join("tablet");
    let app = enrolled_app(&office, &data, None);
    let device = app.app_state(NoArgs {}).unwrap().device_id;
    admin(&office.db, &["device", "revoke", &device]);
    app.sync_now(NoArgs {}).unwrap();
    wait_for("the refused sync", || {
        app.sync_screen(NoArgs {})
            .unwrap()
            .worker
            .last_failure
            .is_some_and(|f| f.kind == "token_revoked")
    });
    let state = app.app_state(NoArgs {}).unwrap();
    assert!(state.erased.is_none());
    assert!(data.join("field.db").exists() && data.join("field.db.key").exists());
    assert!(!app.villages(NoArgs {}).unwrap().is_empty(), "the data stays");
    let row = device_row(&office.db, &device);
    assert!(
        row["revoked_at"].is_string() && row["erase_requested_at"].is_null(),
        "{row}"
    );
    app.shutdown();
}
