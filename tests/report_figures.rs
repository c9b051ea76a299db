//! The office's figures (`doorstep-server report`) against counts taken
//! independently, straight from the tablets' own database files, after a
//! day of field work in two communes synced to the real server. The report
//! tables are also rebuilt from the change log and must say the same.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{Duration, NaiveDate};
use doorstep_core::entities::{Person, StepStatus, Visit};
use doorstep_core::ids::{PersonId, VisitId};
use doorstep_core::text::PersonName;
use doorstep_core::vocab::{BlockerReason, PhoneKind, VisitOutcome};
use doorstep_e2e::day::record_day;
use doorstep_e2e::{Server, Tablet, bin, campaign, code, db_arg, on_postgres, pg, visit_new_household};
use serde_json::Value;

fn report(db: &Path, args: &[&str]) -> Value {
    let out = Command::new(bin("doorstep-server"))
        .arg("--db")
        .arg(db_arg(db))
        .args(["--json", "report"])
        .args(args)
        .env("DOORSTEP_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A visit to an existing household, optionally sent by a neighbour.
fn visit(
    t: &mut Tablet,
    household: doorstep_core::ids::HouseholdId,
    outcome: VisitOutcome,
    referred_by: Option<PersonId>,
    follow_up: Option<NaiveDate>,
) -> VisitId {
    let v = Visit {
        id: VisitId::new(),
        household_id: household,
        member_id: None,
        device_id: t.store.device_id(),
        started_at: t.store.now(),
        ended_at: None,
        outcome,
        follow_up_on: follow_up,
        notes: None,
        referred_by,
    };
    t.store.insert(&v).unwrap();
    v.id
}

fn person(t: &mut Tablet, household: doorstep_core::ids::HouseholdId, name: &str) -> PersonId {
    let p = Person {
        id: PersonId::new(),
        household_id: household,
        name: PersonName::parse(name).unwrap(),
        birth_year: Some(1975),
        phone: None,
        phone_kind: Some(PhoneKind::Android),
        phone_in_own_name: Some(false),
        chip_id_card: Some(true),
        notes: None,
    };
    t.store.insert(&p).unwrap();
    p.id
}

/// Counts from a tablet's own file: (village id -> households, reached),
/// (pack, status) -> runs, visits per local day.
struct TabletCounts {
    villages: BTreeMap<String, (u64, u64)>,
    runs: BTreeMap<(String, String), u64>,
    days: BTreeMap<String, u64>,
}

fn tablet_counts(path: &Path) -> TabletCounts {
    let conn = doorstep_device::key::open_raw(path).unwrap();
    let mut villages = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT h.village_id, count(*),
                    sum(EXISTS (SELECT 1 FROM visit v WHERE v.household_id = h.id AND v.deleted = 0
                                AND v.outcome <> 'nobody_home'))
             FROM household h WHERE h.deleted = 0 GROUP BY h.village_id",
        )
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
        .unwrap()
    {
        let (v, n, reached) = row.unwrap();
        villages.insert(v, (n as u64, reached as u64));
    }
    let mut runs = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT pack_key, status, count(*) FROM checklist_run WHERE deleted = 0 GROUP BY 1, 2")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })
        .unwrap()
    {
        let (p, s, n) = row.unwrap();
        runs.insert((p, s), n as u64);
    }
    let mut days = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT date(started_at, '+7 hours'), count(*) FROM visit WHERE deleted = 0 GROUP BY 1")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (d, n) = row.unwrap();
        days.insert(d, n as u64);
    }
    TabletCounts { villages, runs, days }
}

#[test]
fn the_office_figures_match_the_tablets_and_survive_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (muong_lan, villages_a) = &c.communes[0];
    let (chieng_sinh, villages_b) = &c.communes[1];
    let mut a = Tablet::enrol(&server.url, &code(&db, &c.member, muong_lan));
    let mut b = Tablet::enrol(&server.url, &code(&db, &c.member, chieng_sinh));
    a.sync(&server.url);
    b.sync(&server.url);
    let ids = |vs: &[String]| -> Vec<doorstep_core::ids::VillageId> {
        vs.iter()
            .map(|v| doorstep_core::ids::VillageId::from_uuid(v.parse().unwrap()))
            .collect()
    };

    // Muong Lan: a day of field work (every run completed), a household
    // blocked on VNeID, one nobody was home at, one to revisit tomorrow,
    // and a chain of neighbours: X taught Y, Y taught Z.
    record_day(&mut a.store, &ids(villages_a), 12);
    let blocked_house = visit_new_household(&mut a.store, &villages_a[0], "Lò Văn Chanh");
    let nobody = visit_new_household(&mut a.store, &villages_a[1], "Quàng Văn Ún");
    visit(&mut a, nobody, VisitOutcome::NobodyHome, None, None);
    let tomorrow = a.store.today() + Duration::days(1);
    let revisit = visit_new_household(&mut a.store, &villages_a[2], "Tòng Thị Lả");
    visit(&mut a, revisit, VisitOutcome::Revisit, None, Some(tomorrow));
    let x = visit_new_household(&mut a.store, &villages_a[0], "Cà Văn Xôm");
    let teacher_x = person(&mut a, x, "Cà Thị Xuân");
    let y = visit_new_household(&mut a.store, &villages_a[0], "Mè Văn Yên");
    visit(&mut a, y, VisitOutcome::Helped, Some(teacher_x), None);
    let teacher_y = person(&mut a, y, "Mè Thị Yến");
    let z = visit_new_household(&mut a.store, &villages_a[1], "Lò Văn Zìn");
    visit(&mut a, z, VisitOutcome::Helped, Some(teacher_y), None);
    // A second pack for one person, blocked by a phone in someone else's name.
    let p = person(&mut a, blocked_house, "Lò Thị Bích");
    let run = a.store.start_checklist(p, "bill_payment", None).unwrap();
    a.store
        .record_step(
            run.id,
            Some("choose_app"),
            StepStatus::Blocked(BlockerReason::PhoneNotInOwnName),
            None,
        )
        .unwrap();
    // Chieng Sinh: a smaller day.
    record_day(&mut b.store, &ids(villages_b), 5);
    a.sync(&server.url);
    b.sync(&server.url);
    a.sync(&server.url);

    let today = a.store.today().to_string();
    let overview = report(&db, &["overview", "--commune", "Muong Lan", "--today", &today]);
    let counts = tablet_counts(a.store.path());

    // Coverage per village, from the tablet's file.
    let villages = overview["villages"].as_array().unwrap();
    assert_eq!(
        villages.len(),
        villages_a.len(),
        "only Muong Lan's villages: {villages:?}"
    );
    for v in villages {
        let id = v["village_id"].as_str().unwrap();
        let (households, reached) = counts.villages.get(id).copied().unwrap_or((0, 0));
        assert_eq!(v["households"], households, "{v}");
        assert_eq!(v["reached"], reached, "{v}");
        let statuses: u64 = ["not_visited", "follow_up_due", "in_progress", "done"]
            .iter()
            .map(|k| v[k].as_u64().unwrap())
            .sum();
        assert_eq!(statuses, households, "every household has one status: {v}");
    }
    // Statuses per village, as the tablet's household list shows them.
    for v in villages {
        let id: doorstep_core::ids::VillageId = v["village_id"].as_str().unwrap().parse().unwrap();
        let rows = a
            .store
            .village_households(id, &doorstep_device::queries::HouseholdFilter::default())
            .unwrap();
        for status in ["not_visited", "follow_up_due", "in_progress", "done"] {
            let on_tablet = rows
                .iter()
                .filter(|r| serde_json::to_value(r.status).unwrap() == status)
                .count() as u64;
            assert_eq!(v[status], on_tablet, "{status} in {v}");
        }
    }
    // Checklists.
    for pack in overview["packs"].as_array().unwrap() {
        let key = pack["pack"].as_str().unwrap().to_owned();
        let n = |s: &str| counts.runs.get(&(key.clone(), s.to_owned())).copied().unwrap_or(0);
        assert_eq!(pack["completed"], n("completed"), "{pack}");
        assert_eq!(pack["blocked"], n("blocked"), "{pack}");
        assert_eq!(
            pack["runs"],
            counts
                .runs
                .iter()
                .filter(|((k, _), _)| *k == key)
                .map(|(_, n)| n)
                .sum::<u64>()
        );
    }
    let vneid = overview["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pack"] == "vneid")
        .unwrap();
    assert_eq!(
        vneid["completed"], 36,
        "12 households x 3 people, every run completed: {vneid}"
    );
    assert_eq!(vneid["residents_helped"], 36);
    assert_eq!(
        overview["blockers"],
        serde_json::json!([
            {"key": "no_sms_access", "count": 6},
            {"key": "phone_not_in_own_name", "count": 1}
        ]),
        "six VNeID runs of visit_new_household stop at no_sms_access; one bill payment"
    );
    // Visits per day.
    let days: BTreeMap<String, u64> = overview["visits_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["key"].as_str().unwrap().to_owned(), d["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(days, counts.days);

    // The other commune sees only its own; all communes together add up.
    let b_only = report(&db, &["overview", "--commune", "Chieng Sinh", "--today", &today]);
    assert_eq!(b_only["villages"].as_array().unwrap().len(), villages_b.len());
    assert_eq!(b_only["packs"][0]["completed"], 15);
    let all = report(&db, &["overview", "--today", &today]);
    assert_eq!(
        all["villages"].as_array().unwrap().len(),
        villages_a.len() + villages_b.len()
    );

    // Tomorrow's walking list: the nobody-home house, and not yet the
    // revisit (due tomorrow); with --today tomorrow, both.
    let walk = report(&db, &["walking-list", "--commune", "Muong Lan", "--today", &today]);
    let due: Vec<&str> = walk
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "follow_up_due")
        .map(|s| s["head_name"].as_str().unwrap())
        .collect();
    assert_eq!(due, vec!["Quàng Văn Ún"], "{walk}");
    let walk = report(
        &db,
        &[
            "walking-list",
            "--commune",
            "Muong Lan",
            "--today",
            &tomorrow.to_string(),
        ],
    );
    let due = walk
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "follow_up_due")
        .count();
    assert_eq!(due, 2, "{walk}");

    // Peer spread: Y and Z came through neighbours; the chain X -> Y -> Z.
    let spread = report(&db, &["peer-spread", "--commune", "Muong Lan"]);
    assert_eq!(spread["households_taught_by_neighbour"], 2, "{spread}");
    assert_eq!(spread["teachers"], 2);
    let chain: Vec<&str> = spread["longest_chains"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["head_name"].as_str().unwrap())
        .collect();
    assert_eq!(chain, vec!["Cà Văn Xôm", "Mè Văn Yên", "Lò Văn Zìn"]);

    // Rebuilt from the change log, the report tables say the same.
    drop(server);
    let forget = "DELETE FROM server_meta WHERE key = 'report_built'";
    if on_postgres() {
        pg::execute(&db, forget);
    } else {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(forget, []).unwrap();
    }
    let rebuilt = report(&db, &["overview", "--commune", "Muong Lan", "--today", &today]);
    assert_eq!(rebuilt, overview);
}
