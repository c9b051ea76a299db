//! The real tablet app, end to end: the debug build of `doorstep-app`
//! (Tauri 2, WebKitGTK) under Xvfb, driven through tauri-driver and
//! WebKitWebDriver from a WebDriver client that keeps its connection alive.
//! The volunteer enrols with a code against the real server on loopback,
//! records a visit, runs the VNeID checklist to the end with one step
//! blocked, syncs, and the work is found on the server by another tablet.
//!
//! Needs `tauri-driver` (cargo install, pinned in .ci/setup), Debian's
//! `webkit2gtk-driver` and `xvfb`, and the app built with the UI in
//! `ui/dist` (.ci/test builds both). Missing pieces fail the test with a
//! message saying what to install: it never skips silently.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_e2e::app::{Killed, free_port, tool, xvfb};
use doorstep_e2e::{Server, Tablet, bin, campaign, code, quick, visit_new_household};
use fantoccini::{Client, ClientBuilder, Locator};

async fn el(client: &Client, testid: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no element {testid} on the screen: {e}"))
}

async fn click(client: &Client, testid: &str) {
    let element = el(client, testid).await;
    // WebKitWebDriver does not scroll a button below the fold into view by
    // itself: do what a finger does first.
    let arg = serde_json::to_value(&element).unwrap();
    client
        .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await
        .unwrap_or_else(|e| panic!("scrolling to {testid}: {e}"));
    let clicked = match element.click().await {
        // WebKitWebDriver reports some plainly visible buttons (the visit
        // form's sticky Save) as covered; the DOM click is the same event
        // the button's handler gets from a finger.
        Err(fantoccini::error::CmdError::Standard(e))
            if e.error == fantoccini::error::ErrorStatus::ElementClickIntercepted =>
        {
            let arg = serde_json::to_value(&element).unwrap();
            client.execute("arguments[0].click();", vec![arg]).await.map(|_| ())
        }
        other => other,
    };
    if let Err(e) = clicked {
        let shot = std::env::temp_dir().join("doorstep-app-webdriver-failure.png");
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        panic!("clicking {testid}: {e:?} (screenshot: {})", shot.display());
    }
}

async fn exists(client: &Client, testid: &str) -> bool {
    client
        .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .is_ok()
}

async fn drive(client: &Client, server_url: &str, enrol_code: &str, bun: &str, household: &str, person: &str) {
    // First run: Vietnamese, then the code from the team lead.
    click(client, "lang-vi").await;
    let server = el(client, "enrol-server").await;
    server.clear().await.unwrap();
    server.send_keys(server_url).await.unwrap();
    el(client, "enrol-code").await.send_keys(enrol_code).await.unwrap();
    click(client, "enrol-submit").await;

    // Right after enrolment, before any data: the volunteer's PIN.
    el(client, "setup-pin").await.send_keys("2468").await.unwrap();
    el(client, "setup-again").await.send_keys("2468").await.unwrap();
    click(client, "setup-save").await;

    // The commune arrives with the first sync.
    click(client, &format!("village-{bun}")).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&format!("[data-household-id=\"{household}\"]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A visit: helped, in two taps.
    click(client, "record-visit").await;
    click(client, "outcome-helped").await;
    click(client, "visit-save").await;
    el(client, "household-name").await;

    // The VNeID checklist for the household's first person.
    click(client, &format!("person-start-{person}")).await;
    click(client, "pack-start-vneid").await;
    let mut steps = 0;
    loop {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !exists(client, "run-finish").await && !exists(client, "step-done").await {
            assert!(
                Instant::now() < deadline,
                "neither a step nor the finish screen appeared"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if exists(client, "run-finish").await {
            break;
        }
        let step = el(client, "run-step").await.attr("data-step-id").await.unwrap();
        if steps == 2 {
            click(client, "step-blocked").await;
            click(client, "blocker-no_sms_access").await;
            click(client, "blocker-save").await;
        } else {
            click(client, "step-done").await;
        }
        steps += 1;
        // Wait for the next step (or the finish screen) to replace this one.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if exists(client, "run-finish").await {
                break;
            }
            if let Ok(now) = client.find(Locator::Css("[data-testid=\"run-step\"]")).await
                && now.attr("data-step-id").await.ok().flatten() != step
            {
                break;
            }
            assert!(Instant::now() < deadline, "step {step:?} did not move on");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(steps < 40, "the checklist never finished");
    }
    let blocked = el(client, "summary-blocked").await.text().await.unwrap();
    assert!(blocked.contains('1'), "one blocked step: {blocked}");

    // Sync now, from the sync screen.
    click(client, "nav-sync").await;
    click(client, "sync-now").await;
}

#[test]
fn a_volunteer_enrols_visits_runs_a_checklist_and_syncs_in_the_real_app() {
    let app = bin("doorstep-app");
    let driver = tool("tauri-driver", "cargo install tauri-driver --locked --version 2.1.0");
    let native = tool("WebKitWebDriver", "apt-get install webkit2gtk-driver");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let bun = c.communes[0].1[0].clone();
    // Another tablet has registered a household in Bun.
    let mut other = Tablet::enrol(&server.url, &code(&db, &c.member, "Muong Lan"));
    other.sync(&server.url);
    let household = visit_new_household(&mut other.store, &bun, "Lò Văn Pắn");
    other.sync(&server.url);
    let before = other.store.household(household).unwrap();
    let person = before.people[0].id.clone();
    let runs_before: Vec<String> = before.runs.iter().map(|r| r.id.clone()).collect();

    let (_x, display) = xvfb();
    let port = free_port();
    let native_port = free_port();
    let _driver = Killed::spawn(
        Command::new(driver)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .arg("--native-driver")
            .arg(native)
            .env("DISPLAY", &display)
            .env("DOORSTEP_DATA_DIR", dir.path().join("app"))
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.to_string_lossy() }),
    );
    let url = format!("http://127.0.0.1:{port}");
    // The WebDriver client is async; the tablets' sync client is blocking
    // and must stay off the runtime's threads.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let enrol_code = code(&db, &c.member, "Muong Lan");
    let client = rt.block_on(async {
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(start.elapsed() < Duration::from_secs(60), "no WebDriver session: {e}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        drive(&client, &server.url, &enrol_code, &bun, &household.to_string(), &person).await;
        client
    });

    // The work reaches the server: the other tablet pulls it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut options = quick();
        options.server_url = Some(server.url.clone());
        doorstep_device::sync::sync(&mut other.store, &options, &mut |_| {}).unwrap();
        let there = other.store.household(household).unwrap();
        let run = there
            .runs
            .iter()
            .find(|r| r.pack_key == "vneid" && r.person_id == person && !runs_before.contains(&r.id));
        if let Some(run) = run
            && there.visits.len() > before.visits.len()
            && run.steps_done + run.steps_blocked == run.steps_total
        {
            // Every step answered, one blocked: the run waits on that step.
            assert_eq!(run.status, "blocked", "{run:?}");
            assert_eq!(run.steps_blocked, 1, "{run:?}");
            assert_eq!(run.steps_done + 1, run.steps_total, "{run:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the app's work never reached the server: {there:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = rt.block_on(client.close());
}
