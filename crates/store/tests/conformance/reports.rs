//! Report tables: what tablets push shows up in the overview, the export
//! rows, the walking list and peer spread, within a lead's communes. The
//! stories start from the day of fieldwork in `field_day`.

use chrono::{NaiveDate, NaiveTime};
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_core::vocab::VisitOutcome;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::report::{ChainLink, Count, Filter, PackOutcome, VillageCoverage, VolunteerWork};
use uuid::Uuid;

use crate::field_day::seed;
use crate::world::{Tablet, at, id_text, pack, steps, today};

fn everything() -> Filter {
    Filter {
        today: today(),
        ..Filter::default()
    }
}

fn count(key: &str, count: u64) -> Count {
    Count {
        key: key.to_owned(),
        count,
    }
}

pub(crate) async fn the_overview_counts_what_tablets_pushed<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let o = store.overview(everything()).await.expect("overview");
    let village = |commune: &Uuid, id: Uuid, commune_name: &str, name: &str, figures: [u64; 6]| VillageCoverage {
        commune_id: id_text(*commune),
        commune: commune_name.to_owned(),
        village_id: id_text(id),
        village: name.to_owned(),
        households: figures[0],
        reached: figures[1],
        not_visited: figures[2],
        follow_up_due: figures[3],
        in_progress: figures[4],
        done: figures[5],
    };
    let (ml, cs) = (&s.w.muong_lan, &s.w.chieng_sinh);
    assert_eq!(
        o.villages,
        vec![
            village(&cs.id, cs.villages[0], "Chiềng Sinh", "Tam Tu", [1, 1, 0, 0, 0, 1]),
            village(&ml.id, ml.villages[0], "Mường Lạn", "Bun", [2, 1, 0, 1, 1, 0]),
            village(&ml.id, ml.villages[1], "Mường Lạn", "Khin", [2, 1, 1, 0, 1, 0]),
        ],
        "by commune name, then village name"
    );
    let outcome = |pack: &str, runs, completed, blocked, helped| PackOutcome {
        pack: pack.to_owned(),
        runs,
        completed,
        blocked,
        in_progress: 0,
        residents_helped: helped,
    };
    assert_eq!(
        o.packs,
        vec![outcome("vneid", 1, 1, 0, 1), outcome("vssid", 1, 0, 1, 0)]
    );
    assert_eq!(o.blockers, vec![count("no_chip_id_card", 1)]);
    assert_eq!(o.visits_per_day, vec![count("2026-11-19", 1), count("2026-11-20", 3)]);
    assert_eq!(o.visits_per_unit, vec![count("youth_union", 3), count("other", 1)]);
    let work = |member: Option<Uuid>, name: &str, unit: &str, visits, households| VolunteerWork {
        member_id: member.map(id_text).unwrap_or_default(),
        name: name.to_owned(),
        unit: unit.to_owned(),
        visits,
        households,
    };
    assert_eq!(
        o.volunteers,
        vec![
            work(Some(s.w.thanh), "Lò Văn Thành", "youth_union", 2, 2),
            work(None, "", "other", 1, 1),
            work(Some(s.w.nga), "Lò Thị Nga", "youth_union", 1, 1),
        ],
        "most visits first, then by name"
    );
}

pub(crate) async fn visit_rows_and_run_rows_list_what_tablets_pushed<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let visits = store.visit_rows(everything()).await.expect("visits");
    let brief: Vec<_> = visits
        .iter()
        .map(|v| {
            (
                v.village.as_str(),
                v.head_name.as_str(),
                v.started_on.map(|d| d.to_string()),
                v.started_time,
                v.outcome.as_str(),
                v.volunteer.as_str(),
                v.referred_by.as_str(),
            )
        })
        .collect();
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0);
    let day = |d: &str| Some(d.to_owned());
    assert_eq!(
        brief,
        vec![
            (
                "Tam Tu",
                "Lường Văn Mường",
                day("2026-11-20"),
                hm(10, 0),
                "helped",
                "Lò Thị Nga",
                ""
            ),
            (
                "Bun",
                "Quàng Thị Mường",
                day("2026-11-20"),
                hm(6, 30),
                "nobody_home",
                "Lò Văn Thành",
                ""
            ),
            (
                "Bun",
                "Lò Văn Pắn",
                day("2026-11-20"),
                hm(8, 30),
                "helped",
                "Lò Văn Thành",
                ""
            ),
            (
                "Khin",
                "Sùng A Tủa",
                day("2026-11-19"),
                hm(10, 0),
                "partial",
                "",
                "Lò Văn Pắn"
            ),
        ],
        "by commune, village and local start"
    );
    assert_eq!(visits[1].follow_up_on, NaiveDate::from_ymd_opt(2026, 11, 20));
    assert_eq!(visits[1].household_id, id_text(s.muong));
    assert_eq!(visits[0].unit, "youth_union");

    let runs = store.run_rows(everything()).await.expect("runs");
    let vneid_steps = u32::try_from(steps(&pack("vneid")).len()).expect("few steps");
    let vssid_steps = u32::try_from(steps(&pack("vssid")).len()).expect("few steps");
    let brief: Vec<_> = runs
        .iter()
        .map(|r| {
            (
                r.household_id.clone(),
                r.person.as_str(),
                r.pack.as_str(),
                r.status.as_str(),
                r.steps_done,
                r.steps_total,
                r.blocker.as_deref(),
            )
        })
        .collect();
    let pan = id_text(s.pan);
    assert_eq!(
        brief,
        vec![
            (
                pan.clone(),
                "Lò Thị Xuân",
                "vssid",
                "blocked",
                0,
                vssid_steps,
                Some("no_chip_id_card")
            ),
            (pan, "Lò Văn Pắn", "vneid", "completed", vneid_steps, vneid_steps, None),
        ],
        "by household, then person"
    );
    assert!(
        runs.iter()
            .all(|r| r.started_on == NaiveDate::from_ymd_opt(2026, 11, 20))
    );
    assert_eq!(runs[1].pack_version, pack("vneid").version);
}

pub(crate) async fn the_walking_list_names_follow_ups_and_households_never_visited<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let stops = store.walking_list(everything()).await.expect("walking list");
    let brief: Vec<_> = stops
        .iter()
        .map(|w| {
            (
                w.household_id.clone(),
                w.village.as_str(),
                w.status.as_str(),
                w.last_visit_on.as_deref(),
                w.last_outcome.as_deref(),
                w.follow_up_on.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                id_text(s.muong),
                "Bun",
                "follow_up_due",
                Some("2026-11-20"),
                Some("nobody_home"),
                Some("2026-11-20")
            ),
            (id_text(s.lan), "Khin", "not_visited", None, None, None),
        ]
    );
    // Households without a landmark come first in their village, then by
    // landmark, then by name.
    let mut t = Tablet::enrol(store, s.w.thanh, &s.w.muong_lan).await;
    let khin = s.w.muong_lan.villages[1];
    let (school, a) = t.household_by(khin, "Đèo Văn Tâm", Some("Cạnh trường"));
    let (bridge, b) = t.household_by(khin, "Cà Thị Ánh", Some("Cầu treo"));
    t.push(store, vec![a, b]).await;
    let stops = store.walking_list(everything()).await.expect("walking list");
    let order: Vec<String> = stops.iter().map(|w| w.household_id.clone()).collect();
    assert_eq!(
        order,
        vec![id_text(s.muong), id_text(s.lan), id_text(school), id_text(bridge)]
    );
    assert_eq!(stops[2].landmark.as_deref(), Some("Cạnh trường"));

    // The day before the follow-up, only the households never visited.
    let before = Filter {
        today: NaiveDate::from_ymd_opt(2026, 11, 19).expect("a date"),
        ..everything()
    };
    let stops = store.walking_list(before).await.expect("walking list");
    assert_eq!(
        stops.iter().map(|w| w.household_id.clone()).collect::<Vec<_>>(),
        vec![id_text(s.lan), id_text(school), id_text(bridge)]
    );
}

pub(crate) async fn peer_spread_follows_who_taught_whom<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let spread = store.peer_spread(everything()).await.expect("peer spread");
    assert_eq!(spread.households_taught_by_neighbour, 1);
    assert_eq!(spread.residents_in_them, 1);
    assert_eq!(spread.teachers, 1);
    let link = |id: Uuid, head: &str, village: &str| ChainLink {
        household_id: id_text(id),
        head_name: head.to_owned(),
        village: village.to_owned(),
    };
    assert_eq!(
        spread.longest_chains,
        vec![vec![
            link(s.pan, "Lò Văn Pắn", "Bun"),
            link(s.tua, "Sùng A Tủa", "Khin")
        ]],
        "from the first teacher on"
    );
}

pub(crate) async fn a_lead_s_filter_keeps_to_their_communes<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let chieng_sinh = Filter {
        communes: Some(vec![s.w.chieng_sinh.scope()]),
        ..everything()
    };
    let o = store.overview(chieng_sinh.clone()).await.expect("overview");
    assert_eq!(o.villages.len(), 1);
    assert_eq!(o.villages[0].village_id, id_text(s.w.chieng_sinh.villages[0]));
    assert!(o.packs.is_empty() && o.blockers.is_empty(), "{o:?}");
    assert_eq!(o.visits_per_day, vec![count("2026-11-20", 1)]);
    let visits = store.visit_rows(chieng_sinh.clone()).await.expect("visits");
    assert_eq!(
        visits.iter().map(|v| v.household_id.clone()).collect::<Vec<_>>(),
        vec![id_text(s.na_sai)]
    );
    assert!(store.run_rows(chieng_sinh.clone()).await.expect("runs").is_empty());
    assert!(store.walking_list(chieng_sinh.clone()).await.expect("list").is_empty());
    assert_eq!(store.peer_spread(chieng_sinh).await.expect("spread").teachers, 0);

    // A lead of no commune sees nothing.
    let nowhere = Filter {
        communes: Some(Vec::new()),
        ..everything()
    };
    let o = store.overview(nowhere.clone()).await.expect("overview");
    assert!(
        o.villages.is_empty() && o.visits_per_day.is_empty() && o.volunteers.is_empty(),
        "{o:?}"
    );
    assert!(store.visit_rows(nowhere.clone()).await.expect("visits").is_empty());
    assert!(store.walking_list(nowhere.clone()).await.expect("list").is_empty());
    assert!(store.conflicts(nowhere).await.expect("conflicts").is_empty());

    // One village, and a range of days.
    let khin = Filter {
        village: Some(id_text(s.w.muong_lan.villages[1])),
        ..everything()
    };
    let o = store.overview(khin.clone()).await.expect("overview");
    assert_eq!(o.villages.len(), 1);
    assert_eq!(o.villages[0].households, 2);
    let visits = store.visit_rows(khin).await.expect("visits");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].household_id, id_text(s.tua));
    let first_day = Filter {
        to: NaiveDate::from_ymd_opt(2026, 11, 19),
        ..everything()
    };
    let visits = store.visit_rows(first_day.clone()).await.expect("visits");
    assert_eq!(
        visits.iter().map(|v| v.household_id.clone()).collect::<Vec<_>>(),
        vec![id_text(s.tua)]
    );

    // Days are local: a visit at 17:00 UTC is the next day's first.
    let mut t = Tablet::enrol(store, s.w.thanh, &s.w.muong_lan).await;
    let midnight = at("2026-11-19T17:00:00Z");
    let (visit, v) = t.visit(s.lan, Some(s.w.thanh), midnight, VisitOutcome::Declined, None, None);
    t.push(store, vec![v]).await;
    let on = |f: Filter| async move {
        let rows = store.visit_rows(f).await.expect("visits");
        rows.iter().any(|r| r.household_id == id_text(s.lan))
    };
    assert!(!on(first_day.clone()).await, "not on 11-19");
    let second_day = Filter {
        from: NaiveDate::from_ymd_opt(2026, 11, 20),
        ..everything()
    };
    assert!(on(second_day.clone()).await, "on 11-20 ({visit})");
    let o = store.overview(second_day).await.expect("overview");
    assert_eq!(o.visits_per_day, vec![count("2026-11-20", 4)]);
}

pub(crate) async fn a_deleted_household_leaves_the_reports<S: Store + Accounts>(store: &S) {
    let s = seed(store).await;
    let mut t = Tablet::enrol(store, s.w.thanh, &s.w.muong_lan).await;
    let gone = t.update(EntityKind::Household, s.lan, "deleted", FieldValue::Bool(true), None);
    t.push(store, vec![gone]).await;
    let o = store.overview(everything()).await.expect("overview");
    let khin = o.villages.iter().find(|v| v.village == "Khin").expect("Khin");
    assert_eq!((khin.households, khin.not_visited), (1, 0), "{khin:?}");
    let stops = store.walking_list(everything()).await.expect("walking list");
    assert!(stops.iter().all(|w| w.household_id != id_text(s.lan)), "{stops:?}");
    assert_eq!(stops.len(), 1);
}
