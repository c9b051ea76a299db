//! An online backup of a province-sized office database (100,000
//! households, `province.rs`) while 50 tablets push a day of work each
//! (1,900 changes, one request per tablet), against the same pushes with
//! no backup running, in one run. Reports the backup's time and size, and
//! the push requests' p50/p99 both ways.
//!
//! `cargo bench -p doorstep-e2e --bench backup` (about four minutes:
//! building the province is most of it).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::cast_precision_loss, missing_docs)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_core::ids::{DeviceId, VillageId};
use doorstep_e2e::day::day_changes;
use doorstep_store::Store;
use doorstep_store::any::AnyStore;
use doorstep_store::sqlite::SqliteStore;

#[path = "province.rs"]
mod province;

#[path = "loopback.rs"]
mod loopback;

use loopback::{Running, percentile, push_all};
use province::block_on;

const TABLETS: usize = 50;
/// Households of a tablet's day (38 changes each: 1,900 changes).
const HOUSEHOLDS: usize = 50;

/// One round: every tablet pushes its next day at once; with `backup`, a
/// backup starts with them. The requests' latencies, sorted, and the
/// backup's time and size.
fn round(
    server: &Running,
    store: &SqliteStore,
    tablets: &[(String, DeviceId, Vec<VillageId>)],
    day: u64,
    backup: Option<std::path::PathBuf>,
) -> (Vec<Duration>, Option<(Duration, u64)>) {
    let barrier = Arc::new(Barrier::new(tablets.len() + 1 + usize::from(backup.is_some())));
    let per_day = (HOUSEHOLDS * 38) as u64;
    let threads: Vec<_> = tablets
        .iter()
        .cloned()
        .map(|(token, device, villages)| {
            let (barrier, url) = (Arc::clone(&barrier), server.url());
            std::thread::spawn(move || {
                let first = day * per_day + 1;
                let changes = day_changes(device, first, &villages, HOUSEHOLDS, Utc::now());
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap();
                barrier.wait();
                push_all(&http, &url, &token, device, first - 1, &changes)
            })
        })
        .collect();
    let backup_thread = backup.map(|out| {
        let (barrier, store) = (Arc::clone(&barrier), store.clone());
        std::thread::spawn(move || {
            barrier.wait();
            let t = Instant::now();
            let taken = block_on(store.backup(&out)).unwrap();
            (t.elapsed(), taken.bytes)
        })
    });
    barrier.wait();
    let mut latencies: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    latencies.sort();
    (latencies, backup_thread.map(|t| t.join().unwrap()))
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("DOORSTEP_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("province.db")).unwrap();
    let built = Instant::now();
    let (created, member) = province::build(&store);
    println!(
        "built the province: {} changes in {:.0} s",
        block_on(store.change_count()).unwrap(),
        built.elapsed().as_secs_f64()
    );
    let tablets: Vec<(String, DeviceId, Vec<VillageId>)> = (0..TABLETS)
        .map(|i| {
            let (commune, _, villages) = &created.communes[i % created.communes.len()];
            let code = block_on(doorstep_office::admin::new_enrol_code(
                &store,
                &member,
                &commune.to_string(),
                chrono::Duration::days(1),
                Utc::now(),
            ))
            .unwrap()
            .code;
            let key = store.token_key();
            let token = format!("token-{code}");
            let device = block_on(store.enroll(
                key.hash(&doorstep_store::auth::normalise_code(&code)),
                key.hash(&token),
                None,
                Utc::now(),
            ))
            .unwrap()
            .device_id;
            (token, device, villages.iter().map(|v| v.0).collect())
        })
        .collect();
    let server = Running::start(AnyStore::Sqlite(store.clone()));
    let (quiet, _) = round(&server, &store, &tablets, 0, None);
    let out = dir.path().join("backup.db");
    let (busy, backup) = round(&server, &store, &tablets, 1, Some(out));
    let (took, bytes) = backup.unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{TABLETS} tablets push a day each ({} changes), no backup: request p50 {:.0} ms, p99 {:.0} ms",
        TABLETS * HOUSEHOLDS * 38,
        ms(percentile(&quiet, 0.5)),
        ms(percentile(&quiet, 0.99)),
    );
    println!(
        "the same during an online backup: request p50 {:.0} ms, p99 {:.0} ms (p99 ratio {:.2}); backup {:.1} s, {:.0} MB",
        ms(percentile(&busy, 0.5)),
        ms(percentile(&busy, 0.99)),
        percentile(&busy, 0.99).as_secs_f64() / percentile(&quiet, 0.99).as_secs_f64(),
        took.as_secs_f64(),
        bytes as f64 / 1e6
    );
}
