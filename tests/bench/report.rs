//! The office's figures on a province-sized campaign (issue 6): 100,000
//! households in 40 communes of 6 villages, about 1,000,000 step events
//! (`province.rs`).
//!
//! Then: the overview for one commune and for the whole province, the
//! walking list of one village, and peer spread, each the median of 15
//! runs on a warm cache. Target: the overview under 300 ms of server time.
//!
//! `cargo bench --bench report` (builds the data in about two minutes).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::cast_precision_loss, missing_docs)]

use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_office::admin::{self, MemberSpec};
use doorstep_store::Store;
use doorstep_store::report::Filter;
use doorstep_store::sqlite::SqliteStore;

#[path = "province.rs"]
mod province;

use province::block_on;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(name: &str, f: &dyn Fn()) -> Duration {
    f(); // warm the page cache
    let samples: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    let m = median(samples);
    println!("{name:<46} median {:>8.1} ms", m.as_secs_f64() * 1000.0);
    m
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("province.db")).unwrap();
    let built = Instant::now();
    let (created, _member) = province::build(&store);
    let build = built.elapsed();
    let changes = block_on(store.change_count()).unwrap();
    println!(
        "built: {} changes in {:.1} s ({:.0} changes/s, report tables included)",
        changes,
        build.as_secs_f64(),
        changes as f64 / build.as_secs_f64()
    );
    let today = Utc::now().date_naive();
    let all = Filter {
        today,
        ..Filter::default()
    };
    let o = block_on(store.overview(all.clone())).unwrap();
    let households: u64 = o.villages.iter().map(|v| v.households).sum();
    let reached: u64 = o.villages.iter().map(|v| v.reached).sum();
    let vneid = &o.packs[0];
    println!(
        "data: {households} households ({reached} reached), {} VNeID runs ({} completed), {} visits",
        vneid.runs,
        vneid.completed,
        o.visits_per_day.iter().map(|d| d.count).sum::<u64>()
    );
    let one = Filter {
        communes: Some(vec![created.communes[3].0.to_string()]),
        today,
        ..Filter::default()
    };
    let village = Filter {
        village: Some(created.communes[3].2[0].0.to_string()),
        ..one.clone()
    };
    let commune = time("overview, one commune (2,500 households)", &|| {
        block_on(store.overview(one.clone())).unwrap();
    });
    let province = time("overview, whole province (100,000 households)", &|| {
        block_on(store.overview(all.clone())).unwrap();
    });
    time("walking list, one village (about 420 households)", &|| {
        block_on(store.walking_list(village.clone())).unwrap();
    });
    time("peer spread, one commune", &|| {
        block_on(store.peer_spread(one.clone())).unwrap();
    });
    let xlsx = time("XLSX workbook, one commune (rows + file)", &|| {
        let report = doorstep_office::export::Report {
            overview: block_on(store.overview(one.clone())).unwrap(),
            visits: block_on(store.visit_rows(one.clone())).unwrap(),
            runs: block_on(store.run_rows(one.clone())).unwrap(),
            scope: doorstep_office::export::Scope {
                communes: vec!["Xa 03".into()],
                village: None,
                from: None,
                to: None,
                today,
            },
        };
        let bytes = doorstep_office::export::xlsx(&report, "vi").unwrap();
        assert!(bytes.len() > 10_000);
    });
    let (commune_page, province_page) = page_times(&store, &created.communes[3].0.to_string());
    println!(
        "target: XLSX of one commune under 2 s - {}",
        if xlsx < Duration::from_secs(2) { "met" } else { "MISSED" }
    );
    println!(
        "target: overview under 300 ms - one commune {}, whole province {}",
        if commune < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        },
        if province < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "target: overview page under 300 ms of server time - one commune {}, whole province {}",
        if commune_page < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        },
        if province_page < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        }
    );
}

/// The overview page's whole server time, as an admin's browser asks for
/// it: the session looked up, the queries, the charts and the template, in
/// process through the dashboard's router (no network between).
fn page_times(store: &SqliteStore, commune: &str) -> (Duration, Duration) {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin_id = runtime
        .block_on(admin::add_member(
            store,
            MemberSpec {
                campaign: None,
                name: "Nguyễn Văn Quản".into(),
                role: "admin".into(),
                unit: "other".into(),
                phone: None,
                villages: Vec::new(),
            },
            Utc::now(),
        ))
        .unwrap()
        .to_string();
    let cookie = runtime
        .block_on(doorstep_dashboard::session::start(
            store,
            store.token_key(),
            admin_id,
            Utc::now(),
        ))
        .unwrap();
    let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
    let router = doorstep_dashboard::router(doorstep_dashboard::Dashboard::new(store.clone()));
    let page = |uri: &str| {
        let request = Request::get(uri).header("cookie", &pair).body(Body::empty()).unwrap();
        let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
        assert_eq!(response.status(), 200, "{uri}");
        let body = runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        assert!(body.len() > 5_000, "{uri}: a whole page");
    };
    let one = time("overview page, one commune (session, queries, HTML)", &|| {
        page(&format!("/overview?commune={commune}"));
    });
    let all = time("overview page, whole province", &|| page("/overview"));
    (one, all)
}
