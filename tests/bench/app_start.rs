//! The tablet app on a commune-sized store: how long the **release** build
//! of `doorstep-app` takes from launch to the household list, and how
//! smoothly that list of 10,000 households scrolls (frame times while it is
//! scrolled every animation frame). The app runs under Xvfb in WebKitGTK
//! through tauri-driver, as in `tests/app_webdriver.rs`.
//!
//! ```sh
//! npm --prefix ui run build && cargo build --release -p doorstep-app
//! cargo bench --bench app_start -- [--app target/release/doorstep-app] [--households 10000] [--runs 5] [--step 100]
//! ```
//! Figures go to `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_core::entities::Household;
use doorstep_core::ids::{CommuneId, DeviceId, HouseholdId, VillageId};
use doorstep_core::protocol::EnrollResponse;
use doorstep_core::text::{Landmark, PersonName};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::{CreateOptions, Store};
use doorstep_e2e::app::{Killed, free_port, tool, xvfb};
use fantoccini::{Client, ClientBuilder, Locator};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A data folder whose field database holds the demo places and
/// `households` households in one village; returns the village's id.
fn store(dir: &std::path::Path, households: usize) -> String {
    let mut store = Store::create(&dir.join("field.db"), CreateOptions::default()).unwrap();
    // An enrolled tablet (the app opens on its villages), whose server is
    // away: port 9 on loopback refuses at once, so the background sync's
    // tries cost nothing.
    store
        .enroll(
            "http://127.0.0.1:9",
            &EnrollResponse {
                device_id: DeviceId::new(),
                token: "bench-token".to_owned(),
                commune_id: CommuneId::new(),
                commune_name: "Muong Lan".to_owned(),
                member_id: uuid::Uuid::now_v7(),
                server_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                cert: None,
                server_key: None,
            },
        )
        .unwrap();
    let today = store.today();
    load_demo(&mut store, DemoOptions { history: false, today }).unwrap();
    let village = store.find_village("Bun", None).unwrap();
    let village_id: VillageId = village.id.parse().unwrap();
    let now = store.now();
    store
        .write(|w| {
            for i in 0..households {
                w.create(&Household {
                    id: HouseholdId::new(),
                    village_id,
                    head_name: PersonName::parse(&format!("Lò Văn Hộ {i:05}")).unwrap(),
                    landmark: Some(Landmark::parse(&format!("đường bản, nhà số {i}")).unwrap()),
                    phone: None,
                    members_count: Some(4),
                    language: None,
                    notes: None,
                    location: None,
                    created_at: now,
                })?;
            }
            Ok(())
        })
        .unwrap();
    std::fs::write(
        dir.join("settings.json"),
        r#"{ "language": "vi", "text_size": "normal", "server_url": null }"#,
    )
    .unwrap();
    village.id
}

async fn wait(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
}

/// Scrolls the household list by `step` px every animation frame for
/// `frames` frames; returns the frame intervals (ms) and the rows in the DOM.
const SCROLL: &str = r#"
const [step, frames, done] = arguments;
const list = document.querySelector('[data-testid="household-list"]');
const viewport = list.querySelector('.viewport') || list;
const times = [];
let last = performance.now();
let n = 0;
function frame(now) {
  times.push(now - last);
  last = now;
  viewport.scrollTop += step;
  if (++n < frames) requestAnimationFrame(frame);
  else done({ times, rows: document.querySelectorAll('[data-testid="household-row"]').length, top: viewport.scrollTop });
}
requestAnimationFrame(frame);
"#;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let app = PathBuf::from(arg("--app").unwrap_or_else(|| "target/release/doorstep-app".into()));
    assert!(
        app.exists(),
        "{} is missing: cargo build --release -p doorstep-app",
        app.display()
    );
    let households: usize = arg("--households").map_or(10_000, |n| n.parse().unwrap());
    let runs: usize = arg("--runs").map_or(5, |n| n.parse().unwrap());
    let step: u32 = arg("--step").map_or(100, |n| n.parse().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let built = Instant::now();
    let village = store(dir.path(), households);
    println!(
        "store: {households} households in one village, written in {:.1} s",
        built.elapsed().as_secs_f64()
    );

    let (_x, display) = xvfb();
    let port = free_port();
    let native_port = free_port();
    let _driver = Killed::spawn(
        Command::new(tool(
            "tauri-driver",
            "cargo install tauri-driver --locked --version 2.1.0",
        ))
        .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        .arg("--native-driver")
        .arg(tool("WebKitWebDriver", "apt-get install webkit2gtk-driver"))
        .env("DISPLAY", &display)
        .env("DOORSTEP_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null()),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": std::fs::canonicalize(&app).unwrap() }),
    );
    let url = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        // Wait for the driver to listen before timing anything.
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "tauri-driver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut to_villages = Vec::new();
        let mut to_list = Vec::new();
        let mut frames = Vec::new();
        let mut idle = Vec::new();
        let mut rows = 0;
        for _ in 0..runs {
            let launched = Instant::now();
            // tauri-driver 2.1 now and then drops the first request of a
            // session; the launch is timed from the first try.
            let mut tries = 0;
            let client = loop {
                match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await
                {
                    Ok(c) => break c,
                    Err(e) => {
                        tries += 1;
                        assert!(tries < 5, "no WebDriver session: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            };
            wait(&client, &format!("[data-testid=\"village-{village}\"]")).await;
            to_villages.push(launched.elapsed().as_secs_f64() * 1000.0);
            client
                .find(Locator::Css(&format!("[data-testid=\"village-{village}\"]")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait(&client, "[data-testid=\"household-row\"]").await;
            to_list.push(launched.elapsed().as_secs_f64() * 1000.0);
            // The same screen's frames with no scrolling: the machine's own
            // pace (Xvfb has no GPU), against which scrolling is compared.
            let still = client
                .execute_async(SCROLL, vec![serde_json::json!(0), serde_json::json!(120)])
                .await
                .unwrap();
            idle.extend(
                still["times"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .skip(1)
                    .filter_map(serde_json::Value::as_f64),
            );
            let measured = client
                .execute_async(SCROLL, vec![serde_json::json!(step), serde_json::json!(240)])
                .await
                .unwrap();
            rows = rows.max(measured["rows"].as_u64().unwrap_or(0));
            frames.extend(
                measured["times"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .skip(1)
                    .filter_map(serde_json::Value::as_f64),
            );
            let _ = client.close().await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        to_villages.sort_by(f64::total_cmp);
        to_list.sort_by(f64::total_cmp);
        frames.sort_by(f64::total_cmp);
        idle.sort_by(f64::total_cmp);
        let slow = frames.iter().filter(|&&t| t > 33.4).count();
        println!("launch to villages: median {:.0} ms (min {:.0}, max {:.0}) over {runs} launches",
            percentile(&to_villages, 0.5), to_villages[0], to_villages[to_villages.len() - 1]);
        println!("launch to the household list ({households} rows): median {:.0} ms (min {:.0}, max {:.0})",
            percentile(&to_list, 0.5), to_list[0], to_list[to_list.len() - 1]);
        println!(
            "scrolling {step} px per frame: frame interval p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {slow} of {} frames over 33 ms; at most {rows} rows in the DOM",
            percentile(&frames, 0.5),
            percentile(&frames, 0.95),
            frames[frames.len() - 1],
            frames.len()
        );
        println!(
            "not scrolling (same screen): frame interval p50 {:.1} ms, p95 {:.1} ms; scrolling / still p50 = {:.2}",
            percentile(&idle, 0.5),
            percentile(&idle, 0.95),
            percentile(&frames, 0.5) / percentile(&idle, 0.5)
        );
    });
}
