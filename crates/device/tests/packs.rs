//! Pack versions on the device: installed versions are immutable, and a
//! newer version never breaks a run that started on an older one.

mod common;

use common::*;
use doorstep_core::entities::StepStatus;
use doorstep_core::vocab::VisitOutcome;
use doorstep_device::StoreError;

#[test]
fn an_installed_version_cannot_change_but_can_be_installed_again() {
    let mut t = TempStore::new();
    let pack = (*t.store.latest_pack("vneid").expect("bundled")).clone();
    assert!(!t.store.install_pack(&pack).expect("same again"), "nothing new");
    let mut changed = pack.clone();
    changed.steps.pop();
    let err = t.store.install_pack(&changed).expect_err("same version, other steps");
    assert!(
        matches!(err, StoreError::Pack(_)) && err.to_string().contains("needs a new version"),
        "{err}"
    );
    let mut broken = pack;
    broken.version += 1;
    broken.steps[0].title.remove("ar");
    let err = t.store.install_pack(&broken).expect_err("invalid pack");
    assert!(err.to_string().contains("missing translation"), "{err}");
}

#[test]
fn a_run_keeps_its_version_when_a_newer_one_arrives() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Lich Tu");
    let h = add_household(&mut t.store, village, "Mùa A Chứ");
    let p = add_person(&mut t.store, h, "Mùa Thị Sua");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let v1 = (*t.store.latest_pack("vneid").expect("v1")).clone();
    let old_run = t.store.start_checklist(p, "vneid", None).expect("start on v1");
    t.store
        .record_step(old_run.id, None, StepStatus::Done, None)
        .expect("step 1 on v1");

    // Version 2 drops the last step and adds a new first one.
    let mut v2 = v1.clone();
    v2.version = v1.version + 1;
    let last = v2.steps.pop().expect("a step");
    let mut fresh = v2.steps[0].clone();
    fresh.id = "charge-phone".into();
    v2.steps.insert(0, fresh);
    assert!(t.store.install_pack(&v2).expect("install v2"));

    let view = t.store.run_view(old_run.id, "en").expect("old run");
    assert_eq!(view.run.pack_version, v1.version, "the run keeps its version");
    assert_eq!(view.steps.len(), v1.steps.len());
    assert_eq!(view.run.steps_done, 1, "progress is intact");
    t.store
        .record_step(old_run.id, Some(&last.id), StepStatus::Done, None)
        .expect("a step only v1 has");
    let err = t
        .store
        .record_step(old_run.id, Some("charge-phone"), StepStatus::Done, None)
        .expect_err("v2 only");
    assert!(err.to_string().contains("no step \"charge-phone\""), "{err}");

    let new_run = t.store.start_checklist(p, "vneid", None).expect("start on v2");
    assert_eq!(new_run.pack_version, v2.version, "new runs take the newest version");
    let view = t.store.run_view(new_run.id, "en").expect("new run");
    assert_eq!(view.run.current_step.as_deref(), Some("charge-phone"));
}

#[test]
fn run_texts_fall_back_to_vietnamese() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Bun");
    let h = add_household(&mut t.store, village, "Lò Văn Ơn");
    let p = add_person(&mut t.store, h, "Lò Thị Ính");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let run = t.store.start_checklist(p, "vneid", None).expect("start");
    let vi = t.store.run_view(run.id, "vi").expect("vi");
    let unknown = t.store.run_view(run.id, "fr").expect("fr");
    assert_eq!(vi.steps[0].instruction, unknown.steps[0].instruction);
    let ar = t.store.run_view(run.id, "ar").expect("ar");
    assert_ne!(vi.steps[0].instruction, ar.steps[0].instruction);
}

#[test]
fn every_bundled_resident_pack_runs_to_the_end_in_each_language() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Ba Nam");
    let h = add_household(&mut t.store, village, "Lường Văn Pánh");
    let p = add_person(&mut t.store, h, "Lường Thị Ún");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let packs = t.store.installed_packs("vi").expect("packs");
    let resident: Vec<_> = packs.iter().filter(|p| p.audience.is_none()).collect();
    let keys: Vec<&str> = resident.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "vneid",
        "vssid",
        "dienbien_smart",
        "public_services",
        "bill_payment",
        "digital_signature",
        "ecommerce",
    ] {
        assert!(keys.contains(&key), "{key} is bundled: {keys:?}");
    }
    for pack in resident {
        let run = t.store.start_checklist(p, &pack.key, None).expect("start");
        for locale in ["vi", "en", "ar"] {
            let view = t.store.run_view(run.id, locale).expect("view");
            assert!(!view.pack_title.is_empty());
            for step in &view.steps {
                assert!(
                    !step.title.is_empty() && !step.instruction.is_empty() && !step.verify.is_empty(),
                    "{} {} {locale}",
                    pack.key,
                    step.id
                );
            }
        }
        // The first step is blocked and then done on a second try; the
        // others are done in order, each time on the current step.
        let first = t.store.run_view(run.id, "vi").expect("view").steps[0].clone();
        let blocker = *first.blockers.first().expect("every step has blockers");
        t.store
            .record_step(
                run.id,
                None,
                StepStatus::Blocked(blocker),
                Some(doorstep_core::text::Notes::parse("thử lại sau").expect("note")),
            )
            .expect("blocked");
        for _ in 0..pack.steps {
            t.store.record_step(run.id, None, StepStatus::Done, None).expect("done");
        }
        let view = t.store.run_view(run.id, "vi").expect("view");
        assert_eq!(view.run.steps_done as usize, pack.steps, "{}", pack.key);
        assert_eq!(view.run.status, "completed", "{}", pack.key);
    }
}

#[test]
fn the_trainee_pack_runs_only_in_a_practice_store() {
    let mut t = TempStore::with_demo();
    let village = village(&t.store, "Khin");
    let h = add_household(&mut t.store, village, "Giàng A Dế");
    let p = add_person(&mut t.store, h, "Giàng Thị Mỷ");
    record_visit(&mut t.store, h, VisitOutcome::Helped);
    let err = t
        .store
        .start_checklist(p, "guide_resident", None)
        .expect_err("not in a campaign store");
    assert!(
        matches!(err, StoreError::Rule(_)) && err.to_string().contains("practice database"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("dir");
    let mut practice = doorstep_device::Store::create(
        &dir.path().join("practice.db"),
        doorstep_device::CreateOptions {
            practice: true,
            device_id: None,
        },
    )
    .expect("practice store");
    doorstep_device::demo::load_demo(
        &mut practice,
        doorstep_device::demo::DemoOptions {
            history: false,
            today: today(),
        },
    )
    .expect("demo");
    let village = common::village(&practice, "Khin");
    let h = add_household(&mut practice, village, "Giàng A Dế");
    let p = add_person(&mut practice, h, "Giàng Thị Mỷ");
    record_visit(&mut practice, h, VisitOutcome::Helped);
    let run = practice.start_checklist(p, "guide_resident", None).expect("practice");
    let view = practice.run_view(run.id, "en").expect("view");
    assert!(view.steps.len() >= 5, "a real guide: {} steps", view.steps.len());
}
