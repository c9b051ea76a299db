//! Checklist pack versions end to end: the server hands out a corrected
//! pack from `serve --packs DIR`, tablets install it, a run in progress
//! keeps the version it started with, every version ever handed out stays
//! available, and a file that changes a version's steps without a new
//! version is refused at start-up.

#![allow(clippy::unwrap_used)] // a test: a failed step should stop it, with its line

use std::path::{Path, PathBuf};
use std::process::Command;

use doorstep_core::entities::StepStatus;
use doorstep_core::pack::Pack;
use doorstep_e2e::{Server, Tablet, bin, campaign, code, db_arg, visit_new_household};

fn assets_packs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/packs")
}

/// A copy of the real packs in `dir`, with `vneid` replaced by `edit(vneid)`.
fn packs_dir(dir: &Path, edit: impl FnOnce(&mut Pack)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(assets_packs()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let file = dir.join("vneid.toml");
    let mut vneid = Pack::from_toml(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edit(&mut vneid);
    std::fs::write(&file, toml::to_string(&vneid).unwrap()).unwrap();
    dir.to_owned()
}

/// Version n+1 of VNeID: a new first step, the last one dropped.
fn next_version(p: &mut Pack) {
    p.version += 1;
    let mut charge = p.steps[0].clone();
    charge.id = "charge_phone".into();
    charge.illustration = None;
    p.steps.insert(0, charge);
    p.steps.pop();
}

/// `doorstep-server serve` that must refuse to start: exit code and stderr.
fn refused(db: &Path, packs: &Path) -> (Option<i32>, String) {
    let out = Command::new(bin("doorstep-server"))
        .arg("--db")
        .arg(db_arg(db))
        .args(["serve", "--listen", "127.0.0.1:0", "--packs"])
        .arg(packs)
        .env("DOORSTEP_LOG", "warn")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_corrected_pack_reaches_tablets_and_runs_in_progress_keep_their_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let (commune, villages) = &c.communes[0];
    let bundled = Pack::from_toml(&std::fs::read_to_string(assets_packs().join("vneid.toml")).unwrap()).unwrap();

    // Day 1: the packs as built; a volunteer starts VNeID with a resident.
    let server = Server::start_with(&db, "127.0.0.1:0", &["--packs", assets_packs().to_str().unwrap()]);
    let mut tablet = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    tablet.sync(&server.url);
    let household = visit_new_household(&mut tablet.store, &villages[0], "Lò Văn Thành");
    tablet.sync(&server.url);
    let detail = tablet.store.household(household).unwrap();
    let run_id = detail.runs[0].id.parse().unwrap();
    assert_eq!(detail.runs[0].pack_version, bundled.version);
    let address = server.addr().to_string();
    drop(server);

    // Day 2: the office serves a corrected VNeID.
    let v_next = packs_dir(&dir.path().join("next"), next_version);
    let server = Server::start_with(&db, &address, &["--packs", v_next.to_str().unwrap()]);
    let report = tablet.sync(&server.url);
    let newer = format!("vneid v{}", bundled.version + 1);
    assert_eq!(report.packs.installed, vec![newer.clone()], "{:?}", report.packs);
    assert!(report.packs.refused.is_empty(), "{:?}", report.packs);

    // The run in progress keeps its version, steps and progress.
    let view = tablet.store.run_view(run_id, "vi").unwrap();
    assert_eq!(view.run.pack_version, bundled.version);
    assert_eq!(view.steps.len(), bundled.steps.len());
    assert_eq!(view.run.steps_done, 2);
    let last = bundled.steps.last().unwrap().id.clone();
    tablet
        .store
        .record_step(run_id, Some(&last), StepStatus::Done, None)
        .expect("a step only the old version has");
    // New runs take the new version.
    let person = detail.people[1].id.parse().unwrap();
    let fresh = tablet.store.start_checklist(person, "vneid", None).unwrap();
    assert_eq!(fresh.pack_version, bundled.version + 1);
    let fresh_view = tablet.store.run_view(fresh.id, "vi").unwrap();
    assert_eq!(fresh_view.run.current_step.as_deref(), Some("charge_phone"));
    tablet.sync(&server.url);
    drop(server);

    // Day 3: the office goes back to the built-in files by mistake. The
    // server still hands out every version it ever handed out, so a tablet
    // enrolled today gets the newer one and shows both runs.
    let server = Server::start_with(&db, &address, &["--packs", assets_packs().to_str().unwrap()]);
    let mut second = Tablet::enrol(&server.url, &code(&db, &c.member, commune));
    let report = second.sync(&server.url);
    assert!(report.packs.installed.contains(&newer), "{:?}", report.packs);
    let seen = second.store.household(household).unwrap();
    let mut versions: Vec<u32> = seen.runs.iter().map(|r| r.pack_version).collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![bundled.version, bundled.version + 1]);
    let old = seen.runs.iter().find(|r| r.pack_version == bundled.version).unwrap();
    assert_eq!(old.steps_done, 3, "the old run's progress arrived intact");
    drop(server);

    // A file that changes the steps of a version already handed out is
    // refused, and so is a broken pack; neither starts the server.
    let same_version = packs_dir(&dir.path().join("same"), |p| {
        next_version(p);
        p.steps[1].title.insert("vi".into(), "Một bước khác".into());
    });
    let (code_, err) = refused(&db, &same_version);
    assert_eq!(code_, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "vneid version {} changes the steps of the version this server already handed out",
            bundled.version + 1
        )),
        "{err}"
    );
    let broken = packs_dir(&dir.path().join("broken"), |p| {
        p.version += 5;
        p.steps[0].instruction.remove("ar");
    });
    let (code_, err) = refused(&db, &broken);
    assert_eq!(code_, Some(2), "{err}");
    assert!(
        err.contains("vneid.toml") && err.contains("missing translation"),
        "{err}"
    );
}
