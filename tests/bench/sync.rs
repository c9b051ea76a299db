//! Sync benchmarks: a volunteer's day over loopback and over an emulated 2G
//! link, 200 tablets syncing at once, and pull cost against history size.
//!
//! `cargo bench -p doorstep-e2e --bench sync` runs them all;
//! `cargo bench -p doorstep-e2e --bench sync -- day` (or `2g`, `ingest`,
//! `pull`, `cuts`) runs one. Figures go to `docs/benchmarks.md`.
//! `cuts` (the 2G day with 0, 1, 2 cuts inside the push, resending whole
//! against resuming) also measures 8 KiB batches when
//! `DOORSTEP_BENCH_SMALL_BATCHES` is set.
//!
//! With `DOORSTEP_TEST_POSTGRES=postgres://.../postgres` (a server where
//! the role may create databases, e.g. from `.ci/postgres`), `ingest` and
//! `pull` run on SQLite and then on PostgreSQL, each on a fresh database,
//! so the two stores are compared in one run.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_core::ids::{DeviceId, VillageId};
use doorstep_core::schema::EntityKind;
use doorstep_device::sync::{SyncOptions, enroll, sync};
use doorstep_device::{CreateOptions, Store as DeviceStore};
use doorstep_e2e::day::{day_changes, record_day};
use doorstep_netsim::{Proxy, Toxics};
use doorstep_office::admin::{self, CampaignSpec, MemberSpec, PlaceSpec};
use doorstep_store::Store;
use doorstep_store::any::AnyStore;

#[path = "loopback.rs"]
mod loopback;

use loopback::{Running, percentile, push_all};

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A server database with a campaign of `communes` communes of 6 villages
/// and one member; returns the store, the first commune's id and villages.
fn campaign(db: &str, communes: usize) -> (AnyStore, Vec<(String, Vec<VillageId>)>, String) {
    let store = block_on(AnyStore::open(db)).unwrap();
    let places = (0..communes)
        .map(|c| PlaceSpec {
            commune: format!("Xa {c}"),
            province: Some("Dien Bien".into()),
            villages: (0..6).map(|v| format!("Ban {c}-{v}")).collect(),
        })
        .collect();
    let created = block_on(admin::create_campaign(
        &store,
        CampaignSpec {
            name: "Bench campaign".into(),
            starts_on: Utc::now().date_naive(),
            ends_on: None,
            places,
            packs: vec!["vneid".into()],
        },
        Utc::now(),
    ))
    .unwrap();
    let member = block_on(admin::add_member(
        &store,
        MemberSpec {
            campaign: None,
            name: "Lò Văn Minh".into(),
            role: "volunteer".into(),
            unit: "youth_union".into(),
            phone: None,
            villages: Vec::new(),
        },
        Utc::now(),
    ))
    .unwrap();
    let communes = created
        .communes
        .into_iter()
        .map(|(id, _, villages)| (id.to_string(), villages.into_iter().map(|v| v.0).collect()))
        .collect();
    (store, communes, member.to_string())
}

fn code(store: &AnyStore, member: &str, commune: &str) -> String {
    block_on(admin::new_enrol_code(
        store,
        member,
        commune,
        chrono::Duration::days(1),
        Utc::now(),
    ))
    .unwrap()
    .code
}

fn tablet(dir: &Path, name: &str, url: &str, code: &str) -> DeviceStore {
    let mut store = DeviceStore::create(&dir.join(name), CreateOptions::default()).unwrap();
    enroll(&mut store, url, code, Some(name), &SyncOptions::default()).unwrap();
    store
}

fn kib(n: u64) -> String {
    format!("{:.1} KB", n as f64 / 1000.0)
}

/// What one day over a link measured.
#[derive(Debug, Clone, Copy)]
struct DayFigures {
    push: Duration,
    pull: Duration,
    /// Client -> server bytes on the wire, push and pull.
    up: u64,
    /// Of which the push's.
    push_up: u64,
    down: u64,
    /// Completed rounds and retried attempts, push and pull.
    rounds: u32,
    retries: u32,
    /// Connections the link cut during the push.
    push_cuts: u64,
}

impl DayFigures {
    fn total(&self) -> Duration {
        self.push + self.pull
    }
}

/// A volunteer's day: tablet A records 50 households and syncs (push),
/// tablet B syncs (pull), through `toxics`, A with `push_options`.
fn day(label: &str, toxics: Toxics, seed: u64) -> DayFigures {
    day_with(label, toxics, seed, &SyncOptions::default())
}

fn day_with(label: &str, toxics: Toxics, seed: u64, push_options: &SyncOptions) -> DayFigures {
    let dir = tempfile::tempdir().unwrap();
    let (store, communes, member) = campaign(dir.path().join("server.db").to_str().unwrap(), 1);
    let (commune, villages) = communes[0].clone();
    let c1 = code(&store, &member, &commune);
    let c2 = code(&store, &member, &commune);
    let server = Running::start(store);
    let mut a = tablet(dir.path(), "a.db", &server.url(), &c1);
    let mut b = tablet(dir.path(), "b.db", &server.url(), &c2);
    let options = SyncOptions {
        fetch_packs: false,
        ..SyncOptions::default()
    };
    let push_options = SyncOptions {
        fetch_packs: false,
        ..push_options.clone()
    };
    sync(&mut a, &options, &mut |_| {}).unwrap();
    sync(&mut b, &options, &mut |_| {}).unwrap();
    let written = record_day(&mut a, &villages, 50);

    let proxy = Proxy::start(server.addr, toxics, seed).unwrap();
    let via = format!("http://{}", proxy.addr());
    a.set_server_url(&via).unwrap();
    b.set_server_url(&via).unwrap();
    let t = Instant::now();
    let pushed = sync(&mut a, &push_options, &mut |_| {}).unwrap();
    let push_time = t.elapsed();
    let push_stats = proxy.stats();
    proxy.reset_stats();
    let t = Instant::now();
    let pulled = sync(&mut b, &options, &mut |_| {}).unwrap();
    let pull_time = t.elapsed();
    let pull_stats = proxy.stats();
    println!(
        "{label}: {written} changes, day {:.2} s | push {:.2} s, {} up / {} down, {} round trips, {} retries, {} cuts | pull {:.2} s, {} up / {} down, {} round trips, {} cuts, {} merged",
        (push_time + pull_time).as_secs_f64(),
        push_time.as_secs_f64(),
        kib(push_stats.up_bytes),
        kib(push_stats.down_bytes),
        pushed.progress.round_trips,
        pushed.progress.retries,
        push_stats.connections_cut,
        pull_time.as_secs_f64(),
        kib(pull_stats.up_bytes),
        kib(pull_stats.down_bytes),
        pulled.progress.round_trips,
        pull_stats.connections_cut,
        pulled.pulled.merged,
    );
    assert_eq!(
        a.state_digest().unwrap(),
        b.state_digest().unwrap(),
        "the day arrived whole"
    );
    DayFigures {
        push: push_time,
        pull: pull_time,
        up: push_stats.up_bytes + pull_stats.up_bytes,
        push_up: push_stats.up_bytes,
        down: push_stats.down_bytes + pull_stats.down_bytes,
        rounds: pushed.progress.round_trips + pulled.progress.round_trips,
        retries: pushed.progress.retries + pulled.progress.retries,
        push_cuts: push_stats.connections_cut,
    }
}

/// How tablet A pushes in the cut-push scenarios.
struct PushMode {
    name: &'static str,
    options: SyncOptions,
}

fn push_modes() -> Vec<PushMode> {
    let mut modes = vec![
        PushMode {
            name: "before: resend whole (64 KiB batches)",
            options: SyncOptions {
                resume_uploads: false,
                ..SyncOptions::default()
            },
        },
        PushMode {
            name: "after: resumable upload (64 KiB batches)",
            options: SyncOptions::default(),
        },
    ];
    if std::env::var_os("DOORSTEP_BENCH_SMALL_BATCHES").is_some() {
        modes.insert(
            1,
            PushMode {
                name: "alternative: resend whole, 8 KiB batches",
                options: SyncOptions {
                    resume_uploads: false,
                    batch_bytes: 8 * 1024,
                    ..SyncOptions::default()
                },
            },
        );
    }
    modes
}

/// `n` cut offsets drawn from `seed`, uniform in `0..upload`, ascending.
fn cut_offsets(seed: u64, n: usize, upload: u64) -> Vec<u64> {
    use rand_core::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut cuts: Vec<u64> = (0..n).map(|_| rng.next_u64() % upload.max(1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// One line of the cut-push table: cuts, push mode, each seed's figures
/// and cut offsets.
type Row<'a> = (usize, &'a str, Vec<DayFigures>, Vec<Vec<u64>>);

/// The 2G day with 0, 1 and 2 cuts inside the push, 5 seeds each, for
/// every push mode, in one run; prints the table of docs/benchmarks.md.
fn cut_pushes() {
    // Five seeds; fewer with DOORSTEP_BENCH_SEEDS (a quick look).
    let n_seeds = std::env::var("DOORSTEP_BENCH_SEEDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(5);
    let seeds = 1..=n_seeds;
    let modes = push_modes();
    let mut rows: Vec<Row<'_>> = Vec::new();
    // The push's upload bytes without a cut: the range cuts are drawn in.
    let mut upload = 0;
    for cuts in 0..=2usize {
        for mode in &modes {
            let mut figures = Vec::new();
            let mut offsets = Vec::new();
            for seed in seeds.clone() {
                let at = if cuts == 0 {
                    Vec::new()
                } else {
                    cut_offsets(seed, cuts, upload)
                };
                let toxics = Toxics {
                    cut_up_at: at.clone(),
                    ..Toxics::two_g()
                };
                let f = day_with(
                    &format!(
                        "day over 2G, {cuts} cut(s) in the push at {at:?}, {}, seed {seed}",
                        mode.name
                    ),
                    toxics,
                    seed,
                    &mode.options,
                );
                assert_eq!(f.push_cuts, at.len() as u64, "every chosen cut fell inside the push");
                figures.push(f);
                offsets.push(at);
            }
            if cuts == 0 && upload == 0 {
                upload = figures.iter().map(|f| f.push_up).min().unwrap_or(0);
                println!("  the push's upload without a cut: {upload} bytes (cuts are drawn in 0..{upload})");
            }
            rows.push((cuts, mode.name, figures, offsets));
        }
    }
    println!();
    println!(
        "| cuts in the push | push mode | day mean | day max | push mean | bytes up (mean) | bytes up (max) | bytes down (mean) | rounds + retries (mean) | cut offsets (bytes up, per seed) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (cuts, mode, figures, offsets) in &rows {
        let n = figures.len() as f64;
        let mean = figures.iter().map(|f| f.total().as_secs_f64()).sum::<f64>() / n;
        let max = figures.iter().map(|f| f.total().as_secs_f64()).fold(0.0, f64::max);
        let push = figures.iter().map(|f| f.push.as_secs_f64()).sum::<f64>() / n;
        let up = figures.iter().map(|f| f.up as f64).sum::<f64>() / n;
        let up_max = figures.iter().map(|f| f.up).max().unwrap_or(0);
        let down = figures.iter().map(|f| f.down as f64).sum::<f64>() / n;
        let trips = figures.iter().map(|f| f64::from(f.rounds + f.retries)).sum::<f64>() / n;
        let at: Vec<String> = offsets.iter().map(|o| format!("{o:?}")).collect();
        println!(
            "| {cuts} | {mode} | {mean:.2} s | {max:.2} s | {push:.2} s | {} | {} | {} | {trips:.1} | {} |",
            kib(up.round() as u64),
            kib(up_max),
            kib(down.round() as u64),
            at.join(" ")
        );
    }
}

/// The stores to compare: SQLite in a temporary directory, and a fresh
/// PostgreSQL database when `DOORSTEP_TEST_POSTGRES` names a server.
fn stores(dir: &Path, name: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("sqlite", dir.join(format!("{name}.db")).to_str().unwrap().to_owned())];
    match std::env::var("DOORSTEP_TEST_POSTGRES") {
        Ok(admin) if !admin.is_empty() => {
            let db = format!("doorstep_bench_{name}_{}", std::process::id());
            let made = std::process::Command::new("psql")
                .args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {db}")])
                .status()
                .unwrap();
            assert!(made.success(), "could not create database {db}");
            let (base, _) = admin.rsplit_once('/').unwrap();
            out.push(("postgres", format!("{base}/{db}")));
        }
        _ => println!("{name}: PostgreSQL not measured (set DOORSTEP_TEST_POSTGRES, see docs/benchmarks.md)"),
    }
    out
}

/// 200 tablets push their day at once.
fn ingest(label: &str, db: &str, devices: usize, households: usize) {
    let (store, communes, member) = campaign(db, 4);
    let codes: Vec<(String, Vec<VillageId>)> = (0..devices)
        .map(|i| {
            let (commune, villages) = &communes[i % communes.len()];
            (code(&store, &member, commune), villages.clone())
        })
        .collect();
    let server = Running::start(store);
    let url = server.url();
    // As patient as the server (120 s): the last of 200 waits for the others.
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let enrolled: Vec<(String, DeviceId, Vec<VillageId>)> = codes
        .into_iter()
        .map(|(code, villages)| {
            let r: doorstep_core::protocol::EnrollResponse = http
                .post(format!("{url}/api/v1/enroll"))
                .json(&serde_json::json!({"protocol": 1, "schema_version": 1, "code": code}))
                .send()
                .unwrap()
                .json()
                .unwrap();
            (r.token, r.device_id, villages)
        })
        .collect();
    let barrier = Arc::new(Barrier::new(devices + 1));
    let threads: Vec<_> = enrolled
        .into_iter()
        .map(|(token, device, villages)| {
            let (barrier, url) = (Arc::clone(&barrier), url.clone());
            std::thread::spawn(move || {
                let changes = day_changes(device, 1, &villages, households, Utc::now());
                // As patient as the server, like the enrolment client above
                // (reqwest's own default gives up after 30 s).
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap();
                barrier.wait();
                let t = Instant::now();
                let latencies = push_all(&http, &url, &token, device, 0, &changes);
                (changes.len(), t.elapsed(), latencies)
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wall = t.elapsed();
    let total: usize = results.iter().map(|r| r.0).sum();
    let mut per_device: Vec<Duration> = results.iter().map(|r| r.1).collect();
    let mut per_request: Vec<Duration> = results.iter().flat_map(|r| r.2.clone()).collect();
    per_device.sort();
    per_request.sort();
    println!(
        "ingest ({label}): {devices} devices x {} changes = {total} changes in {:.2} s = {:.0} changes/s | request p50 {:.0} ms, p99 {:.0} ms ({} requests) | whole-device sync p50 {:.2} s, p99 {:.2} s",
        total / devices,
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        percentile(&per_request, 0.5).as_secs_f64() * 1000.0,
        percentile(&per_request, 0.99).as_secs_f64() * 1000.0,
        per_request.len(),
        percentile(&per_device, 0.5).as_secs_f64(),
        percentile(&per_device, 0.99).as_secs_f64(),
    );
}

/// Pulling the newest 500 changes of a commune from a server holding
/// `history` changes in all.
fn pull_cost(db: &str, history: usize) -> (u64, Duration) {
    let (store, communes, member) = campaign(db, 20);
    let enrol = |commune: &str| -> DeviceId {
        let code = code(&store, &member, commune);
        let key = store.token_key();
        block_on(store.enroll(
            key.hash(&doorstep_store::auth::normalise_code(&code)),
            key.hash(&format!("token-{code}")),
            None,
            Utc::now(),
        ))
        .unwrap()
        .device_id
    };
    // History: writers in every commune, 2,000-change pushes.
    let per_writer = 19_000.min(history);
    let started = Instant::now();
    let mut written = 0;
    let mut writer = 0;
    while written < history {
        let (commune, villages) = &communes[writer % communes.len()];
        let device = enrol(commune);
        let n = per_writer.min(history - written);
        let changes = day_changes(device, 1, villages, n / 38 + 1, Utc::now());
        let changes = &changes[..n.min(changes.len())];
        for chunk in changes.chunks(2_000) {
            block_on(store.push(device, 0, chunk.to_vec(), Utc::now()))
                .unwrap()
                .unwrap();
        }
        written += changes.len();
        writer += 1;
    }
    println!(
        "  history of {written} changes built one push at a time: {:.0} changes/s",
        written as f64 / started.elapsed().as_secs_f64()
    );
    let reader = enrol(&communes[0].0);
    let (commune, villages) = &communes[0];
    let fresh = enrol(commune);
    let total = block_on(store.change_count()).unwrap();
    let cursor = total; // server_seq of the last change so far
    let changes = day_changes(fresh, 1, villages, 14, Utc::now());
    block_on(store.push(fresh, 0, changes[..500].to_vec(), Utc::now()))
        .unwrap()
        .unwrap();
    // Warm up, then take the median of many pulls (each one is ~1 ms, so
    // single outliers from the shared machine would skew a mean).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut times = Vec::new();
    for round in 0..520 {
        let t = Instant::now();
        let page = runtime
            .block_on(store.pull(commune.clone(), reader, cursor, 500, 10 << 20))
            .unwrap();
        assert_eq!(page.changes.len(), 500);
        if round >= 20 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    (total, percentile(&times, 0.5))
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("DOORSTEP_LOG").unwrap_or_else(|_| "warn,deadpool=error".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("day") {
        day("day over loopback", Toxics::default(), 0);
    }
    if wants("cuts") {
        cut_pushes();
    }
    if wants("2g") {
        for seed in 1..=5 {
            day(
                &format!("day over 2G (64 kbit/s each way, 400 ms RTT, a cut per ~100 KB), seed {seed}"),
                Toxics {
                    cut_every_bytes: Some(100_000),
                    ..Toxics::two_g()
                },
                seed,
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    if wants("ingest") {
        for (label, db) in stores(dir.path(), "ingest") {
            ingest(label, &db, 200, 50);
        }
    }
    if wants("pull") {
        let small_dbs = stores(dir.path(), "pull_small");
        let large_dbs = stores(dir.path(), "pull_large");
        for ((label, small_db), (_, large_db)) in small_dbs.iter().zip(&large_dbs) {
            let (n_small, small) = pull_cost(small_db, 10_000);
            let (n_large, large) = pull_cost(large_db, 1_000_000);
            println!(
                "pull 500 changes ({label}): history {n_small} -> {:.2} ms; history {n_large} -> {:.2} ms; ratio {:.2}",
                small.as_secs_f64() * 1000.0,
                large.as_secs_f64() * 1000.0,
                large.as_secs_f64() / small.as_secs_f64()
            );
        }
    }
    let _ = EntityKind::Household;
}
