//! The tablet app's commands (`doorstep-app-api`, what every screen calls)
//! against the real server on loopback: enrol with a code, receive the
//! commune, work on with the server down (the sync screen says so, nothing
//! is lost), and see the work arrive when the server is back. The
//! background sync runs on its own thread, as in the app.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_app_api::App;
use doorstep_app_api::app::AppOptions;
use doorstep_app_api::args::*;
use doorstep_app_api::settings::{Language, Settings, TextSize};
use doorstep_app_api::sync_worker::{SyncPhase, SyncWorker, WorkerOptions};
use doorstep_e2e::{Server, Tablet, campaign, code, quick, visit_new_household};

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

fn open_app(dir: &std::path::Path, events: Arc<Mutex<Vec<SyncWorker>>>) -> App {
    let mut options = AppOptions::new(dir);
    options.sync = quick();
    options.sync.max_attempts = 2;
    options.worker = WorkerOptions {
        // Only "Sync now" and enrolment wake it in this test.
        interval: Duration::from_secs(3600),
        check_timeout: Duration::from_secs(2),
        enabled: true,
    };
    App::open(options, Box::new(move |w| events.lock().unwrap().push(w.clone()))).unwrap()
}

#[test]
fn the_app_works_offline_and_its_changes_arrive_when_the_server_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let mut server = Server::start(&db);
    let addr = server.addr().to_string();

    // Another tablet has registered a household in Bun.
    let mut other = Tablet::enrol(&server.url, &code(&db, &c.member, "Muong Lan"));
    other.sync(&server.url);
    let household = visit_new_household(&mut other.store, &c.communes[0].1[0], "Lò Văn Pắn");
    other.sync(&server.url);

    let events = Arc::new(Mutex::new(Vec::new()));
    let app_dir = dir.path().join("app");
    let app = open_app(&app_dir, Arc::clone(&events));
    let state = app.app_state(NoArgs {}).unwrap();
    assert!(!state.enrolled && state.settings.language.is_none(), "first run");
    app.settings_save(Settings {
        language: Some(Language::Vi),
        text_size: TextSize::Large,
        server_url: None,
        lock_after_minutes: 5,
    })
    .unwrap();

    // A wrong code is refused and changes nothing.
    let wrong = app
        .enrol(EnrolArgs {
            server_url: server.url.clone(),
            code: "AAAAA-BBBBB".into(),
        })
        .unwrap_err();
    assert_eq!(wrong.kind, "bad_code", "{wrong:?}");
    assert!(!app.app_state(NoArgs {}).unwrap().enrolled);

    let state = app
        .enrol(EnrolArgs {
            server_url: server.url.clone(),
            code: code(&db, &c.member, "Muong Lan"),
        })
        .unwrap();
    assert!(state.enrolled);
    assert_eq!(state.commune_name.as_deref(), Some("Muong Lan"));
    // Enrolled, the tablet holds the commune's residents: a PIN first.
    assert!(state.lock.pin_required);
    assert_eq!(app.villages(NoArgs {}).unwrap_err().kind, "pin_required");
    app.pin_setup(PinSetupArgs {
        pin: PinText("4821".into()),
        lead_pin: None,
    })
    .unwrap();
    wait_for("the first sync", || {
        app.sync_screen(NoArgs {}).unwrap().worker.last_summary.is_some()
    });
    assert_eq!(
        app.app_state(NoArgs {}).unwrap().member_name.as_deref(),
        Some("Lò Văn Minh")
    );
    let bun = app
        .villages(NoArgs {})
        .unwrap()
        .into_iter()
        .find(|v| v.name == "Bun")
        .unwrap();
    let rows = app
        .households(HouseholdListArgs {
            village_id: bun.id.clone(),
            status: None,
            search: Some("lo van pan".into()),
        })
        .unwrap();
    assert_eq!(rows.len(), 1, "found by name without diacritics");
    assert_eq!(rows[0].id, household.to_string());

    // The server goes down; the volunteer goes on working.
    server.kill();
    let detail = app
        .household(IdArgs {
            id: household.to_string(),
        })
        .unwrap();
    let person = detail.people[0].id.clone();
    let visit = app
        .visit_record(VisitInput {
            household_id: household.to_string(),
            outcome: "helped".into(),
            notes: Some("Con gái giúp mẹ".into()),
            follow_up_on: None,
            referred_by: None,
        })
        .unwrap();
    let run = app
        .checklist_start(ChecklistStartArgs {
            person_id: person.clone(),
            pack_key: "vssid".into(),
            visit_id: Some(visit.id.clone()),
        })
        .unwrap();
    let mut view = run;
    for (i, step) in view.steps.clone().iter().enumerate() {
        let (outcome, blocker) = if i == 1 {
            ("blocked", Some("no_sms_access".to_owned()))
        } else {
            ("done", None)
        };
        view = app
            .checklist_step(StepInput {
                run_id: view.run.id.clone(),
                step_id: step.id.clone(),
                outcome: outcome.into(),
                blocker,
                note: None,
            })
            .unwrap();
    }
    assert_eq!(view.run.steps_blocked, 1);
    assert_eq!(view.run.steps_done as usize, view.run.steps_total as usize - 1);

    app.sync_now(NoArgs {}).unwrap();
    wait_for("the failed sync", || {
        let w = app.sync_screen(NoArgs {}).unwrap().worker;
        w.phase == SyncPhase::Idle && w.last_failure.is_some()
    });
    let screen = app.sync_screen(NoArgs {}).unwrap();
    assert_eq!(screen.worker.server_reachable, Some(false));
    let kind = screen.worker.last_failure.as_ref().unwrap().kind.clone();
    assert!(
        ["server_unreachable", "no_network", "connection_lost", "timeout"].contains(&kind.as_str()),
        "{kind}"
    );
    assert!(
        screen.pending > u64::from(view.run.steps_total),
        "the visit, the run and its steps wait"
    );

    // The server comes back on the same address: the work arrives.
    let _server = Server::start_on(&db, &addr);
    app.sync_now(NoArgs {}).unwrap();
    wait_for("the sync after the server came back", || {
        let s = app.sync_screen(NoArgs {}).unwrap();
        s.pending == 0 && s.worker.phase == SyncPhase::Idle && s.worker.last_failure.is_none()
    });
    let seen = events.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|w| w.phase == SyncPhase::Syncing && w.progress.is_some())
    );
    assert!(seen.iter().any(|w| w.last_failure.is_some()));

    let mut options = quick();
    options.server_url = Some(format!("http://{addr}"));
    doorstep_device::sync::sync(&mut other.store, &options, &mut |_| {}).unwrap();
    let there = other.store.household(household).unwrap();
    assert!(
        there.visits.iter().any(|v| v.id == visit.id),
        "the visit reached the other tablet"
    );
    let run_there = there.runs.iter().find(|r| r.id == view.run.id).unwrap();
    assert_eq!(run_there.steps_blocked, 1);
    app.shutdown();
}

#[test]
fn practice_mode_uses_its_own_database_and_never_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let app = open_app(dir.path(), Arc::new(Mutex::new(Vec::new())));
    assert!(
        app.villages(NoArgs {}).unwrap().is_empty(),
        "a new tablet holds nothing"
    );
    let state = app.practice_set(PracticeArgs { on: true }).unwrap();
    assert!(state.practice);
    let villages = app.villages(NoArgs {}).unwrap();
    assert!(villages.len() >= 8, "the demo villages to practise on");
    let packs = app.packs(NoArgs {}).unwrap();
    assert!(
        packs.iter().any(|p| p.key == "guide_resident"),
        "the trainees' pack in practice"
    );
    let household = app
        .households(HouseholdListArgs {
            village_id: villages[0].id.clone(),
            status: Some("not_visited".into()),
            search: None,
        })
        .unwrap()
        .remove(0);
    app.visit_record(VisitInput {
        household_id: household.id.clone(),
        outcome: "nobody_home".into(),
        notes: None,
        follow_up_on: None,
        referred_by: None,
    })
    .unwrap();
    app.practice_set(PracticeArgs { on: false }).unwrap();
    assert!(
        app.villages(NoArgs {}).unwrap().is_empty(),
        "practice wrote nothing to the field database"
    );
    assert!(!app.packs(NoArgs {}).unwrap().iter().any(|p| p.key == "guide_resident"));
    assert_eq!(app.sync_screen(NoArgs {}).unwrap().pending, 0);
    // Bad input names the field and changes nothing.
    let bad = app
        .visit_record(VisitInput {
            household_id: household.id.clone(),
            outcome: "maybe".into(),
            notes: None,
            follow_up_on: None,
            referred_by: None,
        })
        .unwrap_err();
    assert_eq!(bad.kind, "bad_input");
    assert!(bad.message.contains("maybe"), "{}", bad.message);
    app.shutdown();
}
